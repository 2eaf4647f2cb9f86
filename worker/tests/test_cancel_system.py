"""Cancels, outages and crashes against the whole system: the acceptance tests of issue 21.

Upstream latency from the sandbox's fault controls keeps a step in flight while the test cancels,
breaks the event append or kills the worker. Each test is bounded by seconds of latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from a4c.devstack.system import System
from a4c.devstack.timing import eventually
from a4c.eventstore import BootstrapState, EventType, NewEvent
from a4c.workflows.models import BootstrapInput, Progress, subdomain_workflow_id
from a4c.workflows.queues import Queue, task_queue

from .helpers import sandbox_counts

ORG = ["/v2/organizations", "/zitadel.org.v2.OrganizationService/AddOrganization"]
GRANT = [
    "/management/v1/users/*/grants",
    "/zitadel.authorization.v2.AuthorizationService/CreateAuthorization",
]
RECORD = ["*/zones/*/dns_records"]
INVITE = ["/v2/users/*/invite_code", "/zitadel.user.v2.UserService/CreateInviteCode"]
NOTHING_LEFT = {"orgs": 0, "users": 0, "grants": 0, "emails": 0, "records": 0}
STATUS = {
    WorkflowExecutionStatus.CANCELED: BootstrapState.CANCELLED,
    WorkflowExecutionStatus.COMPLETED: BootstrapState.COMPLETED,
}


def slow(paths: list[str], seconds: float) -> dict[str, Any]:
    return {"faults": [{"kind": "latency", "path": p, "method": "POST", "seconds": seconds} for p in paths]}


async def settle(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionStatus:
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()
    status = (await handle.describe()).status
    assert status is not None
    return status


async def assert_agreed(system: System, request: BootstrapInput, status: WorkflowExecutionStatus) -> None:
    """Temporal and the projection say the same; every event projected; a cancel left nothing."""
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.bootstrap_status == STATUS[status]
    events = await system.store.read_stream(uuid.UUID(request.organization_id))
    assert [(e.event_type, e.processing_error) for e in events if e.processing_error] == []
    if status == WorkflowExecutionStatus.CANCELED:
        # The subdomain child (whose record may have landed after the cancel), if started, is closed too.
        child = system.client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
        with contextlib.suppress(RPCError):  # never started
            assert await settle(child) != WorkflowExecutionStatus.RUNNING
        assert sandbox_counts(system, request) == NOTHING_LEFT
        assert EventType.BOOTSTRAP_COMPENSATED in [e.event_type for e in events]


async def in_step(handle: WorkflowHandle[Any, Any], step: str) -> bool:
    progress = await handle.query("progress", result_type=Progress)
    return any(s.name == step and s.state == "running" for s in progress.steps)


@pytest.mark.parametrize(
    ("paths", "step", "child"),
    [
        (ORG, "create_identity_organization", False),
        (GRANT, "grant_admin_role", False),
        (RECORD, "create_dns_record", True),
    ],
    ids=["identity", "role", "dns-record"],
)
async def test_a_cancel_mid_step_waits_for_it_and_leaves_nothing_behind(
    system: System, worker: None, paths: list[str], step: str, child: bool
) -> None:
    target = system.cloudflare if child else system.zitadel
    # The record is slow and so is the grant: the parent is still running while the child's call is.
    target.faults.configure(slow(paths, 1.5))
    if child:
        system.zitadel.faults.configure(slow(GRANT, 3.0))
    request = system.bootstrap_input(f"mid-{step.replace('_', '-')}")
    handle = await system.start_bootstrap(request)
    watched = (
        system.client.get_workflow_handle(subdomain_workflow_id(request.organization_id)) if child else handle
    )

    async def running() -> bool:
        with contextlib.suppress(Exception):  # the child may not exist yet
            return await in_step(watched, step)
        return False

    await eventually(running, within=15)
    await handle.cancel(reason="mid-step")
    status = await settle(handle)
    assert status == WorkflowExecutionStatus.CANCELED
    await assert_agreed(system, request, status)


async def test_a_cancel_during_the_invitation_is_refused_and_recorded_as_too_late(
    system: System, worker: None
) -> None:
    system.zitadel.faults.configure(slow(INVITE, 1.5))
    request = system.bootstrap_input("mid-invitation")
    handle = await system.start_bootstrap(request)
    await eventually(lambda: in_step(handle, "send_admin_invitation"), within=15)
    await handle.cancel(reason="mid-invitation")
    status = await settle(handle)
    assert status == WorkflowExecutionStatus.COMPLETED
    await assert_agreed(system, request, status)
    events = await system.store.read_stream(uuid.UUID(request.organization_id))
    completed = next(e for e in events if e.event_type == EventType.BOOTSTRAP_COMPLETED)
    assert completed.data == {"cancel_too_late": "mid-invitation"}
    assert sandbox_counts(system, request)["emails"] == 1


@pytest.mark.parametrize(
    "boundary",
    [
        None,  # at once, before the first step has run
        EventType.ZITADEL_CREATED,
        EventType.CREATED,
        EventType.SUBDOMAIN_DNS_RECORD_CREATED,
        EventType.USER_ROLE_ASSIGNED,
        EventType.USER_INVITATION_SENT,
        EventType.BOOTSTRAP_COMPLETED,  # too late for Temporal too: the workflow has closed
    ],
)
async def test_a_cancel_at_a_step_boundary_ends_where_temporal_and_the_projection_agree(
    system: System, worker: None, boundary: EventType | None
) -> None:
    # Slow writes make each boundary last long enough to cancel on it.
    system.zitadel.faults.configure(slow([*GRANT, *INVITE], 0.5))
    name = (boundary or "start").replace(".", "-").replace("_", "-")
    request = system.bootstrap_input(f"edge-{name}"[:40])
    handle = await system.start_bootstrap(request)
    # The provisioning service's own event, which it appends once the workflow started (and before
    # its CancelBootstrap can be called): a cancel at once finds the organization recorded.
    initiated = NewEvent(
        id=uuid.uuid4(),
        stream_id=uuid.UUID(request.organization_id),
        event_type=EventType.TEMPORAL_INITIATED,
        data={
            "workflow_id": handle.id,
            "name": request.name,
            "slug": request.slug,
            "subdomain_fqdn": request.subdomain.fqdn,
            "admin_email": request.admin_email,
        },
    )
    await system.store.append(initiated)

    async def reached() -> bool:
        events = await system.store.read_stream(uuid.UUID(request.organization_id))
        return boundary is None or boundary in [e.event_type for e in events]

    await eventually(reached, within=15)
    with contextlib.suppress(Exception):  # a bootstrap that already ended refuses the cancel
        await handle.cancel(reason="boundary")
    status = await settle(handle)
    await assert_agreed(system, request, status)
    if status == WorkflowExecutionStatus.COMPLETED:
        assert sandbox_counts(system, request)["emails"] == 1


@contextlib.asynccontextmanager
async def failing_appends(
    system: System, organization_id: str, event_type: str, times: int
) -> AsyncIterator[None]:
    """The database refuses this organization's `event_type` appends `times` times (an outage)."""
    suffix = uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(system.database_url)
    try:
        await conn.execute(f"CREATE SEQUENCE w21_outage_{suffix}")
        await conn.execute(
            f"""CREATE FUNCTION w21_outage_{suffix}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.stream_id = '{organization_id}' AND NEW.event_type = '{event_type}'
                   AND nextval('w21_outage_{suffix}') <= {times} THEN
                    RAISE EXCEPTION 'injected outage' USING ERRCODE = '08006';
                END IF;
                RETURN NEW;
            END $$"""
        )
        await conn.execute(
            f"CREATE TRIGGER w21_outage_{suffix} BEFORE INSERT ON domain_events "
            f"FOR EACH ROW EXECUTE FUNCTION w21_outage_{suffix}()"
        )
        yield
    finally:
        await conn.execute(f"DROP TRIGGER IF EXISTS w21_outage_{suffix} ON domain_events")
        await conn.execute(f"DROP FUNCTION IF EXISTS w21_outage_{suffix}()")
        await conn.execute(f"DROP SEQUENCE IF EXISTS w21_outage_{suffix}")
        await conn.close()


async def test_failing_appends_during_the_invitation_step_send_exactly_one_email(
    system: System, worker: None
) -> None:
    request = system.bootstrap_input("one-email")
    async with failing_appends(system, request.organization_id, EventType.USER_INVITATION_SENT, times=3):
        handle = await system.start_bootstrap(request)
        result = await handle.result()
    assert result.status == "completed"
    events = await system.store.read_stream(uuid.UUID(request.organization_id))
    assert [e.event_type for e in events].count(EventType.USER_INVITATION_SENT) == 1
    assert sandbox_counts(system, request)["emails"] == 1
    await assert_agreed(system, request, WorkflowExecutionStatus.COMPLETED)


async def polling(system: System, process: subprocess.Popen[bytes]) -> bool:
    """The worker process polls the Zitadel activities' queue (Temporal lists it among the pollers)."""
    request = DescribeTaskQueueRequest(
        namespace=system.client.namespace,
        task_queue=TaskQueue(name=task_queue(system.task_queue, Queue.ZITADEL)),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    )
    answer = await system.client.workflow_service.describe_task_queue(request)
    # A worker's identity is "<pid>@<host>" (the SDK's default; the worker sets no other).
    return any(poller.identity.startswith(f"{process.pid}@") for poller in answer.pollers)


async def running_on(handle: WorkflowHandle[Any, Any], activity: str) -> str | None:
    """The identity of the worker running `activity` for this workflow (None: nobody runs it yet)."""
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        started = pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        if pending.activity_type.name == activity and started:
            return pending.last_worker_identity
    return None


@pytest.mark.parametrize(
    ("paths", "activity"),
    [(GRANT, "grant_admin_role"), (INVITE, "send_invitation")],
    ids=["role", "invitation"],
)
async def test_a_worker_killed_in_a_slow_identity_call_resumes_after_the_heartbeat_timeout(
    system: System, paths: list[str], activity: str
) -> None:
    # An attempt timeout far above the heartbeat timeout: waiting it out would blow the budget.
    request = system.bootstrap_input(f"lazarus-{activity.replace('_', '-')}")
    timeouts = replace(request.timeouts, attempt_seconds=25, heartbeat_seconds=1.5)
    request = replace(request, timeouts=timeouts, subdomain=replace(request.subdomain, timeouts=timeouts))
    # Two replicas, both polling before the bootstrap starts: what is measured is how long Temporal
    # takes to give the step to the survivor, not how long a Python process takes to start.
    workers = [system.worker_process(), system.worker_process()]
    try:
        for process in workers:
            await eventually(functools.partial(polling, system, process), within=30)
        system.zitadel.faults.configure(slow(paths, 2.0))
        started = time.monotonic()
        handle = await system.start_bootstrap(request)
        holders: list[str] = []

        async def held() -> bool:
            holder = await running_on(handle, activity)
            holders.extend([holder] if holder else [])
            return holder is not None

        await eventually(held, within=20)
        doomed = next(p for p in workers if holders[0].startswith(f"{p.pid}@"))
        doomed.kill()
        killed = time.monotonic()
        async with asyncio.timeout(60):  # a stuck workflow fails here, not at the suite's timeout
            await handle.result()
        finished = time.monotonic()
    finally:
        system.zitadel.faults.clear()
        for process in workers:
            process.terminate()
        for process in workers:
            await asyncio.to_thread(process.wait, 30)
    # The heartbeat timeout, the retry's backoff (0.2 s), the 2 s call again and the steps after it
    # (measured 4.4-5.6 s in all; the 25 s attempt timeout is what it must not wait out).
    # A retried invitation carries the same request id: the identity service mails it once.
    resumed = finished - killed
    assert resumed < timeouts.heartbeat_seconds + 2.0 + 4.0, f"{resumed:.1f} s after the kill"
    assert finished - started < 30
    # The bootstrap awaits only its subdomain child's start; the child's record may have been in
    # flight on the killed worker too, so it is counted once the child has finished.
    await system.client.get_workflow_handle(subdomain_workflow_id(request.organization_id)).result()
    assert sandbox_counts(system, request) == {"orgs": 1, "users": 1, "grants": 1, "emails": 1, "records": 1}
