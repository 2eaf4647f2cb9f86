"""The provisioning service on the whole system: emulators, DNS and identity services, worker, Temporal.

The sandbox DNS publishes a record PROPAGATION_DELAY seconds after it changes, longer than a bootstrap
takes, so the subdomain verifies *after* the bootstrap completed, as in production, and a watch has to
follow it past the bootstrap's end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.common.client import open_channel
from a4c.devstack.system import ZONE, System, running_system
from a4c.devstack.timing import eventually
from a4c.dns.server import build as dns_build
from a4c.eventstore import EventType, NewEvent
from a4c.identity.server import build as identity_build
from a4c.sandbox.cloudflare.store import Batch
from a4c.workflows.models import StepTimeouts

from .cli_runner import a4c, bootstrap_args
from .helpers import (
    ACTOR,
    AUTH,
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_ACTIVE,
    TOKEN,
    Running,
    bootstrap_request,
    rpc_error,
    running_provisioning,
    service_env,
    unique,
)

PROPAGATION_DELAY = 2.0
BOOTSTRAP_EVENTS = [str(t) for t in COMPLETED_BOOTSTRAP[1:]]  # temporal_initiated may come anywhere
SUBDOMAIN_EVENTS = [str(t) for t in SUBDOMAIN_ACTIVE]
# A whole run must end well within this; it only turns a hang into a failure.
HANG_GUARD = 60


@pytest.fixture(scope="module")
async def system(database_url: str) -> AsyncIterator[System]:
    async with running_system(
        database_url, dns_build=dns_build, identity_build=identity_build, propagation_delay=PROPAGATION_DELAY
    ) as running:
        yield running


def system_env(system: System, **overrides: str) -> dict[str, str]:
    """Fast verification (checks every 100 ms, 20 s deadline)."""
    settings = {
        "A4C_BASE_DOMAIN": ZONE,
        "A4C_VERIFY_FIRST_CHECK_SECONDS": "0.05",
        "A4C_VERIFY_INITIAL_INTERVAL_SECONDS": "0.1",
        "A4C_VERIFY_MAX_INTERVAL_SECONDS": "0.5",
        "A4C_VERIFY_DEADLINE_SECONDS": "20",
        "A4C_STEP_ATTEMPT_SECONDS": "5",
        "A4C_STEP_TOTAL_SECONDS": "30",
    }
    return service_env(system.database_url, system.task_queue, **{**settings, **overrides})


@pytest.fixture(scope="module")
async def service(system: System) -> AsyncIterator[Running]:
    async with running_provisioning(system_env(system), system.client) as running:
        yield running


async def watch(
    service: Running, after_sequence: int = 0, **organization: str
) -> list[pb.WatchBootstrapResponse]:
    request = pb.WatchBootstrapRequest(after_sequence=after_sequence, **organization)
    return [item async for item in service.stub.WatchBootstrap(request, metadata=AUTH)]


def types_of(items: list[pb.WatchBootstrapResponse]) -> list[str]:
    return [i.event.event_type for i in items]


async def test_a_bootstrap_completes_and_a_hundred_watchers_see_every_event_once_in_order(
    system: System, service: Running
) -> None:
    slug = unique("e2e")
    async with asyncio.timeout(HANG_GUARD):
        reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))
        results = await asyncio.gather(
            *(watch(service, organization_id=reply.organization_id) for _ in range(100))
        )

    stored = await service.store.read_stream(uuid.UUID(reply.organization_id))
    for received in results:
        assert [r.event.id for r in received] == [str(e.id) for e in stored]
    types = types_of(results[0])
    assert [t for t in types if t in BOOTSTRAP_EVENTS] == BOOTSTRAP_EVENTS
    assert [t for t in types if t in SUBDOMAIN_EVENTS] == SUBDOMAIN_EVENTS
    assert types.count(EventType.TEMPORAL_INITIATED) == 1
    assert types.index(EventType.BOOTSTRAP_COMPLETED) < types.index(EventType.SUBDOMAIN_VERIFIED)
    last = results[0][-1]
    assert (last.bootstrap_status, last.subdomain_status) == (
        pb.BOOTSTRAP_STATUS_COMPLETED,
        pb.SUBDOMAIN_STATUS_ACTIVE,
    )

    view = (await service.stub.GetBootstrap(pb.GetBootstrapRequest(slug=slug))).bootstrap
    assert (view.status, view.subdomain_status) == (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_ACTIVE)
    assert {s.state for s in view.steps} == {pb.STEP_STATE_COMPLETED}
    org = (await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))).organization
    assert org.identity_organization_id
    assert org.admin_user_id
    assert org.dns_record_id
    # Who asked is in every event, the workflows' included (issue 14: the actor).
    assert {e.metadata.get("actor") for e in stored} == {ACTOR}
    assert org.HasField("subdomain_verified_at")
    zone_id = system.cloudflare.zone_id(ZONE)
    assert [r.name for r in system.cloudflare.store.records(zone_id) if r.name == reply.subdomain_fqdn] == [
        reply.subdomain_fqdn
    ]


async def test_the_provisioning_principal_cannot_call_dns_or_identity(system: System) -> None:
    """The operator's credential (provisioning's caller) is no principal of dns or identity."""
    dns_request = dns_pb2.ListRecordsRequest(zone=ZONE)
    identity_request = identity_pb2.GetOrganizationRequest(organization_id=str(uuid.uuid4()))
    async with (
        open_channel(system.dns.address, token=TOKEN) as dns_channel,
        open_channel(system.identity.address, token=TOKEN) as identity_channel,
    ):
        dns = dns_pb2_grpc.DnsServiceStub(dns_channel)
        identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
        for call in (
            dns.ListRecords(dns_request),
            dns.CreateRecord(dns_pb2.CreateRecordRequest()),
            identity.GetOrganization(identity_request),
            identity.SendInvitation(identity_pb2.SendInvitationRequest()),
        ):
            assert (await rpc_error(call)).code == grpc.StatusCode.UNAUTHENTICATED
    # The worker's credential is (the same calls, authenticated).
    listed = await dns_pb2_grpc.DnsServiceStub(system.upstreams.dns).ListRecords(dns_request)
    assert listed.records is not None


async def test_a_refused_request_reaches_nothing_upstream(system: System, service: Running) -> None:
    slug = unique("refused")
    details = await rpc_error(service.stub.BootstrapOrganization(bootstrap_request(slug, admin_email="nope")))
    assert details.fields == {"admin.email"}
    zone_id = system.cloudflare.zone_id(ZONE)
    assert not [r for r in system.cloudflare.store.records(zone_id) if r.name.startswith(f"{slug}.")]
    with system.zitadel.store.read() as state:
        assert not [o for o in state.orgs.values() if slug in o.name]


async def test_the_cli_bootstraps_with_watch_to_the_end(service: Running) -> None:
    slug = unique("cliwatch")
    async with asyncio.timeout(HANG_GUARD):
        result = await a4c(service, *bootstrap_args(slug, "--watch"))

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"bootstrap started: {slug} → {slug}.{ZONE}"
    for text in ("identity organization and admin user created", "admin role granted", "bootstrap completed"):
        assert any(text in line for line in lines)
    assert "subdomain active  [bootstrap completed, subdomain active]" in lines[-2]
    assert lines[-1] == f"bootstrap completed; subdomain {slug}.{ZONE} active"


async def test_a_cancelled_bootstrap_compensates_and_the_watch_ends_with_it(
    system: System, service: Running
) -> None:
    # Slow identity calls keep the bootstrap running long enough to cancel it mid-way.
    system.zitadel.faults.configure({"faults": [{"kind": "latency", "seconds": 0.3}]})
    try:
        slug = unique("cancelled")
        async with asyncio.timeout(HANG_GUARD):
            reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))
            watching = asyncio.create_task(watch(service, organization_id=reply.organization_id))

            async def recorded() -> bool:
                stream = await service.store.read_stream(uuid.UUID(reply.organization_id))
                return EventType.CREATED in [e.event_type for e in stream]

            await eventually(recorded)
            cancelled = await service.stub.CancelBootstrap(
                pb.CancelBootstrapRequest(slug=slug, reason="operator changed their mind")
            )
            received = await watching
    finally:
        system.zitadel.faults.clear()

    assert cancelled.cancel_requested
    types = types_of(received)
    assert EventType.BOOTSTRAP_CANCELLED in types
    assert types[-1] == EventType.BOOTSTRAP_COMPENSATED
    assert received[-1].bootstrap_status == pb.BOOTSTRAP_STATUS_CANCELLED
    view = (await service.stub.GetBootstrap(pb.GetBootstrapRequest(slug=slug))).bootstrap
    assert view.status == pb.BOOTSTRAP_STATUS_CANCELLED
    with system.zitadel.store.read() as state:
        assert not [o for o in state.orgs.values() if o.id == reply.organization_id]


async def test_a_failed_subdomain_is_retried_and_a_watch_follows_it_to_active(
    system: System, service: Running
) -> None:
    # Cloudflare answers every record creation with 503 and this service gives each remote step two
    # seconds in all: the subdomain fails for sure (not on a race with propagation), the bootstrap does not.
    system.cloudflare.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 503, "method": "POST", "path": "*/dns_records", "count": 1000}
            ]
        }
    )
    # The step timeouts are the worker's own (it ignores the input's): an impatient worker on a queue of
    # its own, and a provisioning service that starts the bootstrap there.
    queue = f"impatient-{uuid.uuid4().hex[:8]}"
    impatient = service_env(system.database_url, queue, A4C_BASE_DOMAIN=ZONE)
    hasty_worker = system.in_process_worker(
        replace(system.worker_policy, timeouts=StepTimeouts(attempt_seconds=1, total_seconds=2)), queue
    )
    slug = unique("retried")
    try:
        async with (
            hasty_worker,
            running_provisioning(impatient, system.client) as hasty,
            asyncio.timeout(HANG_GUARD),
        ):
            await hasty.stub.BootstrapOrganization(bootstrap_request(slug))
            first = await watch(hasty, slug=slug)
    finally:
        system.cloudflare.faults.clear()
    assert first[-1].subdomain_status == pb.SUBDOMAIN_STATUS_FAILED
    assert first[-1].bootstrap_status == pb.BOOTSTRAP_STATUS_COMPLETED
    assert EventType.SUBDOMAIN_DNS_RECORD_CREATED not in types_of(first)

    async with asyncio.timeout(HANG_GUARD):
        retried = await service.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug))
        # Settled as failed, but the retried subdomain workflow runs: the watch waits for its events.
        after = await watch(service, first[-1].event.sequence, slug=slug)

    assert retried.workflow_id.startswith("org-subdomain-")
    assert types_of(after) == SUBDOMAIN_EVENTS
    assert after[-1].subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE
    org = (await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))).organization
    assert org.subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE


async def test_the_cli_previews_drift_without_changing_anything_and_get_shows_drifted(
    system: System, service: Running
) -> None:
    slug = unique("preview")
    async with asyncio.timeout(HANG_GUARD):
        reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))

        async def active() -> bool:
            got = await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug), metadata=AUTH)
            return got.organization.subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE

        await eventually(active, within=HANG_GUARD)
        zone_id = system.cloudflare.zone_id(ZONE)
        (record,) = [r for r in system.cloudflare.store.records(zone_id) if r.name == f"{slug}.{ZONE}"]
        system.cloudflare.store.apply(zone_id, Batch(deletes=[record.id]))
        before = await service.store.read_stream(uuid.UUID(reply.organization_id))

        result = await a4c(service, "reconcile", "--dry-run")

    assert result.code == 0, result.err
    (line,) = [line for line in result.out.splitlines() if line.startswith(f"{slug} ")]
    assert line.split()[1:4] == ["record_missing", "repair", f"{slug}.{ZONE}"]
    assert result.out.splitlines()[-1].endswith("nothing was changed")
    assert not [r for r in system.cloudflare.store.records(zone_id) if r.name == f"{slug}.{ZONE}"]
    assert await service.store.read_stream(uuid.UUID(reply.organization_id)) == before
    refused = await a4c(service, "reconcile")
    assert refused.code == 2
    assert "--dry-run" in refused.err

    # What the reconciler records shows in Get and List: the subdomain drifted, the identity missing.
    org = uuid.UUID(reply.organization_id)
    for event_type, data in (
        (EventType.SUBDOMAIN_DRIFT_DETECTED, {"fqdn": f"{slug}.{ZONE}", "reason": "name_taken"}),
        (EventType.IDENTITY_DRIFT_DETECTED, {"identity_org_id": str(org), "state": "missing"}),
    ):
        await service.store.append(NewEvent(id=uuid.uuid4(), stream_id=org, event_type=event_type, data=data))
    got = (
        await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug), metadata=AUTH)
    ).organization
    assert (got.subdomain_status, got.identity_status) == (
        pb.SUBDOMAIN_STATUS_DRIFTED,
        pb.IDENTITY_STATUS_MISSING,
    )
    listed = await service.stub.ListOrganizations(
        pb.ListOrganizationsRequest(subdomain_status=pb.SUBDOMAIN_STATUS_DRIFTED), metadata=AUTH
    )
    assert slug in [o.slug for o in listed.organizations]
