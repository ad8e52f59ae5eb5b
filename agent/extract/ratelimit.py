"""Concurrency plus requests-per-minute and tokens-per-minute limits for model calls.

Token buckets refilled continuously; a caller reserves an estimate before its call and settles
with the real usage afterwards, so a burst of long prompts slows down the next ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol


class CallObserver(Protocol):
    """Told about every extraction: its outcome (ok, failed) and the model requests and tokens it
    used (monitoring counts them; see agent/monitoring/metrics.py)."""

    def __call__(self, outcome: str, *, calls: int, prompt_tokens: int, completion_tokens: int) -> None: ...


class Bucket:
    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = float(per_minute)
        self.clock = clock
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is now)."""
        self._refill()
        amount = min(amount, self.capacity)
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount  # may go negative when settling a larger real usage


class RateLimiter:
    def __init__(
        self,
        *,
        concurrency: int,
        rpm: float,
        tpm: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self.requests, self.tokens = Bucket(rpm, clock), Bucket(tpm, clock)
        self._sleep = sleep

    @asynccontextmanager
    async def slot(self, *, requests: float = 1, tokens: float = 0):
        """Hold a concurrency slot with `requests` and `tokens` reserved from the buckets."""
        async with self._slots:
            async with self._lock:  # waiters queue in order instead of racing for refills
                while (delay := max(self.requests.wait_time(requests), self.tokens.wait_time(tokens))) > 0:
                    await self._sleep(delay)
                self.requests.take(requests)
                self.tokens.take(tokens)
            yield self

    def settle(self, *, requests: float = 0, tokens: float = 0) -> None:
        """Charge what the call used beyond its reservation (negative values refund)."""
        self.requests.take(requests)
        self.tokens.take(tokens)


class LimitedExtractor:
    """Wraps the model extractor: every extraction runs inside a rate-limited slot, and an observer
    (optional) hears of each one's outcome and usage."""

    ESTIMATED_TOKENS = 3000  # per extraction, settled against the real usage
    ESTIMATED_REQUESTS = 2

    def __init__(self, extractor, limiter: RateLimiter, *, observer: CallObserver | None = None) -> None:
        self.extractor, self.limiter, self.observer = extractor, limiter, observer

    async def __call__(self, email, body, toolbox):
        try:
            async with self.limiter.slot(requests=self.ESTIMATED_REQUESTS, tokens=self.ESTIMATED_TOKENS):
                result = await self.extractor(email, body, toolbox)
        except Exception as exc:
            self._observe("failed", getattr(exc, "usage", None))
            raise
        usage = getattr(result, "usage", None)
        if usage is not None:
            self.limiter.settle(
                requests=usage.calls - self.ESTIMATED_REQUESTS,
                tokens=usage.prompt_tokens + usage.completion_tokens - self.ESTIMATED_TOKENS,
            )
        self._observe("ok", usage)
        return result

    def _observe(self, outcome: str, usage: Any) -> None:
        if self.observer is None:
            return
        calls = getattr(usage, "calls", 0) or 0
        self.observer(
            outcome,
            calls=calls if calls or outcome == "ok" else 1,  # a failure before any answer was still a call
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )
