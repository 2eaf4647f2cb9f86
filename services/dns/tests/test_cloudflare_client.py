"""The Cloudflare client against the sandbox emulator over loopback: caching, pagination, retries,
the request budget, errors, and the token kept out of logs and messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from a4c.common.deadline import Deadline
from a4c.common.retry import RetryPolicy
from a4c.devstack.emulators import CloudflareSandbox
from a4c.devstack.timing import ManualClock
from a4c.dns.budget import RequestBudget
from a4c.dns.cloudflare import CloudflareClient, RecordInput
from a4c.dns.cloudflare_errors import (
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    parse_response,
)

ZONE = "firstovertheline.com"
READ_ONLY_TOKEN = "dns-tests-read-only-token"
Unique = Callable[[str], str]


class Recorder:
    """Every request the client sends, as "METHOD path"."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.sent.append(f"{request.method} {request.url.path.removeprefix('/client/v4')}")

    def count(self, prefix: str) -> int:
        return sum(1 for s in self.sent if s.startswith(prefix))


@pytest.fixture
async def http() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    recorder = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [recorder]}) as client:
        yield client, recorder


@pytest.fixture
def make_client(
    sandbox: CloudflareSandbox, http: tuple[httpx.AsyncClient, Recorder], fake_time: ManualClock
) -> Callable[..., CloudflareClient]:
    def make(**overrides: Any) -> CloudflareClient:
        options: dict[str, Any] = {
            "token": sandbox.token,
            "base_url": sandbox.api_url,
            "clock": fake_time,
            "sleep": fake_time.sleep,
            "budget": RequestBudget(1000, clock=fake_time, sleep=fake_time.sleep),
        }
        options.update(overrides)
        return CloudflareClient(http[0], **options)

    return make


def fault(sandbox: CloudflareSandbox, **rule: Any) -> None:
    sandbox.faults.configure({"faults": [rule]})


async def test_zone_id_is_looked_up_once_even_under_concurrency(
    make_client: Callable[..., CloudflareClient],
    http: tuple[httpx.AsyncClient, Recorder],
    sandbox: CloudflareSandbox,
) -> None:
    client = make_client()

    ids = await asyncio.gather(*(client.zone_id(ZONE) for _ in range(5)))
    await client.list_records(ZONE, per_page=5)

    assert set(ids) == {sandbox.zone_id(ZONE)}
    assert http[1].sent.count("GET /zones") == 1


async def test_configured_zone_id_is_used_without_a_lookup(
    make_client: Callable[..., CloudflareClient],
    http: tuple[httpx.AsyncClient, Recorder],
    sandbox: CloudflareSandbox,
) -> None:
    client = make_client(zone_ids={ZONE: sandbox.zone_id(ZONE)})

    await client.list_records(ZONE, per_page=5)

    assert http[1].sent == [f"GET /zones/{sandbox.zone_id(ZONE)}/dns_records"]


async def test_unknown_zone_is_not_found(make_client: Callable[..., CloudflareClient]) -> None:
    with pytest.raises(NotFound, match=r"example\.org"):
        await make_client().zone_id("example.org")


async def test_record_roundtrip(make_client: Callable[..., CloudflareClient], unique: Unique) -> None:
    client, name = make_client(), unique("rt")

    created = await client.create_record(ZONE, RecordInput("A", name, "192.0.2.1", ttl=120, comment="c"))
    fetched = await client.get_record(ZONE, created.id)
    updated = await client.update_record(ZONE, created.id, RecordInput("A", name, "192.0.2.2", proxied=True))
    found = await client.find_records(ZONE, name=name, type="A")
    deleted = await client.delete_record(ZONE, created.id)
    deleted_again = await client.delete_record(ZONE, created.id)

    assert fetched == created
    assert (created.ttl, created.comment, created.created_on is not None) == (120, "c", True)
    assert (updated.content, updated.proxied, updated.ttl, updated.comment) == ("192.0.2.2", True, 1, None)
    assert [r.id for r in found] == [created.id]
    assert (deleted, deleted_again) == (True, False)
    with pytest.raises(NotFound):
        await client.get_record(ZONE, created.id)


async def test_find_records_follows_every_page(
    make_client: Callable[..., CloudflareClient], unique: Unique
) -> None:
    client, name = make_client(page_size=2), unique("pages")
    for i in range(5):
        await client.create_record(ZONE, RecordInput("TXT", name, f"n={i}"))

    found = await client.find_records(ZONE, name=name)
    first = await client.list_records(ZONE, name=name, page=1, per_page=2)

    assert sorted(r.content for r in found) == [f"n={i}" for i in range(5)]
    assert (first.total_pages, first.total_count, len(first.records)) == (3, 5, 2)


async def test_429_retry_after_is_honoured(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, fake_time: ManualClock
) -> None:
    fault(sandbox, kind="status", status=429, count=2, retry_after=1.5)

    await make_client().zone_id(ZONE)

    assert fake_time.sleeps == [1.5, 1.5]
    assert sandbox.faults.snapshot()["injected"] == {"429": 2}


async def test_5xx_burst_is_ridden_out_with_growing_jittered_backoff(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, fake_time: ManualClock
) -> None:
    fault(sandbox, kind="status", status=503, count=3)

    await make_client(retry=RetryPolicy(max_attempts=4, base_delay=0.5)).zone_id(ZONE)

    first, second, third = fake_time.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    assert 1.0 <= third <= 2.0


async def test_5xx_beyond_the_attempts_is_unavailable(
    make_client: Callable[..., CloudflareClient],
    sandbox: CloudflareSandbox,
    http: tuple[httpx.AsyncClient, Recorder],
) -> None:
    fault(sandbox, kind="status", status=502, count=4)

    with pytest.raises(Unavailable) as raised:
        await make_client(retry=RetryPolicy(max_attempts=3)).zone_id(ZONE)

    assert raised.value.status == 502
    assert raised.value.code is None  # no code in Cloudflare's 5xx bodies to key on
    assert len(http[1].sent) == 3


async def test_dropped_connection_is_retried(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox
) -> None:
    fault(sandbox, kind="drop", count=1)

    assert await make_client().zone_id(ZONE) == sandbox.zone_id(ZONE)
    assert sandbox.faults.snapshot()["injected"] == {"drop": 1}


async def test_retry_after_beyond_the_deadline_fails_at_once(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, fake_time: ManualClock
) -> None:
    fault(sandbox, kind="status", status=429, count=1, retry_after=60)

    with pytest.raises(RateLimited) as raised:
        await make_client().zone_id(ZONE, deadline=Deadline.after(5, clock=fake_time))

    assert raised.value.retry_after == 60
    assert fake_time.sleeps == []


async def test_permanent_errors_are_classified_and_not_retried(
    make_client: Callable[..., CloudflareClient], http: tuple[httpx.AsyncClient, Recorder], unique: Unique
) -> None:
    client = make_client()
    await client.zone_id(ZONE)

    with pytest.raises(InvalidRequest) as invalid:
        await client.create_record(ZONE, RecordInput("A", unique("bad"), "999.0.0.1"))
    with pytest.raises(PermissionDenied) as denied:
        await make_client(token=READ_ONLY_TOKEN).create_record(
            ZONE, RecordInput("A", unique("ro"), "192.0.2.1")
        )
    with pytest.raises(Unauthenticated) as unknown:
        await make_client(token="no-such-token").zone_id(ZONE)
    known_zone = {ZONE: await client.zone_id(ZONE)}
    with pytest.raises(Unauthenticated) as unknown_on_records:
        await make_client(token="no-such-token", zone_ids=known_zone).list_records(ZONE)

    assert (invalid.value.status, invalid.value.code) == (400, 9005)
    assert (denied.value.status, denied.value.code) == (403, 10000)
    # A junk token: GET /zones answers 403 9109 "Invalid access token", the records 401 10000.
    assert (unknown.value.status, unknown.value.code) == (403, 9109)
    assert (unknown_on_records.value.status, unknown_on_records.value.code) == (401, 10000)
    assert http[1].count("POST") == 2


async def test_create_whose_answer_was_lost_returns_the_one_record_it_made(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    client, name = make_client(), unique("lost")
    await client.zone_id(ZONE)
    fault(sandbox, kind="status", status=502, method="POST", after=True)

    record = await client.create_record(ZONE, RecordInput("CNAME", name, "app.firstovertheline.com"))

    assert [r.id for r in await client.find_records(ZONE, name=name)] == [record.id]


async def test_delete_whose_answer_was_lost_reports_deleted(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    client = make_client()
    record = await client.create_record(ZONE, RecordInput("TXT", unique("del"), "x"))
    fault(sandbox, kind="drop", method="DELETE", after=True)

    assert await client.delete_record(ZONE, record.id) is True
    assert await client.delete_record(ZONE, record.id) is False


async def test_budget_refuses_without_sending_when_no_slot_fits_the_deadline(
    make_client: Callable[..., CloudflareClient],
    http: tuple[httpx.AsyncClient, Recorder],
    sandbox: CloudflareSandbox,
    fake_time: ManualClock,
) -> None:
    budget = RequestBudget(2, window=300, clock=fake_time, sleep=fake_time.sleep)
    client = make_client(budget=budget, zone_ids={ZONE: sandbox.zone_id(ZONE)})
    await client.list_records(ZONE, per_page=5)
    await client.list_records(ZONE, per_page=5)

    with pytest.raises(RateLimited) as raised:
        await client.list_records(ZONE, per_page=5, deadline=Deadline.after(10, clock=fake_time))
    waited = await client.list_records(ZONE, per_page=5, deadline=Deadline.after(400, clock=fake_time))

    assert raised.value.retry_after == 300
    assert fake_time.sleeps == [300]
    assert waited.page == 1
    assert len(http[1].sent) == 3


async def test_token_never_reaches_logs_errors_or_repr(
    make_client: Callable[..., CloudflareClient], sandbox: CloudflareSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrong-token-with-a-recognisable-value"
    fault(sandbox, kind="status", status=503, count=2)

    with pytest.raises(Unauthenticated) as raised:
        await make_client(token=secret).zone_id(ZONE)
    good = make_client()
    await good.zone_id(ZONE)

    assert "retry 1/" in caplog.text  # the retries were logged...
    for text in (caplog.text, str(raised.value), repr(raised.value), repr(good)):
        assert secret not in text  # ...without the token
        assert sandbox.token not in text


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        # Codes and statuses of published Cloudflare payloads.
        (400, 10001, "Unauthenticated"),  # "Unable to authenticate request"
        (403, 9109, "Unauthenticated"),  # "Invalid access token"
        (401, 10000, "Unauthenticated"),  # "Authentication error" for a junk token
        (403, 10000, "PermissionDenied"),  # "Authentication error" for a token without the zone
        (400, 81045, "QuotaExceeded"),  # "Record quota exceeded."
        (429, 971, "RateLimited"),  # "Please wait and consider throttling your request speed"
    ],
)
def test_cloudflare_codes_from_real_payloads_map_to_their_kind(status: int, code: int, kind: str) -> None:
    body = {"success": False, "errors": [{"code": code, "message": "as published"}]}
    error = parse_response("GET", "/zones", httpx.Response(status, json=body))

    assert type(error).__name__ == kind
    assert not isinstance(error, dict)
    assert error.code == code


async def test_an_empty_list_has_zero_pages_and_finding_stops_at_once(
    make_client: Callable[..., CloudflareClient], http: tuple[httpx.AsyncClient, Recorder], unique: Unique
) -> None:
    client, name = make_client(), unique("nothing")
    await client.zone_id(ZONE)

    page = await client.list_records(ZONE, name=name)
    found = await client.find_records(ZONE, name=name)

    assert (page.total_pages, page.total_count, page.records) == (0, 0, [])
    assert found == []
    assert http[1].count("GET") == 3  # the zone, the page, one page for find: no page 2
