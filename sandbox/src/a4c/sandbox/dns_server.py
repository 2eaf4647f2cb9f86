"""The sandbox's authoritative nameserver (dnslib, UDP + TCP on one port) for the emulated zones.

It answers from what the Cloudflare emulator stores, each change becoming visible ``delay`` seconds
after it was made (:class:`PublishedZones`), so the whole verify path runs for real. Answers carry
AA; NXDOMAIN and NODATA carry the zone's SOA in the authority section; a proxied name answers with
the fixed sandbox "anycast" A/AAAA set instead of its content, like Cloudflare's proxy; a CNAME at
the apex is flattened (answered with its target's addresses, as Cloudflare always does there);
wildcards match at any depth below their closest encloser (RFC 4592); the AD bit is never set (the
zones are unsigned); a query with EDNS version above 0 gets BADVERS (RFC 6891); UDP answers larger
than the client's buffer (512 bytes without EDNS) come back truncated so clients retry on TCP.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from dnslib import EDNS0, QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer

from a4c.sandbox.cloudflare.store import CloudflareStore, ZoneSnapshot
from a4c.sandbox.dns_zone import ANYCAST_V4, ANYCAST_V6, AUTO_TTL, ZoneView

__all__ = ["ANYCAST_V4", "ANYCAST_V6", "PublishedZones", "SandboxDnsServer", "SandboxResolver"]

logger = logging.getLogger(__name__)
MAX_CNAME_CHAIN = 8
BADVERS = 16  # RFC 6891 extended rcode; dnslib's RCODE table stops at 10


class PublishedZones:
    """The zone data the nameserver serves: changes become visible ``delay`` seconds after they were
    made. Thread-safe; ``clock`` is injectable so tests advance time instead of sleeping."""

    def __init__(self, delay: float = 0.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self._clock = clock
        self._lock = threading.Lock()
        # zone name -> activation times and snapshots, both ascending
        self._history: dict[str, tuple[list[float], list[ZoneSnapshot]]] = {}

    def attach(self, store: CloudflareStore) -> PublishedZones:
        """Serve the store's zones as they are now (visible at once), then follow its changes."""
        for zone in store.zones():
            self._add(store.snapshot(zone.id), float("-inf"))
        store.subscribe(self.publish)
        return self

    def publish(self, snapshot: ZoneSnapshot) -> None:
        self._add(snapshot, self._clock() + self.delay)

    def _add(self, snapshot: ZoneSnapshot, visible_at: float) -> None:
        with self._lock:
            times, snapshots = self._history.setdefault(snapshot.zone.name, ([], []))
            times.append(max(visible_at, times[-1]) if times else visible_at)
            snapshots.append(snapshot)

    def zone_for(self, name: str) -> ZoneSnapshot | None:
        """The visible snapshot of the most specific zone containing ``name``."""
        now = self._clock()
        with self._lock:
            candidates = [z for z in self._history if name == z or name.endswith("." + z)]
            if not candidates:
                return None
            times, snapshots = self._history[max(candidates, key=len)]
            index = bisect.bisect_right(times, now) - 1
            # Drop what can never be served again.
            if index > 0:
                del times[:index], snapshots[:index]
                index = 0
            return snapshots[index] if index >= 0 else None


class SandboxResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zones: PublishedZones, glue: Sequence[str] = ("127.0.0.1",)) -> None:
        self.zones = zones
        self.glue = tuple(glue)

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply(ra=0, aa=1)
        # reply() copies the query's flags: an unsigned zone's answer is never "authenticated data".
        reply.header.ad = 0
        options = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        if options and (options[0].ttl >> 16) & 0xFF > 0:
            # RFC 6891 6.1.3: an EDNS version we do not implement gets BADVERS (16: low 4 bits in the
            # header, the high bits in the OPT record) and the version we speak, 0.
            reply.header.aa = 0
            reply.header.rcode = BADVERS & 0xF
            reply.add_ar(EDNS0(udp_len=1232, ext_rcode=BADVERS >> 4))
            return reply
        try:
            self._answer(request, reply)
        except Exception:  # a bug must not kill the handler thread silently
            logger.exception("sandbox DNS failed to answer %s", request.q.qname)
            reply = request.reply(ra=0, aa=0)
            reply.header.rcode = RCODE.SERVFAIL
        if request.ar and any(rr.rtype == QTYPE.OPT for rr in request.ar):
            reply.add_ar(EDNS0(udp_len=1232))
        return reply

    def _answer(self, request: Any, reply: Any) -> None:
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE.get(request.q.qtype)
        snapshot = self.zones.zone_for(qname)
        if snapshot is None or request.q.qclass != 1:  # not our zone, or not class IN
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
            return
        view = ZoneView(snapshot, self.glue)
        rrs = view.rrs(qname, qtype)
        if qname == snapshot.zone.name and qtype in ("A", "AAAA", "ANY"):
            rrs += self._flattened(view, qtype)
        if not rrs:  # NXDOMAIN or NODATA: the SOA tells resolvers how long to cache the absence
            if not view.exists(qname):
                reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(view.soa())
            return
        reply.add_answer(*rrs)
        # Follow a CNAME into the zones served here, as an authoritative server does in-zone.
        for _ in range(MAX_CNAME_CHAIN):
            if qtype in ("CNAME", "ANY") or rrs[0].rtype != QTYPE.CNAME:
                break
            target = str(rrs[0].rdata.label).rstrip(".")
            target_zone = self.zones.zone_for(target)
            rrs = ZoneView(target_zone, self.glue).rrs(target, qtype) if target_zone else []
            if not rrs:
                break
            reply.add_answer(*rrs)
        if qtype == "NS" and qname == snapshot.zone.name:
            reply.add_ar(*view.glue_rrs())

    def _flattened(self, view: ZoneView, qtype: str) -> list[RR]:
        """CNAME flattening at the apex: the target's A/AAAA under the apex's name. Targets are
        chased through the zones served here; others cannot be resolved offline (no answer)."""
        apex = view.zone.name
        cname = view.apex_cname()
        if cname is None:
            return []
        target, ttl = cname.content, AUTO_TTL if cname.ttl == 1 else cname.ttl
        for _ in range(MAX_CNAME_CHAIN):
            target_zone = self.zones.zone_for(target)
            if target_zone is None:
                return []
            found = ZoneView(target_zone, self.glue).rrs(target, qtype)
            if found and found[0].rtype == QTYPE.CNAME:
                target = str(found[0].rdata.label).rstrip(".")
                continue
            wanted = (QTYPE.A, QTYPE.AAAA)
            return [RR(apex, rr.rtype, ttl=ttl, rdata=rr.rdata) for rr in found if rr.rtype in wanted]
        return []


class _Handler(DNSHandler):  # type: ignore[misc]
    """Truncates UDP answers beyond the client's buffer, keeping the question (RFC 2181 §9)."""

    def get_reply(self, data: bytes) -> bytes:
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed: bytes = reply.pack()
        if self.protocol == "udp" and len(packed) > _udp_limit(request):
            truncated = request.reply(ra=0, aa=1)
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed


def _udp_limit(request: Any) -> int:
    sizes = [rr.rclass for rr in request.ar if rr.rtype == QTYPE.OPT]
    return max(512, min(sizes[0], 4096)) if sizes else 512


class _QuietLogger:
    """dnslib prints every query by default; send it to debug logging instead."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: logger.debug("%s %s", name, args[1:] if len(args) > 1 else "")


class SandboxDnsServer:
    """UDP and TCP servers on one host/port (0: a free port), each in a daemon thread."""

    def __init__(self, zones: PublishedZones, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        glue = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.resolver = SandboxResolver(zones, glue=(glue,))
        self._servers: list[Any] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> int:
        if self._servers:
            raise RuntimeError("sandbox DNS server already started")
        for _ in range(20):  # port 0: the free UDP port may be taken for TCP; try another
            udp = self._server(self.port, tcp=False)
            try:
                tcp = self._server(udp.server.server_address[1], tcp=True)
            except OSError:
                udp.server.server_close()
                if self.port:
                    raise
                continue
            self._servers = [udp, tcp]
            break
        else:
            raise OSError("no port free for both UDP and TCP")
        self.port = self._servers[0].server.server_address[1]
        for server in self._servers:
            # A short poll interval keeps stop() fast (socketserver's shutdown waits one interval).
            kwargs = {"poll_interval": 0.05}
            threading.Thread(target=server.server.serve_forever, kwargs=kwargs, daemon=True).start()
        logger.info("sandbox DNS listening on %s (udp+tcp)", self.address)
        return self.port

    def _server(self, port: int, *, tcp: bool) -> Any:
        quiet = _QuietLogger()
        return DNSServer(self.resolver, address=self.host, port=port, tcp=tcp, logger=quiet, handler=_Handler)

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.server.shutdown()
            server.server.server_close()

    def __enter__(self) -> SandboxDnsServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
