"""ReconcileOrganizationsWorkflow: the drift reconciler, run by the worker's Temporal Schedule.

One activity per batch of organizations (in id order, a keyset cursor), then the orphan pass; after
`batches_per_run` batches (or when Temporal suggests it) the workflow continues as new with its cursor
and tally, so a run over any number of tenants keeps a short history. What a batch compares and does
is the activities' (a4c.worker.reconcile_activities); the workflow only pages and adds up. A batch that
keeps failing (a service down) fails the run; the schedule's next run starts over, and the findings of
a batch are idempotent events, so nothing is appended twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from a4c.worker.reconcile_activities import ReconcileActivities
    from a4c.workflows.queues import activity_queue
    from a4c.workflows.reconcile import (
        MAX_BATCHES_PER_RUN,
        PREVIEW_LISTED,
        RECONCILE_WORKFLOW,
        SCHEDULED_LISTED,
        BatchInput,
        OrphanInput,
        ReconcileInput,
        ReconcileTally,
    )

# A batch lists the zone and the identity organizations and may repair; it heartbeats (@steady).
_BATCH_TIMEOUT = timedelta(minutes=10)
_HEARTBEAT = timedelta(seconds=60)
_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileOrganizationsWorkflow:
    @workflow.run
    async def run(self, request: ReconcileInput) -> ReconcileTally:
        listed = PREVIEW_LISTED if request.dry_run else SCHEDULED_LISTED
        tally = request.tally or ReconcileTally(listed=listed)
        after = request.after
        for _ in range(max(1, min(request.batches_per_run, MAX_BATCHES_PER_RUN))):
            batch = await workflow.execute_activity_method(
                ReconcileActivities.reconcile_batch,
                BatchInput(after, request.dry_run, listed),
                task_queue=activity_queue(ReconcileActivities.reconcile_batch, workflow.info().task_queue),
                start_to_close_timeout=_BATCH_TIMEOUT,
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_RETRY,
            )
            tally = tally.plus(batch.tally)
            after = batch.next_after
            if batch.done:
                orphans = await workflow.execute_activity_method(
                    ReconcileActivities.reconcile_orphans,
                    OrphanInput(request.dry_run, listed),
                    task_queue=activity_queue(
                        ReconcileActivities.reconcile_orphans, workflow.info().task_queue
                    ),
                    start_to_close_timeout=_BATCH_TIMEOUT,
                    heartbeat_timeout=_HEARTBEAT,
                    retry_policy=_RETRY,
                )
                return tally.plus(orphans)
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(replace(request, after=after, tally=replace(tally, runs=tally.runs + 1)))
