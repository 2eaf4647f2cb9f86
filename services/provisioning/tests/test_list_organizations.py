"""ListOrganizations pages through 1,000 organizations, filtered or not, without duplicates or gaps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.devstack.eventstore import DatabaseFactory
from a4c.eventstore import EventType, NewEvent

from .helpers import (
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_ACTIVE,
    SUBDOMAIN_FAILED,
    Running,
    org_events,
    rpc_error,
    running_provisioning,
    service_env,
)

# Five kinds of organization, by index modulo 5: (events after the bootstrap's, bootstrap, subdomain).
KINDS = [
    (COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE, pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_ACTIVE),
    (COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED, pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_FAILED),
    (COMPLETED_BOOTSTRAP[:2], pb.BOOTSTRAP_STATUS_RUNNING, pb.SUBDOMAIN_STATUS_PENDING),
    (
        [*COMPLETED_BOOTSTRAP[:2], EventType.BOOTSTRAP_FAILED, EventType.BOOTSTRAP_COMPENSATED],
        pb.BOOTSTRAP_STATUS_FAILED,
        pb.SUBDOMAIN_STATUS_PENDING,
    ),
    (COMPLETED_BOOTSTRAP[:1], pb.BOOTSTRAP_STATUS_INITIATED, pb.SUBDOMAIN_STATUS_PENDING),
]
TOTAL = 1000


class Seeded:
    def __init__(self) -> None:
        self.kind: dict[str, int] = {}

    def ids(self, kind: int | None = None) -> set[str]:
        return {i for i, k in self.kind.items() if kind is None or k == kind}


@pytest.fixture(scope="module")
async def listing(
    database_server_url: str, temporal: WorkflowEnvironment
) -> AsyncIterator[tuple[Running, Seeded]]:
    """A service on a database of its own holding TOTAL organizations, appended in 10 batches."""
    databases = DatabaseFactory(database_server_url)
    env = service_env(await databases.create(), f"list-{uuid.uuid4().hex[:8]}")
    async with running_provisioning(env, temporal.client) as service:
        seeded = Seeded()
        for batch in range(10):  # one statement per batch: many organizations share a created_at
            events: list[NewEvent] = []
            for n in range(TOTAL // 10):
                index = batch * (TOTAL // 10) + n
                organization_id = uuid.uuid4()
                events += org_events(organization_id, f"org-{index:04d}", KINDS[index % 5][0])
                seeded.kind[str(organization_id)] = index % 5
            await service.store.append_many(events)
        yield service, seeded
    await databases.drop_all()


async def page_all(service: Running, size: int, **filters: int) -> list[pb.Organization]:
    items: list[pb.Organization] = []
    token = ""
    while True:
        reply = await service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=size, page_token=token, **filters)
        )
        assert len(reply.organizations) <= (size or 50)
        items += reply.organizations
        token = reply.next_page_token
        if not token:
            return items


def newest_first(items: list[pb.Organization]) -> bool:
    keys = [(o.created_at.ToNanoseconds(), uuid.UUID(o.id)) for o in items]
    return keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("size", [37, 0, 500])
async def test_paging_without_filters_returns_every_organization_once_newest_first(
    listing: tuple[Running, Seeded], size: int
) -> None:
    service, seeded = listing
    items = await page_all(service, size)
    ids = [o.id for o in items]
    assert len(ids) == len(set(ids)) >= TOTAL
    assert set(ids) == seeded.ids()
    assert newest_first(items)


@pytest.mark.parametrize(
    ("filters", "kinds"),
    [
        ({"subdomain_status": pb.SUBDOMAIN_STATUS_ACTIVE}, {0}),
        ({"subdomain_status": pb.SUBDOMAIN_STATUS_FAILED}, {1}),
        ({"bootstrap_status": pb.BOOTSTRAP_STATUS_COMPLETED}, {0, 1}),
        ({"bootstrap_status": pb.BOOTSTRAP_STATUS_FAILED}, {3}),
        ({"subdomain_status": pb.SUBDOMAIN_STATUS_PENDING}, {2, 3, 4}),
        (
            {
                "bootstrap_status": pb.BOOTSTRAP_STATUS_COMPLETED,
                "subdomain_status": pb.SUBDOMAIN_STATUS_FAILED,
            },
            {1},
        ),
        ({"bootstrap_status": pb.BOOTSTRAP_STATUS_CANCELLED}, set()),
    ],
    ids=[
        "active",
        "subdomain-failed",
        "completed",
        "bootstrap-failed",
        "pending",
        "completed+failed",
        "none",
    ],
)
async def test_filters_select_exactly_the_matching_organizations(
    listing: tuple[Running, Seeded], filters: dict[str, int], kinds: set[int]
) -> None:
    service, seeded = listing
    items = await page_all(service, 29, **filters)
    ids = [o.id for o in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == set().union(*(seeded.ids(k) for k in kinds))
    for item in items:
        _, bootstrap, subdomain = KINDS[seeded.kind[item.id]]
        assert (item.bootstrap_status, item.subdomain_status) == (bootstrap, subdomain)


async def test_organizations_added_while_paging_neither_duplicate_nor_hide_existing_ones(
    listing: tuple[Running, Seeded],
) -> None:
    service, seeded = listing
    seen: list[str] = []
    token, added = "", []
    while True:
        reply = await service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=100, page_token=token)
        )
        seen += [o.id for o in reply.organizations]
        extra = uuid.uuid4()  # newer than every cursor: it belongs before the pages already read
        await service.store.append_many(org_events(extra, f"late-{extra.hex[:10]}", COMPLETED_BOOTSTRAP[:1]))
        added.append(str(extra))
        token = reply.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert seeded.ids() <= set(seen)
    for late in added:  # what the other tests of this module now expect to see as well
        seeded.kind[late] = 4


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_size": 501}, "page_size"),
        ({"page_size": -1}, "page_size"),
        ({"page_token": "not a token"}, "page_token"),
        ({"subdomain_status": 42}, "subdomain_status"),
        ({"bootstrap_status": 42}, "bootstrap_status"),
    ],
    ids=[
        "size-too-big",
        "size-negative",
        "token-garbage",
        "unknown-subdomain-status",
        "unknown-bootstrap-status",
    ],
)
async def test_bad_list_requests_name_the_field(
    listing: tuple[Running, Seeded], request_fields: dict[str, object], field: str
) -> None:
    service, _ = listing
    details = await rpc_error(service.stub.ListOrganizations(pb.ListOrganizationsRequest(**request_fields)))
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {field})


async def test_a_page_token_only_works_with_the_filters_it_was_issued_for(
    listing: tuple[Running, Seeded],
) -> None:
    service, _ = listing
    first = await service.stub.ListOrganizations(
        pb.ListOrganizationsRequest(page_size=10, subdomain_status=pb.SUBDOMAIN_STATUS_ACTIVE)
    )
    details = await rpc_error(
        service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=10, page_token=first.next_page_token)
        )
    )
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_token"})


async def test_a_query_matches_a_slugs_start_or_any_part_of_a_name_ignoring_case(
    listing: tuple[Running, Seeded],
) -> None:
    service, _ = listing
    by_slug = await page_all_matching(service, "ORG-012")
    assert sorted(o.slug for o in by_slug) == [f"org-{i:04d}" for i in range(120, 130)]
    by_name = await page_all_matching(service, "g org-0999")  # inside "Org org-0999"
    assert [o.slug for o in by_name] == ["org-0999"]
    assert await page_all_matching(service, "%") == []  # plain text, not a LIKE pattern
    active = await page_all_matching(service, "org-01", subdomain_status=pb.SUBDOMAIN_STATUS_ACTIVE)
    assert {o.slug for o in active} == {f"org-{i:04d}" for i in range(100, 200, 5)}


async def page_all_matching(service: Running, query: str, **filters: int) -> list[pb.Organization]:
    items: list[pb.Organization] = []
    token = ""
    while True:
        reply = await service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=7, page_token=token, query=query, **filters)
        )
        items += reply.organizations
        token = reply.next_page_token
        if not token:
            return items


async def test_a_page_token_is_bound_to_its_query_and_a_bad_query_names_the_field(
    listing: tuple[Running, Seeded],
) -> None:
    service, _ = listing
    first = await service.stub.ListOrganizations(pb.ListOrganizationsRequest(page_size=3, query="org-01"))
    details = await rpc_error(
        service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=3, page_token=first.next_page_token, query="org-02")
        )
    )
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_token"})
    for query in ("x" * 101, "a\nb"):
        details = await rpc_error(service.stub.ListOrganizations(pb.ListOrganizationsRequest(query=query)))
        assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"query"})
