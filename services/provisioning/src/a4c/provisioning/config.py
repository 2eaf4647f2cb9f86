"""Provisioning service settings, from an explicit environment mapping (`python -m a4c.provisioning --help`).

Everything the workflows need to decide anything (record target, polling policy, timeouts) is a setting
here and travels in the workflow input: workflow code cannot read settings itself. The role/invite
policy is not: the identity service owns it (ZITADEL_ADMIN_ROLE_KEYS and the invitation settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from a4c.common.config import (
    DATABASE_URL,
    TEMPORAL_ADDRESS,
    TEMPORAL_CONNECTION,
    TEMPORAL_NAMESPACE,
    EnvReader,
    ServerSettings,
    SettingsError,
)
from a4c.common.names import host_name
from a4c.common.settings import Bool, Float, Int, List, Optional, Text
from a4c.workflows.connection import TemporalSettings, TemporalSettingsError
from a4c.workflows.models import TASK_QUEUE, StepTimeouts, VerificationPolicy
from a4c.workflows.pacing import PACING_SETTINGS, read_step_timeouts, read_verification

DEFAULT_RESERVED_SLUGS = ("www", "app", "api", "admin", "mail", "ftp", "a4c", "api-a4c", "status", "support")
DEFAULT_SUBDOMAIN_TARGET = "app.{base_domain}"

TASK_QUEUE_SETTING = Text("TEMPORAL_TASK_QUEUE", "task queue the workflows run on", TASK_QUEUE)
BASE_DOMAIN = Optional(
    "A4C_BASE_DOMAIN",
    "base domain of tenant subdomains",
    shown_default="the database's get_base_domain(A4C_ENVIRONMENT), development: firstovertheline.com",
)
RESERVED_SLUGS = List("A4C_RESERVED_SLUGS", "comma-separated slugs nobody may take", DEFAULT_RESERVED_SLUGS)
SUBDOMAIN_TARGET = Text("A4C_SUBDOMAIN_TARGET", "CNAME target of every subdomain", DEFAULT_SUBDOMAIN_TARGET)
SUBDOMAIN_PROXIED = Bool("A4C_SUBDOMAIN_PROXIED", "proxy subdomains through Cloudflare", True)
SLUG_CLAIM_STALE = Float(
    "A4C_SLUG_CLAIM_STALE_SECONDS",
    "age at which an unstarted claim is free",
    120.0,
    min=30,
    max=86400,
)
SLUG_QUARANTINE = Float(
    "A4C_SLUG_QUARANTINE_SECONDS",
    "how long an offboarded organization's slug stays unavailable before a new bootstrap may take it",
    30 * 86400.0,
    min=0,
    max=365 * 86400,
)
OFFBOARDING_GRACE = Float(
    "A4C_OFFBOARDING_GRACE_SECONDS",
    "time between deactivating an offboarded organization's identity and deleting it (cancel window)",
    7 * 86400.0,
    min=0,
    max=365 * 86400,
)
BOOTSTRAP_PER_MINUTE = Float(
    "A4C_BOOTSTRAP_RATE_PER_MINUTE",
    "BootstrapOrganization calls a principal may make per minute, per replica (each sends an email)",
    6.0,
    min=0.01,
    max=6000,
)
BOOTSTRAP_BURST = Int(
    "A4C_BOOTSTRAP_BURST", "BootstrapOrganization calls a principal may make at once", 10, min=1, max=1000
)
WATCH_PER_PRINCIPAL = Int(
    "A4C_WATCH_STREAMS_PER_PRINCIPAL",
    "concurrent WatchBootstrap streams per principal",
    20,
    min=1,
    max=10_000,
)
WATCH_PER_SERVER = Int(
    "A4C_WATCH_STREAMS_PER_SERVER",
    "concurrent WatchBootstrap streams per replica (below A4C_GRPC_MAX_CONCURRENT_RPCS)",
    200,
    min=1,
    max=100_000,
)
SETTINGS = (
    DATABASE_URL,
    TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE,
    *TEMPORAL_CONNECTION,
    TASK_QUEUE_SETTING,
    BASE_DOMAIN,
    RESERVED_SLUGS,
    SUBDOMAIN_TARGET,
    SUBDOMAIN_PROXIED,
    *PACING_SETTINGS,
    SLUG_CLAIM_STALE,
    SLUG_QUARANTINE,
    OFFBOARDING_GRACE,
    BOOTSTRAP_PER_MINUTE,
    BOOTSTRAP_BURST,
    WATCH_PER_PRINCIPAL,
    WATCH_PER_SERVER,
)


@dataclass(frozen=True)
class Settings:
    """The service's whole configuration; `base_domain` None means "ask the database at start"."""

    database_url: str = field(repr=False)
    server: ServerSettings = field(default_factory=ServerSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    task_queue: str = TASK_QUEUE_SETTING.default
    base_domain: str | None = None
    reserved_slugs: frozenset[str] = frozenset(RESERVED_SLUGS.default)
    subdomain_target: str = SUBDOMAIN_TARGET.default
    subdomain_proxied: bool = SUBDOMAIN_PROXIED.default
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    step_timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    slug_claim_stale_seconds: float = SLUG_CLAIM_STALE.default
    slug_quarantine_seconds: float = SLUG_QUARANTINE.default
    offboarding_grace_seconds: float = OFFBOARDING_GRACE.default
    bootstrap_per_minute: float = BOOTSTRAP_PER_MINUTE.default
    bootstrap_burst: int = BOOTSTRAP_BURST.default
    watch_streams_per_principal: int = WATCH_PER_PRINCIPAL.default
    watch_streams_per_server: int = WATCH_PER_SERVER.default
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def environment(self) -> str:
        return self.server.environment

    def target_for(self, base_domain: str) -> str:
        """The CNAME target with `{base_domain}` filled in."""
        return self.subdomain_target.replace("{base_domain}", base_domain)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        database_url = DATABASE_URL.read(reader)
        server = ServerSettings.from_env(reader)
        try:
            temporal = TemporalSettings.from_env(env, require_keys=server.environment == "production")
        except TemporalSettingsError as error:
            raise SettingsError(error.key, error.problem) from None
        base_domain = _domain(BASE_DOMAIN.read(reader))
        target = SUBDOMAIN_TARGET.read(reader)
        if host_name(target.replace("{base_domain}", "example.com")) is None:
            raise SettingsError(SUBDOMAIN_TARGET.name, f"not a host name: {target!r}")
        return cls(
            database_url=database_url,
            server=server,
            temporal=temporal,
            task_queue=TASK_QUEUE_SETTING.read(reader),
            base_domain=base_domain,
            reserved_slugs=frozenset(s.lower() for s in RESERVED_SLUGS.read(reader)),
            subdomain_target=target.lower(),
            subdomain_proxied=SUBDOMAIN_PROXIED.read(reader),
            verification=read_verification(reader),
            step_timeouts=read_step_timeouts(reader),
            slug_claim_stale_seconds=SLUG_CLAIM_STALE.read(reader),
            slug_quarantine_seconds=SLUG_QUARANTINE.read(reader),
            offboarding_grace_seconds=OFFBOARDING_GRACE.read(reader),
            bootstrap_per_minute=BOOTSTRAP_PER_MINUTE.read(reader),
            bootstrap_burst=BOOTSTRAP_BURST.read(reader),
            watch_streams_per_principal=WATCH_PER_PRINCIPAL.read(reader),
            watch_streams_per_server=_watch_per_server(reader, server),
            secrets=(*reader.secrets, *temporal.secrets),
        )


def _watch_per_server(reader: EnvReader, server: ServerSettings) -> int:
    cap = WATCH_PER_SERVER.read(reader)
    if cap >= server.max_concurrent_rpcs:
        # Streams would otherwise take every slot and starve the unary calls.
        raise SettingsError(WATCH_PER_SERVER.name, "must be below A4C_GRPC_MAX_CONCURRENT_RPCS")
    return cap


def _domain(value: str | None) -> str | None:
    if value is None:
        return None
    domain = host_name(value)
    if domain is None:
        raise SettingsError(BASE_DOMAIN.name, f"not a domain name: {value!r}")
    return domain
