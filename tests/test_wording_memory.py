"""A word scanner remembers lines it read (quoted replies and signatures come back from ticket to
ticket), within a bound on characters: a backfill's long descriptions (10-20 KB a line, each
different) once held hundreds of MB through a bound on the number of lines alone."""

from __future__ import annotations

import tracemalloc

from syncd.rules.wording import WordScanner


def test_long_distinct_lines_are_remembered_within_a_bound() -> None:
    scanner = WordScanner()
    wanted = scanner.mask(scanner.add(["billed twice"]))
    line = "we were billed twice for the same order and the invoice is wrong " * 160  # ~10 KB
    tracemalloc.start()
    try:
        found = [scanner.read(f"Ticket {i}: {line}") & wanted for i in range(700)]
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(found)
    # 700 lines of 10 KB are 7 MB of text; what stays is the memo's bound (2 million
    # characters) and what it keeps for them.
    assert held < 4_500_000, f"{held / 1e6:.1f} MB held after reading 7 MB of distinct lines"


def test_a_line_read_again_gives_the_same_answer() -> None:
    scanner = WordScanner()
    wanted = scanner.mask(scanner.add(["duplicate charge"]))
    text = "Hello,\nI see a duplicate charge on my card.\nThanks"
    assert scanner.read(text) & wanted == scanner.read(text) & wanted == wanted
