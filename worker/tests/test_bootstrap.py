"""Bootstrap and subdomain workflows end to end on a real Temporal dev server, services and database."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy

from a4c.devstack.system import System
from a4c.devstack.timing import eventually
from a4c.eventstore import BootstrapState, EventType, SubdomainStatus
from a4c.workflows.models import (
    SUBDOMAIN_WORKFLOW,
    SubdomainResult,
    VerificationPolicy,
)
from a4c.workflows.start import subdomain_start

from .helpers import (
    BOOTSTRAP_EVENTS,
    SUBDOMAIN_EVENTS,
    duplicates,
    event_types,
    sandbox_counts,
    split,
    subdomain_result,
)


async def test_happy_path_creates_one_of_everything_and_the_subdomain_verifies_later(
    system: System, worker: None
) -> None:
    request = system.bootstrap_input("happy")
    handle = await system.start_bootstrap(request)
    result = await handle.result()
    assert result.status == "completed"

    # The bootstrap did not wait for DNS: its subdomain is not active yet. Only the child's start was
    # awaited, so on a loaded machine even its record may still be on the way (pending).
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.bootstrap_status == BootstrapState.COMPLETED
    not_yet = (SubdomainStatus.PENDING, SubdomainStatus.DNS_RECORD_CREATED, SubdomainStatus.VERIFYING)
    assert organization.subdomain_status in not_yet

    assert (await subdomain_result(system, request.organization_id)).status == "active"
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.subdomain_status == SubdomainStatus.ACTIVE
    assert organization.admin_user_id == result.admin_user_id

    types = await event_types(system, request.organization_id)
    assert split(types) == (BOOTSTRAP_EVENTS, SUBDOMAIN_EVENTS)
    assert sandbox_counts(system, request) == {"orgs": 1, "users": 1, "grants": 1, "emails": 1, "records": 1}

    # The query answers for a closed workflow too, from its final state.
    progress = await handle.query("progress")
    assert progress["status"] == "completed"
    assert [s["state"] for s in progress["steps"]] == ["completed"] * 6


async def test_starting_the_same_bootstrap_twice_gives_one_execution(system: System, worker: None) -> None:
    request = system.bootstrap_input("twice")
    first = await system.start_bootstrap(request)
    second = await system.start_bootstrap(request)
    assert first.result_run_id == second.result_run_id
    await first.result()
    await subdomain_result(system, request.organization_id)
    assert sandbox_counts(system, request)["orgs"] == 1
    assert duplicates(await event_types(system, request.organization_id)) == []


async def test_transient_upstream_faults_are_ridden_out_without_duplicates(
    system: System, worker: None
) -> None:
    system.zitadel.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 429, "count": 2, "retry_after": 0},
                {"kind": "status", "status": 503, "count": 2},
                # The create is applied but its answer is lost: the retry must not create twice.
                {"kind": "status", "status": 502, "count": 1, "after": True, "method": "POST"},
            ]
        }
    )
    system.cloudflare.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 502, "count": 2},
                {"kind": "drop", "count": 1, "method": "POST"},
            ]
        }
    )
    request = system.bootstrap_input("flaky")
    await (await system.start_bootstrap(request)).result()
    assert (await subdomain_result(system, request.organization_id)).status == "active"

    assert sandbox_counts(system, request) == {"orgs": 1, "users": 1, "grants": 1, "emails": 1, "records": 1}
    types = await event_types(system, request.organization_id)
    assert split(types) == (BOOTSTRAP_EVENTS, SUBDOMAIN_EVENTS)


async def test_permanent_failure_after_the_record_exists_compensates_everything(
    system: System, worker: None
) -> None:
    # The configured admin role missing from the project is a permanent error (FAILED_PRECONDITION) at
    # the role-grant step, which runs after the subdomain child has started creating the DNS record.
    project_id = system.zitadel.config.project_id
    with system.zitadel.store.write() as state:
        roles = state.projects[project_id].role_keys
        state.projects[project_id].role_keys = [k for k in roles if k != "provider_admin"]
    request = system.bootstrap_input("doomed")
    try:
        handle = await system.start_bootstrap(request)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    finally:
        with system.zitadel.store.write() as state:
            state.projects[project_id].role_keys = roles

    types = await event_types(system, request.organization_id)
    assert types[-2:] == [EventType.BOOTSTRAP_FAILED, EventType.BOOTSTRAP_COMPENSATED]
    assert EventType.SUBDOMAIN_DNS_RECORD_DELETED in types
    failed = next(
        e
        for e in await system.store.read_stream(uuid.UUID(request.organization_id))
        if e.event_type == EventType.BOOTSTRAP_FAILED
    )
    assert failed.data["failed_step"] == "grant_admin_role"
    assert failed.data["cleanup"] == [
        "stop_subdomain_workflow",
        "remove_dns_record",
        "delete_identity_organization",
    ]

    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.bootstrap_status == BootstrapState.FAILED
    assert organization.subdomain_status == SubdomainStatus.REMOVED
    assert sandbox_counts(system, request) == {"orgs": 0, "users": 0, "grants": 0, "emails": 0, "records": 0}


async def test_subdomain_that_never_propagates_fails_alone_and_can_be_retried(system: System) -> None:
    request = system.bootstrap_input("stubborn")
    # The pacing is the worker's (its input's is ignored): a worker that gives up before the sandbox's
    # nameserver publishes the record.
    impatient = VerificationPolicy(0.05, 0.1, 1.5, 0.2, deadline_seconds=0.5)
    async with system.in_process_worker(replace(system.worker_policy, verification=impatient)):
        await (await system.start_bootstrap(request)).result()
        failed = await subdomain_result(system, request.organization_id)
    assert failed.status == "failed"
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.bootstrap_status == BootstrapState.COMPLETED
    assert organization.subdomain_status == SubdomainStatus.FAILED

    # Propagation is "fixed" (the record reaches the nameserver in time for the wiring's worker, whose
    # deadline is 20 s); run the child again.
    async with system.in_process_worker():
        retry = await system.client.start_workflow(
            SUBDOMAIN_WORKFLOW,
            request.subdomain,
            task_queue=system.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            result_type=SubdomainResult,
            **subdomain_start(request.subdomain, request.slug),
        )
        assert (await retry.result()).status == "active"
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.subdomain_status == SubdomainStatus.ACTIVE
    assert sandbox_counts(system, request)["records"] == 1


async def test_cancelling_a_running_bootstrap_compensates_and_ends_cancelled(
    system: System, worker: None
) -> None:
    # Slow identity calls keep the bootstrap running long enough to cancel it mid-way.
    system.zitadel.faults.configure({"faults": [{"kind": "latency", "seconds": 0.3}]})
    request = system.bootstrap_input("cancelme")
    handle = await system.start_bootstrap(request)

    async def started_subdomain() -> bool:
        return EventType.CREATED in await event_types(system, request.organization_id)

    await eventually(started_subdomain)
    await handle.cancel(reason="tenant withdrew")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    system.zitadel.faults.clear()

    types = await event_types(system, request.organization_id)
    assert EventType.BOOTSTRAP_CANCELLED in types
    stream = await system.store.read_stream(uuid.UUID(request.organization_id))
    cancelled = next(e for e in stream if e.event_type == EventType.BOOTSTRAP_CANCELLED)
    assert cancelled.data["reason"] == "tenant withdrew"
    assert types[-1] == EventType.BOOTSTRAP_COMPENSATED
    organization = await system.store.get_organization(uuid.UUID(request.organization_id))
    assert organization is not None
    assert organization.bootstrap_status == BootstrapState.CANCELLED
    assert sandbox_counts(system, request)["orgs"] == 0
