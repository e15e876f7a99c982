"""Client-side pacing: stay under a vendor's documented request budget instead of
running into 429s (each of which costs a wait longer than pacing would have). The pause ends
at once when syncd shuts down (`syncd.retry.pause`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from syncd.retry import pause


class RateLimiter:
    """At most `max_calls` in any sliding window of `period` seconds."""

    def __init__(
        self,
        max_calls: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = pause,
    ) -> None:
        self.max_calls = max_calls
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self.calls: deque[float] = deque()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Wait until one more call fits in the window; returns the seconds waited."""
        waited = 0.0
        with self.lock:
            while True:
                now = self.clock()
                while self.calls and self.calls[0] + self.period <= now:
                    self.calls.popleft()
                if len(self.calls) < self.max_calls:
                    self.calls.append(now)
                    return waited
                pause = self.calls[0] + self.period - now
                self.sleep(pause)
                waited += pause
