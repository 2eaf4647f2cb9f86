"""One published zone as DNS resource records: the sandbox's answers, record by record.

A proxied record answers Cloudflare's anycast A/AAAA instead of its content; ttl 1 ("automatic")
is served as 300 s; names that do not exist are answered from the wildcard of their closest
encloser (RFC 4592); the apex's DNS-only CNAME is kept for flattening, never served as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dnslib import AAAA, CNAME, NS, QTYPE, RR, SOA, TXT, A

from a4c.sandbox.cloudflare.store import Record, ZoneSnapshot

# What a proxied name resolves to here (addresses from Cloudflare's anycast ranges).
ANYCAST_V4 = ("104.21.48.1", "172.67.176.1")
ANYCAST_V6 = ("2606:4700:3030::6815:3001", "2606:4700:3036::ac43:b001")
AUTO_TTL = 300  # ttl 1 ("automatic") is served as 300 s, as Cloudflare does
SOA_TIMERS = (10000, 2400, 604800, 1800)  # refresh, retry, expire, minimum (Cloudflare's values)
SOA_RNAME = "dns.cloudflare.com"


class ZoneView:
    """The records of one visible snapshot, as resource records."""

    def __init__(self, snapshot: ZoneSnapshot, glue: Sequence[str]) -> None:
        self.zone = snapshot.zone
        self.snapshot = snapshot
        self.glue = glue

    def soa(self) -> RR:
        mname = self.zone.name_servers[0]
        rdata = SOA(mname, SOA_RNAME, (self.snapshot.serial, *SOA_TIMERS))
        return RR(self.zone.name, QTYPE.SOA, ttl=SOA_TIMERS[-1], rdata=rdata)

    def glue_rrs(self) -> list[RR]:
        hosts = [ns for ns in self.zone.name_servers if ns.endswith("." + self.zone.name)]
        return [RR(ns, QTYPE.A, ttl=AUTO_TTL, rdata=A(ip)) for ns in hosts for ip in self.glue]

    def _names(self) -> set[str]:
        return {r.name for r in self.snapshot.records} | {self.zone.name, *self.zone.name_servers}

    def _in_tree(self, name: str) -> bool:
        """The name owns records or has names below it (an empty non-terminal)."""
        return any(n == name or n.endswith("." + name) for n in self._names())

    def exists(self, name: str) -> bool:
        return self._in_tree(name) or bool(self._wildcard(name))

    def apex_cname(self) -> Record | None:
        """The apex's DNS-only CNAME (a proxied one answers with the proxy's addresses instead)."""
        apex = self.zone.name
        found = [r for r in self.snapshot.records if r.name == apex and r.type == "CNAME" and not r.proxied]
        return found[0] if found else None

    def rrs(self, name: str, qtype: str) -> list[RR]:
        records = [r for r in self.snapshot.records if r.name == name] or self._wildcard(name)
        if name == self.zone.name:  # the apex CNAME is flattened, never served as such
            records = [r for r in records if r.type != "CNAME" or r.proxied]
        rrs = _unique(rr for record in records for rr in record_rrs(name, record))
        if name == self.zone.name:
            rrs.append(self.soa())
            rrs += [RR(name, QTYPE.NS, ttl=86400, rdata=NS(ns)) for ns in self.zone.name_servers]
        if name in self.zone.name_servers:
            rrs += [rr for rr in self.glue_rrs() if str(rr.rname).rstrip(".") == name]
        if qtype == "ANY":
            return rrs
        cnames = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
        if cnames and qtype != "CNAME":
            return cnames[:1]
        return [rr for rr in rrs if QTYPE.get(rr.rtype) == qtype]

    def _wildcard(self, name: str) -> list[Record]:
        """RFC 4592: a name that does not exist is answered from ``*.<closest encloser>``, the
        closest ancestor that exists, however many labels lie between them."""
        if self._in_tree(name) or not name.endswith("." + self.zone.name):
            return []
        encloser = name
        while encloser != self.zone.name:
            encloser = encloser.split(".", 1)[1]
            if self._in_tree(encloser):
                break
        wildcard = "*." + encloser
        return [r for r in self.snapshot.records if r.name == wildcard]


def record_rrs(owner: str, record: Record) -> Iterable[RR]:
    ttl = AUTO_TTL if record.ttl == 1 else record.ttl
    if record.proxied:  # the proxy answers for the name, whatever the record points at
        yield from (RR(owner, QTYPE.A, ttl=AUTO_TTL, rdata=A(ip)) for ip in ANYCAST_V4)
        yield from (RR(owner, QTYPE.AAAA, ttl=AUTO_TTL, rdata=AAAA(ip)) for ip in ANYCAST_V6)
    elif record.type == "A":
        yield RR(owner, QTYPE.A, ttl=ttl, rdata=A(record.content))
    elif record.type == "AAAA":
        yield RR(owner, QTYPE.AAAA, ttl=ttl, rdata=AAAA(record.content))
    elif record.type == "CNAME":
        yield RR(owner, QTYPE.CNAME, ttl=ttl, rdata=CNAME(record.content))
    elif record.type == "TXT":
        yield RR(owner, QTYPE.TXT, ttl=ttl, rdata=TXT(_txt_strings(record.content)))


def _unique(rrs: Iterable[RR]) -> list[RR]:
    """Several proxied records on one name still answer each anycast address once."""
    seen: dict[tuple[int, str], RR] = {}
    for rr in rrs:
        seen.setdefault((rr.rtype, str(rr.rdata)), rr)
    return list(seen.values())


def _txt_strings(content: str) -> list[bytes]:
    text = content[1:-1] if len(content) >= 2 and content[0] == content[-1] == '"' else content
    data = text.encode()
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
