"""The organizations projection (sql/README.md), built by the insert triggers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from a4c.devstack.eventstore import sample_data, sample_event
from a4c.eventstore import (
    BootstrapState,
    EventStore,
    EventType,
    IdentityStatus,
    InvalidEvent,
    NewEvent,
    NotFound,
    Organization,
    SubdomainStatus,
)

E = EventType
S = SubdomainStatus
B = BootstrapState


async def _apply(store: EventStore, org: uuid.UUID, event_type: EventType, **data: Any) -> Organization:
    stored = await store.append(sample_event(org, event_type, **data))
    assert stored.processing_error is None, stored.processing_error
    return await store.get_organization(org)


async def test_every_bootstrap_step_moves_the_projection_as_designed(event_store: EventStore) -> None:
    org = uuid.uuid4()
    slug = f"acme-{org.hex[:8]}"

    row = await _apply(event_store, org, E.TEMPORAL_INITIATED, slug=slug)
    assert (row.bootstrap_status, row.current_step) == (B.INITIATED, E.TEMPORAL_INITIATED)
    assert (row.slug, row.subdomain_fqdn) == (slug, f"{slug}.firstovertheline.com")
    assert row.workflow_id == f"org-bootstrap-{org}"
    assert row.admin_email == f"admin@{slug}.example"
    assert row.subdomain_status is S.PENDING

    row = await _apply(event_store, org, E.ZITADEL_CREATED, identity_org_id="z-1", admin_user_id="u-1")
    assert (row.bootstrap_status, row.current_step) == (B.RUNNING, E.ZITADEL_CREATED)
    assert (row.identity_org_id, row.admin_user_id) == ("z-1", "u-1")

    row = await _apply(event_store, org, E.CREATED, slug=slug, name="Acme Health")
    assert (row.name, row.current_step, row.subdomain_status) == ("Acme Health", E.CREATED, S.PENDING)

    row = await _apply(
        event_store, org, E.SUBDOMAIN_DNS_RECORD_CREATED, dns_record_id="rec-9", fqdn="a.b.com"
    )
    assert (row.subdomain_status, row.dns_record_id, row.subdomain_fqdn) == (
        S.DNS_RECORD_CREATED,
        "rec-9",
        "a.b.com",
    )
    assert row.current_step == E.CREATED, "subdomain events are not bootstrap steps"

    row = await _apply(event_store, org, E.USER_ROLE_ASSIGNED)
    assert (row.bootstrap_status, row.current_step) == (B.RUNNING, E.USER_ROLE_ASSIGNED)

    row = await _apply(event_store, org, E.SUBDOMAIN_VERIFICATION_STARTED)
    assert row.subdomain_status is S.VERIFYING

    row = await _apply(event_store, org, E.USER_INVITATION_SENT)
    assert row.current_step == E.USER_INVITATION_SENT

    row = await _apply(event_store, org, E.BOOTSTRAP_COMPLETED)
    assert (row.bootstrap_status, row.current_step) == (B.COMPLETED, E.BOOTSTRAP_COMPLETED)
    assert row.subdomain_verified_at is None

    verified = await event_store.append(sample_event(org, E.SUBDOMAIN_VERIFIED))
    row = await event_store.get_organization(org)
    assert (row.subdomain_status, row.subdomain_verified_at) == (S.ACTIVE, verified.created_at)
    assert row.bootstrap_status is B.COMPLETED
    assert row.last_applied_sequence == verified.sequence
    assert row.updated_at == verified.created_at


async def test_failed_bootstrap_records_step_and_error_and_cleanup(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _apply(event_store, org, E.ZITADEL_CREATED)
    await _apply(event_store, org, E.CREATED)
    await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_CREATED, dns_record_id="rec-1")

    row = await _apply(event_store, org, E.BOOTSTRAP_FAILED, failed_step="grant_admin_role", error="403")
    assert (row.bootstrap_status, row.failed_step, row.last_error) == (B.FAILED, "grant_admin_role", "403")

    row = await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_DELETED, dns_record_id="rec-1")
    assert (row.subdomain_status, row.dns_record_id) == (S.REMOVED, None)

    row = await _apply(event_store, org, E.BOOTSTRAP_COMPENSATED)
    assert (row.bootstrap_status, row.current_step) == (B.FAILED, E.BOOTSTRAP_COMPENSATED)

    row = await _apply(event_store, org, E.SUBDOMAIN_VERIFIED)
    assert row.subdomain_status is S.REMOVED, "a late verification cannot revive a deleted record"


async def test_cancelled_bootstrap_is_final(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _apply(event_store, org, E.ZITADEL_CREATED)
    row = await _apply(event_store, org, E.BOOTSTRAP_CANCELLED)
    assert (row.bootstrap_status, row.current_step) == (B.CANCELLED, E.BOOTSTRAP_CANCELLED)

    row = await _apply(event_store, org, E.BOOTSTRAP_COMPLETED)
    assert (row.bootstrap_status, row.current_step) == (B.CANCELLED, E.BOOTSTRAP_CANCELLED)


async def test_subdomain_verification_failure_then_retry(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_CREATED)
    await _apply(event_store, org, E.SUBDOMAIN_VERIFICATION_STARTED)
    row = await _apply(event_store, org, E.SUBDOMAIN_VERIFICATION_FAILED, error="NXDOMAIN")
    assert (row.subdomain_status, row.last_error) == (S.FAILED, "NXDOMAIN")

    await _apply(event_store, org, E.SUBDOMAIN_VERIFICATION_STARTED)
    row = await _apply(event_store, org, E.SUBDOMAIN_VERIFIED)
    assert row.subdomain_status is S.ACTIVE


async def test_deleting_an_older_record_keeps_the_current_one(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_CREATED, dns_record_id="new")
    row = await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_DELETED, dns_record_id="old")
    assert (row.subdomain_status, row.dns_record_id) == (S.DNS_RECORD_CREATED, "new")


@pytest.mark.parametrize("removed", [[], ["new"], ["old", "new"]], ids=["nothing", "the-record", "two"])
async def test_compensation_removing_any_list_of_records_leaves_the_subdomain_removed(
    event_store: EventStore, removed: list[str]
) -> None:
    # "Nothing to remove" is a valid outcome (the step never created a record), not a processing error.
    org = uuid.uuid4()
    await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_CREATED, dns_record_id="new")
    row = await _apply(event_store, org, E.SUBDOMAIN_DNS_RECORD_DELETED, dns_record_ids=removed)
    assert (row.subdomain_status, row.dns_record_id) == (S.REMOVED, None)


async def test_a_removed_records_list_that_is_not_a_list_is_a_handler_error(event_store: EventStore) -> None:
    stored = await event_store.append(
        sample_event(uuid.uuid4(), E.SUBDOMAIN_DNS_RECORD_DELETED, dns_record_ids="new")
    )
    assert stored.processing_error is not None
    assert "dns_record_ids" in stored.processing_error


@pytest.mark.parametrize(
    "late_after",
    [E.ZITADEL_CREATED, E.CREATED, E.BOOTSTRAP_COMPLETED],
    ids=["after-zitadel", "after-created", "after-completed"],
)
async def test_temporal_initiated_arriving_late_only_fills_gaps(
    event_store: EventStore, late_after: EventType
) -> None:
    org = uuid.uuid4()
    order = [E.ZITADEL_CREATED, E.CREATED, E.USER_ROLE_ASSIGNED, E.BOOTSTRAP_COMPLETED]
    for event_type in order[: order.index(late_after) + 1]:
        before = await _apply(event_store, org, event_type, name="Authoritative")
    after = await _apply(event_store, org, E.TEMPORAL_INITIATED, name="Requested")

    assert after.bootstrap_status == before.bootstrap_status
    assert after.current_step == before.current_step
    assert after.workflow_id == f"org-bootstrap-{org}"
    expected_name = "Requested" if late_after is E.ZITADEL_CREATED else "Authoritative"
    assert after.name == expected_name
    assert after.created_at == before.created_at


async def test_bad_event_is_stored_with_its_error_and_later_events_still_apply(
    event_store: EventStore,
) -> None:
    org = uuid.uuid4()
    await _apply(event_store, org, E.CREATED)
    bad = await event_store.append(
        NewEvent(id=uuid.uuid4(), stream_id=org, event_type=E.ZITADEL_CREATED, data={"admin_user_id": "u"})
    )
    assert bad.processing_error is not None
    assert "identity_org_id" in bad.processing_error
    assert bad.processed_at is not None
    row = await event_store.get_organization(org)
    assert row.admin_user_id is None, "a failing handler's partial writes are undone"

    good = await _apply(event_store, org, E.ZITADEL_CREATED)
    assert good.identity_org_id == sample_data(org, E.ZITADEL_CREATED)["identity_org_id"]
    stream = await event_store.read_stream(org)
    assert [e.processing_error is None for e in stream] == [True, False, True]


async def test_unknown_event_type_is_recorded_not_raised(event_store: EventStore) -> None:
    # Only a writer that bypasses the access module can store one (NewEvent refuses it).
    org = uuid.uuid4()
    await event_store.pool.execute(
        "INSERT INTO domain_events (id, stream_id, stream_type, event_type) "
        "VALUES ($1, $2, 'organization', 'organization.renamed')",
        uuid.uuid4(),
        org,
    )
    (stored,) = await event_store.read_stream(org)
    assert stored.processing_error is not None
    assert stored.processing_error.startswith("unknown event type organization.renamed")
    assert (stored.bootstrap_status, stored.subdomain_status) == (B.INITIATED, S.PENDING)


@pytest.mark.parametrize("misspelt", ["organization.bootstrap.complete", "organization.renamed", ""])
def test_the_append_api_accepts_only_event_types(misspelt: str) -> None:
    with pytest.raises(InvalidEvent, match="is not an EventType"):
        NewEvent(id=uuid.uuid4(), stream_id=uuid.uuid4(), event_type=misspelt)  # type: ignore[arg-type]


async def test_the_schema_handles_exactly_the_event_types(event_store: EventStore) -> None:
    handled = await event_store.pool.fetch("SELECT event_type FROM event_types")
    assert {r["event_type"] for r in handled} == {t.value for t in EventType}


DRIFT_TYPES = {
    E.SUBDOMAIN_DRIFT_DETECTED,
    E.SUBDOMAIN_DRIFT_REPAIRED,
    E.IDENTITY_DRIFT_DETECTED,
    E.SUBDOMAIN_ORPHAN_DETECTED,
    E.IDENTITY_ORPHAN_DETECTED,
}


@pytest.mark.parametrize("event_type", list(EventType))
async def test_every_event_type_is_projected_without_error(
    event_store: EventStore, event_type: EventType
) -> None:
    org = uuid.uuid4()
    if event_type in DRIFT_TYPES:  # the reconciler's findings change an organization, never create one
        await event_store.append(sample_event(org, E.CREATED))
    stored = await event_store.append(sample_event(org, event_type))
    assert stored.processing_error is None, stored.processing_error
    row = await event_store.get_organization(org)
    assert (stored.bootstrap_status, stored.subdomain_status) == (row.bootstrap_status, row.subdomain_status)


async def test_malformed_role_keys_and_foreign_stream_type_are_handler_errors(
    event_store: EventStore,
) -> None:
    org = uuid.uuid4()
    roles = await event_store.append(sample_event(org, E.USER_ROLE_ASSIGNED, role_keys="admin"))
    assert roles.processing_error is not None
    assert "role_keys" in roles.processing_error
    foreign = await event_store.append(
        NewEvent(id=uuid.uuid4(), stream_id=org, event_type=E.CREATED, stream_type="invoice", data={})
    )
    assert foreign.processing_error is not None
    assert "organization stream" in foreign.processing_error


async def test_a_second_organization_with_the_same_slug_is_an_error_on_its_event(
    event_store: EventStore,
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    slug = f"dup-{first.hex[:8]}"
    await _apply(event_store, first, E.CREATED, slug=slug)
    clash = await event_store.append(sample_event(second, E.CREATED, slug=slug))
    assert clash.processing_error is not None
    assert "organizations_projection_held_slug_key" in clash.processing_error
    assert (await event_store.get_organization_by_slug(slug)).id == first


async def test_drift_findings_show_in_the_projection_and_orphans_create_no_row(
    event_store: EventStore,
) -> None:
    org = uuid.uuid4()
    for event_type in (E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED, E.SUBDOMAIN_VERIFIED):
        await event_store.append(sample_event(org, event_type))
    await event_store.append(sample_event(org, E.SUBDOMAIN_DRIFT_DETECTED))
    drifted = await event_store.get_organization(org)
    assert (drifted.subdomain_status, drifted.last_error) == (SubdomainStatus.DRIFTED, "name_taken")
    await event_store.append(sample_event(org, E.SUBDOMAIN_DRIFT_REPAIRED, dns_record_id="rec-new"))
    repaired = await event_store.get_organization(org)
    assert (repaired.subdomain_status, repaired.dns_record_id) == (SubdomainStatus.ACTIVE, "rec-new")
    await event_store.append(sample_event(org, E.IDENTITY_DRIFT_DETECTED, state="deactivated"))
    assert (await event_store.get_organization(org)).identity_status == IdentityStatus.DEACTIVATED
    bad = await event_store.append(sample_event(org, E.IDENTITY_DRIFT_DETECTED, state="fine"))
    assert bad.processing_error is not None
    assert "state" in bad.processing_error

    stranger = uuid.uuid4()
    orphan = await event_store.append(sample_event(stranger, E.SUBDOMAIN_ORPHAN_DETECTED))
    assert orphan.processing_error is None
    with pytest.raises(NotFound):
        await event_store.get_organization(stranger)
