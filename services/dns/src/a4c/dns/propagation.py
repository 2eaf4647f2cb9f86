"""One propagation check: ask every authoritative nameserver of the zone directly, once.

As cert-manager and lego do, "propagated" means every authoritative server answers as expected:
the exact content for a DNS-only record, any A/AAAA for a proxied one (the proxy answers for the
name). NXDOMAIN means "not yet". Nothing is cached and nothing loops: the caller's retry policy
does the waiting. Queries go over UDP with RD cleared, and over TCP when the answer is truncated.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from a4c.common.deadline import Deadline
from a4c.dns.config import Nameserver


class NameserverLookupError(Exception):
    """The zone's authoritative nameservers could not be found."""


@dataclass(frozen=True)
class Expectation:
    name: str
    type: str
    content: str
    proxied: bool


@dataclass(frozen=True)
class Answer:
    nameserver: str
    matches: bool
    rcode: str
    answers: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class PropagationResult:
    propagated: bool
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class _Target:
    label: str  # how the answer names it: host:port as configured or as found in NS
    address: str
    port: int


class PropagationChecker:
    def __init__(
        self,
        nameservers: Sequence[Nameserver] = (),
        *,
        query_timeout: float = 2.0,
        resolver: dns.asyncresolver.Resolver | None = None,
        nameserver_port: int = 53,
    ) -> None:
        """``nameservers`` overrides the NS lookup (local and test use); ``resolver`` finds the NS
        records otherwise (default: the system's resolver), which are then asked on ``nameserver_port``."""
        self._override = tuple(nameservers)
        self._query_timeout = query_timeout
        self._resolver = resolver
        self._port = nameserver_port

    async def check(self, zone: str, expect: Expectation, deadline: Deadline) -> PropagationResult:
        targets = await self._targets(zone, deadline)
        wait = max(min(self._query_timeout, deadline.remaining()), 0.05)
        answers = await asyncio.gather(*(self._ask(t, expect, wait) for t in targets))
        return PropagationResult(all(a.matches for a in answers) and bool(answers), tuple(answers))

    async def _targets(self, zone: str, deadline: Deadline) -> list[_Target]:
        if self._override:
            return [_Target(str(ns), await _address(ns.host), ns.port) for ns in self._override]
        resolver = self._resolver or dns.asyncresolver.Resolver()  # system configuration, no cache
        resolver.lifetime = max(deadline.remaining(), 0.1)
        try:
            ns_names = sorted(str(rd.target).rstrip(".") for rd in await resolver.resolve(zone, "NS"))
            addresses = [await resolver.resolve(host, "A") for host in ns_names]
        except dns.exception.DNSException as exc:
            raise NameserverLookupError(
                f"cannot find the nameservers of {zone}: {type(exc).__name__}"
            ) from exc
        return [
            _Target(f"{host}:{self._port}", str(answer[0]), self._port)
            for host, answer in zip(ns_names, addresses, strict=True)
        ]

    async def _ask(self, target: _Target, expect: Expectation, wait: float) -> Answer:
        seen: list[str] = []
        rdtypes = ("A", "AAAA") if expect.proxied else (expect.type,)
        for rdtype in rdtypes:
            query = dns.message.make_query(expect.name, rdtype)
            query.flags &= ~dns.flags.RD  # ask the server itself, not its recursion
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, target.address, timeout=wait, port=target.port
                )
            except dns.exception.Timeout:
                return Answer(target.label, False, "TIMEOUT", (), f"no answer within {wait:.2f}s")
            except (OSError, dns.exception.DNSException) as exc:
                return Answer(target.label, False, "ERROR", (), f"query failed: {type(exc).__name__}")
            rcode = dns.rcode.to_text(response.rcode())
            if response.rcode() == dns.rcode.NXDOMAIN:
                return Answer(target.label, False, rcode, (), "the name does not exist there yet")
            if response.rcode() != dns.rcode.NOERROR:
                return Answer(target.label, False, rcode, (), f"the nameserver answered {rcode}")
            if not response.flags & dns.flags.AA:
                return Answer(target.label, False, rcode, (), "the answer is not authoritative (AA not set)")
            values = _values(response.answer, expect.name, rdtype)
            seen += values
            if expect.proxied and values:
                return Answer(target.label, True, rcode, tuple(seen))
            if not expect.proxied:
                if _matches(expect, values):
                    return Answer(target.label, True, rcode, tuple(seen))
                detail = f"expected {expect.type} {expect.content}, got {', '.join(values) or 'no answer'}"
                return Answer(target.label, False, rcode, tuple(seen), detail)
        return Answer(
            target.label, False, "NOERROR", tuple(seen), "no A or AAAA answer yet for the proxied name"
        )


async def _address(host: str) -> str:
    """Nameservers are asked by address; a configured host name is resolved at check time."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise NameserverLookupError(f"cannot resolve nameserver {host}: {exc.strerror}") from exc
    return str(infos[0][4][0])


def _values(section: list[dns.rrset.RRset], name: str, rdtype: str) -> list[str]:
    owner = dns.name.from_text(name)
    wanted = dns.rdatatype.from_text(rdtype)
    values: list[str] = []
    for rrset in section:
        if rrset.name != owner or rrset.rdtype != wanted:
            continue
        for rdata in rrset:
            if wanted == dns.rdatatype.TXT:
                values.append(b"".join(rdata.strings).decode(errors="replace"))
            elif wanted == dns.rdatatype.CNAME:
                values.append(rdata.target.to_text(omit_final_dot=True).lower())
            else:
                values.append(rdata.to_text())
    return values


def _matches(expect: Expectation, values: list[str]) -> bool:
    wanted = expect.content
    if expect.type in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(wanted)
            return any(ipaddress.ip_address(v) == address for v in values)
        except ValueError:
            return False
    if expect.type == "CNAME":
        return wanted.rstrip(".").lower() in values
    unquoted = wanted[1:-1] if len(wanted) >= 2 and wanted[0] == wanted[-1] == '"' else wanted
    return wanted in values or unquoted in values
