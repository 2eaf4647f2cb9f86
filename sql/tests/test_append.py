"""Appending: idempotency by id, versions under concurrency, validation, ordering guarantees."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from a4c.devstack.eventstore import sample_event
from a4c.eventstore import (
    ConcurrencyError,
    DatabaseUnavailable,
    EventIdConflict,
    EventStore,
    EventType,
    InvalidEvent,
    NewEvent,
    event_id,
)


async def test_appending_the_same_id_twice_stores_one_event(event_store: EventStore) -> None:
    org = uuid.uuid4()
    event = sample_event(org, EventType.CREATED)
    first = await event_store.append(event)
    replay = NewEvent(
        id=event.id,
        stream_id=org,
        event_type=EventType.CREATED,
        data={"name": "changed"},
        metadata={"attempt": 2},
    )
    second = await event_store.append(replay)

    assert second == first
    assert await event_store.pool.fetchval("SELECT count(*) FROM domain_events WHERE id = $1", event.id) == 1
    assert len(await event_store.read_stream(org)) == 1


async def test_duplicates_inside_one_batch_are_stored_once(event_store: EventStore) -> None:
    org = uuid.uuid4()
    event = sample_event(org, EventType.ZITADEL_CREATED)
    stored = await event_store.append_many([event, sample_event(org, EventType.CREATED), event])
    assert [s.stream_version for s in stored] == [1, 2, 1]
    assert stored[0] == stored[2]


async def test_reusing_an_id_for_another_event_type_is_refused(event_store: EventStore) -> None:
    org = uuid.uuid4()
    event = await event_store.append(sample_event(org, EventType.CREATED))
    with pytest.raises(EventIdConflict):
        await event_store.append(
            NewEvent(id=event.id, stream_id=org, event_type=EventType.BOOTSTRAP_COMPLETED)
        )


async def test_concurrent_appends_to_one_stream_get_distinct_consecutive_versions(
    event_store: EventStore,
) -> None:
    org = uuid.uuid4()
    events = [sample_event(org, EventType.USER_INVITATION_SENT) for _ in range(40)]
    stored = await asyncio.gather(*(event_store.append(e) for e in events))

    assert sorted(s.stream_version for s in stored) == list(range(1, 41))
    by_sequence = sorted(stored, key=lambda s: s.sequence)
    assert [s.stream_version for s in by_sequence] == list(range(1, 41)), "versions follow commit order"
    assert [e.id for e in await event_store.read_stream(org)] == [s.id for s in by_sequence]


async def test_expected_version_is_optimistic_concurrency(event_store: EventStore) -> None:
    org = uuid.uuid4()
    first = NewEvent(id=uuid.uuid4(), stream_id=org, event_type=EventType.CREATED, expected_version=0)
    assert (await event_store.append(first)).stream_version == 1
    stale = NewEvent(id=uuid.uuid4(), stream_id=org, event_type=EventType.CREATED, expected_version=0)
    with pytest.raises(ConcurrencyError):
        await event_store.append(stale)
    ahead = NewEvent(id=uuid.uuid4(), stream_id=org, event_type=EventType.CREATED, expected_version=5)
    with pytest.raises(ConcurrencyError):
        await event_store.append(ahead)
    assert len(await event_store.read_stream(org)) == 1


async def test_an_uncommitted_append_holds_back_later_appends(event_store: EventStore) -> None:
    """Sequence order must equal commit order, or readers paging by sequence could skip events."""
    org = uuid.uuid4()
    async with event_store.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        early = await conn.fetchval(
            "INSERT INTO domain_events (id, stream_id, stream_type, event_type) "
            "VALUES ($1, $2, 'organization', 'organization.bootstrap.completed') RETURNING sequence",
            uuid.uuid4(),
            org,
        )
        later = asyncio.create_task(event_store.append(sample_event(org, EventType.CREATED)))
        await _until_a_backend_waits_on_the_append_lock(event_store)
        assert not later.done()
        assert await event_store.read_all(early - 1, stream_id=org) == []
        await tx.commit()
    stored = await later
    assert stored.sequence > early
    assert stored.stream_version == 2


async def _until_a_backend_waits_on_the_append_lock(store: EventStore) -> None:
    query = """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
               AND classid = 2636 AND objid = 1 AND database = (SELECT oid FROM pg_database
               WHERE datname = current_database())"""
    async with asyncio.timeout(10):
        while await store.pool.fetchval(query) == 0:
            await asyncio.sleep(0.01)


async def test_events_round_trip_with_payload_and_metadata(event_store: EventStore) -> None:
    org = uuid.uuid4()
    data = {
        "name": "Ünïcode ✓",
        "slug": f"rt-{org.hex[:8]}",
        "subdomain_fqdn": "x.example.com",
        "n": [1, 2.5],
    }
    meta = {"workflow_id": "wf", "run_id": str(uuid.uuid4()), "attempt": 3, "org": org}
    stored = await event_store.append(
        NewEvent(id=uuid.uuid4(), stream_id=org, event_type=EventType.CREATED, data=data, metadata=meta)
    )
    (read,) = await event_store.read_stream(org)
    assert read == stored
    assert read.data == data
    assert read.metadata == {**meta, "org": str(org)}
    assert read.stream_type == "organization"
    assert read.created_at.tzinfo is not None


async def test_read_all_pages_by_sequence(event_store: EventStore) -> None:
    org = uuid.uuid4()
    start = await event_store.last_sequence()
    stored = await event_store.append_many([sample_event(org, EventType.CREATED) for _ in range(5)])
    page = await event_store.read_all(start, limit=3)
    rest = await event_store.read_all(page[-1].sequence, limit=100, stream_id=org)
    assert [e.id for e in page + rest] == [s.id for s in stored]
    assert [e.stream_version for e in await event_store.read_stream(org, after_version=3)] == [4, 5]


@pytest.mark.parametrize(
    ("event_type", "stream_type", "data"),
    [
        ("Organization.Created", "organization", {}),
        ("created", "organization", {}),
        ("organization.created", "Org", {}),
        ("organization.created", "organization", ["not", "an", "object"]),
    ],
)
def test_malformed_events_are_refused_before_sql(event_type: str, stream_type: str, data: object) -> None:
    with pytest.raises(InvalidEvent):
        NewEvent(
            id=uuid.uuid4(),
            stream_id=uuid.uuid4(),
            event_type=event_type,
            stream_type=stream_type,
            data=data,  # type: ignore[arg-type]
        )


async def test_payload_that_is_not_json_is_invalid(event_store: EventStore) -> None:
    event = NewEvent(
        id=uuid.uuid4(), stream_id=uuid.uuid4(), event_type="organization.created", data={"x": {1, 2}}
    )
    with pytest.raises(InvalidEvent):
        await event_store.append(event)


async def test_schema_checks_back_up_the_client_checks(event_store: EventStore) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await event_store.pool.execute(
            "INSERT INTO domain_events (id, stream_id, stream_type, event_type) "
            "VALUES ($1, $2, 'organization', 'Bad')",
            uuid.uuid4(),
            uuid.uuid4(),
        )


def test_event_ids_are_deterministic_per_workflow_step() -> None:
    assert event_id("org-bootstrap-1", "create_dns_record") == event_id(
        "org-bootstrap-1", "create_dns_record"
    )
    assert event_id("org-bootstrap-1", "create_dns_record") != event_id(
        "org-bootstrap-2", "create_dns_record"
    )
    assert event_id("org-bootstrap-1", "a") != event_id("org-bootstrap-1", "b")
    # Golden value: a changed namespace or id recipe would make replayed steps append duplicates.
    golden = event_id("org-bootstrap-00000000-0000-0000-0000-000000000001", "create_dns_record")
    assert str(golden) == "a001aefd-73c1-5359-bab4-55938fc03304"


async def test_unreachable_database_is_database_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable):
        await EventStore.connect("postgresql://postgres@127.0.0.1:1/postgres", min_size=1)
