"""Retry idempotent database operations when the database is briefly unavailable.

Only for operations that are safe to repeat (reads, claims, appends with deterministic ids): the
event store reports a lost connection or a server restart as DatabaseUnavailable, and a second try a
moment later usually succeeds. Anything else is raised at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from a4c.eventstore import DatabaseUnavailable

T = TypeVar("T")

ATTEMPTS = 3
FIRST_DELAY = 0.1


async def idempotent(operation: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS) -> T:
    delay = FIRST_DELAY
    for _ in range(attempts - 1):
        try:
            return await operation()
        except DatabaseUnavailable:
            await asyncio.sleep(delay)  # backoff before the next attempt, not a wait for a condition
            delay *= 4
    return await operation()
