"""Activities that change the world run to the end once started, heartbeating all the way.

A cancel reaches an activity through its heartbeat. Abandoning the gRPC call at that moment would
not undo it (the service may apply it anyway), so the call and its event append are shielded: the
step finishes and reports what it did, and the workflow (which waits, ActivityCancellationType.
WAIT_CANCELLATION_COMPLETED) compensates knowing the outcome. An attempt is still bounded by its
start-to-close timeout, and a step that was never started is cancelled by Temporal without running.

Heartbeats also make a dead worker visible within the heartbeat timeout instead of the attempt
timeout: Temporal retries the step on another worker (the steps are idempotent by request id).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
R = TypeVar("R")

# Beat this many times per heartbeat timeout, so one late beat on a busy machine is not a timeout.
_BEATS_PER_TIMEOUT = 3


def beat_interval() -> float | None:
    """Seconds between heartbeats; None when this activity has no heartbeat timeout (or is local)."""
    info = activity.info()
    if info.is_local or info.heartbeat_timeout is None:
        return None
    seconds = info.heartbeat_timeout.total_seconds()
    return seconds / _BEATS_PER_TIMEOUT if seconds > 0 else None


async def _beat(interval: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(interval)


async def run_to_completion(work: Awaitable[R]) -> R:
    """Await `work` to its end even if the activity is cancelled meanwhile, heartbeating while it runs."""
    task = asyncio.ensure_future(work)
    interval = beat_interval()
    beats = asyncio.ensure_future(_beat(interval)) if interval is not None else None
    try:
        while True:
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.done():
                    return task.result()
                # Asked to stop mid-call: the call's outcome is what the workflow must compensate.
                activity.logger.info("cancel requested: finishing the in-flight call first")
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
    finally:
        if beats is not None:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats


def steady(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate an activity method (under @activity.defn) so its body runs to completion."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_to_completion(method(*args, **kwargs))

    return wrapper
