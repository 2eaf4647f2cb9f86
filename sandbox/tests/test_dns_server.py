"""dig-style checks of the sandbox authoritative server with dnspython, over UDP and TCP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import httpx

from a4c.devstack.emulators import CloudflareSandbox
from a4c.devstack.timing import ManualClock
from a4c.sandbox.dns_server import ANYCAST_V4, ANYCAST_V6

Unique = Callable[[str], str]


async def ask(
    sandbox: CloudflareSandbox, name: str, rdtype: str, *, tcp: bool = False, **make: Any
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **make)
    host, port = sandbox.nameserver.rsplit(":", 1)
    if tcp:
        return await dns.asyncquery.tcp(query, host, port=int(port), timeout=2)
    return await dns.asyncquery.udp(query, host, port=int(port), timeout=2)


def answers(response: dns.message.Message, rdtype: str) -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset)


async def add(api: httpx.AsyncClient, zone_id: str, **record: Any) -> dict[str, Any]:
    response = await api.post(f"/zones/{zone_id}/dns_records", json=record)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_created_name_is_answered_authoritatively(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("aa")
    await add(api, zone_id, type="A", name=name, content="192.0.2.44", ttl=120)

    response = await ask(sandbox, name, "A")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert answers(response, "A") == ["192.0.2.44"]
    assert response.answer[0].ttl == 120


async def test_unknown_name_is_nxdomain_with_the_soa_in_authority(
    sandbox: CloudflareSandbox, unique: Unique
) -> None:
    response = await ask(sandbox, unique("missing"), "A")

    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.flags & dns.flags.AA
    assert response.answer == []
    soa = response.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name.to_text() == "firstovertheline.com."
    assert soa[0].mname.to_text() == "ns1.firstovertheline.com."


async def test_existing_name_without_that_type_is_nodata_with_soa(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("nodata")
    await add(api, zone_id, type="TXT", name=name, content="only text")

    response = await ask(sandbox, name, "AAAA")
    text = await ask(sandbox, name, "TXT")

    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA
    assert answers(text, "TXT") == ['"only text"']


async def test_proxied_cname_answers_with_the_anycast_addresses(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("proxied")
    await add(api, zone_id, type="CNAME", name=name, content="app.firstovertheline.com", proxied=True)

    a, aaaa, flattened = [await ask(sandbox, name, t) for t in ("A", "AAAA", "CNAME")]

    assert answers(a, "A") == sorted(ANYCAST_V4)
    assert answers(aaaa, "AAAA") == sorted(ANYCAST_V6)
    assert flattened.rcode() == dns.rcode.NOERROR
    assert flattened.answer == []


async def test_dns_only_cname_is_answered_and_followed_inside_the_zone(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    target, alias = unique("target"), unique("alias")
    await add(api, zone_id, type="A", name=target, content="192.0.2.80")
    await add(api, zone_id, type="CNAME", name=alias, content=target)

    response = await ask(sandbox, alias, "A")

    assert answers(response, "CNAME") == [f"{target}."]
    assert answers(response, "A") == ["192.0.2.80"]


async def test_changes_are_visible_only_after_the_propagation_delay(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.published.delay = 30
    name = unique("delay")
    record = await add(api, zone_id, type="A", name=name, content="192.0.2.7")

    before = await ask(sandbox, name, "A")
    sandbox.clock.advance(30)
    after = await ask(sandbox, name, "A")
    await api.delete(f"/zones/{zone_id}/dns_records/{record['id']}")
    still_there = await ask(sandbox, name, "A")
    sandbox.clock.advance(30)
    gone = await ask(sandbox, name, "A")

    assert before.rcode() == dns.rcode.NXDOMAIN
    assert answers(after, "A") == ["192.0.2.7"]
    assert answers(still_there, "A") == ["192.0.2.7"]
    assert gone.rcode() == dns.rcode.NXDOMAIN


async def test_large_udp_answers_are_truncated_and_complete_over_tcp(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("big")
    for i in range(6):
        await add(api, zone_id, type="TXT", name=name, content=f"{i}" + "x" * 150)

    udp = await ask(sandbox, name, "TXT")
    udp_edns = await ask(sandbox, name, "TXT", use_edns=0, payload=4096)
    tcp = await ask(sandbox, name, "TXT", tcp=True)

    assert udp.flags & dns.flags.TC
    assert udp.answer == []
    assert not udp_edns.flags & dns.flags.TC
    assert len(answers(udp_edns, "TXT")) == 6
    assert len(answers(tcp, "TXT")) == 6


async def test_apex_serves_ns_with_glue_and_foreign_names_are_refused(sandbox: CloudflareSandbox) -> None:
    ns = await ask(sandbox, "firstovertheline.com", "NS")
    glue = await ask(sandbox, "ns1.firstovertheline.com", "A")
    foreign = await ask(sandbox, "example.org", "A")

    assert answers(ns, "NS") == ["ns1.firstovertheline.com.", "ns2.firstovertheline.com."]
    assert [rrset.name.to_text() for rrset in ns.additional] == [
        "ns1.firstovertheline.com.",
        "ns2.firstovertheline.com.",
    ]
    assert answers(glue, "A") == ["127.0.0.1"]
    assert foreign.rcode() == dns.rcode.REFUSED
    assert not foreign.flags & dns.flags.AA


async def test_wildcards_match_at_any_depth_below_their_closest_encloser(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    base = unique("wild")
    await add(api, zone_id, type="A", name=f"*.{base}", content="192.0.2.80", ttl=60)
    await add(api, zone_id, type="TXT", name=f"leaf.taken.{base}", content="here")

    deep = await ask(sandbox, f"a.b.c.{base}", "A")
    # taken.<base> exists (an empty non-terminal): names below it are not the wildcard's (RFC 4592 2.2.2).
    under_ent = await ask(sandbox, f"x.taken.{base}", "A")

    assert (deep.rcode(), answers(deep, "A")) == (dns.rcode.NOERROR, ["192.0.2.80"])
    assert str(deep.answer[0].name).rstrip(".") == f"a.b.c.{base}"
    assert under_ent.rcode() == dns.rcode.NXDOMAIN


async def test_an_apex_cname_is_flattened_into_its_targets_addresses(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, unique: Unique
) -> None:
    zone = "analytics4change.com"
    other = sandbox.zone_id(zone)
    target = unique("origin")  # in firstovertheline.com, served here too
    await add(api, sandbox.zone_id("firstovertheline.com"), type="A", name=target, content="192.0.2.90")
    apex = await add(api, other, type="CNAME", name="@", content=target, ttl=120)
    try:
        addresses = await ask(sandbox, zone, "A")
        as_cname = await ask(sandbox, zone, "CNAME")
    finally:
        await api.delete(f"/zones/{other}/dns_records/{apex['id']}")

    assert answers(addresses, "A") == ["192.0.2.90"]
    assert str(addresses.answer[0].name).rstrip(".") == zone
    assert answers(addresses, "CNAME") == []  # never the CNAME itself
    assert answers(as_cname, "CNAME") == []


async def test_answers_never_carry_ad_for_the_unsigned_zones(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("ad")
    await add(api, zone_id, type="A", name=name, content="192.0.2.45")

    response = await ask(sandbox, name, "A", flags=dns.flags.RD | dns.flags.AD, use_edns=0)

    assert answers(response, "A") == ["192.0.2.45"]
    assert not response.flags & dns.flags.AD


async def test_an_edns_version_above_zero_gets_badvers(sandbox: CloudflareSandbox, unique: Unique) -> None:
    response = await ask(sandbox, unique("v1"), "A", use_edns=1)

    assert response.rcode() == dns.rcode.BADVERS
    assert response.edns == 0
    assert response.answer == []
