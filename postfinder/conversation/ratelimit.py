"""Token buckets per user and per chat."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBuckets:
    """One token bucket per key: ``rate_per_minute`` tokens refill per minute, up to the rate.

    Parameters
    ----------
    rate_per_minute
        Sustained rate and burst size.
    clock
        Time source (tests pass a fake one).
    """

    def __init__(self, rate_per_minute: float, clock: Callable[[], float] = time.monotonic):
        self.capacity = max(rate_per_minute, 1.0)
        self.rate = rate_per_minute / 60.0
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._noticed: set[int] = set()

    def allow(self, key: int) -> bool:
        """Take a token for ``key`` if one is available."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._noticed.discard(key)
            return True
        self._buckets[key] = (tokens, now)
        return False

    def first_refusal(self, key: int) -> bool:
        """True the first time ``key`` is refused since it was last allowed (one notice only)."""
        if key in self._noticed:
            return False
        self._noticed.add(key)
        return True
