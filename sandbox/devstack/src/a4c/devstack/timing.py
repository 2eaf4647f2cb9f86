"""Time in tests: a clock that moves only when the test says so, and a wait for outside state.

``ManualClock`` stands in for ``time.monotonic``/``time.time`` and ``asyncio.sleep`` in code under
test (the emulators, the upstream clients); ``eventually`` awaits a condition that another process
changes (the event log, Temporal visibility) and so offers nothing to wait on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Await a condition observed from outside (the event log, Temporal visibility), polling briefly:
    such state changes in another process and offers nothing to wait on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


class ManualClock:
    """A monotonic clock that moves only when a test says so. ``sleep`` stands in for
    ``asyncio.sleep`` in code under test: it advances the clock at once and records the delay."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would
