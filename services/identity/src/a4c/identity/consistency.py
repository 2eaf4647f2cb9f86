"""Waiting out Zitadel's eventual consistency: a just-created org or user may not be found at once.

Reads are repeated while they find nothing, commands while they answer NotFound, with a short
doubling pause, for at most the consistency window and never past the caller's deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from a4c.common.deadline import Deadline
from a4c.identity.zitadel_errors import NotFound

T = TypeVar("T")
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 0.5


class _Missing(Exception):
    """A read found nothing (yet)."""


class Consistency:
    def __init__(self, window: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._window = window
        self._sleep = sleep

    async def read(self, read: Callable[[], Awaitable[T | None]], deadline: Deadline) -> T | None:
        """``read()`` until it returns something; None when it never did within the window."""

        async def attempt() -> T:
            value = await read()
            if value is None:
                raise _Missing
            return value

        try:
            return await self._poll(attempt, deadline)
        except _Missing:
            return None

    async def until_found(self, command: Callable[[], Awaitable[T]], deadline: Deadline) -> T:
        """Run a command about a user that may be too new to be found, again while it is not."""
        return await self._poll(command, deadline)

    async def _poll(self, attempt: Callable[[], Awaitable[T]], deadline: Deadline) -> T:
        give_up = deadline.within(self._window)
        pause = FIRST_PAUSE
        while True:
            try:
                return await attempt()
            except (_Missing, NotFound):
                if give_up.remaining() < pause:
                    raise
            await self._sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
