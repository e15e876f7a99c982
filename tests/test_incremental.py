"""syncd.incremental alone, without I/O: the boundary-second memory, crowded seconds, the
signpost, the marks' JSON and the clean cut of a start-time export."""

from __future__ import annotations

import pytest

from syncd.incremental import (
    SETTLE,
    CrowdedSecond,
    Item,
    Mark,
    handled,
    iso,
    resume_point,
    signpost,
    step,
)


def items(*pairs: tuple[str, int]) -> list[Item]:
    return [Item(key, at, "v") for key, at in pairs]


def test_step_moves_since_and_skips_versions_seen_at_the_boundary():
    mark, fresh, done = step(Mark(100), items(("1", 100), ("2", 101), ("3", 101)), more=True)
    assert (mark.since, dict(mark.seen), fresh, done) == (
        101,
        {"2": "v", "3": "v"},
        [0, 1, 2],
        False,
    )
    # The next request starts at 101 again: 2 and 3 come back and are skipped...
    mark2, fresh, done = step(mark, items(("2", 101), ("3", 101), ("4", 105)), more=False)
    assert (fresh, done, mark2.since) == ([2], True, 105)
    # ...unless that is a new version in the same second.
    _, fresh, _ = step(mark, [Item("2", 101, "changed"), Item("3", 101, "v")], more=False)
    assert fresh == [0]


def test_a_crowded_second_pages_on_then_is_read_again_before_moving_on():
    mark = Mark(100)
    mark, fresh, done = step(mark, items(("1", 100), ("2", 100)), more=True)
    assert (mark.page, fresh, done) == (2, [0, 1], False)
    # The second ends on page 2; the later ticket waits for the re-read.
    mark, fresh, done = step(mark, items(("3", 100), ("9", 107)), more=False)
    assert (mark.page, mark.recheck, fresh, done) == (1, True, [0], False)
    # The re-read meets nothing new: only now does `since` move, and 9 goes out.
    mark, fresh, _ = step(mark, items(("1", 100), ("2", 100)), more=True)
    assert (mark.page, fresh) == (2, [])
    mark, fresh, done = step(mark, items(("3", 100), ("9", 107)), more=False)
    assert (mark.since, mark.page, mark.recheck, fresh, done) == (107, 1, False, [1], True)


def test_a_re_read_that_finds_a_hidden_ticket_reads_again():
    mark = Mark(100, {"1": "v", "2": "v", "3": "v"}, page=1, recheck=True)
    mark, fresh, _ = step(mark, items(("1", 100), ("4", 100)), more=True)  # 4 was hidden
    assert fresh == [1] and mark.found
    mark, fresh, done = step(mark, items(("3", 100)), more=False)
    assert (mark.recheck, mark.found, done) == (True, False, False)
    mark, fresh, done = step(mark, items(("1", 100), ("4", 100)), more=True)
    mark, fresh, done = step(mark, items(("3", 100)), more=False)
    assert (mark.recheck, done, fresh) == (False, True, [])


def test_a_second_long_past_is_closed_once_the_listing_is_exhausted():
    mark = Mark(100, {"1": "v"})
    now = 100 + 301
    closed, fresh, done = step(mark, items(("1", 100), ("2", 100)), False, server_now=now)
    assert (closed, fresh, done) == (Mark(101), [1], True)
    recent, _, _ = step(mark, items(("1", 100), ("2", 100)), False, server_now=now - 2)
    assert recent == Mark(100, {"1": "v", "2": "v"})
    # More pages behind: the second cannot be closed yet, whatever the time.
    paged, _, done = step(mark, items(("1", 100), ("2", 100)), True, server_now=now)
    assert paged.page == 2 and not done


def test_a_crowded_second_past_the_last_page_is_refused():
    mark = Mark(100, page=3)
    with pytest.raises(CrowdedSecond) as info:
        step(mark, items(("1", 100), ("2", 100)), more=True, max_page=3)
    assert (info.value.since, info.value.max_page) == (100, 3)
    assert step(mark, items(("1", 100)), more=True, max_page=4).mark.page == 4


def test_an_item_without_a_time_does_not_move_the_boundary():
    mark, fresh, done = step(Mark(100), [Item("1", None, "v"), Item("2", 104, "v")], more=False)
    assert (mark.since, fresh, done) == (104, [0, 1], True)
    mark, fresh, _ = step(Mark(100), [Item("1", None, "v")], more=False)
    assert (mark, fresh) == (Mark(100, {"1": "v"}), [0])


def test_the_signpost_is_the_response_time_less_the_settling_time():
    assert signpost(None) is None
    assert signpost(1_000) == 1_000 - SETTLE
    assert signpost(1_000, settle=10) == 990
    # A change made during the sync (its second newer than the signpost) keeps the boundary
    # at its second, so it is read again next time; an older second is closed.
    recent = step(Mark(100), items(("1", 995)), more=False, server_now=1_000, settle=10)
    assert recent.mark == Mark(995, {"1": "v"}) and recent.done
    old = step(Mark(100), items(("1", 985)), more=False, server_now=1_000, settle=10)
    assert old.mark == Mark(986) and old.done


def test_handled_items_are_those_the_mark_moved_past():
    done = Mark(100, {"7": "v"})
    assert handled(done, Item("1", 99))
    assert handled(done, Item("7", 100)) and not handled(done, Item("8", 100))
    assert handled(done, Item("7", None)) and not handled(done, Item("9", 101))


def test_a_mark_round_trips_through_json_with_defaults_left_out():
    assert Mark(0).to_json() == {"since": "1970-01-01T00:00:00Z"}
    full = Mark(1_800_000_000, {"5": "abc"}, page=3, recheck=True, found=True)
    data = full.to_json()
    assert data == {
        "since": iso(1_800_000_000), "seen": {"5": "abc"}, "page": 3, "recheck": 1, "found": 1,
    }  # fmt: skip
    assert Mark.from_json(data, 0) == full
    assert Mark.from_json(None, 42) == Mark(42)
    for bad in ({"page": 2}, {"since": "x"}, {"since": iso(0), "page": 0}):
        with pytest.raises((ValueError, KeyError)):
            Mark.from_json(bad, 0)


@pytest.mark.parametrize(
    ("times", "earliest", "cut"),
    [
        ([1, 2, 3, 4], 2, (2, 3)),  # every later item is newer: cut right there
        ([1, 2, 2, 3], 2, (3, 3)),  # second 2 straddles: the cut moves past it
        ([1, 3, 2, 4], 2, (3, 4)),  # out of order: only after the older one
        ([1, 2, 2, 2], 2, None),  # no clean cut left
        ([5, 5], 1, None),
        ([1, 2], 2, None),  # nothing after `earliest`
    ],
)
def test_a_start_time_export_resumes_only_at_a_clean_cut(times, earliest, cut):
    assert resume_point(times, earliest) == cut
