"""The official `cloudflare` SDK, pointed at the emulator with base_url, works unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import cloudflare
import pytest
from cloudflare import AsyncCloudflare

from a4c.devstack.emulators import CloudflareSandbox
from a4c.sandbox.cloudflare import CloudflareSettings
from a4c.sandbox.faults import RateLimit

ZONE = "firstovertheline.com"


@pytest.fixture
async def sdk(sandbox: CloudflareSandbox) -> AsyncIterator[AsyncCloudflare]:
    async with AsyncCloudflare(api_token=sandbox.token, base_url=sandbox.api_url, max_retries=2) as client:
        yield client


async def test_sdk_finds_the_zone_creates_lists_and_deletes_records(
    sdk: AsyncCloudflare, unique: Callable[[str], str]
) -> None:
    zones = [zone async for zone in sdk.zones.list(name=ZONE)]
    assert [z.name for z in zones] == [ZONE]
    zone_id = zones[0].id
    name = unique("sdk")

    created = await sdk.dns.records.create(
        zone_id=zone_id,
        type="CNAME",
        name=name,
        content="app.firstovertheline.com",
        ttl=1,
        proxied=True,
        comment="managed-by=a4c owner=org-1",
    )
    assert created is not None
    assert (created.name, created.proxied, created.comment) == (name, True, "managed-by=a4c owner=org-1")

    listed = [r async for r in sdk.dns.records.list(zone_id=zone_id, name={"exact": name}, type="CNAME")]
    assert [r.id for r in listed] == [created.id]
    fetched = await sdk.dns.records.get(created.id, zone_id=zone_id)
    assert fetched is not None
    assert fetched.content == "app.firstovertheline.com"

    deleted = await sdk.dns.records.delete(created.id, zone_id=zone_id)
    assert deleted is not None
    assert deleted.id == created.id
    assert [r async for r in sdk.dns.records.list(zone_id=zone_id, name={"exact": name})] == []


async def test_sdk_paginates_through_every_page(
    sdk: AsyncCloudflare, sandbox: CloudflareSandbox, unique: Callable[[str], str]
) -> None:
    zone_id = sandbox.zone_id(ZONE)
    name = unique("many")
    for i in range(7):
        await sdk.dns.records.create(zone_id=zone_id, type="TXT", name=name, content=f"n={i}", ttl=1)

    contents = [
        r.content or "" async for r in sdk.dns.records.list(zone_id=zone_id, name={"exact": name}, per_page=3)
    ]

    assert sorted(contents) == sorted(f"n={i}" for i in range(7))


async def test_sdk_sees_cloudflare_errors_with_their_codes(
    sdk: AsyncCloudflare, sandbox: CloudflareSandbox
) -> None:
    zone_id = sandbox.zone_id(ZONE)

    with pytest.raises(cloudflare.BadRequestError) as bad:
        await sdk.dns.records.create(zone_id=zone_id, type="A", name="sdk-bad", content="999.1.1.1", ttl=1)
    with pytest.raises(cloudflare.NotFoundError):
        await sdk.dns.records.get("f" * 32, zone_id=zone_id)

    assert "9005" in str(bad.value)


async def test_sdk_rides_out_a_429_with_retry_after(sdk: AsyncCloudflare, sandbox: CloudflareSandbox) -> None:
    sandbox.faults.configure({"faults": [{"kind": "status", "status": 429, "count": 1, "retry_after": 0.05}]})

    zones = [zone async for zone in sdk.zones.list(name=ZONE)]

    assert len(zones) == 1
    assert sandbox.faults.snapshot()["injected"] == {"429": 1}


def _settings(**changes: object) -> CloudflareSettings:
    return replace(CloudflareSettings(), **{"rate_limit": None, "ip_rate_limit": None, **changes})  # type: ignore[arg-type]


async def test_sdk_sees_an_unknown_token_and_a_zone_outside_the_token_scope_refused() -> None:
    settings = _settings(scoped_tokens={"scoped": ("analytics4change.com",)})
    async with CloudflareSandbox(settings) as sandbox:
        other_zone = sandbox.zone_id(ZONE)
        async with AsyncCloudflare(api_token="scoped", base_url=sandbox.api_url, max_retries=0) as scoped:
            visible = [z.name async for z in scoped.zones.list()]
            with pytest.raises(cloudflare.PermissionDeniedError) as outside:
                await scoped.dns.records.list(zone_id=other_zone)
        async with AsyncCloudflare(api_token="junk", base_url=sandbox.api_url, max_retries=0) as junk:
            with pytest.raises(cloudflare.PermissionDeniedError) as invalid:
                await junk.zones.get(zone_id=other_zone)
            with pytest.raises(cloudflare.AuthenticationError) as unauthenticated:
                await junk.dns.records.list(zone_id=other_zone)

    assert visible == ["analytics4change.com"]  # the other zone is not even listed
    assert (outside.value.status_code, "10000") == (403, _code(outside.value))
    assert (invalid.value.status_code, "9109") == (403, _code(invalid.value))
    assert (unauthenticated.value.status_code, "10000") == (401, _code(unauthenticated.value))


async def test_sdk_is_refused_beyond_the_plan_record_quota_and_reads_the_usage(
    unique: Callable[[str], str],
) -> None:
    async with CloudflareSandbox(_settings(plan="free")) as sandbox:
        zone_id = sandbox.zone_id(ZONE)
        async with AsyncCloudflare(api_token=sandbox.token, base_url=sandbox.api_url, max_retries=0) as sdk:
            name = unique("quota")
            posts = [{"type": "TXT", "name": name, "content": f"n={i}"} for i in range(200)]
            await sdk.dns.records.batch(zone_id=zone_id, posts=posts)  # type: ignore[arg-type]
            with pytest.raises(cloudflare.BadRequestError) as over:
                await sdk.dns.records.create(zone_id=zone_id, type="TXT", name=name, content="n=200", ttl=1)
            zone = await sdk.zones.get(zone_id=zone_id)
            usage = await sdk.dns.usage.zone.get(zone_id=zone_id)

    assert over.value.response.status_code == 400
    assert _code(over.value) == "81045"
    assert "Record quota exceeded." in str(over.value)
    assert zone is not None
    assert zone.plan.name == "Free Website"
    assert usage is not None
    assert (usage.record_usage, usage.record_quota) == (200, 200)


@pytest.mark.parametrize(
    ("plan", "created_on", "record_quota", "expected"),
    [
        ("free", "2024-08-31T23:59:59.000000Z", None, 1000),  # before the cut-over: the older quota
        ("free", "2024-09-01T00:00:00.000000Z", None, 200),
        ("pro", "2020-01-01T00:00:00.000000Z", None, 3500),
        ("business", "2026-01-01T00:00:00.000000Z", None, 3500),
        ("free", "2026-01-01T00:00:00.000000Z", 5000, 5000),  # a quota Cloudflare set for the zone
    ],
)
async def test_the_zone_quota_follows_its_plan_and_creation_date(
    plan: str, created_on: str, record_quota: int | None, expected: int
) -> None:
    settings = _settings(plan=plan, zone_created_on=created_on, record_quota=record_quota)
    async with CloudflareSandbox(settings) as sandbox:
        zone_id = sandbox.zone_id(ZONE)
        async with AsyncCloudflare(api_token=sandbox.token, base_url=sandbox.api_url, max_retries=0) as sdk:
            usage = await sdk.dns.usage.zone.get(zone_id=zone_id)
            zone = await sdk.zones.get(zone_id=zone_id)

    assert usage is not None
    assert (usage.record_quota, usage.record_usage) == (expected, 0)
    assert zone is not None
    assert zone.created_on is not None
    assert zone.created_on.isoformat().startswith(created_on[:19])


async def test_enterprise_zones_share_the_accounts_quota(unique: Callable[[str], str]) -> None:
    async with CloudflareSandbox(_settings(plan="enterprise")) as sandbox:
        zone_id = sandbox.zone_id(ZONE)
        async with AsyncCloudflare(api_token=sandbox.token, base_url=sandbox.api_url, max_retries=0) as sdk:
            await sdk.dns.records.create(zone_id=zone_id, type="TXT", name=unique("ent"), content="x", ttl=1)
            zone_usage = await sdk.dns.usage.zone.get(zone_id=zone_id)
            account = await sdk.dns.usage.account.get(account_id="0" * 32)

    assert zone_usage is not None
    assert (zone_usage.record_quota, zone_usage.record_usage) == (None, 1)
    assert account is not None
    assert (account.record_quota, account.record_usage) == (1_000_000, 1)


async def test_sdk_meets_the_per_ip_limit_whatever_the_token_with_the_429_of_real_payloads() -> None:
    settings = _settings(tokens=("token-a", "token-b"), ip_rate_limit=RateLimit(3, 60))
    async with CloudflareSandbox(settings) as sandbox:
        base = sandbox.api_url
        async with (
            AsyncCloudflare(api_token="token-a", base_url=base, max_retries=0) as a,
            AsyncCloudflare(api_token="token-b", base_url=base, max_retries=0) as b,
        ):
            await a.zones.list()
            await b.zones.list()
            await a.zones.list()
            with pytest.raises(cloudflare.RateLimitError) as limited:
                await b.zones.list()

    assert limited.value.response.headers["retry-after"] == "60"
    assert _code(limited.value) == "971"
    assert "Please wait and consider throttling your request speed" in str(limited.value)


async def test_sdk_reads_the_ratelimit_headers_on_every_answer() -> None:
    settings = _settings(rate_limit=RateLimit(1200, 300, 300))
    async with (
        CloudflareSandbox(settings) as sandbox,
        AsyncCloudflare(api_token=sandbox.token, base_url=sandbox.api_url) as sdk,
    ):
        first = await sdk.zones.with_raw_response.list()
        second = await sdk.zones.with_raw_response.list()

    assert first.headers["ratelimit-policy"] == '"default";q=1200;w=300'
    assert first.headers["ratelimit"].startswith('"default";r=1199;t=')
    assert second.headers["ratelimit"].startswith('"default";r=1198;t=')


async def test_sdk_gets_an_explicit_error_for_an_unimplemented_filter_and_zero_pages_when_empty(
    sdk: AsyncCloudflare, sandbox: CloudflareSandbox, unique: Callable[[str], str]
) -> None:
    zone_id = sandbox.zone_id(ZONE)

    with pytest.raises(cloudflare.BadRequestError) as refused:
        await sdk.dns.records.list(zone_id=zone_id, tag={"exact": "owner:a4c"})
    empty = await sdk.dns.records.with_raw_response.list(zone_id=zone_id, name={"exact": unique("none")})

    assert "not emulated" in str(refused.value)
    assert empty.http_response.json()["result_info"]["total_pages"] == 0
    assert empty.http_response.json()["result_info"]["total_count"] == 0


def _code(error: cloudflare.APIStatusError) -> str:
    body = error.body
    errors = body.get("errors") if isinstance(body, dict) else body
    return str(errors[0]["code"]) if isinstance(errors, list) and errors else ""
