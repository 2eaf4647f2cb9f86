"""OffboardOrganizationWorkflow, fast: mocked activities on the time-skipping server.

The grace period is a durable timer (seven days pass in milliseconds here); a cancel during it
restores the tenant, a cancel once deletion has started is refused, and a second start is a no-op.
The same flows run end to end in services/provisioning/tests/test_offboarding_system.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from a4c.eventstore import EventType
from a4c.workflows.models import subdomain_workflow_id
from a4c.workflows.offboarding import (
    CANCEL_UPDATE,
    STATE_QUERY,
    TOO_LATE,
    CancelOffboardingInput,
    CancelOffboardingResult,
    OffboardingState,
    OffboardOutcome,
)

from .mocked import skipping_time
from .mocked_offboarding import OffboardScript, offboard_input, offboarding_worker, start_offboarding

OFFBOARDED = [
    ("record_event", EventType.OFFBOARDING_STARTED),
    ("stop_subdomain_workflow", ""),
    ("remove_owned_dns_records", ""),
    ("deactivate_identity_organization", ""),
    ("record_event", EventType.OFFBOARDING_DELETION_STARTED),
    ("delete_offboarded_identity_organization", ""),
    ("record_event", EventType.OFFBOARDED),
]
WEEK = 7 * 86400


async def test_the_identity_is_deleted_only_after_the_grace_period(
    time_skipping: WorkflowEnvironment,
) -> None:
    client = time_skipping.client
    async with offboarding_worker(client, OffboardScript()) as mocks:
        request = offboard_input("leaving", grace_seconds=WEEK)
        handle = await start_offboarding(client, mocks, request)
        again = await start_offboarding(client, mocks, request)
        result = await handle.result()

    assert again.result_run_id == handle.result_run_id, "a second start is the running offboarding"
    assert result.outcome == OffboardOutcome.OFFBOARDED
    assert mocks.base.of(handle.id) == OFFBOARDED
    calls = {c.activity: c.started for c in mocks.base.calls if c.started is not None}
    waited = calls["delete_offboarded_identity_organization"] - calls["deactivate_identity_organization"]
    assert timedelta(seconds=WEEK) <= waited < timedelta(seconds=WEEK + 60)
    started = mocks.base.event(EventType.OFFBOARDING_STARTED)
    assert (started.data["reason"], started.data["grace_seconds"], started.actor) == (
        "contract ended",
        WEEK,
        "operator",
    )
    assert started.dedup_scope.startswith(f"{handle.id}/"), "ids are per run: a later offboarding is new"


async def test_a_cancel_during_the_grace_period_restores_the_tenant(
    time_skipping: WorkflowEnvironment,
) -> None:
    client = time_skipping.client
    async with offboarding_worker(client, OffboardScript()) as mocks:
        request = offboard_input("staying", grace_seconds=WEEK)
        handle = await start_offboarding(client, mocks, request)
        await mocks.base.started["deactivate_identity_organization"].wait()
        cancel = CancelOffboardingInput("payment received", actor="operator-2")
        first = await handle.execute_update(CANCEL_UPDATE, cancel, result_type=CancelOffboardingResult)
        result = await handle.result()
        child = client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
        async with skipping_time(client):
            await child.result()

    assert first.cancelled
    assert result.outcome == OffboardOutcome.CANCELLED
    assert mocks.base.of(handle.id)[-3:] == [
        ("deactivate_identity_organization", ""),
        ("record_event", EventType.OFFBOARDING_CANCELLED),
        ("reactivate_identity_organization", ""),
    ]
    assert "delete_offboarded_identity_organization" not in {c.activity for c in mocks.base.calls}
    cancelled = mocks.base.event(EventType.OFFBOARDING_CANCELLED)
    assert (cancelled.data, cancelled.actor) == ({"reason": "payment received"}, "operator-2")
    # The record comes back through a new subdomain run (which checks the name and verifies it).
    assert [a for a, _ in mocks.base.of(child.id)][:2] == ["create_dns_record", "record_event"]


async def test_a_cancel_after_deletion_started_is_refused(time_skipping: WorkflowEnvironment) -> None:
    client = time_skipping.client
    script = OffboardScript(hold_at=("delete_offboarded_identity_organization",))
    async with offboarding_worker(client, script) as mocks:
        handle = await start_offboarding(client, mocks, offboard_input("gone", grace_seconds=WEEK))
        async with skipping_time(client):
            await mocks.base.started["delete_offboarded_identity_organization"].wait()
        state = await handle.query(STATE_QUERY, result_type=OffboardingState)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(CANCEL_UPDATE, CancelOffboardingInput("too late"))
        mocks.release.set()
        result = await handle.result()

    assert state.irrevocable
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == TOO_LATE
    assert "point of no return" in cause.message
    assert result.outcome == OffboardOutcome.OFFBOARDED
    assert mocks.base.of(handle.id) == OFFBOARDED


@pytest.mark.parametrize(
    ("change", "recorded", "field"),
    [
        ({"reason": ""}, True, "reason"),
        ({"grace_seconds": -1.0}, True, "grace_seconds"),
        ({}, False, "subdomain.fqdn"),
    ],
)
async def test_an_input_the_worker_refuses_ends_the_offboarding_before_any_step(
    time_skipping: WorkflowEnvironment, change: dict[str, object], recorded: bool, field: str
) -> None:
    client = time_skipping.client
    async with offboarding_worker(client, OffboardScript()) as mocks:
        request = replace(offboard_input("stranger"), **change)  # type: ignore[arg-type]
        handle = await start_offboarding(client, mocks, request, recorded=recorded)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "PolicyRejected"
    assert field in cause.message
    assert mocks.base.calls == []
