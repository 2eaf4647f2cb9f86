"""CheckPropagation against the sandbox's authoritative server with dnspython."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dns.asyncresolver
import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.deadline import Deadline
from a4c.common.errors import details_of
from a4c.devstack.emulators import CloudflareSandbox
from a4c.devstack.timing import ManualClock
from a4c.dns.propagation import Expectation, NameserverLookupError, PropagationChecker
from a4c.sandbox.dns_server import ANYCAST_V4

ZONE = "firstovertheline.com"
APP = f"app.{ZONE}"
A, CNAME, TXT = dns_pb2.RECORD_TYPE_A, dns_pb2.RECORD_TYPE_CNAME, dns_pb2.RECORD_TYPE_TXT
Unique = Callable[[str], str]


async def create(dns: dns_pb2_grpc.DnsServiceAsyncStub, **fields: Any) -> dns_pb2.Record:
    fields.setdefault("owner", str(uuid.uuid4()))
    reply = await dns.CreateRecord(dns_pb2.CreateRecordRequest(**fields), timeout=10)
    return reply.record


async def check(dns: dns_pb2_grpc.DnsServiceAsyncStub, **fields: Any) -> dns_pb2.CheckPropagationResponse:
    reply: dns_pb2.CheckPropagationResponse = await dns.CheckPropagation(
        dns_pb2.CheckPropagationRequest(**fields), timeout=10
    )
    return reply


def sandbox_resolver(sandbox: CloudflareSandbox) -> dns.asyncresolver.Resolver:
    """A resolver that finds the zone's NS records on the sandbox (standing in for the system's)."""
    host, port = sandbox.nameserver.rsplit(":", 1)
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    return resolver


async def test_proxied_name_is_not_propagated_before_the_delay_and_is_after(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.published.delay = 20
    name = unique("slow")
    await create(dns, name=name, type=CNAME, content=APP, proxied=True)

    before = await check(dns, name=name, type=CNAME, proxied=True)
    sandbox.clock.advance(20)
    after = await check(dns, name=name, type=CNAME, proxied=True)

    assert before.propagated is False
    assert [(a.nameserver, a.rcode, a.matches) for a in before.answers] == [
        (sandbox.nameserver, "NXDOMAIN", False)
    ]
    assert after.propagated is True
    assert set(ANYCAST_V4) <= set(after.answers[0].answers)


async def test_dns_only_records_must_answer_the_exact_content(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    from a4c.sandbox.cloudflare.store import Batch
    from a4c.sandbox.cloudflare.validation import RecordSpec

    # Records the service would not write (its policy: proxied CNAMEs only) can still be checked.
    address, alias = unique("addr"), unique("alias")
    specs = [
        RecordSpec(type="A", name=address, content="192.0.2.33", ttl=300),
        RecordSpec(type="CNAME", name=alias, content=APP),
    ]
    sandbox.store.apply(sandbox.zone_id(ZONE), Batch(posts=specs))

    right = await check(dns, name=address, type=A, expected_content="192.0.2.33")
    wrong = await check(dns, name=address, type=A, expected_content="192.0.2.34")
    cname = await check(dns, name=alias, type=CNAME, expected_content=APP.upper() + ".")

    assert right.propagated is True
    assert wrong.propagated is False
    assert wrong.answers[0].detail == "expected A 192.0.2.34, got 192.0.2.33"
    assert cname.propagated is True
    assert list(cname.answers[0].answers) == [APP]


async def test_truncated_udp_answers_are_completed_over_tcp(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox, unique: Unique
) -> None:
    from a4c.sandbox.cloudflare.store import Batch
    from a4c.sandbox.cloudflare.validation import RecordSpec

    name = unique("big")
    specs = [RecordSpec(type="TXT", name=name, content=f"{i}" + "x" * 150) for i in range(6)]
    sandbox.store.apply(sandbox.zone_id(ZONE), Batch(posts=specs))

    reply = await check(dns, name=name, type=TXT, expected_content="5" + "x" * 150)

    assert reply.propagated is True
    assert len(reply.answers[0].answers) == 6  # more than fits in 512 bytes of UDP


async def test_every_nameserver_must_agree(
    start_dns: Callable[..., Any], sandbox: CloudflareSandbox, unique: Unique
) -> None:
    name = unique("quorum")
    silent = "127.0.0.1:9"  # nothing answers DNS there
    async with start_dns(
        A4C_DNS_NAMESERVERS=f"{sandbox.nameserver},{silent}", A4C_DNS_QUERY_TIMEOUT_SECONDS="0.3"
    ) as running:
        await create(running.stub, name=name, type=CNAME, content=APP, proxied=True)
        reply = await check(running.stub, name=name, type=CNAME, proxied=True)

    assert reply.propagated is False
    by_server = {a.nameserver: a for a in reply.answers}
    assert by_server[sandbox.nameserver].matches is True
    assert by_server[silent].matches is False
    assert by_server[silent].rcode in ("TIMEOUT", "ERROR")


async def test_invalid_check_requests_are_refused(dns: dns_pb2_grpc.DnsServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as proxied_txt:
        await check(dns, name="x.example.org", type=TXT, proxied=True)
    with pytest.raises(grpc.aio.AioRpcError) as no_content:
        await check(dns, name=f"x.{ZONE}", type=A)

    assert proxied_txt.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(proxied_txt.value).fields == {"name", "proxied"}
    assert details_of(no_content.value).fields == {"expected_content"}


async def test_nameservers_are_found_from_the_zone_ns_records(
    sandbox: CloudflareSandbox, unique: Unique
) -> None:
    port = int(sandbox.nameserver.rsplit(":", 1)[1])
    checker = PropagationChecker(resolver=sandbox_resolver(sandbox), nameserver_port=port)

    result = await checker.check(
        ZONE, Expectation(f"ns1.{ZONE}", "A", "127.0.0.1", proxied=False), Deadline.after(5)
    )
    with pytest.raises(NameserverLookupError, match=r"example\.org"):
        await checker.check(
            "example.org", Expectation("x.example.org", "A", "192.0.2.1", proxied=False), Deadline.after(5)
        )

    assert result.propagated is True
    assert [a.nameserver for a in result.answers] == [f"ns1.{ZONE}:{port}", f"ns2.{ZONE}:{port}"]
