"""`cell_bytes_at_least` is a lower bound of what the cells take as updateCells requests (as
requests sends them), so a batch it says cannot ride along really cannot."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from connectors.sheets_plan import Cells, cell_bytes_at_least, cell_requests

VALUES = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@given(st.lists(st.lists(VALUES, min_size=1, max_size=8), min_size=1, max_size=20))
def test_the_bound_never_exceeds_the_requests(rows: list[list[object]]) -> None:
    cells = [Cells("Tickets", 1, 1, rows)]
    sent = len(json.dumps({"requests": cell_requests(cells)}).encode())
    assert cell_bytes_at_least(cells) <= sent


def test_the_bound_is_close_for_ordinary_rows() -> None:
    rows = [["12345", "Cannot log in", 45321.5, True, ""] for _ in range(100)]
    cells = [Cells("Tickets", 1, 1, rows)]
    sent = len(json.dumps({"requests": cell_requests(cells)}).encode())
    assert 0.8 * sent <= cell_bytes_at_least(cells) <= sent
