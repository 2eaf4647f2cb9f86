"""The official `cloudflare` SDK, pointed at the emulator with base_url, works unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import cloudflare
import pytest
from cloudflare import AsyncCloudflare

from a4c.devstack.emulators import CloudflareSandbox

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
