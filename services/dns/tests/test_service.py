"""The DNS service over gRPC against the sandbox Cloudflare API, over sockets."""

from __future__ import annotations

import asyncio
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
from a4c.sandbox.faults import FaultMiddleware

ZONE = "firstovertheline.com"
APP = f"app.{ZONE}"
CNAME = dns_pb2.RECORD_TYPE_CNAME
Unique = Callable[[str], str]


def org() -> str:
    return str(uuid.uuid4())


def subdomain(name: str, owner: str, **overrides: Any) -> dns_pb2.CreateRecordRequest:
    fields: dict[str, Any] = {"name": name, "type": CNAME, "content": APP, "proxied": True, "owner": owner}
    fields.update(overrides)
    return dns_pb2.CreateRecordRequest(**fields)


def records_named(sandbox: CloudflareSandbox, name: str) -> list[Any]:
    return [r for r in sandbox.store.records(sandbox.zone_id(ZONE)) if r.name == name]


def plant(sandbox: CloudflareSandbox, name: str, type_: str, content: str, comment: str | None = None) -> Any:
    """A record made behind the service's back (by a person or another tool)."""
    spec = RecordSpec(type=type_, name=name, content=content, comment=comment)
    return sandbox.store.apply(sandbox.zone_id(ZONE), Batch(posts=[spec])).posts[0]


async def test_create_list_get_delete(dns: dns_pb2_grpc.DnsServiceAsyncStub, unique: Unique) -> None:
    name, owner = unique("acme"), org()

    created = await dns.CreateRecord(subdomain(name.upper() + ".", owner), timeout=10)
    listed = await dns.ListRecords(dns_pb2.ListRecordsRequest(name=name, type=CNAME), timeout=10)
    fetched = await dns.GetRecord(dns_pb2.GetRecordRequest(zone=ZONE, id=created.record.id), timeout=10)
    deleted = await dns.DeleteRecord(
        dns_pb2.DeleteRecordRequest(id=created.record.id, owner=owner), timeout=10
    )
    again = await dns.DeleteRecord(dns_pb2.DeleteRecordRequest(id=created.record.id, owner=owner), timeout=10)

    record = created.record
    assert (created.created, created.updated) == (True, False)
    assert (record.zone, record.name, record.content, record.ttl, record.proxied) == (
        ZONE,
        name,
        APP,
        1,
        True,
    )
    assert (record.managed, record.owner) == (True, owner)
    assert record.created_at.seconds > 0
    assert [r.id for r in listed.records] == [record.id]
    assert fetched.record == record
    assert (deleted.deleted, again.deleted) == (True, False)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await dns.GetRecord(dns_pb2.GetRecordRequest(id=record.id), timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert details_of(missing.value).metadata["cloudflare_code"] == "81044"


async def test_repeated_create_returns_the_same_record_and_makes_no_second(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    name, owner = unique("again"), org()

    first = await dns.CreateRecord(subdomain(name, owner), timeout=10)
    second = await dns.CreateRecord(subdomain(name, owner), timeout=10)

    assert (second.created, second.updated) == (False, False)
    assert second.record.id == first.record.id
    assert len(records_named(sandbox, name)) == 1


async def test_concurrent_creates_make_exactly_one_record(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    name, owner = unique("race"), org()

    replies = await asyncio.gather(*(dns.CreateRecord(subdomain(name, owner), timeout=10) for _ in range(5)))

    assert len({r.record.id for r in replies}) == 1
    assert [r.created for r in replies].count(True) == 1
    assert len(records_named(sandbox, name)) == 1


async def test_own_record_with_other_content_is_updated_in_place(
    start_dns: Callable[..., Any], unique: Unique
) -> None:
    # Moving tenants to a new application host: both are configured targets while it happens.
    name, owner = unique("moved"), org()
    async with start_dns(A4C_SUBDOMAIN_TARGETS=f"{APP},web.{ZONE}") as running:
        first = await running.stub.CreateRecord(subdomain(name, owner), timeout=10)
        moved = await running.stub.CreateRecord(subdomain(name, owner, content=f"web.{ZONE}"), timeout=10)

    assert (moved.created, moved.updated) == (False, True)
    assert moved.record.id == first.record.id
    assert (moved.record.content, moved.record.proxied, moved.record.owner) == (f"web.{ZONE}", True, owner)


async def test_create_after_a_lost_answer_still_makes_one_record(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    name = unique("lost")
    sandbox.faults.configure({"faults": [{"kind": "status", "status": 502, "method": "POST", "after": True}]})

    reply = await dns.CreateRecord(subdomain(name, org()), timeout=10)

    assert reply.created is True
    assert [r.id for r in records_named(sandbox, name)] == [reply.record.id]


@pytest.mark.parametrize(
    ("comment", "reason"),
    [(None, "RECORD_NAME_TAKEN"), ("managed-by=a4c owner=someone-else", "RECORD_NAME_TAKEN")],
)
async def test_foreign_record_is_left_untouched_and_reported(
    dns: dns_pb2_grpc.DnsServiceAsyncStub,
    sandbox: CloudflareSandbox,
    unique: Unique,
    comment: str | None,
    reason: str,
) -> None:
    name = unique("foreign")
    theirs = plant(sandbox, name, "A", "192.0.2.50", comment)

    with pytest.raises(grpc.aio.AioRpcError) as create:
        await dns.CreateRecord(subdomain(name, org()), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as delete:
        await dns.DeleteRecord(dns_pb2.DeleteRecordRequest(id=theirs.id, owner=org()), timeout=10)

    assert create.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = details_of(create.value)
    assert details.reason == "RECORD_NAME_TAKEN"
    # Another owner's record stays theirs to see: no id, address or comment reaches the caller.
    for answer in (create.value, delete.value):
        said = repr(details_of(answer)) + (answer.details() or "")
        assert theirs.id not in said
        assert "192.0.2.50" not in said
    assert delete.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert records_named(sandbox, name) == [theirs]  # same content, same modified_on


async def test_invalid_request_names_every_bad_field_and_writes_nothing(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox
) -> None:
    bad = dns_pb2.CreateRecordRequest(
        name="acme.example.org", type=dns_pb2.RECORD_TYPE_TXT, content="", ttl=5, proxied=True, owner=""
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await dns.CreateRecord(bad, timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as bad_id:
        await dns.DeleteRecord(dns_pb2.DeleteRecordRequest(id="not-an-id"), timeout=10)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(raised.value).fields == {"name", "type", "content", "ttl", "proxied", "owner"}
    assert details_of(bad_id.value).fields == {"id", "owner"}
    assert not [r for r in sandbox.store.records(sandbox.zone_id(ZONE)) if "example.org" in r.name]


async def test_list_follows_next_page_tokens(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    name = unique("pages")
    for i in range(5):
        plant(sandbox, name, "TXT", f"n={i}")
    seen: list[str] = []
    tokens: list[str] = []
    for _ in range(5):
        request = dns_pb2.ListRecordsRequest(name=name, page_size=2, page_token=tokens[-1] if tokens else "")
        page = await dns.ListRecords(request, timeout=10)
        seen += [r.content for r in page.records]
        if not page.next_page_token:
            break
        tokens.append(page.next_page_token)
    # A token only continues the query it came from.
    with pytest.raises(grpc.aio.AioRpcError) as other_query:
        await dns.ListRecords(
            dns_pb2.ListRecordsRequest(name=name, page_size=3, page_token=tokens[0]), timeout=10
        )

    assert sorted(seen) == [f"n={i}" for i in range(5)]
    assert len(tokens) == 2
    assert details_of(other_query.value).fields == {"page_token"}


async def test_a_configured_reserved_label_is_refused_on_top_of_the_built_in_list(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox
) -> None:
    name = f"partner-portal.{ZONE}"
    async with start_dns(A4C_RESERVED_SLUGS="partner-portal") as running:
        with pytest.raises(grpc.aio.AioRpcError) as configured:
            await running.stub.CreateRecord(subdomain(name, org()), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as built_in:
            await running.stub.CreateRecord(subdomain(f"webmail.{ZONE}", org()), timeout=10)

    assert configured.value.code() == built_in.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(configured.value).fields == {"name"}
    assert records_named(sandbox, name) == []


async def test_owned_records_are_listed_in_large_pages_and_only_ours(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    owner = org()
    ours = {(await dns.CreateRecord(subdomain(unique("own"), owner), timeout=10)).record.id for _ in range(3)}
    plant(sandbox, unique("theirs"), "CNAME", APP, comment="managed-by=someone-else owner=x")
    plant(sandbox, unique("plain"), "A", "192.0.2.1")
    app = sandbox.emulator.app
    assert isinstance(app, FaultMiddleware)
    since = app.requests.now()

    listed: list[dns_pb2.Record] = []
    token = ""
    pages = 0
    while True:
        page = await dns.ListOwnedRecords(
            dns_pb2.ListOwnedRecordsRequest(page_size=2, page_token=token), timeout=10
        )
        listed += page.records
        pages += 1
        token = page.next_page_token
        if not token:
            break
    whole = await dns.ListOwnedRecords(dns_pb2.ListOwnedRecordsRequest(), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await dns.ListOwnedRecords(dns_pb2.ListOwnedRecordsRequest(page_size=5001), timeout=10)

    assert all(r.managed for r in listed)
    assert ours <= {r.id for r in listed if r.owner == owner}
    assert {r.id for r in whole.records} == {r.id for r in listed}
    assert whole.next_page_token == ""
    # One Cloudflare list per page: the marker filter is Cloudflare's, not a walk of the zone.
    lists = [e for e in app.requests.entries(since) if e.method == "GET" and e.path.endswith("/dns_records")]
    assert len(lists) == pages + 1
    assert details_of(too_big.value).fields == {"page_size"}
