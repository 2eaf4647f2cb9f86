"""Retry idempotent database operations when the database is briefly unavailable.

Only for operations that are safe to repeat (reads, claims, appends with deterministic ids): the
event store reports a lost connection or a server restart as DatabaseUnavailable, and a second try a
moment later usually succeeds. Anything else is raised at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity

from a4c.eventstore import DatabaseUnavailable

T = TypeVar("T")

ATTEMPTS = 3
FIRST_DELAY = 0.1


async def idempotent(operation: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS) -> T:
    """``operation()``, again after 0.1 s and then 0.4 s while it raises DatabaseUnavailable."""
    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type(DatabaseUnavailable),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=FIRST_DELAY, exp_base=4),
        reraise=True,
    )
    # The attempt form, not retrying(operation): tenacity only awaits what it sees is a coroutine
    # function, and a lambda returning a coroutine is not one.
    async for attempt in retrying:
        with attempt:
            return await operation()
    raise AssertionError("unreachable")  # reraise=True: the last error leaves the loop
