"""WatchBootstrap: every event of the organization, in order, exactly once, over one shared listener."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.devstack.eventstore import DatabaseFactory
from a4c.devstack.timing import eventually
from a4c.eventstore import EventType, NewEvent
from a4c.provisioning.hub import EventHub
from a4c.provisioning.temporal import Workflows
from a4c.provisioning.watch import Watcher
from a4c.workflows.models import BOOTSTRAP_WORKFLOW

from .helpers import (
    AUTH,
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_ACTIVE,
    Running,
    bootstrap_id,
    org_events,
    rpc_error,
    running_provisioning,
    service_env,
    unique,
)

# Status after each event of COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE.
EXPECTED_STATUSES = [
    (pb.BOOTSTRAP_STATUS_INITIATED, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_RUNNING, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_RUNNING, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_RUNNING, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_RUNNING, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_PENDING),
    (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_DNS_RECORD_CREATED),
    (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_VERIFYING),
    (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_ACTIVE),
]


@pytest.fixture(scope="module")
async def watched(database_server_url: str, temporal: WorkflowEnvironment) -> AsyncIterator[Running]:
    """A service on a database of its own, so its LISTEN connections can be counted."""
    databases = DatabaseFactory(database_server_url)
    env = service_env(await databases.create(), f"watch-{uuid.uuid4().hex[:8]}")
    async with running_provisioning(env, temporal.client) as service:
        yield service
    await databases.drop_all()


async def collect(service: Running, request: pb.WatchBootstrapRequest) -> list[pb.WatchBootstrapResponse]:
    return [item async for item in service.stub.WatchBootstrap(request, metadata=AUTH)]


async def listeners(service: Running) -> int:
    count: int = await service.store.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
    )
    return count


async def test_a_hundred_watchers_each_get_every_event_once_in_order_over_one_listener(
    watched: Running,
) -> None:
    organization_id, slug = uuid.uuid4(), unique("watched")
    events = org_events(organization_id, slug, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE)
    await watched.store.append(events[0])  # the organization must exist before it can be watched
    request = pb.WatchBootstrapRequest(organization_id=str(organization_id))
    watchers = [asyncio.create_task(collect(watched, request)) for _ in range(100)]

    async def all_registered() -> bool:
        return watched.provisioning.hub.watchers == 100 and await listeners(watched) >= 1

    await eventually(all_registered)
    assert await listeners(watched) == 1
    other = uuid.uuid4()
    noise = org_events(other, unique("noise"), COMPLETED_BOOTSTRAP)
    for index, event in enumerate(events[1:]):  # one append at a time, interleaved with another stream
        await watched.store.append(event)
        await watched.store.append(noise[index % len(noise)])
    results = await asyncio.gather(*watchers)

    stored = await watched.store.read_stream(organization_id)
    for received in results:
        assert [r.event.id for r in received] == [str(e.id) for e in stored]
        assert [(r.bootstrap_status, r.subdomain_status) for r in received] == EXPECTED_STATUSES
    assert watched.provisioning.hub.watchers == 0


async def test_a_watch_from_a_sequence_delivers_only_later_events_with_their_statuses(
    watched: Running,
) -> None:
    organization_id, slug = uuid.uuid4(), unique("resume")
    await watched.store.append_many(org_events(organization_id, slug, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE))
    stored = await watched.store.read_stream(organization_id)

    received = await collect(watched, pb.WatchBootstrapRequest(slug=slug, after_sequence=stored[2].sequence))

    assert [r.event.stream_version for r in received] == [e.stream_version for e in stored[3:]]
    assert [(r.bootstrap_status, r.subdomain_status) for r in received] == EXPECTED_STATUSES[3:]


async def test_a_settled_organization_is_replayed_and_the_watch_ends(watched: Running) -> None:
    organization_id, slug = uuid.uuid4(), unique("settled")
    await watched.store.append_many(org_events(organization_id, slug, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE))

    received = await collect(watched, pb.WatchBootstrapRequest(slug=slug))

    assert [r.event.event_type for r in received] == [str(t) for t in COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE]


async def test_the_watch_stays_open_while_a_settled_organizations_workflow_still_runs(
    watched: Running,
) -> None:
    organization_id, slug = uuid.uuid4(), unique("closing")
    events = org_events(
        organization_id,
        slug,
        [*COMPLETED_BOOTSTRAP[:2], EventType.BOOTSTRAP_FAILED, EventType.BOOTSTRAP_COMPENSATED],
    )
    handle = await watched.temporal.start_workflow(
        BOOTSTRAP_WORKFLOW, id=bootstrap_id(organization_id), task_queue=f"nobody-{uuid.uuid4().hex[:6]}"
    )
    await watched.store.append_many(events[:3])  # failed: settled, but the workflow has not closed yet
    received: list[pb.WatchBootstrapResponse] = []

    async def follow() -> None:
        async for item in watched.stub.WatchBootstrap(pb.WatchBootstrapRequest(slug=slug), metadata=AUTH):
            received.append(item)

    task = asyncio.create_task(follow())

    async def delivered(n: int) -> bool:
        return len(received) == n

    await eventually(lambda: delivered(3))
    await watched.store.append(events[3])  # compensation, appended after the failure
    await eventually(lambda: delivered(4))
    assert not task.done()
    await handle.terminate("test: the workflow ends")
    await task

    assert [r.event.event_type for r in received][-1] == EventType.BOOTSTRAP_COMPENSATED
    assert received[-1].bootstrap_status == pb.BOOTSTRAP_STATUS_FAILED


async def test_a_cancelled_watch_leaves_the_hub(watched: Running) -> None:
    organization_id, slug = uuid.uuid4(), unique("leaving")
    await watched.store.append_many(org_events(organization_id, slug, COMPLETED_BOOTSTRAP[:2]))
    call = watched.stub.WatchBootstrap(pb.WatchBootstrapRequest(slug=slug), metadata=AUTH)
    first = await call.read()
    assert first.event.event_type == EventType.TEMPORAL_INITIATED
    call.cancel()

    async def left() -> bool:
        return watched.provisioning.hub.watchers == 0

    await eventually(left)


@pytest.mark.parametrize(
    ("request_fields", "code", "fields"),
    [
        ({"slug": "never-bootstrapped"}, grpc.StatusCode.NOT_FOUND, set()),
        ({"slug": "some-org", "after_sequence": -1}, grpc.StatusCode.INVALID_ARGUMENT, {"after_sequence"}),
        ({}, grpc.StatusCode.INVALID_ARGUMENT, {"organization_id"}),
    ],
    ids=["unknown", "negative-sequence", "no-organization"],
)
async def test_bad_watch_requests_are_refused(
    watched: Running, request_fields: dict[str, object], code: grpc.StatusCode, fields: set[str]
) -> None:
    details = await rpc_error(collect(watched, pb.WatchBootstrapRequest(**request_fields)))
    assert (details.code, details.fields) == (code, fields)


async def test_a_watcher_that_falls_behind_rereads_instead_of_losing_events(
    watched: Running, temporal: WorkflowEnvironment
) -> None:
    hub = EventHub(watched.store, queue_size=2)
    watcher = Watcher(watched.store, hub, Workflows(temporal.client, "unused"))
    organization_id, slug = uuid.uuid4(), unique("slow")
    events: list[NewEvent] = org_events(organization_id, slug, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE)
    await watched.store.append(events[0])
    try:
        stream = watcher.watch(organization_id, 0)
        first = await anext(stream)  # registered; from here on it reads nothing until all are appended
        for event in events[1:]:
            await watched.store.append(event)

        async def overflowed() -> bool:
            return any(feed._overflowed for feeds in hub._feeds.values() for feed in feeds)

        await eventually(overflowed)
        rest = [item async for item in stream]
    finally:
        await hub.close()

    assert [i.event.id for i in [first, *rest]] == [e.id for e in events]
