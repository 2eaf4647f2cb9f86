"""The reconciler's Temporal Schedule, created or updated by the worker at start.

Why the worker: it owns the reconciler's settings (interval, batches) and already holds a Temporal
connection with the rights to start workflows on its queue, so no extra Job, image or credential is
needed. Every replica ensures it at start and that is harmless: creating a schedule that exists fails
cleanly (ScheduleAlreadyRunningError) and is followed by an update only when what is described differs
(interval, overlap policy, task queue, input), so replicas with the same ConfigMap do not churn.
During a rolling upgrade that changes the interval, the newest replica to start wins; once the
rollout ends every replica agrees. Overlap policy SKIP: a run still going when the next is due is
not doubled (the next one comes at the following interval).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from a4c.workflows.reconcile import RECONCILE_SCHEDULE_ID, RECONCILE_WORKFLOW, ReconcileInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleSettings:
    interval_seconds: float
    batches_per_run: int
    task_queue: str
    schedule_id: str = RECONCILE_SCHEDULE_ID


def build_schedule(settings: ScheduleSettings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RECONCILE_WORKFLOW,
            ReconcileInput(batches_per_run=settings.batches_per_run),
            id=settings.schedule_id,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.interval_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedule(client: Client, settings: ScheduleSettings) -> str:
    """Create the schedule, or update it when it differs: "created", "updated" or "unchanged"."""
    schedule = build_schedule(settings)
    try:
        await client.create_schedule(settings.schedule_id, schedule)
        outcome = "created"
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(settings.schedule_id)
        described = await handle.describe()
        if await _matches(client, described.schedule, settings):
            outcome = "unchanged"
        else:

            def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await handle.update(update)
            outcome = "updated"
    log.info("reconcile schedule %s every %s s: %s", settings.schedule_id, settings.interval_seconds, outcome)
    return outcome


async def _matches(client: Client, current: Schedule, settings: ScheduleSettings) -> bool:
    action, spec, policy = current.action, current.spec, current.policy
    if not isinstance(action, ScheduleActionStartWorkflow) or action.workflow != RECONCILE_WORKFLOW:
        return False
    every = [i.every for i in spec.intervals]
    if every != [timedelta(seconds=settings.interval_seconds)] or spec.calendars or spec.cron_expressions:
        return False
    if policy.overlap != ScheduleOverlapPolicy.SKIP or action.task_queue != settings.task_queue:
        return False
    if len(action.args) != 1:
        return False
    raw = action.args[0]
    if not isinstance(raw, Payload):
        return False
    (decoded,) = await client.data_converter.decode([raw], [ReconcileInput])
    return bool(decoded == ReconcileInput(batches_per_run=settings.batches_per_run))
