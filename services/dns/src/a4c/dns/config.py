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

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
CLOUDFLARE_RATE_LIMIT = 1200  # requests per 5 minutes per token, across all clients
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("CLOUDFLARE_API_TOKEN", "secret: API token with Zone:Read and DNS:Edit on the zones (required)"),
    ("CLOUDFLARE_BASE_URL", f"Cloudflare API base URL (default {DEFAULT_BASE_URL})"),
    ("CLOUDFLARE_ZONE_NAME", "zone used when a request leaves zone empty, e.g. firstovertheline.com"),
    ("CLOUDFLARE_ZONE_ID", "id of CLOUDFLARE_ZONE_NAME, skipping the lookup by name (optional)"),
    ("CLOUDFLARE_MAX_REQUESTS_PER_5MIN", "this replica's request budget, at most 1200 (default 1000)"),
    ("CLOUDFLARE_TIMEOUT_SECONDS", "time a Cloudflare call may take when the caller set no deadline (30)"),
    ("A4C_DNS_NAMESERVERS", "comma list of host:port asked by CheckPropagation instead of the zone's NS"),
    ("A4C_DNS_QUERY_TIMEOUT_SECONDS", "how long to wait for one nameserver's answer (default 2)"),
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
    cloudflare_base_url: str = DEFAULT_BASE_URL
    zone_name: str | None = None
    zone_id: str | None = None
    max_requests_per_5min: int = 1000
    cloudflare_timeout_seconds: float = 30.0
    nameservers: tuple[Nameserver, ...] = ()
    dns_query_timeout_seconds: float = 2.0
    # Every secret read, for log redaction.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        server = ServerSettings.from_env(reader)
        token = reader.required_secret("CLOUDFLARE_API_TOKEN")
        base_url = (reader.str("CLOUDFLARE_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        _check_base_url(base_url, server.environment)
        zone_name = _zone_name(reader.str("CLOUDFLARE_ZONE_NAME"))
        zone_id = reader.str("CLOUDFLARE_ZONE_ID")
        if zone_id is not None:
            if not _ZONE_ID.match(zone_id):
                raise SettingsError("CLOUDFLARE_ZONE_ID", "must be 32 lowercase hex characters")
            if zone_name is None:
                raise SettingsError(
                    "CLOUDFLARE_ZONE_ID", "needs CLOUDFLARE_ZONE_NAME (the zone it belongs to)"
                )
        return cls(
            server=server,
            cloudflare_api_token=token,
            cloudflare_base_url=base_url,
            zone_name=zone_name,
            zone_id=zone_id,
            max_requests_per_5min=reader.int(
                "CLOUDFLARE_MAX_REQUESTS_PER_5MIN", 1000, min=1, max=CLOUDFLARE_RATE_LIMIT
            ),
            cloudflare_timeout_seconds=reader.float("CLOUDFLARE_TIMEOUT_SECONDS", 30.0, min=0.1, max=600),
            nameservers=tuple(_nameserver(raw) for raw in reader.list("A4C_DNS_NAMESERVERS")),
            dns_query_timeout_seconds=reader.float("A4C_DNS_QUERY_TIMEOUT_SECONDS", 2.0, min=0.05, max=60),
            secrets=tuple(reader.secrets),
        )


def _check_base_url(url: str, environment: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError("CLOUDFLARE_BASE_URL", f"not an http(s) URL: {url!r}")
    if environment == "production" and parts.scheme != "https":
        raise SettingsError("CLOUDFLARE_BASE_URL", "must use https in production (the token travels with it)")


def _zone_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    zone = raw.strip().rstrip(".").lower()
    if not _HOST.match(zone):
        raise SettingsError("CLOUDFLARE_ZONE_NAME", f"not a DNS zone name: {raw!r}")
    return zone


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
