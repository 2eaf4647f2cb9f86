"""Offboarding and slug reuse on the whole system (issue 18): emulators, services, worker, Temporal.

Two provisioning services share the system: `quick` offboards with a one-second grace period (the
deletion happens during the test) and no slug quarantine; `patient` keeps the grace period long
enough for an operator to cancel.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.devstack.system import ZONE, System, running_system
from a4c.devstack.timing import eventually
from a4c.dns.server import build as dns_build
from a4c.eventstore import EventType
from a4c.identity.server import build as identity_build
from a4c.workflows.models import StepTimeouts

from .cli_runner import a4c
from .helpers import (
    ACTOR,
    AUTH,
    Running,
    bootstrap_request,
    rpc_error,
    running_provisioning,
    service_env,
    unique,
)

HANG_GUARD = 90
OFFBOARDING_STEPS = [
    EventType.OFFBOARDING_STARTED,
    EventType.OFFBOARDING_SUBDOMAIN_STOPPED,
    EventType.OFFBOARDING_DNS_RECORDS_REMOVED,
    EventType.OFFBOARDING_IDENTITY_DEACTIVATED,
    EventType.OFFBOARDING_DELETION_STARTED,
    EventType.OFFBOARDING_IDENTITY_DELETED,
    EventType.OFFBOARDED,
]


@pytest.fixture(scope="module")
async def system(database_url: str) -> AsyncIterator[System]:
    async with running_system(
        database_url, dns_build=dns_build, identity_build=identity_build, propagation_delay=0.5
    ) as running:
        yield running


def system_env(system: System, grace: float, quarantine: float = 0) -> dict[str, str]:
    settings = {
        "A4C_BASE_DOMAIN": ZONE,
        "A4C_VERIFY_FIRST_CHECK_SECONDS": "0.05",
        "A4C_VERIFY_INITIAL_INTERVAL_SECONDS": "0.1",
        "A4C_VERIFY_MAX_INTERVAL_SECONDS": "0.5",
        "A4C_VERIFY_DEADLINE_SECONDS": "20",
        "A4C_OFFBOARDING_GRACE_SECONDS": str(grace),
        "A4C_SLUG_QUARANTINE_SECONDS": str(quarantine),
    }
    return service_env(system.database_url, system.task_queue, **settings)


@pytest.fixture(scope="module")
async def quick(system: System) -> AsyncIterator[Running]:
    async with running_provisioning(system_env(system, grace=1), system.client) as running:
        yield running


@pytest.fixture(scope="module")
async def patient(system: System) -> AsyncIterator[Running]:
    async with running_provisioning(system_env(system, grace=600), system.client) as running:
        yield running


async def bootstrapped(service: Running, slug: str) -> str:
    """A tenant whose bootstrap completed and whose subdomain is active; its organization id."""
    reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))
    request = pb.WatchBootstrapRequest(organization_id=reply.organization_id)
    last = [item async for item in service.stub.WatchBootstrap(request, metadata=AUTH)][-1]
    assert (last.bootstrap_status, last.subdomain_status) == (
        pb.BOOTSTRAP_STATUS_COMPLETED,
        pb.SUBDOMAIN_STATUS_ACTIVE,
    )
    return reply.organization_id


async def organization(service: Running, organization_id: str) -> pb.Organization:
    reply = await service.stub.GetOrganization(pb.GetOrganizationRequest(organization_id=organization_id))
    return reply.organization


async def lifecycle_is(service: Running, organization_id: str, status: int) -> None:
    async def reached() -> bool:
        return (await organization(service, organization_id)).lifecycle_status == status

    await eventually(reached, within=HANG_GUARD)


def records_named(system: System, fqdn: str) -> list[str]:
    return [r.id for r in system.cloudflare.store.records(system.cloudflare.zone_id(ZONE)) if r.name == fqdn]


def identity_state(system: System, organization_id: str) -> str | None:
    with system.zitadel.store.read() as state:
        org = state.orgs.get(organization_id)
        return None if org is None else org.state


async def test_offboarding_leaves_nothing_in_the_sandbox_and_every_step_is_an_event(
    system: System, quick: Running
) -> None:
    slug = unique("leaving")
    async with asyncio.timeout(HANG_GUARD):
        organization_id = await bootstrapped(quick, slug)
        fqdn = f"{slug}.{ZONE}"
        assert records_named(system, fqdn)

        first = await quick.stub.OffboardOrganization(
            pb.OffboardOrganizationRequest(slug=slug, reason="contract ended")
        )
        second = await quick.stub.OffboardOrganization(
            pb.OffboardOrganizationRequest(organization_id=organization_id, reason="contract ended")
        )
        assert (first.organization_id, first.already_existed) == (organization_id, False)
        assert first.workflow_id == f"org-offboard-{organization_id}"
        assert first.lifecycle_status == pb.LIFECYCLE_STATUS_OFFBOARDING
        assert (second.organization_id, second.already_existed) == (organization_id, True)
        await lifecycle_is(quick, organization_id, pb.LIFECYCLE_STATUS_OFFBOARDED)

    assert records_named(system, fqdn) == []
    assert identity_state(system, organization_id) is None
    stored = await quick.store.read_stream(uuid.UUID(organization_id))
    steps = [e for e in stored if e.event_type.startswith("organization.offboard")]
    assert [e.event_type for e in steps] == OFFBOARDING_STEPS
    assert all(e.processing_error is None for e in stored)
    assert {e.metadata.get("actor") for e in steps} == {ACTOR}
    assert steps[0].data["reason"] == "contract ended"
    org = await organization(quick, organization_id)
    assert (org.lifecycle_status, org.subdomain_status) == (
        pb.LIFECYCLE_STATUS_OFFBOARDED,
        pb.SUBDOMAIN_STATUS_REMOVED,
    )
    assert org.offboarding_reason == "contract ended"
    assert org.HasField("offboarded_at")

    # Offboarded: a third call answers the finished offboarding, and a cancel is refused.
    third = await quick.stub.OffboardOrganization(pb.OffboardOrganizationRequest(slug=slug, reason="again"))
    assert (third.already_existed, third.lifecycle_status) == (True, pb.LIFECYCLE_STATUS_OFFBOARDED)
    late = await rpc_error(quick.stub.CancelOffboarding(pb.CancelOffboardingRequest(slug=slug)))
    assert (late.code, late.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_OFFBOARDED")
    assert len(await quick.store.read_stream(uuid.UUID(organization_id))) == len(stored)

    # The slug is free again (no quarantine here): a new organization, the old one still readable.
    async with asyncio.timeout(HANG_GUARD):
        reborn = await bootstrapped(quick, slug)
    assert reborn != organization_id
    assert records_named(system, fqdn)
    assert (await quick.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))).organization.id == reborn
    trail = await quick.stub.ListOrganizationEvents(
        pb.ListOrganizationEventsRequest(organization_id=organization_id, page_size=1000)
    )
    assert [e.event_type for e in trail.events] == [e.event_type for e in stored]


async def test_a_reason_is_required_and_a_running_bootstrap_is_not_offboarded(quick: Running) -> None:
    missing = await rpc_error(
        quick.stub.OffboardOrganization(pb.OffboardOrganizationRequest(slug="nobody-here"))
    )
    assert (missing.code, missing.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"reason"})
    bad = await rpc_error(
        quick.stub.OffboardOrganization(pb.OffboardOrganizationRequest(slug="nobody-here", reason="a\x00b"))
    )
    assert bad.fields == {"reason"}
    unknown = await rpc_error(
        quick.stub.OffboardOrganization(pb.OffboardOrganizationRequest(slug=unique("ghost"), reason="r"))
    )
    assert unknown.code == grpc.StatusCode.NOT_FOUND


async def test_cancelling_during_the_grace_period_restores_the_tenant(
    system: System, patient: Running
) -> None:
    slug = unique("staying")
    fqdn = f"{slug}.{ZONE}"
    async with asyncio.timeout(HANG_GUARD):
        organization_id = await bootstrapped(patient, slug)
        result = await a4c(patient, "offboard", slug, "--reason", "payment overdue")
        assert result.code == 0, result.err
        assert "offboarding started" in result.out

        async def deactivated() -> bool:
            return identity_state(system, organization_id) == "INACTIVE" and not records_named(system, fqdn)

        await eventually(deactivated, within=HANG_GUARD)
        org = await organization(patient, organization_id)
        assert (org.lifecycle_status, org.subdomain_status) == (
            pb.LIFECYCLE_STATUS_OFFBOARDING,
            pb.SUBDOMAIN_STATUS_REMOVED,
        )
        retried = await rpc_error(patient.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug)))
        assert (retried.code, retried.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "ORGANIZATION_NOT_ACTIVE",
        )

        cancelled = await patient.stub.CancelOffboarding(
            pb.CancelOffboardingRequest(slug=slug, reason="payment received")
        )
        assert (cancelled.cancelled, cancelled.lifecycle_status) == (True, pb.LIFECYCLE_STATUS_ACTIVE)
        assert identity_state(system, organization_id) == "ACTIVE"

        async def restored() -> bool:
            org = await organization(patient, organization_id)
            return org.subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE and bool(records_named(system, fqdn))

        await eventually(restored, within=HANG_GUARD)
        again = await a4c(patient, "cancel-offboarding", slug)
        assert again.code == 0, again.err
        assert "already cancelled" in again.out

    types = [e.event_type for e in await patient.store.read_stream(uuid.UUID(organization_id))]
    assert EventType.OFFBOARDING_CANCELLED in types
    assert EventType.OFFBOARDING_IDENTITY_REACTIVATED in types
    assert EventType.OFFBOARDING_DELETION_STARTED not in types
    assert types.index(EventType.OFFBOARDING_CANCELLED) < types.index(
        EventType.OFFBOARDING_IDENTITY_REACTIVATED
    )
    assert types[-1] == EventType.SUBDOMAIN_VERIFIED, "a new subdomain run re-created and verified the record"
    listed = await patient.stub.ListOrganizations(
        pb.ListOrganizationsRequest(lifecycle_status=pb.LIFECYCLE_STATUS_ACTIVE, page_size=500)
    )
    assert organization_id in {o.id for o in listed.organizations}


async def test_the_same_slug_bootstraps_again_after_a_failed_bootstrap(
    system: System, quick: Running
) -> None:
    # Zitadel refuses every role grant and an impatient worker gives each step two seconds: the
    # bootstrap fails at grant_admin_role and compensation removes the record and the identity.
    queue = f"impatient-{uuid.uuid4().hex[:8]}"
    impatient_env = {**system_env(system, grace=1), "TEMPORAL_TASK_QUEUE": queue}
    hasty_worker = system.in_process_worker(
        replace(system.worker_policy, timeouts=StepTimeouts(attempt_seconds=1, total_seconds=2)), queue
    )
    slug = unique("again")
    system.zitadel.faults.configure(
        {"faults": [{"kind": "status", "status": 503, "method": "POST", "path": "*/grants", "count": 1000}]}
    )
    try:
        async with hasty_worker, running_provisioning(impatient_env, system.client) as hasty:
            async with asyncio.timeout(HANG_GUARD):
                failed = await hasty.stub.BootstrapOrganization(bootstrap_request(slug))
                request = pb.WatchBootstrapRequest(organization_id=failed.organization_id)
                items = [item async for item in hasty.stub.WatchBootstrap(request, metadata=AUTH)]
                assert items[-1].bootstrap_status == pb.BOOTSTRAP_STATUS_FAILED

                async def compensated() -> bool:
                    stored = await hasty.store.read_stream(uuid.UUID(failed.organization_id))
                    return EventType.BOOTSTRAP_COMPENSATED in {e.event_type for e in stored}

                await eventually(compensated, within=HANG_GUARD)
    finally:
        system.zitadel.faults.clear()

    async with asyncio.timeout(HANG_GUARD):
        again = await bootstrapped(quick, slug)
    assert again != failed.organization_id
    old = await organization(quick, failed.organization_id)
    assert old.bootstrap_status == pb.BOOTSTRAP_STATUS_FAILED
    assert (await quick.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))).organization.id == again


async def test_an_offboarded_slug_waits_out_its_quarantine(system: System) -> None:
    slug = unique("quarantined")
    async with (
        running_provisioning(system_env(system, grace=0, quarantine=3600), system.client) as strict,
        asyncio.timeout(HANG_GUARD),
    ):
        organization_id = await bootstrapped(strict, slug)
        await strict.stub.OffboardOrganization(pb.OffboardOrganizationRequest(slug=slug, reason="closed"))
        await lifecycle_is(strict, organization_id, pb.LIFECYCLE_STATUS_OFFBOARDED)

        resent = await rpc_error(strict.stub.BootstrapOrganization(bootstrap_request(slug)))
        other = await rpc_error(strict.stub.BootstrapOrganization(bootstrap_request(slug, name="Other Co")))
    assert (resent.code, resent.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SLUG_QUARANTINED")
    assert (other.code, other.reason) == (grpc.StatusCode.ALREADY_EXISTS, "SLUG_TAKEN")
