"""Event store: append throughput with the projection triggers vs bare inserts, and read latency
as the log grows.

Appends: WRITERS concurrent writers, each appending one organization's bootstrap events one at a
time through `EventStore.append` (as the worker's activities do). The bare baseline inserts the same
rows, one statement each, into `bare_events`, a copy of domain_events with its columns, constraints
and indexes but no triggers, created in the scratch database (never in a migration).

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

from a4c.eventstore import EventStore, EventType, NewEvent, SubdomainStatus
from a4c.eventstore.testing import DatabaseFactory, sample_data
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
            await store.pool.execute(
                _BARE_INSERT,
                event.id,
                event.stream_id,
                event.stream_type,
                version,
                event.event_type,
                _json(event.data),
                "{}",
            )

        # Warm both paths (plans, connections) before either is timed.
        await _throughput(_streams(WRITERS * len(BOOTSTRAP_EVENTS)), through_store)
        await _throughput(_streams(WRITERS * len(BOOTSTRAP_EVENTS)), bare)
        with_triggers = await _throughput(_streams(events), through_store)
        without = await _throughput(_streams(events), bare)
        errors = await store.pool.fetchval(
            "SELECT count(*) FROM domain_events WHERE processing_error IS NOT NULL"
        )
    return {
        "events": events,
        "writers": WRITERS,
        "with_projection_per_second": round(with_triggers, 1),
        "bare_insert_per_second": round(without, 1),
        "ratio": ratio(with_triggers, without),
        "projection_errors": int(errors),
    }


def _json(data: object) -> str:
    return json.dumps(data, default=str)


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


async def _read_latencies(url: str, organizations: int, samples: int) -> dict[str, dict[str, float]]:
    rng = random.Random(42)
    async with await EventStore.connect(url, max_size=2) as store:
        ids = [
            row["id"]
            for row in await store.pool.fetch(
                "SELECT id FROM organizations_projection ORDER BY random() LIMIT $1", samples
            )
        ]
        second = await store.list_organizations(subdomain_status=SubdomainStatus.ACTIVE, page_size=50)
        token = second.next_page_token
        reads: dict[str, Callable[[int], Awaitable[object]]] = {
            "get_by_slug": lambda i: store.get_organization_by_slug(f"org-{rng.randint(1, organizations)}"),
            "list_first_page": lambda i: store.list_organizations(page_size=50),
            "list_filtered_next_page": lambda i: store.list_organizations(
                subdomain_status=SubdomainStatus.ACTIVE, page_size=50, page_token=token
            ),
            "read_stream": lambda i: store.read_stream(ids[i % len(ids)]),
        }
        result = {}
        for name, read in reads.items():
            for i in range(10):  # warm the plan cache
                await read(i)
            values = []
            for i in range(samples):
                started = time.perf_counter()
                await read(i)
                values.append(time.perf_counter() - started)
            result[name] = summarize(Sample(values))
    return result


async def reads(
    databases: DatabaseFactory, small: int, large: int, per_org: int, samples: int
) -> dict[str, object]:
    figures = {}
    for organizations in (small, large):
        url = await databases.create()
        started = time.perf_counter()
        await _fill(url, organizations, per_org)
        fill_seconds = time.perf_counter() - started
        figures[organizations] = (await _read_latencies(url, organizations, samples), fill_seconds)
    small_reads, large_reads = figures[small][0], figures[large][0]
    return {
        "small": {"organizations": small, "events": small * per_org, "reads": small_reads},
        "large": {
            "organizations": large,
            "events": large * per_org,
            "reads": large_reads,
            "fill_seconds": round(figures[large][1], 1),
        },
        "ratio_p50": {
            name: ratio(large_reads[name]["p50_ms"], small_reads[name]["p50_ms"]) for name in small_reads
        },
    }
