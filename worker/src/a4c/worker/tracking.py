"""Step bookkeeping shared by both workflows: progress for the query, options for activities."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from a4c.eventstore import StepState
from a4c.worker.grpc_errors import NON_RETRYABLE
from a4c.workflows.models import Progress, StepProgress, StepTimeouts
from a4c.workflows.queues import activity_queue

A = TypeVar("A")
R = TypeVar("R")

# Our activities already raise these codes as non-retryable (grpc_errors); naming them in the policy
# too means a retry policy alone never retries them.
_PERMANENT = sorted(code.name for code in NON_RETRYABLE)


_REMOTE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=20),
    non_retryable_error_types=_PERMANENT,
)
_EVENT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)


# Marks histories whose steps are cancelled by waiting for them (below); older histories were
# recorded with TRY_CANCEL, which moves on at once, and must replay with it.
WAIT_FOR_STEPS_PATCH = "wait-for-in-flight-steps"


def cancellation(waits: bool) -> workflow.ActivityCancellationType:
    """How a cancel reaches a running step: wait until it has finished (and said what it did)."""
    if waits:
        return workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
    return workflow.ActivityCancellationType.TRY_CANCEL


async def uncancellable(work: Awaitable[R], on_cancel: Callable[[], None] | None = None) -> R:
    """Await `work` to its end however many workflow cancels arrive meanwhile (`on_cancel` hears them).

    For what must not be abandoned half-way: starting the subdomain child (abandoning the start can
    leave a child nobody waits for) and the steps past the point of no return.
    """
    task = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                return task.result()
            if on_cancel is not None:
                on_cancel()
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()


async def remote(
    method: Callable[[Any, A], Awaitable[R]], arg: A, timeouts: StepTimeouts, *, waits: bool
) -> R:
    """Run an activity that calls one of our gRPC services, bounded per attempt and in total.

    It heartbeats (activities are `@steady`), so a dead worker costs the heartbeat timeout.
    """
    heartbeat = timedelta(seconds=timeouts.heartbeat_seconds) if timeouts.heartbeat_seconds > 0 else None
    return await workflow.execute_activity_method(
        method,
        arg,
        # Its upstream's queue (a4c.workflows.queues); the total includes the time it waits there.
        task_queue=activity_queue(method, workflow.info().task_queue),
        start_to_close_timeout=timedelta(seconds=timeouts.attempt_seconds),
        schedule_to_close_timeout=timedelta(seconds=timeouts.total_seconds),
        heartbeat_timeout=heartbeat,
        retry_policy=_REMOTE_RETRY,
        cancellation_type=cancellation(waits),
    )


async def local(method: Callable[[Any, A], Awaitable[R]], arg: A, *, waits: bool) -> R:
    """Run a short database write (an event append) as a local activity: no server round trip."""
    return await workflow.execute_local_activity_method(
        method,
        arg,
        start_to_close_timeout=timedelta(seconds=10),
        schedule_to_close_timeout=timedelta(minutes=5),
        retry_policy=_EVENT_RETRY,
        cancellation_type=cancellation(waits),
    )


class StepTracker:
    """Keeps each step's state and the workflow's status for the `progress` query."""

    def __init__(self, steps: tuple[str, ...], status: str) -> None:
        self.steps = {name: StepProgress(name) for name in steps}
        self.status = status
        self.current = ""

    def _now(self) -> str:
        return workflow.now().isoformat()

    def start(self, name: str) -> None:
        self.current = name
        step = self.steps.setdefault(name, StepProgress(name))
        step.state, step.started_at = StepState.RUNNING, self._now()

    def finish(self, name: str) -> None:
        step = self.steps[name]
        step.state, step.finished_at = StepState.COMPLETED, self._now()

    def fail(self, name: str, error: str) -> None:
        step = self.steps[name]
        step.state, step.finished_at, step.error = StepState.FAILED, self._now(), error

    def compensated(self, name: str) -> None:
        if name in self.steps and self.steps[name].state == StepState.COMPLETED:
            self.steps[name].state = StepState.COMPENSATED

    def progress(self) -> Progress:
        return Progress(status=self.status, current_step=self.current, steps=list(self.steps.values()))
