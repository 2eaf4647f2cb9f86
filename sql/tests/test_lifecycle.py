"""Tenant lifecycle (migration 0007): lifecycle status, slug release and claims taken over."""

from __future__ import annotations

import uuid
from typing import Any

from a4c.devstack.eventstore import sample_event
from a4c.eventstore import (
    EventStore,
    EventType,
    LifecycleStatus,
    Organization,
    SlugClaims,
    SubdomainStatus,
)

E = EventType
L = LifecycleStatus


async def _apply(store: EventStore, org: uuid.UUID, event_type: EventType, **data: Any) -> Organization:
    stored = await store.append(sample_event(org, event_type, **data))
    assert stored.processing_error is None, stored.processing_error
    return await store.get_organization(org)


async def _bootstrapped(store: EventStore, slug: str) -> uuid.UUID:
    org = uuid.uuid4()
    claims = SlugClaims(store.pool)
    claim = await claims.claim(slug, org, request_id=None, fingerprint=org.hex)
    assert claim.created
    assert claim.organization_id == org
    for event_type in (E.TEMPORAL_INITIATED, E.ZITADEL_CREATED, E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED):
        await _apply(store, org, event_type, slug=slug)
    assert await claims.confirm(slug, org)
    await _apply(store, org, E.BOOTSTRAP_COMPLETED)
    return org


async def _offboard(store: EventStore, org: uuid.UUID) -> Organization:
    row = await _apply(store, org, E.OFFBOARDING_STARTED, reason="contract ended")
    assert (row.lifecycle_status, row.offboarding_reason) == (L.OFFBOARDING, "contract ended")
    for step in (
        E.OFFBOARDING_SUBDOMAIN_STOPPED,
        E.OFFBOARDING_DNS_RECORDS_REMOVED,
        E.OFFBOARDING_IDENTITY_DEACTIVATED,
        E.OFFBOARDING_DELETION_STARTED,
        E.OFFBOARDING_IDENTITY_DELETED,
    ):
        row = await _apply(store, org, step)
        assert row.lifecycle_status is L.OFFBOARDING
    return await _apply(store, org, E.OFFBOARDED)


async def test_offboarding_moves_the_lifecycle_and_removes_the_subdomain(event_store: EventStore) -> None:
    slug = f"off-{uuid.uuid4().hex[:8]}"
    org = await _bootstrapped(event_store, slug)
    assert (await event_store.get_organization(org)).lifecycle_status is L.ACTIVE
    row = await _offboard(event_store, org)
    assert row.lifecycle_status is L.OFFBOARDED
    assert (row.subdomain_status, row.dns_record_id) == (SubdomainStatus.REMOVED, None)
    assert row.offboarded_at is not None
    assert row.slug_released_at == row.offboarded_at
    listed = await event_store.list_organizations(lifecycle_status=L.OFFBOARDED, page_size=500)
    assert org in {o.id for o in listed.items}
    active = await event_store.list_organizations(lifecycle_status=L.ACTIVE, page_size=500)
    assert org not in {o.id for o in active.items}


async def test_a_cancelled_offboarding_is_active_again_and_keeps_its_slug(event_store: EventStore) -> None:
    slug = f"keep-{uuid.uuid4().hex[:8]}"
    org = await _bootstrapped(event_store, slug)
    await _apply(event_store, org, E.OFFBOARDING_STARTED)
    row = await _apply(event_store, org, E.OFFBOARDING_CANCELLED)
    assert (row.lifecycle_status, row.offboarding_reason, row.slug_released_at) == (L.ACTIVE, None, None)
    other = uuid.uuid4()
    claim = await SlugClaims(event_store.pool).claim(slug, other, request_id=None, fingerprint="x")
    assert claim.organization_id == org


async def test_an_offboarded_slug_is_claimed_again_only_after_the_quarantine(event_store: EventStore) -> None:
    slug = f"reuse-{uuid.uuid4().hex[:8]}"
    old = await _bootstrapped(event_store, slug)
    await _offboard(event_store, old)
    claims, new = SlugClaims(event_store.pool), uuid.uuid4()
    held = await claims.claim(slug, new, request_id=None, fingerprint="y", quarantine_seconds=3600)
    assert held.organization_id == old, "in quarantine"
    assert await claims.holder(slug) == old
    taken = await claims.claim(slug, new, request_id=None, fingerprint="y", quarantine_seconds=0)
    assert taken.created
    assert taken.organization_id == new
    assert await claims.holder(slug) == new

    # The new organization's row carries the same slug; the old one stays readable by id.
    await _apply(event_store, new, E.TEMPORAL_INITIATED, slug=slug)
    row = await _apply(event_store, new, E.CREATED, slug=slug)
    assert row.slug == slug
    assert (await event_store.get_organization_by_slug(slug)).id == new
    assert (await event_store.get_organization(old)).lifecycle_status is L.OFFBOARDED
    assert len(await event_store.read_stream(old)) == 12  # its whole audit trail


async def test_a_compensated_bootstrap_frees_its_slug_at_once(event_store: EventStore) -> None:
    slug = f"retry-{uuid.uuid4().hex[:8]}"
    old, claims = uuid.uuid4(), SlugClaims(event_store.pool)
    await claims.claim(slug, old, request_id=None, fingerprint=old.hex)
    await _apply(event_store, old, E.TEMPORAL_INITIATED, slug=slug)
    await claims.confirm(slug, old)
    row = await _apply(event_store, old, E.BOOTSTRAP_FAILED)
    assert row.slug_released_at is None, "failed, not yet cleaned up"
    new = uuid.uuid4()
    assert (
        await claims.claim(slug, new, request_id=None, fingerprint="z", quarantine_seconds=3600)
    ).organization_id == old
    row = await _apply(event_store, old, E.BOOTSTRAP_COMPENSATED)
    assert row.slug_released_at is not None
    taken = await claims.claim(slug, new, request_id=None, fingerprint="z", quarantine_seconds=3600)
    assert taken.created
    assert taken.organization_id == new


async def test_a_completed_bootstrap_never_releases_its_slug(event_store: EventStore) -> None:
    slug = f"held-{uuid.uuid4().hex[:8]}"
    org = await _bootstrapped(event_store, slug)
    await _apply(event_store, org, E.BOOTSTRAP_COMPENSATED)  # a late, stray cleanup event
    assert (await event_store.get_organization(org)).slug_released_at is None
    claim = await SlugClaims(event_store.pool).claim(slug, uuid.uuid4(), request_id=None, fingerprint="w")
    assert claim.organization_id == org
