"""Cancels that race a running step, fast: the real workflows, mocked activities, a dev server
(the time-skipping server mishandles a cancel that meets a finishing activity: worker/tests/conftest.py).

The mocked step sees the cancel (through its heartbeat) and still completes, as a real call that the
service had already applied does. Compensation must start only after it and remove what it created;
from the invitation on, a cancel is refused and the bootstrap completes. Either way the final event
the projection reads says what Temporal says.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType as EventType_
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_bootstrap
from a4c.devstack.timing import eventually
from a4c.eventstore import EventType
from a4c.workflows.models import subdomain_workflow_id

from .mocked import MockedActivities, Script, bootstrap_input, mocked_worker

FINAL_EVENT = {
    WorkflowExecutionStatus.CANCELED: EventType.BOOTSTRAP_CANCELLED,
    WorkflowExecutionStatus.COMPLETED: EventType.BOOTSTRAP_COMPLETED,
}


async def cancel_processed(handle: WorkflowHandle[Any, Any]) -> bool:
    """The workflow has taken a workflow task since the cancel request reached its history."""
    types = [event.event_type async for event in handle.fetch_history_events()]
    if EventType_.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED not in types:
        return False
    after = types[types.index(EventType_.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) :]
    return EventType_.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in after


def index(mocks: MockedActivities, activity: str, detail: str = "") -> int:
    return next(i for i, c in enumerate(mocks.calls) if (c.activity, c.detail) == (activity, detail))


@pytest.mark.parametrize("step", ["create_identity_organization", "grant_admin_role"])
async def test_a_step_that_lands_after_the_cancel_is_compensated_after_it_landed(
    real_server: WorkflowEnvironment, step: str
) -> None:
    client = real_server.client
    request = bootstrap_input("racing")
    async with mocked_worker(client, Script(block_at=step, lands_after_cancel=True)) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        async with asyncio.timeout(30):
            await mocks.started[step].wait()
        await handle.cancel(reason="operator")
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert index(mocks, step, "cancel seen") < index(mocks, "delete_identity_organization")
    types = [e.event_type for e in mocks.events]
    assert types[-2:] == [EventType.BOOTSTRAP_CANCELLED, EventType.BOOTSTRAP_COMPENSATED]
    assert EventType.BOOTSTRAP_COMPLETED not in types
    assert "send_invitation" not in [c.activity for c in mocks.calls]


async def test_the_record_the_child_creates_after_the_cancel_is_removed_after_it(
    real_server: WorkflowEnvironment,
) -> None:
    client = real_server.client
    request = bootstrap_input("late-record")
    # The parent waits in grant_admin_role while the child's create_dns_record is in flight.
    script = Script(block_at=("grant_admin_role", "create_dns_record"), lands_after_cancel=True)
    async with mocked_worker(client, script) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        async with asyncio.timeout(30):
            await mocks.started["grant_admin_role"].wait()
            await mocks.started["create_dns_record"].wait()
        await handle.cancel(reason="operator")
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    child = client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
    assert (await child.describe()).status == WorkflowExecutionStatus.CANCELED
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert index(mocks, "create_dns_record", "cancel seen") < index(mocks, "remove_dns_record")
    # The child stopped right after its record: no verification of a record about to be removed.
    assert "check_propagation" not in [c.activity for c in mocks.calls]


async def test_a_cancel_during_the_invitation_is_refused_and_the_bootstrap_completes(
    real_server: WorkflowEnvironment,
) -> None:
    client = real_server.client
    request = bootstrap_input("too-late")
    async with mocked_worker(client, Script(block_at="send_invitation")) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        async with asyncio.timeout(30):
            await mocks.started["send_invitation"].wait()
            await handle.cancel(reason="operator")
            await eventually(lambda: cancel_processed(handle))
        # The workflow did not pass the cancel on to the running invitation: it ends on its own.
        mocks.released["send_invitation"].set()
        result = await handle.result()

    assert result.status == "completed"
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    compensations = {"remove_dns_record", "delete_identity_organization"}
    assert not compensations & {c.activity for c in mocks.calls}
    types = [e.event_type for e in mocks.events if e.organization_id == request.organization_id]
    assert types.count(EventType.USER_INVITATION_SENT) == 1
    assert EventType.BOOTSTRAP_CANCELLED not in types
    assert mocks.event(EventType.BOOTSTRAP_COMPLETED).data == {"cancel_too_late": "operator"}


@pytest.mark.parametrize("step", ["create_identity_organization", "grant_admin_role"])
async def test_temporal_and_the_final_event_agree_for_a_cancel_in_any_step(
    real_server: WorkflowEnvironment, step: str
) -> None:
    client = real_server.client
    request = bootstrap_input("agree")
    async with mocked_worker(client, Script(block_at=step)) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        async with asyncio.timeout(30):
            await mocks.started[step].wait()
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        status = (await handle.describe()).status

    finals = [e.event_type for e in mocks.events if e.event_type in FINAL_EVENT.values()]
    assert status is not None
    assert finals == [FINAL_EVENT.get(status)]
