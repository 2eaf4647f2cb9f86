"""Rebuilding the projection from the log gives exactly the rows the live triggers built."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from a4c.devstack.eventstore import sample_event
from a4c.eventstore import EventStore, EventType, NewEvent

E = EventType
HAPPY = [E.ZITADEL_CREATED, E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED, E.USER_ROLE_ASSIGNED]
HAPPY += [
    E.SUBDOMAIN_VERIFICATION_STARTED,
    E.USER_INVITATION_SENT,
    E.BOOTSTRAP_COMPLETED,
    E.SUBDOMAIN_VERIFIED,
]
FAILED = [E.ZITADEL_CREATED, E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED, E.BOOTSTRAP_FAILED]
FAILED += [E.SUBDOMAIN_DNS_RECORD_DELETED, E.BOOTSTRAP_COMPENSATED]
CANCELLED = [E.ZITADEL_CREATED, E.BOOTSTRAP_CANCELLED, E.BOOTSTRAP_COMPENSATED, E.BOOTSTRAP_COMPLETED]
DNS_FAILED = [E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED, E.SUBDOMAIN_VERIFICATION_STARTED]
DNS_FAILED += [E.SUBDOMAIN_VERIFICATION_FAILED]


def _generate_log(size: int, seed: int = 5) -> list[NewEvent]:
    """Interleaved organizations in every outcome, temporal_initiated at random places, bad events."""
    rng = random.Random(seed)
    pending: list[list[NewEvent]] = []
    total = 0
    while total < size:
        org = uuid.UUID(int=rng.getrandbits(128))
        steps = list(rng.choice([HAPPY, FAILED, CANCELLED, DNS_FAILED]))
        steps.insert(rng.randrange(len(steps) + 1), E.TEMPORAL_INITIATED)
        events = [sample_event(org, step) for step in steps]
        if rng.random() < 0.1:  # a payload missing a key, or an event on another kind of stream
            bad_stream = rng.choice(["organization", "invoice"])
            bad = NewEvent(id=uuid.uuid4(), stream_id=org, event_type=E.CREATED, stream_type=bad_stream)
            events.insert(rng.randrange(len(events)), bad)
        pending.append(events)
        total += len(events)
    log: list[NewEvent] = []
    while len(log) < size:
        stream = rng.choice([p for p in pending if p])
        log.append(stream.pop(0))
    return log


async def _snapshot(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    rows = await conn.fetch(
        "SELECT p.*, array(SELECT row(o.*)::text FROM organization_steps o WHERE o.organization_id = p.id "
        "ORDER BY o.position) AS steps FROM organizations_projection p ORDER BY id"
    )
    outcomes = await conn.fetch(
        "SELECT sequence, processing_error, bootstrap_status, subdomain_status "
        "FROM domain_events ORDER BY sequence"
    )
    return rows, outcomes


async def test_rebuild_equals_live_for_10000_events(fresh_database: Callable[[], Awaitable[str]]) -> None:
    store = await EventStore.connect(await fresh_database())
    try:
        log = _generate_log(10_000)
        for start in range(0, len(log), 2_000):
            await store.append_many(log[start : start + 2_000])
        async with store.pool.acquire() as conn:
            live_rows, live_errors = await _snapshot(conn)
            statuses = {(r["bootstrap_status"], r["subdomain_status"]) for r in live_rows}
            assert len(statuses) >= 5, f"the log should reach many states, got {statuses}"
            assert sum(e["processing_error"] is not None for e in live_errors) > 50
            assert sum(len(r["steps"]) for r in live_rows) > 1000, "the step projection follows the log"
            await conn.execute("DELETE FROM organization_steps WHERE random() < 0.3")

            # Damage the projection so that a rebuild which replays nothing cannot pass.
            await conn.execute("DELETE FROM organizations_projection WHERE random() < 0.3")
            await conn.execute("UPDATE organizations_projection SET bootstrap_status = 'running'")
            await conn.execute("UPDATE domain_events SET subdomain_status = NULL WHERE random() < 0.3")

            assert await store.rebuild_projection() == 10_000
            rebuilt_rows, rebuilt_errors = await _snapshot(conn)
        assert rebuilt_rows == live_rows
        assert rebuilt_errors == live_errors
    finally:
        await store.close()


async def test_rebuild_clears_an_error_once_the_cause_is_gone(event_store: EventStore) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    slug = f"taken-{first.hex[:8]}"
    await event_store.append(sample_event(first, E.CREATED, slug=slug))
    clash = await event_store.append(sample_event(second, E.CREATED, slug=slug))
    assert clash.processing_error is not None

    async with event_store.pool.acquire() as conn:  # an operator removes the offending event's twin
        await conn.execute("DELETE FROM domain_events WHERE stream_id = $1", first)
    await event_store.rebuild_projection()

    (replayed,) = await event_store.read_stream(second)
    assert replayed.processing_error is None
    assert (await event_store.get_organization_by_slug(slug)).id == second
