"""Rate limits with a fake clock: waits are computed, not slept for real."""

import asyncio

from mailorder.agent.extract.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_requests_per_minute_spreads_a_burst():
    t = FakeTime()
    limiter = RateLimiter(concurrency=10, rpm=60, tpm=1e9, clock=t, sleep=t.sleep)
    for _ in range(62):
        async with limiter.slot(requests=1):
            pass
    assert t.slept == [1.0, 1.0]  # 60 at once, then one per second


async def test_tokens_per_minute_and_settling_real_usage():
    t = FakeTime()
    limiter = RateLimiter(concurrency=10, rpm=1e6, tpm=6000, clock=t, sleep=t.sleep)
    async with limiter.slot(tokens=3000):
        pass
    limiter.settle(tokens=3000)  # the call really used 6000
    async with limiter.slot(tokens=3000):
        pass
    assert t.slept == [30.0]  # 3000 tokens refill at 100/s


async def test_concurrency_is_bounded():
    limiter = RateLimiter(concurrency=3, rpm=1e6, tpm=1e9)
    running, peak = 0, 0

    async def call():
        nonlocal running, peak
        async with limiter.slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1

    await asyncio.gather(*(call() for _ in range(12)))
    assert peak == 3
