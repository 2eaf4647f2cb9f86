"""The drift reconciler against the whole system (issue 18's acceptance): real services, Temporal, the
sandbox's Cloudflare and Zitadel changed behind the system's back, and the sandbox's request log.

The module has a system of its own (its own database and Temporal dev server): a reconciler run looks
at every organization, so the session's shared system, where other tests leave tenants in every state,
would make its counts and its repairs other tests' business.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.api.enums.v1 import EventType as HistoryEventType

from a4c.devstack.eventstore import DatabaseFactory, sample_event
from a4c.devstack.system import ZONE, System, running_system
from a4c.eventstore import EventType, IdentityStatus, NewEvent, SubdomainStatus
from a4c.sandbox.cloudflare.store import Batch, Record
from a4c.sandbox.cloudflare.validation import RecordSpec
from a4c.sandbox.faults import FaultMiddleware
from a4c.sandbox.request_log import RequestLog
from a4c.sandbox.zitadel.model import Org, OrgMetadatum
from a4c.worker.reconcile_settings import ReconcileSettings
from a4c.workflows.models import BootstrapInput
from a4c.workflows.reconcile import RECONCILE_WORKFLOW, DriftKind, ReconcileInput, ReconcileTally

from .helpers import subdomain_result

TARGET = f"app.{ZONE}"
BATCH = 100
CONTINUED = HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def drift(database_server_url: str) -> AsyncIterator[System]:
    from a4c.dns.server import build as dns_build
    from a4c.identity.server import build as identity_build

    factory = DatabaseFactory(database_server_url)
    url = await factory.create()
    async with running_system(
        url, dns_build=dns_build, identity_build=identity_build, with_worker=False
    ) as system:
        # Orphans of any age count here; batches of 100 so 1,000 tenants take several runs.
        settings = ReconcileSettings(batch_size=BATCH, orphan_min_age_seconds=0)
        async with system.in_process_worker(reconcile=settings):
            yield system
    await factory.drop_all()


async def reconcile(system: System, *, dry_run: bool = False, batches_per_run: int = 5) -> ReconcileTally:
    return await system.client.execute_workflow(
        RECONCILE_WORKFLOW,
        ReconcileInput(dry_run=dry_run, batches_per_run=batches_per_run),
        id=f"reconcile-test-{uuid.uuid4()}",
        task_queue=system.task_queue,
        result_type=ReconcileTally,
    )


async def active_tenant(system: System, slug: str) -> BootstrapInput:
    request = system.bootstrap_input(slug)
    await (await system.start_bootstrap(request)).result()
    assert (await subdomain_result(system, request.organization_id)).status == SubdomainStatus.ACTIVE
    return request


def records_on(system: System, fqdn: str) -> list[Record]:
    zone_id = system.cloudflare.zone_id(ZONE)
    return [r for r in system.cloudflare.store.records(zone_id) if r.name == fqdn]


def change_zone(system: System, batch: Batch) -> None:
    system.cloudflare.store.apply(system.cloudflare.zone_id(ZONE), batch)


async def types_of(system: System, organization_id: str) -> list[str]:
    return [e.event_type for e in await system.store.read_stream(uuid.UUID(organization_id))]


async def test_a_deleted_record_is_restored_with_an_event(drift: System) -> None:
    tenant = await active_tenant(drift, "drift-deleted")
    fqdn = tenant.subdomain.fqdn
    (original,) = records_on(drift, fqdn)
    change_zone(drift, Batch(deletes=[original.id]))

    tally = await reconcile(drift)

    (restored,) = records_on(drift, fqdn)
    assert (restored.type, restored.content, restored.proxied) == ("CNAME", TARGET, True)
    assert restored.comment == f"managed-by=a4c owner={tenant.organization_id}"
    assert DriftKind.RECORD_MISSING in tally.counts
    assert EventType.SUBDOMAIN_DRIFT_REPAIRED in await types_of(drift, tenant.organization_id)
    org = await drift.store.get_organization(uuid.UUID(tenant.organization_id))
    assert (org.subdomain_status, org.dns_record_id) == (SubdomainStatus.ACTIVE, restored.id)


async def test_a_changed_record_is_restored(drift: System) -> None:
    tenant = await active_tenant(drift, "drift-changed")
    (ours,) = records_on(drift, tenant.subdomain.fqdn)
    spec = RecordSpec("CNAME", ours.name, "elsewhere.example.net", 1, False, ours.comment)
    change_zone(drift, Batch(puts=[(ours.id, spec)]))

    await reconcile(drift)

    (restored,) = records_on(drift, tenant.subdomain.fqdn)
    assert (restored.id, restored.content, restored.proxied) == (ours.id, TARGET, True)


async def test_a_foreign_record_on_the_name_is_reported_never_overwritten(drift: System) -> None:
    tenant = await active_tenant(drift, "drift-foreign")
    fqdn = tenant.subdomain.fqdn
    (ours,) = records_on(drift, fqdn)
    change_zone(drift, Batch(deletes=[ours.id], posts=[RecordSpec("A", fqdn, "192.0.2.10")]))

    first = await reconcile(drift)
    second = await reconcile(drift)

    (foreign,) = records_on(drift, fqdn)
    assert (foreign.type, foreign.content, foreign.comment) == ("A", "192.0.2.10", None)
    assert first.counts.get(DriftKind.NAME_TAKEN, 0) >= 1
    assert second.counts.get(DriftKind.NAME_TAKEN, 0) >= 1  # still drifted...
    types = await types_of(drift, tenant.organization_id)
    assert types.count(EventType.SUBDOMAIN_DRIFT_DETECTED) == 1  # ...but reported once
    org = await drift.store.get_organization(uuid.UUID(tenant.organization_id))
    assert org.subdomain_status == SubdomainStatus.DRIFTED

    # The operator removes the foreign record: the next run restores ours and the drift ends.
    change_zone(drift, Batch(deletes=[foreign.id]))
    await reconcile(drift)
    (restored,) = records_on(drift, fqdn)
    assert restored.comment == f"managed-by=a4c owner={tenant.organization_id}"
    org = await drift.store.get_organization(uuid.UUID(tenant.organization_id))
    assert org.subdomain_status == SubdomainStatus.ACTIVE


async def test_an_identity_organization_deleted_or_deactivated_out_of_band_is_detected(drift: System) -> None:
    deleted, deactivated = await active_tenant(drift, "drift-gone"), await active_tenant(drift, "drift-off")
    with drift.zitadel.store.write() as state:
        del state.orgs[deleted.organization_id]
        state.orgs[deactivated.organization_id].state = "INACTIVE"

    tally = await reconcile(drift)

    assert tally.counts.get(DriftKind.IDENTITY_MISSING, 0) >= 1
    assert tally.counts.get(DriftKind.IDENTITY_DEACTIVATED, 0) >= 1
    for tenant, status in ((deleted, IdentityStatus.MISSING), (deactivated, IdentityStatus.DEACTIVATED)):
        assert EventType.IDENTITY_DRIFT_DETECTED in await types_of(drift, tenant.organization_id)
        org = await drift.store.get_organization(uuid.UUID(tenant.organization_id))
        assert org.identity_status == status
    with drift.zitadel.store.read() as state:  # no auto-repair
        assert deleted.organization_id not in state.orgs
        assert state.orgs[deactivated.organization_id].state == "INACTIVE"


async def test_a_tenant_being_offboarded_is_not_drift(drift: System) -> None:
    tenant = await active_tenant(drift, "drift-leaving")
    org = uuid.UUID(tenant.organization_id)
    # Offboarding's first steps, as its workflow records them: the record goes, the org is deactivated.
    await drift.store.append(sample_event(org, EventType.OFFBOARDING_STARTED))
    (ours,) = records_on(drift, tenant.subdomain.fqdn)
    change_zone(drift, Batch(deletes=[ours.id]))
    with drift.zitadel.store.write() as state:
        state.orgs[tenant.organization_id].state = "INACTIVE"
    before = await types_of(drift, tenant.organization_id)

    tally = await reconcile(drift)

    assert tenant.organization_id not in {f.organization_id for f in tally.findings}
    assert records_on(drift, tenant.subdomain.fqdn) == []
    assert await types_of(drift, tenant.organization_id) == before


async def test_orphans_are_reported_once_and_left_in_place(drift: System) -> None:
    record_owner, identity_owner = str(uuid.uuid4()), str(uuid.uuid4())
    orphan = RecordSpec("CNAME", f"ghost.{ZONE}", TARGET, 1, True, f"managed-by=a4c owner={record_owner}")
    change_zone(drift, Batch(posts=[orphan]))
    marked_identity_organization(drift, identity_owner)

    first = await reconcile(drift)
    await reconcile(drift)

    assert ("orphan_record", f"ghost.{ZONE}") in {(f.kind, f.subject) for f in first.findings}
    assert ("orphan_identity", identity_owner) in {(f.kind, f.subject) for f in first.findings}
    assert await types_of(drift, record_owner) == [EventType.SUBDOMAIN_ORPHAN_DETECTED]
    assert await types_of(drift, identity_owner) == [EventType.IDENTITY_ORPHAN_DETECTED]
    assert len(records_on(drift, f"ghost.{ZONE}")) == 1  # deleted only when a setting says so
    with drift.zitadel.store.read() as state:
        assert identity_owner in state.orgs


async def test_a_dry_run_lists_the_drift_and_changes_nothing(drift: System) -> None:
    tenant = await active_tenant(drift, "drift-preview")
    (ours,) = records_on(drift, tenant.subdomain.fqdn)
    change_zone(drift, Batch(deletes=[ours.id]))
    before = await types_of(drift, tenant.organization_id)

    tally = await reconcile(drift, dry_run=True)

    finding = next(f for f in tally.findings if f.organization_id == tenant.organization_id)
    assert (finding.kind, finding.action, finding.subject) == ("record_missing", "repair", ours.name)
    assert records_on(drift, tenant.subdomain.fqdn) == []
    assert await types_of(drift, tenant.organization_id) == before
    await reconcile(drift)  # leave it repaired for the tests after this one
    assert len(records_on(drift, tenant.subdomain.fqdn)) == 1


async def test_a_run_over_a_thousand_tenants_keeps_to_the_cloudflare_budget_and_a_bounded_history(
    drift: System,
) -> None:
    await seed_tenants(drift, 1000)
    log = request_log(drift)
    since = log.now()

    tally = await reconcile(drift, batches_per_run=3)

    spent = len(log.entries(since))
    print(
        f"1,000 tenants: {tally.checked} checked, {tally.batches} batches, {tally.runs} runs, "
        f"{spent} Cloudflare requests, {tally.dns_calls} dns calls, {tally.identity_calls} identity calls"
    )
    assert tally.checked >= 1000
    # One owned-records page per batch and one for the orphan pass, plus the lookups of tenants the
    # tests above left drifted: far inside the 1,000-per-5-minutes budget, and what the tally counted.
    assert tally.batches == tally.checked // BATCH + 1  # the last one short (or empty: no call)
    assert spent <= tally.batches + 1 + 10
    assert spent <= tally.dns_calls + 1  # + a zone lookup at most
    # Continue-as-new every 3 batches: several runs, each with a short history.
    assert tally.runs == -(-tally.batches // 3)
    assert tally.runs >= 4
    workflows = [w async for w in drift.client.list_workflows(f"WorkflowType = '{RECONCILE_WORKFLOW}'")]
    continued = [w for w in workflows if w.status is not None and w.status.name == "CONTINUED_AS_NEW"]
    assert len(continued) >= tally.runs - 1
    for execution in continued[:3]:
        history = await drift.client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        assert len(history.events) < 40
        assert (
            history.events[-1].event_type == HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )


def request_log(system: System) -> RequestLog:
    """The sandbox Cloudflare's log of every request it received (a4c.sandbox.request_log)."""
    app = system.cloudflare.emulator.app
    assert isinstance(app, FaultMiddleware)
    return app.requests


def marked_identity_organization(system: System, org_id: str) -> None:
    store = system.zitadel.store
    now = store.now()
    with store.write() as state:
        state.orgs[org_id] = Org(org_id, f"Ghost {org_id[:8]}", f"ghost-{org_id[:8]}.zitadel", now, now, 1)
        mark = base64.b64encode(b"a4c").decode()
        state.org_metadata.append(OrgMetadatum(org_id, "managed-by", mark, now, now, 1))


async def seed_tenants(system: System, count: int) -> None:
    """Active tenants written straight into the event store and the sandbox (a bootstrap each would
    take minutes): their events, an owned record each and an identity organization each."""
    ids = [uuid.uuid4() for _ in range(count)]
    new_events: list[NewEvent] = []
    for org in ids:
        slug = f"bulk-{org.hex[:12]}"
        fqdn = f"{slug}.{ZONE}"
        for event_type, data in (
            (EventType.CREATED, {}),
            (EventType.ZITADEL_CREATED, {"identity_org_id": str(org)}),
            (EventType.SUBDOMAIN_DNS_RECORD_CREATED, {"fqdn": fqdn}),
            (EventType.SUBDOMAIN_VERIFIED, {"fqdn": fqdn}),
            (EventType.BOOTSTRAP_COMPLETED, {}),
        ):
            new_events.append(sample_event(org, event_type, slug=slug, **data))
    for start in range(0, len(new_events), 500):
        await system.store.append_many(new_events[start : start + 500])
    posts = [
        RecordSpec("CNAME", f"bulk-{org.hex[:12]}.{ZONE}", TARGET, 1, True, f"managed-by=a4c owner={org}")
        for org in ids
    ]
    change_zone(system, Batch(posts=posts))
    store = system.zitadel.store
    now = store.now()
    with store.write() as state:
        for org in ids:
            state.orgs[str(org)] = Org(
                str(org), f"Bulk {org.hex}", f"bulk-{org.hex[:12]}.zitadel", now, now, 1
            )
