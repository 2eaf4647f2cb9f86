"""Settings of the DNS service, read once from an explicit environment mapping and validated.

A bad value stops the process before it binds, naming the variable (e.g. ``A4C_DNS_NAMESERVERS:
'ns:abc' has no valid port``). The Cloudflare token is a secret: it is registered for log redaction
and left out of every repr.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from a4c.common.config import EnvReader, ServerSettings, SettingsError
from a4c.common.names import RESERVED_SLUGS as BUILT_IN_RESERVED
from a4c.common.names import slug_problem
from a4c.common.settings import Bool, Float, Int, List, Optional, Required, Text

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
CLOUDFLARE_RATE_LIMIT = 1200  # requests per 5 minutes per token, across all clients
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")

API_TOKEN = Required(
    "CLOUDFLARE_API_TOKEN", "API token with Zone:Read and DNS:Edit on the zones", secret=True
)
BASE_URL = Text("CLOUDFLARE_BASE_URL", "Cloudflare API base URL (https in production)", DEFAULT_BASE_URL)
# The service's policy (a4c.dns.policy): the one zone it serves and what a tenant subdomain may be.
ZONE_NAME = Required("CLOUDFLARE_ZONE_NAME", "the one zone this service serves, e.g. firstovertheline.com")
SUBDOMAIN_TARGETS = List(
    "A4C_SUBDOMAIN_TARGETS",
    "comma list of host names a tenant subdomain may be a CNAME to",
    shown_default="app.<CLOUDFLARE_ZONE_NAME>",
)
RESERVED_SLUGS = List(
    "A4C_RESERVED_SLUGS",
    "comma-separated labels refused on top of the built-in list (a4c.common.names)",
    (),
    shown_default="none beyond the built-in list",
)
SUBDOMAIN_PROXIED = Bool(
    "A4C_SUBDOMAIN_PROXIED",
    "whether tenant subdomains are proxied through Cloudflare (no other value is written)",
    True,
)
ZONE_ID = Optional(
    "CLOUDFLARE_ZONE_ID",
    "id of CLOUDFLARE_ZONE_NAME, skipping the lookup by name",
    shown_default="looked up by name",
)
MAX_REQUESTS = Int(
    "CLOUDFLARE_MAX_REQUESTS_PER_5MIN",
    "this replica's request budget",
    1000,
    min=1,
    max=CLOUDFLARE_RATE_LIMIT,
)
# Cloudflare's "DNS records quota" per zone; one record per tenant, so tenants per zone (README,
# "Capacity"). 200 is the smallest quota Cloudflare gives a zone today (Free, created since
# 2024-09-01): a service left at the default never plans on more than any zone holds.
RECORD_QUOTA = Int(
    "CLOUDFLARE_ZONE_RECORD_QUOTA",
    "records the zone may hold (Cloudflare's quota: 200 Free since 2024-09, 1000 older Free, 3500 Pro and "
    "Business, or the zone's own); CreateRecord refuses a new record at it",
    200,
    min=1,
    max=10_000_000,
)
TIMEOUT = Float(
    "CLOUDFLARE_TIMEOUT_SECONDS",
    "time a call may take without a caller deadline",
    30.0,
    min=0.1,
    max=600,
)
NAMESERVERS = List(
    "A4C_DNS_NAMESERVERS",
    "comma list of host:port asked by CheckPropagation instead of the zone's NS",
    shown_default="the zone's NS",
)
QUERY_TIMEOUT = Float(
    "A4C_DNS_QUERY_TIMEOUT_SECONDS", "how long to wait for one nameserver's answer", 2.0, min=0.05, max=60
)
SETTINGS = (
    API_TOKEN,
    BASE_URL,
    ZONE_NAME,
    ZONE_ID,
    SUBDOMAIN_TARGETS,
    SUBDOMAIN_PROXIED,
    RESERVED_SLUGS,
    MAX_REQUESTS,
    TIMEOUT,
    NAMESERVERS,
    QUERY_TIMEOUT,
    RECORD_QUOTA,
)


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    cloudflare_api_token: str = field(repr=False)
    cloudflare_base_url: str = BASE_URL.default
    zone_name: str = ""
    zone_id: str | None = None
    subdomain_targets: tuple[str, ...] = ()
    subdomain_proxied: bool = SUBDOMAIN_PROXIED.default
    reserved_slugs: frozenset[str] = BUILT_IN_RESERVED
    max_requests_per_5min: int = MAX_REQUESTS.default
    cloudflare_timeout_seconds: float = TIMEOUT.default
    nameservers: tuple[Nameserver, ...] = ()
    dns_query_timeout_seconds: float = QUERY_TIMEOUT.default
    zone_record_quota: int = RECORD_QUOTA.default
    # Every secret read, for log redaction.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        server = ServerSettings.from_env(reader)
        token = API_TOKEN.read(reader)
        base_url = BASE_URL.read(reader).rstrip("/")
        _check_base_url(base_url, server.environment)
        zone_name = _zone_name(ZONE_NAME.read(reader))
        zone_id = ZONE_ID.read(reader)
        if zone_id is not None and not _ZONE_ID.match(zone_id):
            raise SettingsError("CLOUDFLARE_ZONE_ID", "must be 32 lowercase hex characters")
        return cls(
            server=server,
            cloudflare_api_token=token,
            cloudflare_base_url=base_url,
            zone_name=zone_name,
            zone_id=zone_id,
            subdomain_targets=_targets(SUBDOMAIN_TARGETS.read(reader), zone_name),
            subdomain_proxied=SUBDOMAIN_PROXIED.read(reader),
            reserved_slugs=_reserved(RESERVED_SLUGS.read(reader)),
            max_requests_per_5min=MAX_REQUESTS.read(reader),
            cloudflare_timeout_seconds=TIMEOUT.read(reader),
            nameservers=tuple(_nameserver(raw) for raw in NAMESERVERS.read(reader)),
            dns_query_timeout_seconds=QUERY_TIMEOUT.read(reader),
            zone_record_quota=RECORD_QUOTA.read(reader),
            secrets=tuple(reader.secrets),
        )


def _check_base_url(url: str, environment: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError("CLOUDFLARE_BASE_URL", f"not an http(s) URL: {url!r}")
    if environment == "production" and parts.scheme != "https":
        raise SettingsError("CLOUDFLARE_BASE_URL", "must use https in production (the token travels with it)")


def _zone_name(raw: str) -> str:
    zone = raw.strip().rstrip(".").lower()
    if not _HOST.match(zone):
        raise SettingsError("CLOUDFLARE_ZONE_NAME", f"not a DNS zone name: {raw!r}")
    return zone


def _targets(raw: tuple[str, ...], zone: str) -> tuple[str, ...]:
    """The CNAME targets, normalized like record content; ``app.<zone>`` when none is set."""
    targets = tuple(t.strip().rstrip(".").lower() for t in raw) or (f"app.{zone}",)
    bad = [t for t in targets if not _HOST.match(t)]
    if bad:
        raise SettingsError("A4C_SUBDOMAIN_TARGETS", f"not a host name: {bad[0]!r}")
    return targets


def _reserved(extra: tuple[str, ...]) -> frozenset[str]:
    """The built-in list plus the configured labels: configuration may add, never remove (the
    worker and provisioning read the same variable)."""
    extra_set = frozenset(slug.lower() for slug in extra)
    for slug in sorted(extra_set):
        # An entry no label could match would silently protect nothing.
        if slug_problem(slug, frozenset()) is not None:
            raise SettingsError(RESERVED_SLUGS.name, f"not a slug: {slug!r}")
    return BUILT_IN_RESERVED | extra_set


def _nameserver(raw: str) -> Nameserver:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address (port 53)."""
    host, port = raw, "53"
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError("A4C_DNS_NAMESERVERS", f"{raw!r} is not host:port with a valid port")
    return Nameserver(host, int(port))
