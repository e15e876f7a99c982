"""The sliding-window limiter, on a fake clock."""

from __future__ import annotations

from syncd.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_never_more_than_max_calls_in_any_window():
    clock = FakeClock()
    limiter = RateLimiter(5, 10.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(23):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.1
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t < start + 10.0) <= 5
    assert stamps[5] >= 10.0  # the sixth call waited for the first to leave the window


def test_no_wait_under_the_budget():
    clock = FakeClock()
    limiter = RateLimiter(3, 1.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire() == 1.0
