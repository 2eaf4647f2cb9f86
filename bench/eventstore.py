"""Event store: append throughput with the projection triggers vs bare inserts, and read latency
as the log grows.

Appends: WRITERS concurrent writers, each appending one organization's bootstrap events one at a
time through `EventStore.append` (as the worker's activities do). The bare baseline inserts the same
rows, one statement each, into `bare_events`, a copy of domain_events with its columns, constraints
and indexes but no triggers, created in the scratch database (never in a migration). A third run
inserts into domain_events with a plain INSERT (all triggers, no read-back) to split the difference
between the triggers and the store's extra round trip.

Reads: a scratch database per size, filled with generate_series (triggers off while filling, so the
projection rows are inserted alongside the events they summarize), then read through EventStore.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from a4c.devstack.eventstore import DatabaseFactory, sample_data
from a4c.eventstore import EventStore, EventType, NewEvent, SubdomainStatus
from bench.report import Sample, ratio, summarize

WRITERS = 16
# One bootstrap's events in the order the workflows append them.
BOOTSTRAP_EVENTS = (
    EventType.TEMPORAL_INITIATED,
    EventType.ZITADEL_CREATED,
    EventType.CREATED,
    EventType.SUBDOMAIN_DNS_RECORD_CREATED,
    EventType.SUBDOMAIN_VERIFICATION_STARTED,
    EventType.USER_ROLE_ASSIGNED,
    EventType.USER_INVITATION_SENT,
    EventType.BOOTSTRAP_COMPLETED,
    EventType.SUBDOMAIN_VERIFIED,
)
# The same single-row insert into domain_events: every trigger runs, but no read-back follows.
_TRIGGER_INSERT = """INSERT INTO domain_events
    (id, stream_id, stream_type, event_type, event_data, event_metadata)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"""
_BARE_INSERT = """INSERT INTO bare_events
    (id, stream_id, stream_type, stream_version, event_type, event_data, event_metadata)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)"""


def _streams(events: int) -> list[list[NewEvent]]:
    streams = []
    for _ in range(max(1, events // len(BOOTSTRAP_EVENTS))):
        org = uuid.uuid4()
        slug = f"org-{org.hex[:12]}"
        streams.append(
            [
                NewEvent(id=uuid.uuid4(), stream_id=org, event_type=t, data=sample_data(org, t, slug=slug))
                for t in BOOTSTRAP_EVENTS
            ]
        )
    return streams


async def _throughput(
    streams: list[list[NewEvent]], append: Callable[[NewEvent, int], Awaitable[None]]
) -> float:
    queue: asyncio.Queue[list[NewEvent]] = asyncio.Queue()
    for stream in streams:
        queue.put_nowait(stream)

    async def writer() -> None:
        while not queue.empty():
            for version, event in enumerate(queue.get_nowait(), start=1):
                await append(event, version)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return sum(len(s) for s in streams) / (time.perf_counter() - started)


async def appends(databases: DatabaseFactory, events: int) -> dict[str, object]:
    url = await databases.create()
    async with await EventStore.connect(url, max_size=WRITERS) as store:
        await store.pool.execute(
            "CREATE TABLE bare_events (LIKE domain_events INCLUDING ALL)"  # no triggers: LIKE copies none
        )

        async def through_store(event: NewEvent, version: int) -> None:
            await store.append(event)

        async def bare(event: NewEvent, version: int) -> None:
            await store.pool.execute(_BARE_INSERT, *_row(event, version))

        async def triggers_only(event: NewEvent, version: int) -> None:
            await store.pool.execute(_TRIGGER_INSERT, *_row(event, None))

        # Warm both paths (plans, connections) before either is timed.
        await _throughput(_streams(WRITERS * len(BOOTSTRAP_EVENTS)), through_store)
        await _throughput(_streams(WRITERS * len(BOOTSTRAP_EVENTS)), bare)
        with_triggers = await _throughput(_streams(events), through_store)
        without = await _throughput(_streams(events), bare)
        # Where the difference goes: the triggers, or the store's second round trip (the read-back).
        plain_triggers = await _throughput(_streams(events), triggers_only)
        errors = await store.pool.fetchval(
            "SELECT count(*) FROM domain_events WHERE processing_error IS NOT NULL"
        )
    return {
        "events": events,
        "writers": WRITERS,
        "with_projection_per_second": round(with_triggers, 1),
        "bare_insert_per_second": round(without, 1),
        "insert_with_triggers_no_read_back_per_second": round(plain_triggers, 1),
        "ratio": ratio(with_triggers, without),
        "projection_errors": int(errors),
    }


def _row(event: NewEvent, version: int | None) -> list[object]:
    """The insert's parameters; without a version the statement leaves it to the triggers."""
    versions = [] if version is None else [version]
    data = json.dumps(event.data, default=str)
    return [event.id, event.stream_id, event.stream_type, *versions, event.event_type, data, "{}"]


_FILL_EVENTS = """
INSERT INTO domain_events (id, stream_id, stream_type, stream_version, event_type, event_data, created_at)
SELECT md5('event' || o || ':' || v)::uuid, md5('org' || o)::uuid, 'organization', v,
       (ARRAY['organization.bootstrap.temporal_initiated', 'organization.zitadel.created',
              'organization.created', 'organization.subdomain.dns_record_created',
              'organization.subdomain.verification_started', 'user.role.assigned',
              'user.invitation.sent', 'organization.bootstrap.completed',
              'organization.subdomain.verified', 'organization.subdomain.verified'])[v],
       jsonb_build_object('slug', 'org-' || o, 'fqdn', 'org-' || o || '.firstovertheline.com'),
       now() - make_interval(secs => $1 - o)
  FROM generate_series(1, $1) AS o, generate_series(1, $2) AS v
"""
_FILL_PROJECTION = """
INSERT INTO organizations_projection (id, name, slug, subdomain_fqdn, subdomain_status, dns_record_id,
    identity_org_id, admin_user_id, admin_email, workflow_id, bootstrap_status, current_step,
    created_at, updated_at, subdomain_verified_at, last_applied_sequence)
SELECT md5('org' || o)::uuid, 'Org ' || o, 'org-' || o, 'org-' || o || '.firstovertheline.com',
       (CASE WHEN o % 10 = 0 THEN 'failed' ELSE 'active' END)::subdomain_status,
       'rec-' || o, 'zorg-' || o, 'user-' || o, 'admin@org-' || o || '.example',
       'org-bootstrap-' || md5('org' || o)::uuid, 'completed', 'organization.bootstrap.completed',
       now() - make_interval(secs => $1 - o), now(), now(), o * $2
  FROM generate_series(1, $1) AS o
"""


async def _fill(url: str, organizations: int, per_org: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE domain_events DISABLE TRIGGER USER")
            await conn.execute(_FILL_EVENTS, organizations, per_org)
            await conn.execute(_FILL_PROJECTION, organizations, per_org)
            await conn.execute("ALTER TABLE domain_events ENABLE TRIGGER USER")
        await conn.execute("VACUUM ANALYZE domain_events")
        await conn.execute("VACUUM ANALYZE organizations_projection")
    finally:
        await conn.close()


Read = Callable[[int], Awaitable[object]]


async def _reads_of(store: EventStore, organizations: int, samples: int) -> dict[str, Read]:
    """The projection reads the provisioning service makes, on random organizations of this size."""
    rng = random.Random(42)
    query = "SELECT id FROM organizations_projection ORDER BY random() LIMIT $1"
    ids = [row["id"] for row in await store.pool.fetch(query, samples)]
    first = await store.list_organizations(subdomain_status=SubdomainStatus.ACTIVE, page_size=50)
    after = first.next_after
    return {
        "get_by_slug": lambda i: store.get_organization_by_slug(f"org-{rng.randint(1, organizations)}"),
        "list_first_page": lambda i: store.list_organizations(page_size=50),
        "list_filtered_next_page": lambda i: store.list_organizations(
            subdomain_status=SubdomainStatus.ACTIVE, page_size=50, after=after
        ),
        "read_stream": lambda i: store.read_stream(ids[i % len(ids)]),
    }


async def _timed(read: Read, i: int) -> float:
    started = time.perf_counter()
    await read(i)
    return time.perf_counter() - started


async def reads(
    databases: DatabaseFactory, small: int, large: int, per_org: int, samples: int
) -> dict[str, object]:
    """Both sizes filled first, then each read alternates small, large, small, ... so that whatever
    else the machine does at the time lands on both sizes alike."""
    urls, fill_seconds = {}, {}
    for organizations in (small, large):
        urls[organizations] = await databases.create()
        started = time.perf_counter()
        await _fill(urls[organizations], organizations, per_org)
        fill_seconds[organizations] = round(time.perf_counter() - started, 1)
    async with (
        await EventStore.connect(urls[small], max_size=1) as small_store,
        await EventStore.connect(urls[large], max_size=1) as large_store,
    ):
        small_reads = await _reads_of(small_store, small, samples)
        large_reads = await _reads_of(large_store, large, samples)
        figures: dict[str, dict[str, dict[str, float]]] = {"small": {}, "large": {}}
        for name in small_reads:
            for i in range(10):  # plans cached, pages warm
                await small_reads[name](i)
                await large_reads[name](i)
            values: dict[str, list[float]] = {"small": [], "large": []}
            for i in range(samples):
                values["small"].append(await _timed(small_reads[name], i))
                values["large"].append(await _timed(large_reads[name], i))
            figures["small"][name] = summarize(Sample(values["small"]))
            figures["large"][name] = summarize(Sample(values["large"]))
    return {
        "small": {"organizations": small, "events": small * per_org, "reads": figures["small"]},
        "large": {
            "organizations": large,
            "events": large * per_org,
            "reads": figures["large"],
            "fill_seconds": fill_seconds[large],
        },
        "ratio_p50": {
            name: ratio(figures["large"][name]["p50_ms"], figures["small"][name]["p50_ms"])
            for name in figures["small"]
        },
    }
