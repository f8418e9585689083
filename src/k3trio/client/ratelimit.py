"""Rate limiters for work queues and event spam filtering: pure, with an injectable clock.

- ``TokenBucket(qps, burst)``: a bucket that starts full; ``reserve()`` takes one token now
  and returns how long the caller must wait for it (0 when a token was available), so
  reservations queue up behind each other like ``rate.Limiter.Reserve``; ``try_take()``
  takes a token only if one is available now.
- ``ItemExponentialLimiter(base, cap)``: per item, ``base * 2**failures`` capped at ``cap``.
- ``BucketLimiter``: a shared ``TokenBucket`` for every item (overall qps).
- ``MaxOfLimiter``: the longest delay of its parts; ``default_controller_rate_limiter()`` is
  client-go's default (5 ms .. 1000 s per item, 10 qps / 100 burst overall).

Clocks are callables returning seconds (``trio.current_time`` by default), so tests drive them
with trio's ``MockClock`` or a plain counter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

import trio

__all__ = [
    "BucketLimiter",
    "Clock",
    "ItemExponentialLimiter",
    "MaxOfLimiter",
    "RateLimiter",
    "TokenBucket",
    "default_controller_rate_limiter",
]

Clock = Callable[[], float]


class RateLimiter(Protocol):
    """How long to wait before an item is retried."""

    def when(self, item: Hashable) -> float: ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class TokenBucket:
    """A token bucket refilled at ``qps`` tokens per second, holding at most ``burst``."""

    def __init__(self, qps: float, burst: int, *, clock: Clock = trio.current_time) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be positive and burst at least 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last: float | None = None

    def _refill(self) -> float:
        now = self._clock()
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        if self._last is None or now > self._last:
            self._last = now
        return now

    def tokens(self) -> float:
        """Tokens available now (negative while reservations are outstanding)."""
        self._refill()
        return self._tokens

    def reserve(self) -> float:
        """Take a token; return the seconds until it is actually available."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def try_take(self) -> bool:
        """Take a token if one is available now."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class ItemExponentialLimiter:
    """Per-item exponential backoff: ``base * 2**n`` after ``n`` failures, capped."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        if n >= 64:
            return self.cap
        return min(self.cap, self.base * (2.0**n))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketLimiter:
    """One token bucket shared by all items (overall rate limit)."""

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock = trio.current_time):
        self.bucket = TokenBucket(qps, burst, clock=clock)

    def when(self, item: Hashable) -> float:
        return self.bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfLimiter:
    """The worst (longest) delay of several limiters; every limiter sees every call."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(*, clock: Clock = trio.current_time) -> MaxOfLimiter:
    """Per-item 5 ms .. 1000 s exponential backoff combined with 10 qps / 100 burst."""
    return MaxOfLimiter(ItemExponentialLimiter(0.005, 1000.0), BucketLimiter(10.0, 100, clock=clock))
