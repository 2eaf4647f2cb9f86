"""The reconciler's workflow, fast: mocked batch and orphan activities on the time-skipping server.

What is checked here is the paging: batches in cursor order, continue-as-new every N batches with the
tally carried over, one orphan pass at the end, the listed findings bounded, a failing batch retried
and then failing the run. The comparison itself runs against the real stack in
test_reconcile_system.py; the schedule is ensured on a real dev server at the end of this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, ScheduleOverlapPolicy, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from a4c.devstack.system import System
from a4c.worker.reconcile import ReconcileOrganizationsWorkflow
from a4c.worker.schedule import ScheduleSettings, ensure_schedule
from a4c.workflows.queues import Queue, task_queue
from a4c.workflows.reconcile import (
    SCHEDULED_LISTED,
    BatchInput,
    BatchResult,
    DriftFinding,
    OrphanInput,
    ReconcileInput,
    ReconcileTally,
)


@dataclass
class FakeTenants:
    """`count` organizations with ids 1..count (zero-padded), `batch` per activity, one finding each."""

    count: int
    batch: int
    failures: int = 0  # transient failures of the first batch
    fatal: bool = False
    cursors: list[str] = field(default_factory=list)
    orphan_passes: int = 0

    @activity.defn(name="reconcile_batch")
    async def reconcile_batch(self, request: BatchInput) -> BatchResult:
        if self.fatal:
            raise ApplicationError("PERMISSION_DENIED: missing scope 'read'", non_retryable=True)
        if self.failures:
            self.failures -= 1
            raise ApplicationError("UNAVAILABLE: dns")
        self.cursors.append(request.after)
        start = int(request.after or 0)
        ids = list(range(start + 1, min(start + self.batch, self.count) + 1))
        findings = [DriftFinding(f"{i:04}", "", "record_missing", "repair", "") for i in ids]
        tally = ReconcileTally(
            checked=len(ids),
            batches=1,
            dns_calls=1,
            counts={"record_missing": len(ids)},
            findings=findings[: request.listed],
            listed=request.listed,
        )
        last = f"{ids[-1]:04}" if ids else request.after
        return BatchResult(tally, last, done=len(ids) < self.batch)

    @activity.defn(name="reconcile_orphans")
    async def reconcile_orphans(self, request: OrphanInput) -> ReconcileTally:
        self.orphan_passes += 1
        return ReconcileTally(dns_calls=1, counts={"orphan_record": 1}, listed=request.listed)


async def run(env: WorkflowEnvironment, tenants: FakeTenants, request: ReconcileInput) -> ReconcileTally:
    queue = f"reconcile-{uuid.uuid4().hex[:8]}"
    # The workflow on its queue, its activities on the Cloudflare queue (a4c.workflows.queues).
    async with (
        Worker(env.client, task_queue=queue, workflows=[ReconcileOrganizationsWorkflow]),
        Worker(
            env.client,
            task_queue=task_queue(queue, Queue.CLOUDFLARE),
            activities=[tenants.reconcile_batch, tenants.reconcile_orphans],
        ),
    ):
        return await env.client.execute_workflow(
            ReconcileOrganizationsWorkflow.run,
            request,
            id=f"reconcile-{uuid.uuid4()}",
            task_queue=queue,
            result_type=ReconcileTally,
        )


async def test_batches_follow_the_cursor_and_continue_as_new_every_n_batches(
    time_skipping: WorkflowEnvironment,
) -> None:
    tenants = FakeTenants(count=23, batch=5)

    tally = await run(time_skipping, tenants, ReconcileInput(batches_per_run=2))

    assert tenants.cursors == ["", "0005", "0010", "0015", "0020"]
    assert (tally.checked, tally.batches, tally.runs) == (23, 5, 3)  # 2 + 2 + 1 batches
    assert tally.counts == {"record_missing": 23, "orphan_record": 1}
    assert tally.dns_calls == 6
    assert tenants.orphan_passes == 1
    # A scheduled run lists a few findings (the events are the record); the counts stay complete.
    assert len(tally.findings) == SCHEDULED_LISTED
    assert tally.truncated


async def test_a_preview_lists_every_finding_up_to_its_limit(time_skipping: WorkflowEnvironment) -> None:
    tally = await run(time_skipping, FakeTenants(count=30, batch=10), ReconcileInput(dry_run=True))

    assert [f.organization_id for f in tally.findings] == [f"{i:04}" for i in range(1, 31)]
    assert not tally.truncated
    assert tally.runs == 1


async def test_an_exact_multiple_ends_with_an_empty_batch_then_the_orphan_pass(
    time_skipping: WorkflowEnvironment,
) -> None:
    tenants = FakeTenants(count=10, batch=5)

    tally = await run(time_skipping, tenants, ReconcileInput(batches_per_run=5))

    assert tenants.cursors == ["", "0005", "0010"]
    assert (tally.checked, tally.batches, tenants.orphan_passes) == (10, 3, 1)


async def test_a_transient_failure_is_retried_and_a_permanent_one_fails_the_run(
    time_skipping: WorkflowEnvironment,
) -> None:
    flaky = FakeTenants(count=3, batch=5, failures=2)
    assert (await run(time_skipping, flaky, ReconcileInput())).checked == 3

    broken = FakeTenants(count=3, batch=5, fatal=True)
    with pytest.raises(WorkflowFailureError):
        await run(time_skipping, broken, ReconcileInput())
    assert broken.orphan_passes == 0


@pytest.fixture
async def schedule_client(system: System) -> AsyncIterator[tuple[Client, str]]:
    """The session's dev server (the time-skipping server has no schedules); a schedule id of the
    test's own on a queue no worker polls, deleted afterwards."""
    schedule_id = f"reconcile-test-{uuid.uuid4().hex[:8]}"
    yield system.client, schedule_id
    await system.client.get_schedule_handle(schedule_id).delete()


async def test_the_schedule_is_created_then_left_alone_then_updated_when_settings_change(
    schedule_client: tuple[Client, str],
) -> None:
    client, schedule_id = schedule_client
    settings = ScheduleSettings(600, 5, f"nobody-{schedule_id}", schedule_id=schedule_id)

    assert await ensure_schedule(client, settings) == "created"
    assert await ensure_schedule(client, settings) == "unchanged"  # a second replica starting
    changed = ScheduleSettings(120, 7, settings.task_queue, schedule_id=schedule_id)
    assert await ensure_schedule(client, changed) == "updated"
    assert await ensure_schedule(client, changed) == "unchanged"

    described = (await client.get_schedule_handle(schedule_id).describe()).schedule
    assert [i.every for i in described.spec.intervals] == [timedelta(seconds=120)]
    assert described.policy.overlap == ScheduleOverlapPolicy.SKIP
