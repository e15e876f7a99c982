"""A1 notation for the Sheets emulator: parse what clients send, print what Google prints.

Forms accepted (Sheets API guide "A1 notation"): `Sheet1!A1:C5`, `'My Tab'!A:A` (a quote inside
a quoted name is doubled), whole columns `A:C`, whole rows `1:3`, open-ended `A2:F`, a bare
sheet name `Tickets`, and a bare cell range `A1:B2` meaning the first sheet. `$` markers are
ignored. Boxes are 0-based and end-exclusive like a GridRange; an end of None is open (runs to
the edge of the grid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_COLUMNS = 18_278  # "ZZZ": the widest sheet Google allows

_REF = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]+)?")
_PLAIN_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


@dataclass(frozen=True)
class Box:
    """A rectangle of cells; end_row/end_col None means open-ended."""

    start_row: int = 0
    start_col: int = 0
    end_row: int | None = None
    end_col: int | None = None

    def clip(self, rows: int, cols: int) -> Box:
        """The part of this box inside a grid of rows × cols (ends made concrete)."""
        end_row = rows if self.end_row is None else min(self.end_row, rows)
        end_col = cols if self.end_col is None else min(self.end_col, cols)
        return Box(self.start_row, self.start_col, end_row, end_col)

    @property
    def bounded(self) -> bool:
        """True when both ends are given (the range limits what may be written)."""
        return self.end_row is not None and self.end_col is not None


@dataclass(frozen=True)
class A1Range:
    """A parsed range: the sheet title it names (None = first sheet) and the box."""

    title: str | None
    box: Box
    single_cell: bool = False  # written as one cell ("A1"): an origin, not a bound


def col_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """ "A" -> 0, "AA" -> 26."""
    value = 0
    for ch in letters.upper():
        value = value * 26 + (ord(ch) - 64)
    return value - 1


def quote_title(title: str) -> str:
    """A sheet title as Google prints it in a range: quoted only when it has to be."""
    if _PLAIN_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_title(text: str) -> tuple[str | None, str | None]:
    """Split `'Tab'!A1:B2` into ("Tab", "A1:B2"); a bare part is returned as (None, part).

    Raises ValueError when the quoting is malformed.
    """
    if text.startswith("'"):
        i, chars = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    chars.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(chars), None
                if rest.startswith("!") and len(rest) > 1:
                    return "".join(chars), rest[1:]
                raise ValueError(text)
            chars.append(text[i])
            i += 1
        raise ValueError(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        if not title or not cells:
            raise ValueError(text)
        return title, cells
    return None, text


def parse_cells(cells: str) -> tuple[Box, bool] | None:
    """Parse the part after `!`; None if it is not A1 notation. Returns (box, single_cell)."""
    parts = cells.split(":")
    if len(parts) > 2:
        return None
    refs = []
    for part in parts:
        match = _REF.fullmatch(part)
        if not part or not match or (match.group(1) is None and match.group(2) is None):
            return None
        col = col_index(match.group(1)) if match.group(1) else None
        row = int(match.group(2)) - 1 if match.group(2) else None
        if (row is not None and row < 0) or (col is not None and col >= MAX_COLUMNS):
            return None
        refs.append((row, col))
    if len(refs) == 1:
        row, col = refs[0]
        if row is None or col is None:  # "A" or "5" alone is not a range
            return None
        return Box(row, col, row + 1, col + 1), True
    (r1, c1), (r2, c2) = refs
    start_row, end_row = (r1 or 0), (None if r2 is None else r2 + 1)
    start_col, end_col = (c1 or 0), (None if c2 is None else c2 + 1)
    if end_row is not None and end_row <= start_row:  # reversed corners, e.g. "C5:A1"
        start_row, end_row = end_row - 1, start_row + 1
    if end_col is not None and end_col <= start_col:
        start_col, end_col = end_col - 1, start_col + 1
    return Box(start_row, start_col, end_row, end_col), False


def format_box(box: Box, cols: int | None = None) -> str:
    """The A1 text of a box, e.g. "A1", "A1:C5", "A:C", "2:3", "A1001:B".

    cols (the grid width) closes a box open on both ends, which A1 cannot express.
    """
    if box.end_row is None and box.end_col is None and cols is not None:
        box = Box(box.start_row, box.start_col, None, cols)  # "A1001:Z", not a bare "A1001:"
    start_col = col_letters(box.start_col)
    start_row = str(box.start_row + 1)
    if box.end_row is None and box.start_row == 0:
        start_row = ""  # whole columns: "A:C"
    if box.end_col is None and box.start_col == 0:
        start_col = ""  # whole rows: "2:3"
    start = start_col + start_row
    end = (col_letters(box.end_col - 1) if box.end_col is not None else "") + (
        str(box.end_row) if box.end_row is not None else ""
    )
    if box.end_row == box.start_row + 1 and box.end_col == box.start_col + 1:
        return start
    return f"{start}:{end}"


def format_range(title: str, box: Box, cols: int | None = None) -> str:
    """`Sheet1!A1:C5` with the title quoted when needed."""
    return f"{quote_title(title)}!{format_box(box, cols)}"
