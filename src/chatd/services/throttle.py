"""Sliding-window failure counters for sign-in throttling (in memory, per process)."""

from __future__ import annotations

from collections import deque

from chatd.clock import Clock


class FailureWindow:
    """Counts failures per key within `window_s`; a key at `limit` failures is blocked."""

    def __init__(self, clock: Clock, limit: int, window_s: float, max_keys: int = 100_000):
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        cutoff = self.clock.monotonic() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it is not blocked."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[-self.limit] + self.window_s - self.clock.monotonic())

    def fail(self, key: str) -> None:
        """Count one failure, or one attempt whose outcome is not known yet (see `forgive`)."""
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._evict()
        times = self._failures.setdefault(key, deque())
        times.append(self.clock.monotonic())
        while len(times) > self.limit:
            times.popleft()

    def forgive(self, key: str) -> None:
        """Take back one counted attempt of `key` that turned out well.

        Sign-in counts every attempt before its slow password check, in flight included, so
        that a burst of parallel guesses cannot all pass the limit before any is counted.
        """
        times = self._failures.get(key)
        if times:
            times.pop()
            if not times:
                del self._failures[key]

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _evict(self) -> None:
        for key in list(self._failures)[: max(1, self.max_keys // 10)]:
            self._recent(key)
            self._failures.pop(key, None)


class TokenBucket:
    """`rate` events a second on average, bursts up to `burst`; for one socket's frames."""

    __slots__ = ("_at", "_tokens", "burst", "clock", "rate")  # one per socket

    def __init__(self, clock: Clock, rate: float, burst: float) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = clock.monotonic()

    def take(self) -> bool:
        now = self.clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
