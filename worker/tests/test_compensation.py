"""The bootstrap's compensation, fast: the real workflows, mocked activities, a dev server.

A dev server, not the time-skipping one: compensation cancels the subdomain child while its record
step may be finishing, a cancel the time-skipping server mishandles (worker/tests/conftest.py).

A failed step or an operator's cancel undoes what was done newest first (stop the subdomain child,
remove its record, delete the identity organization), records the outcome, and ends the workflow
failed or cancelled. The same scenarios run end to end against the services in test_bootstrap.py.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_bootstrap
from a4c.eventstore import EventType
from a4c.worker.activities import DnsActivities, EventActivities, IdentityActivities
from a4c.workflows.models import BootstrapInput, Progress, bootstrap_workflow_id, subdomain_workflow_id

from .mocked import MockedActivities, Script, bootstrap_input, mocked_worker

UNDO_ALL = ["stop_subdomain_workflow", "remove_dns_record", "delete_identity_organization"]


def removed_for(request: BootstrapInput) -> dict[str, object]:
    """What the mocks report each undo found (the record id they create, a deleted organization)."""
    return {
        "remove_dns_record": [f"record-{request.organization_id[:8]}"],
        "delete_identity_organization": True,
    }


def test_the_mocks_stand_in_for_every_real_activity() -> None:
    def names(functions: Iterable[Any]) -> set[str]:
        # The SDK keeps an activity's definition on the function; `from_callable` reads it (None: not one).
        found = (activity._Definition.from_callable(f) for f in functions if callable(f))
        return {d.name for d in found if d is not None and d.name is not None}

    real = [
        f for cls in (EventActivities, IdentityActivities, DnsActivities) for _, f in inspect.getmembers(cls)
    ]
    assert names(MockedActivities(Script()).all()) == names(real)


async def test_a_failed_step_undoes_what_was_done_newest_first(real_server: WorkflowEnvironment) -> None:
    client = real_server.client
    request = bootstrap_input("doomed")
    async with mocked_worker(client, Script(fail=("grant_admin_role",))) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        progress = await handle.query("progress", result_type=Progress)

    failure = raised.value.cause
    assert isinstance(failure, ApplicationError)
    assert failure.type == "BootstrapFailed"
    assert failure.details == ({"cleanup": UNDO_ALL},)
    assert mocks.of(handle.id) == [
        ("create_identity_organization", ""),
        ("record_event", EventType.CREATED),
        ("grant_admin_role", ""),
        ("remove_dns_record", ""),
        ("delete_identity_organization", ""),
        ("record_event", EventType.BOOTSTRAP_FAILED),
        ("record_event", EventType.BOOTSTRAP_COMPENSATED),
    ]
    failed = mocks.event(EventType.BOOTSTRAP_FAILED)
    assert failed.data["failed_step"] == "grant_admin_role"
    assert failed.data["cleanup"] == UNDO_ALL
    # The child is stopped (and has stopped) before its record is removed, so it cannot re-create it.
    child = subdomain_workflow_id(request.organization_id)
    removed = next(i for i, c in enumerate(mocks.calls) if c.activity == "remove_dns_record")
    assert all(i < removed for i, c in enumerate(mocks.calls) if c.workflow_id == child)
    assert (await client.get_workflow_handle(child).describe()).status == WorkflowExecutionStatus.CANCELED
    states = {step.name: step.state for step in progress.steps}
    assert states["create_identity_organization"] == "compensated"
    assert states["start_subdomain"] == "compensated"
    assert states["grant_admin_role"] == "failed"
    assert progress.status == "failed"


async def test_a_failure_before_the_subdomain_only_deletes_the_identity_organization(
    real_server: WorkflowEnvironment,
) -> None:
    client = real_server.client
    request = bootstrap_input("early")
    async with mocked_worker(client, Script(fail=("create_identity_organization",))) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    # The undo is registered before the step: a create that fails half-way may have made the org.
    assert mocks.of(handle.id) == [
        ("create_identity_organization", ""),
        ("delete_identity_organization", ""),
        ("record_event", EventType.BOOTSTRAP_FAILED),
        ("record_event", EventType.BOOTSTRAP_COMPENSATED),
    ]
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle(subdomain_workflow_id(request.organization_id)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_a_failing_undo_does_not_stop_the_others_and_is_reported(
    real_server: WorkflowEnvironment,
) -> None:
    client = real_server.client
    request = bootstrap_input("stuck")
    async with mocked_worker(client, Script(fail=("grant_admin_role", "remove_dns_record"))) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        with pytest.raises(WorkflowFailureError):
            await handle.result()

    assert mocks.of(handle.id)[-3:] == [
        ("remove_dns_record", ""),
        ("delete_identity_organization", ""),
        ("record_event", EventType.BOOTSTRAP_FAILED),
    ]
    assert mocks.event(EventType.BOOTSTRAP_FAILED).data["cleanup"] == [
        "stop_subdomain_workflow",
        "delete_identity_organization",
    ]
    # Not everything was undone, so the bootstrap is not recorded as compensated.
    assert EventType.BOOTSTRAP_COMPENSATED not in [e.event_type for e in mocks.events]


async def test_cancelling_mid_step_compensates_and_ends_cancelled(real_server: WorkflowEnvironment) -> None:
    client = real_server.client
    request = bootstrap_input("withdrawn")
    async with mocked_worker(client, Script(block_at="grant_admin_role")) as mocks:
        handle = await start_bootstrap(client, mocks.task_queue, request)
        async with asyncio.timeout(30):
            await mocks.started["grant_admin_role"].wait()
        await handle.cancel(reason="tenant withdrew")
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()

    assert isinstance(raised.value.cause, CancelledError)
    assert handle.id == bootstrap_workflow_id(request.organization_id)
    # Compensation starts only once the running step has seen the cancel and ended.
    assert mocks.of(handle.id)[2:] == [
        ("grant_admin_role", ""),
        ("grant_admin_role", "cancel seen"),
        ("remove_dns_record", ""),
        ("delete_identity_organization", ""),
        ("record_event", EventType.BOOTSTRAP_CANCELLED),
        ("record_event", EventType.BOOTSTRAP_COMPENSATED),
    ]
    assert mocks.event(EventType.BOOTSTRAP_CANCELLED).data == {"reason": "tenant withdrew"}
    assert mocks.event(EventType.BOOTSTRAP_COMPENSATED).data == {
        "cleanup": UNDO_ALL,
        "removed": removed_for(request),
    }
    child = client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
    assert (await child.describe()).status == WorkflowExecutionStatus.CANCELED
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
