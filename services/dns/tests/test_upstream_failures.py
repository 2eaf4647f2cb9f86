"""Cloudflare throttling, outages and refusals as the service's callers see them,
and the API token kept out of every log line and error."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.errors import details_of
from a4c.devstack.emulators import CloudflareSandbox
from a4c.sandbox.cloudflare.store import Batch
from a4c.sandbox.cloudflare.validation import RecordSpec

ZONE = "firstovertheline.com"
READ_ONLY_TOKEN = "dns-tests-read-only-token"
SCOPED_TOKEN = "dns-tests-other-zone-token"
Unique = Callable[[str], str]


def subdomain(name: str) -> dns_pb2.CreateRecordRequest:
    return dns_pb2.CreateRecordRequest(
        name=name,
        type=dns_pb2.RECORD_TYPE_CNAME,
        content=f"app.{ZONE}",
        proxied=True,
        owner=str(uuid.uuid4()),
    )


def inject(sandbox: CloudflareSandbox, *rules: dict[str, Any]) -> None:
    sandbox.faults.configure({"faults": list(rules)})


async def test_429_with_retry_after_and_5xx_bursts_are_ridden_out(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    inject(
        sandbox,
        {"kind": "status", "status": 429, "count": 1, "retry_after": 0.05},
        {"kind": "status", "status": 503, "count": 2},
    )

    reply = await dns.CreateRecord(subdomain(unique("bumpy")), timeout=10)

    assert reply.created is True
    assert sandbox.faults.snapshot()["injected"] == {"429": 1, "503": 2}


async def test_outage_longer_than_the_retries_is_unavailable_with_the_cloudflare_code(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    inject(sandbox, {"kind": "status", "status": 503, "count": 10})

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await dns.CreateRecord(subdomain(unique("down")), timeout=10)

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    details = details_of(raised.value)
    assert details.reason == "CLOUDFLARE_UNAVAILABLE"
    assert details.metadata == {"http_status": "503"}  # Cloudflare's 5xx bodies carry no code
    assert sandbox.faults.snapshot()["injected"] == {"503": 4}  # FAST_RETRY: 4 attempts, then stop


async def test_retry_after_beyond_the_deadline_is_resource_exhausted_with_retry_info(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    inject(sandbox, {"kind": "status", "status": 429, "count": 1, "retry_after": 120})

    async with start_dns() as running:  # its own service: the 429 holds back every later call
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await running.stub.CreateRecord(subdomain(unique("throttled")), timeout=5)

    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = details_of(raised.value)
    assert details.retry_delay == 120
    assert details.metadata["cloudflare_code"] == "971"  # the code of published 429 payloads


async def test_emulated_rate_limit_is_respected_not_hammered(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    sandbox.faults.configure({"rate_limit": {"limit": 1, "window_seconds": 300, "block_seconds": 300}})

    errors: list[grpc.aio.AioRpcError] = []
    async with start_dns() as running:
        for _ in range(2):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await running.stub.CreateRecord(subdomain(unique("limited")), timeout=5)
            errors.append(raised.value)

    first, second = (details_of(e) for e in errors)
    assert [first.code, second.code] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    assert first.retry_delay == 300
    assert 299 < (second.retry_delay or 0) <= 300  # held back locally...
    assert sandbox.faults.snapshot()["injected"] == {"rate_limited": 1}  # ...without calling again


@pytest.mark.parametrize(
    ("token", "code", "cloudflare_code"),
    [
        (READ_ONLY_TOKEN, grpc.StatusCode.PERMISSION_DENIED, "10000"),
        # GET /zones with a junk token: 403 "Invalid access token".
        ("revoked-token-value-0123", grpc.StatusCode.UNAUTHENTICATED, "9109"),
    ],
)
async def test_permanent_cloudflare_refusals_map_to_their_grpc_code(
    start_dns: Callable[..., Any], unique: Unique, token: str, code: grpc.StatusCode, cloudflare_code: str
) -> None:
    async with start_dns(CLOUDFLARE_API_TOKEN=token) as running:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await running.stub.CreateRecord(subdomain(unique("refused")), timeout=10)

    assert raised.value.code() == code
    assert details_of(raised.value).metadata["cloudflare_code"] == cloudflare_code
    assert token not in (raised.value.details() or "")


async def test_a_configured_zone_cloudflare_does_not_have_is_not_found(
    start_dns: Callable[..., Any],
) -> None:
    request = dns_pb2.CreateRecordRequest(
        name="acme.example.org", type=dns_pb2.RECORD_TYPE_CNAME, content="app.example.org", proxied=True
    )
    request.owner = "org-1"

    async with start_dns(CLOUDFLARE_ZONE_NAME="example.org") as running:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await running.stub.CreateRecord(request, timeout=10)

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "cloudflare not found"  # a fixed message: the detail is logged


async def test_the_api_token_is_never_logged_nor_returned(
    start_dns: Callable[..., Any],
    sandbox: CloudflareSandbox,
    unique: Unique,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "cf-token-that-must-never-leak-42"
    inject(sandbox, {"kind": "status", "status": 502, "count": 2})
    errors: list[str] = []

    async with start_dns(CLOUDFLARE_API_TOKEN=secret, A4C_LOG_LEVEL="DEBUG") as running:
        for call in (
            running.stub.CreateRecord(subdomain(unique("secret")), timeout=10),
            running.stub.GetRecord(dns_pb2.GetRecordRequest(id="0" * 32), timeout=10),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call
            errors.append(f"{raised.value.details()} {details_of(raised.value)}")
        assert secret not in repr(running.settings)

    assert "retry 1/" in caplog.text  # the retries and failures were logged...
    assert secret not in caplog.text  # ...and the token was not
    assert all(secret not in text for text in errors)


async def test_a_zone_outside_the_tokens_scope_is_permission_denied_or_invisible(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    zone_id = sandbox.zone_id(ZONE)
    async with start_dns(CLOUDFLARE_API_TOKEN=SCOPED_TOKEN, CLOUDFLARE_ZONE_ID=zone_id) as by_id:
        with pytest.raises(grpc.aio.AioRpcError) as addressed:
            await by_id.stub.CreateRecord(subdomain(unique("scoped")), timeout=10)
    async with start_dns(CLOUDFLARE_API_TOKEN=SCOPED_TOKEN) as by_name:
        with pytest.raises(grpc.aio.AioRpcError) as looked_up:
            await by_name.stub.CreateRecord(subdomain(unique("scoped")), timeout=10)

    # Addressed by id: Cloudflare's gateway answers 403 10000; looked up by name: not even listed.
    assert addressed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert details_of(addressed.value).metadata == {"http_status": "403", "cloudflare_code": "10000"}
    assert looked_up.value.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(looked_up.value).reason == "CLOUDFLARE_NOT_FOUND"  # why: in the log only


async def test_a_setting_above_the_zones_real_quota_meets_cloudflares_refusal_mapped_the_same(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    zone_id = sandbox.zone_id(ZONE)
    quota = sandbox.settings.plan_limits.zone_record_quota(sandbox.store.zone(zone_id).created_on)
    assert quota == 200  # a Free zone created now
    free_slots = quota - sandbox.store.record_count(zone_id)
    filler = unique("filler")
    posts = [RecordSpec("TXT", filler, f"n={i}") for i in range(free_slots)]
    filled = sandbox.store.apply(zone_id, Batch(posts=posts)).posts
    try:
        # The service believes the zone holds far more: only Cloudflare's own quota (81045) refuses.
        async with start_dns(CLOUDFLARE_ZONE_RECORD_QUOTA="100000") as running:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await running.stub.CreateRecord(subdomain(unique("over")), timeout=10)
    finally:  # the session shares the zone: give the slots back
        sandbox.store.apply(zone_id, Batch(deletes=[r.id for r in filled]))

    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = details_of(raised.value)
    assert details.reason == "CLOUDFLARE_RECORD_QUOTA_EXCEEDED"
    assert details.retry_delay is None
    assert details.quota_exhausted
    assert details.metadata == {"http_status": "400", "cloudflare_code": "81045", "record_quota": "100000"}
    assert f"Cloudflare refused the record: the zone {ZONE} is at its DNS record quota" in details.message


async def test_the_per_second_limit_per_ip_is_waited_out_and_the_create_succeeds(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    # Cloudflare allows 200 requests per second per IP whatever the token; here 1 per second, so
    # the create's second call (after its look-up) meets a 429 with retry-after 1 and waits it out.
    sandbox.faults.configure({"ip_rate_limit": {"limit": 1, "window_seconds": 1}})

    reply = await dns.CreateRecord(subdomain(unique("persecond")), timeout=10)

    assert reply.created is True
    assert sandbox.faults.snapshot()["injected"]["rate_limited"] >= 1
