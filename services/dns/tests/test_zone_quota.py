"""The zone's record quota: CreateRecord refuses a new record once the zone holds it (RESOURCE_EXHAUSTED
with a QuotaFailure, no RetryInfo, nothing sent to Cloudflare), and GetZoneUsage reports used vs quota."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.deadline import Deadline
from a4c.common.errors import QuotaViolation, details_of
from a4c.common.metrics import Metrics
from a4c.devstack.emulators import CloudflareSandbox
from a4c.devstack.timing import ManualClock
from a4c.dns.cloudflare_types import ZoneRecordUsage
from a4c.dns.quota import RecordQuota, ZoneFull
from a4c.sandbox.cloudflare.store import Batch

ZONE = "firstovertheline.com"
SERVICE_TOKEN = "dns-tests-service-token-0123456789"  # conftest's worker principal
Unique = Callable[[str], str]


def subdomain(name: str) -> dns_pb2.CreateRecordRequest:
    return dns_pb2.CreateRecordRequest(
        name=name,
        type=dns_pb2.RECORD_TYPE_CNAME,
        content=f"app.{ZONE}",
        proxied=True,
        owner=str(uuid.uuid4()),
    )


async def test_at_the_quota_a_new_record_is_refused_before_cloudflare_and_an_existing_one_still_answers(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    zone_id = sandbox.zone_id(ZONE)
    held = sandbox.store.record_count(zone_id)
    first, over = subdomain(unique("room")), subdomain(unique("full"))
    async with start_dns(CLOUDFLARE_ZONE_RECORD_QUOTA=str(held + 1)) as running:
        before = await running.stub.GetZoneUsage(dns_pb2.GetZoneUsageRequest(), timeout=10)
        created = await running.stub.CreateRecord(first, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await running.stub.CreateRecord(over, timeout=10)
        again = await running.stub.CreateRecord(first, timeout=10)  # ours already: no room needed
        after = await running.stub.GetZoneUsage(dns_pb2.GetZoneUsageRequest(zone=ZONE), timeout=10)
    sandbox.store.apply(zone_id, Batch(deletes=[created.record.id]))  # the session shares the zone

    assert (before.zone, before.records_used, before.record_quota) == (ZONE, held, held + 1)
    assert (before.records_available, before.cloudflare_record_quota) == (1, 200)
    assert created.created
    assert not again.created
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = details_of(refused.value)
    assert details.message.startswith(f"the zone {ZONE} holds {held + 1} of its {held + 1} DNS records")
    assert "retrying does not help" in details.message
    assert (details.reason, details.retry_delay) == ("CLOUDFLARE_RECORD_QUOTA_EXCEEDED", None)
    assert details.quota_violations == (
        QuotaViolation(f"zone:{ZONE}", f"DNS records: {held + 1} of {held + 1}"),
    )
    assert details.quota_exhausted
    assert not [r for r in sandbox.store.records(zone_id) if r.name == over.name]  # never sent
    assert (after.records_used, after.records_available) == (held + 1, 0)


async def test_a_deleted_record_makes_room_at_once(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    zone_id = sandbox.zone_id(ZONE)
    held = sandbox.store.record_count(zone_id)
    first, second = subdomain(unique("gone")), subdomain(unique("next"))
    async with start_dns(CLOUDFLARE_ZONE_RECORD_QUOTA=str(held + 1)) as running:
        created = await running.stub.CreateRecord(first, timeout=10)
        request = dns_pb2.DeleteRecordRequest(id=created.record.id, owner=first.owner)
        await running.stub.DeleteRecord(request, timeout=10)
        replacement = await running.stub.CreateRecord(second, timeout=10)
    sandbox.store.apply(zone_id, Batch(deletes=[replacement.record.id]))

    assert replacement.created


async def test_zone_usage_needs_only_read_and_only_for_the_served_zone(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox
) -> None:
    reader = "dns-tests-reader-token-0123456789"
    principals = f"worker:read+write:{SERVICE_TOKEN},operator:read:{reader}"
    async with start_dns(A4C_AUTH_PRINCIPALS=principals) as running:
        channel = open_channel(f"127.0.0.1:{running.server.port}", token=reader)
        stub = dns_pb2_grpc.DnsServiceStub(channel)
        try:
            usage = await stub.GetZoneUsage(dns_pb2.GetZoneUsageRequest(), timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as write:
                await stub.CreateRecord(subdomain(f"reader.{ZONE}"), timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as other:
                await stub.GetZoneUsage(dns_pb2.GetZoneUsageRequest(zone="analytics4change.com"), timeout=10)
        finally:
            await channel.close()

    assert usage.record_quota == 200  # the default: the smallest quota Cloudflare gives a zone
    assert write.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert other.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class _Counting:
    """A Cloudflare client's usage read, counted: what Cloudflare would report, and how often asked."""

    def __init__(self, used: int) -> None:
        self.used, self.reads = used, 0

    async def zone_usage(self, zone: str, *, deadline: Deadline | None = None) -> ZoneRecordUsage:
        self.reads += 1
        return ZoneRecordUsage(self.used, 200)


async def test_the_count_is_kept_between_reads_and_shown_as_gauges() -> None:
    clock, cloudflare, metrics = ManualClock(), _Counting(used=8), Metrics()
    quota = RecordQuota(cloudflare, 10, max_age=60, clock=clock, metrics=metrics)  # type: ignore[arg-type]
    deadline = Deadline.after(5)

    await quota.ensure_room(ZONE, deadline)  # read: 8 of 10
    quota.created(ZONE)
    await quota.ensure_room(ZONE, deadline)  # kept: 9 of 10, no read
    quota.created(ZONE)
    with pytest.raises(ZoneFull):
        await quota.ensure_room(ZONE, deadline)  # kept: 10 of 10
    reads_while_fresh = cloudflare.reads
    scraped = (await metrics.render()).decode()
    cloudflare.used = 3  # another replica's tenants were offboarded meanwhile
    clock.advance(61)
    await quota.ensure_room(ZONE, deadline)  # old: read again, 3 of 10

    assert reads_while_fresh == 1
    assert cloudflare.reads == 2
    assert "a4c_dns_zone_records 10.0" in scraped
    assert "a4c_dns_zone_record_quota 10.0" in scraped
