"""Waiting out Zitadel's eventual consistency where it really shows: in searches.

How each call the identity service makes behaves right after a write (Zitadel's command and query
code; sandbox/FIDELITY.md):

- commands (AddOrganization, invite codes, grants) check their preconditions in the event store,
  which the create has already reached: a user or org made a moment ago is always found, and a
  missing one is FailedPrecondition (:class:`~a4c.identity.zitadel_errors.ObjectMissing`), never a
  NotFound to wait out;
- reads by id (v1 GetOrgByID, v2 GetUserByID) bring their projection up to date first: fresh;
- searches (ListUsers, user grant and granted project searches) read projections that lag behind:
  a record just made may be missing, one just deleted may still show.

So only searches are repeated while they find nothing, with a short doubling pause, for at most the
consistency window and never past the caller's deadline (one absolute Deadline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from a4c.common.deadline import Deadline

T = TypeVar("T")
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 0.5


class Consistency:
    def __init__(self, window: float, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._window = window
        self._sleep = sleep

    async def search(self, search: Callable[[], Awaitable[T | None]], deadline: Deadline) -> T | None:
        """``search()`` until it returns something; None when it never did within the window."""
        give_up = deadline.within(self._window)
        pause = FIRST_PAUSE
        while True:
            found = await search()
            if found is not None or give_up.remaining() < pause:
                return found
            await self._sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
