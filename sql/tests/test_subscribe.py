"""subscribe(): everything after a sequence, live, in order, with no gaps — with NOTIFY and without."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import asyncpg

from a4c.devstack.eventstore import sample_event
from a4c.eventstore import NOTIFY_CHANNEL, EventStore, EventType, StoredEvent, Subscription

WRITERS, PER_WRITER = 8, 25


async def _take(subscription: Subscription, count: int, timeout: float = 20) -> list[StoredEvent]:
    """Up to `count` events; fewer when they stop coming (the caller's assertion shows what is missing)."""
    received: list[StoredEvent] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for event in subscription:
                received.append(event)
                if len(received) == count:
                    break
    return received


async def _write_concurrently(store: EventStore) -> None:
    """Many writers at once, so commits race each other (the case that produces gaps in naive readers)."""

    async def writer() -> None:
        org = uuid.uuid4()
        for _ in range(PER_WRITER):
            await store.append(sample_event(org, EventType.USER_INVITATION_SENT))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))


async def _assert_complete_and_ordered(store: EventStore, start: int, received: list[StoredEvent]) -> None:
    expected = await store.read_all(start, limit=10_000)
    assert len(expected) == WRITERS * PER_WRITER
    assert [e.sequence for e in received] == [e.sequence for e in expected]
    assert received == expected


async def test_notify_wakes_the_subscription_for_every_new_event(event_store: EventStore) -> None:
    start = await event_store.last_sequence()
    # A poll interval far beyond the test's timeout: only notifications can deliver in time.
    async with event_store.subscribe(start, poll_interval=3600) as subscription:
        assert subscription.listening
        consumer = asyncio.create_task(_take(subscription, WRITERS * PER_WRITER))
        await _write_concurrently(event_store)
        received = await consumer
    await _assert_complete_and_ordered(event_store, start, received)
    assert subscription.last_sequence == received[-1].sequence


async def test_polling_only_delivers_the_same_without_listen(event_store: EventStore) -> None:
    start = await event_store.last_sequence()
    async with event_store.subscribe(start, notifications=False, poll_interval=0.02) as subscription:
        assert not subscription.listening
        consumer = asyncio.create_task(_take(subscription, WRITERS * PER_WRITER))
        await _write_concurrently(event_store)
        received = await consumer
    await _assert_complete_and_ordered(event_store, start, received)


async def test_falls_back_to_polling_when_listen_is_unavailable(event_store: EventStore) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/postgres"
    store = EventStore(event_store.pool, dsn=unreachable, poll_interval=0.02)
    start = await store.last_sequence()
    async with store.subscribe(start) as subscription:
        assert not subscription.listening
        consumer = asyncio.create_task(_take(subscription, WRITERS * PER_WRITER))
        await _write_concurrently(store)
        received = await consumer
    await _assert_complete_and_ordered(store, start, received)


async def test_catches_up_on_history_before_live_events(event_store: EventStore) -> None:
    org = uuid.uuid4()
    start = await event_store.last_sequence()
    history = await event_store.append_many([sample_event(org, EventType.CREATED) for _ in range(3)])
    async with event_store.subscribe(start, stream_id=org, poll_interval=3600) as subscription:
        first = await _take(subscription, 3)
        live = await event_store.append(sample_event(org, EventType.BOOTSTRAP_COMPLETED))
        (second,) = await _take(subscription, 1)
    assert first == history
    assert second == live


async def test_stream_filter_skips_other_streams(event_store: EventStore) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    start = await event_store.last_sequence()
    async with event_store.subscribe(start, stream_id=mine, poll_interval=3600) as subscription:
        consumer = asyncio.create_task(_take(subscription, 2))
        for org in (other, mine, other, mine):
            await event_store.append(sample_event(org, EventType.USER_ROLE_ASSIGNED))
        received = await consumer
    assert [e.stream_id for e in received] == [mine, mine]
    assert [e.stream_version for e in received] == [1, 2]


async def test_a_lost_listener_is_replaced_without_losing_events(event_store: EventStore) -> None:
    org = uuid.uuid4()
    start = await event_store.last_sequence()
    async with event_store.subscribe(start, stream_id=org, poll_interval=3600) as subscription:
        killed = await event_store.pool.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND query LIKE 'LISTEN%'"""
        )
        assert killed >= 1
        appended = await event_store.append(sample_event(org, EventType.CREATED))
        (received,) = await _take(subscription, 1, timeout=10)
        assert received == appended
        assert subscription.listening
        again = await event_store.append(sample_event(org, EventType.BOOTSTRAP_COMPLETED))
        assert await _take(subscription, 1, timeout=10) == [again]


async def test_a_closed_subscription_ends_iteration(event_store: EventStore) -> None:
    subscription = event_store.subscribe(await event_store.last_sequence(), poll_interval=3600)
    consumer = asyncio.create_task(_take(subscription, 1))
    async with asyncio.timeout(10):  # close while the consumer is waiting for events
        while not subscription.listening:
            await asyncio.sleep(0.01)
    await subscription.aclose()
    assert await consumer == []
    assert not subscription.listening


async def test_each_append_notifies_a_small_payload(event_store: EventStore, database_url: str) -> None:
    """Other processes may LISTEN themselves: the channel and payload are part of the contract."""
    payloads: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.add_listener(NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: payloads.put_nowait(payload))
        stored = await event_store.append(sample_event(uuid.uuid4(), EventType.CREATED))
        async with asyncio.timeout(10):
            while True:  # other tests' late commits may be queued first
                note = json.loads(await payloads.get())
                if note["sequence"] == stored.sequence:
                    break
    finally:
        await conn.close()
    assert note == {
        "sequence": stored.sequence,
        "stream_id": str(stored.stream_id),
        "event_type": stored.event_type,
    }


async def test_a_pooled_listener_connection_goes_back_to_the_pool_listening_to_nothing(
    database_url: str,
) -> None:
    # The store's pool skips asyncpg's reset query on release (a round trip per call), so a
    # subscription that LISTENs on a pooled connection (no DSN of its own) must undo that itself.
    async with await EventStore.connect(database_url, min_size=1, max_size=1) as store:
        pooled = EventStore(store.pool, dsn=None, poll_interval=3600)
        async with pooled.subscribe(await store.last_sequence()) as subscription:
            assert subscription.listening
        async with store.pool.acquire() as conn:  # the one connection the subscription held
            assert await conn.fetch("SELECT pg_listening_channels()") == []


async def test_a_released_connection_keeps_no_open_transaction(database_url: str) -> None:
    async with await EventStore.connect(database_url, min_size=1, max_size=1) as store:
        async with store.pool.acquire() as conn:
            await conn.execute("BEGIN")
        async with store.pool.acquire() as conn:
            assert not conn.is_in_transaction()  # the server's ReadyForQuery status: idle
