"""Projection reads (by id, slug, keyset pages) and the environment's base domain."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from a4c.eventstore import (
    BootstrapState,
    EventStore,
    EventType,
    InvalidArgument,
    NotFound,
    SubdomainStatus,
)
from a4c.eventstore.testing import sample_event


async def test_organization_by_id_and_slug_and_not_found(event_store: EventStore) -> None:
    org = uuid.uuid4()
    slug = f"find-{org.hex[:8]}"
    await event_store.append(sample_event(org, EventType.CREATED, slug=slug))
    assert (await event_store.get_organization(org)).slug == slug
    assert (await event_store.get_organization_by_slug(slug)).id == org
    with pytest.raises(NotFound):
        await event_store.get_organization(uuid.uuid4())
    with pytest.raises(NotFound):
        await event_store.get_organization_by_slug("no-such-slug")


async def test_bootstrap_status_reads_the_projection(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await event_store.append(sample_event(org, EventType.ZITADEL_CREATED))
    failed = await event_store.append(
        sample_event(org, EventType.BOOTSTRAP_FAILED, failed_step="create_organization_record", error="x")
    )
    status = await event_store.get_bootstrap_status(org)
    assert status.organization_id == org
    assert status.bootstrap_status is BootstrapState.FAILED
    assert status.bootstrap_status.is_final
    assert (status.current_step, status.failed_step) == (
        EventType.BOOTSTRAP_FAILED,
        "create_organization_record",
    )
    assert (status.subdomain_status, status.last_error) == (SubdomainStatus.PENDING, "x")
    assert status.updated_at == failed.created_at
    with pytest.raises(NotFound):
        await event_store.get_bootstrap_status(uuid.uuid4())


async def test_bootstrap_status_is_a_primary_key_lookup(event_store: EventStore) -> None:
    # The SQL function is inlined into the caller's plan: one index probe on the projection. With
    # few rows and fresh statistics (autoanalyze runs whenever it likes) a sequential scan costs less,
    # so it is ruled out here: a function that is not inlined still shows no index in its plan.
    async with event_store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) SELECT * FROM get_bootstrap_status($1)", uuid.uuid4()
        )
    assert "organizations_projection_pkey" in plan
    assert "domain_events" not in plan


async def test_list_pages_newest_first_with_filters(fresh_database: Callable[[], Awaitable[str]]) -> None:
    async with await EventStore.connect(await fresh_database()) as store:
        orgs = [uuid.uuid4() for _ in range(7)]
        for index, org in enumerate(orgs):
            await store.append(sample_event(org, EventType.CREATED))
            if index % 2 == 0:
                await store.append(sample_event(org, EventType.SUBDOMAIN_DNS_RECORD_CREATED))

        seen: list[uuid.UUID] = []
        token = None
        while True:
            page = await store.list_organizations(page_size=3, page_token=token)
            seen += [o.id for o in page.items]
            if page.next_page_token is None:
                break
            token = page.next_page_token
        assert seen == list(reversed(orgs))

        created = await store.list_organizations(
            subdomain_status=SubdomainStatus.DNS_RECORD_CREATED, page_size=2
        )
        rest = await store.list_organizations(
            subdomain_status=SubdomainStatus.DNS_RECORD_CREATED,
            page_size=2,
            page_token=created.next_page_token,
        )
        assert [o.id for o in [*created.items, *rest.items]] == [orgs[6], orgs[4], orgs[2], orgs[0]]
        assert rest.next_page_token is None

        running = await store.list_organizations(bootstrap_status=BootstrapState.RUNNING, page_size=50)
        assert len(running.items) == 7
        assert running.next_page_token is None
        assert (await store.list_organizations(bootstrap_status=BootstrapState.COMPLETED)).items == []


async def test_page_tokens_are_checked(event_store: EventStore) -> None:
    for _ in range(2):
        await event_store.append(sample_event(uuid.uuid4(), EventType.CREATED))
    page = await event_store.list_organizations(page_size=1)
    assert page.next_page_token is not None
    with pytest.raises(InvalidArgument, match="different filters"):
        await event_store.list_organizations(
            page_size=1, page_token=page.next_page_token, bootstrap_status=BootstrapState.FAILED
        )
    with pytest.raises(InvalidArgument, match="malformed"):
        await event_store.list_organizations(page_token="not-a-token")
    with pytest.raises(InvalidArgument, match="page_size"):
        await event_store.list_organizations(page_size=0)
    with pytest.raises(InvalidArgument, match="page_size"):
        await event_store.list_organizations(page_size=501)


async def test_base_domain_per_environment(fresh_database: Callable[[], Awaitable[str]]) -> None:
    async with await EventStore.connect(await fresh_database(), max_size=1) as store:
        assert await store.get_base_domain("development") == "firstovertheline.com"
        assert await store.get_base_domain("production") == "analytics4change.com"
        assert await store.get_base_domain() == "firstovertheline.com", "the seeded default"
        with pytest.raises(NotFound):
            await store.get_base_domain("staging")

        await store.pool.execute("SELECT set_environment('production')")
        assert await store.get_base_domain() == "analytics4change.com"
        assert await store.get_base_domain("development") == "firstovertheline.com", "argument wins"

        async with store.pool.acquire() as conn:  # a session setting beats the stored one
            await conn.execute("SET a4c.environment = 'development'")
            assert await conn.fetchval("SELECT get_base_domain()") == "firstovertheline.com"
            await conn.execute("RESET a4c.environment")

        with pytest.raises(asyncpg.NoDataFoundError):
            await store.pool.execute("SELECT set_environment('prod')")
        assert await store.get_base_domain() == "analytics4change.com"
