"""Provisioning service settings, from an explicit environment mapping (`python -m a4c.provisioning --help`).

Everything the workflows need to decide anything (record target, polling policy, role keys, timeouts)
is a setting here and travels in the workflow input: workflow code cannot read settings itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from a4c.common.config import EnvReader, ServerSettings, SettingsError
from a4c.workflows.connection import TEMPORAL_ENV_HELP, TemporalSettings, TemporalSettingsError
from a4c.workflows.models import TASK_QUEUE, StepTimeouts, VerificationPolicy

DEFAULT_RESERVED_SLUGS = ("www", "app", "api", "admin", "mail", "ftp", "a4c", "api-a4c", "status", "support")
DEFAULT_SUBDOMAIN_TARGET = "app.{base_domain}"
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("DATABASE_URL", "secret: PostgreSQL URL of the event store (required)"),
    ("TEMPORAL_ADDRESS", "Temporal frontend host:port (default localhost:7233)"),
    ("TEMPORAL_NAMESPACE", "Temporal namespace (default default)"),
    *TEMPORAL_ENV_HELP,
    ("TEMPORAL_TASK_QUEUE", f"task queue the workflows run on (default {TASK_QUEUE})"),
    ("A4C_BASE_DOMAIN", "base domain of tenant subdomains (default: the database's, per A4C_ENVIRONMENT)"),
    (
        "A4C_RESERVED_SLUGS",
        f"comma-separated slugs nobody may take (default {','.join(DEFAULT_RESERVED_SLUGS)})",
    ),
    ("A4C_SUBDOMAIN_TARGET", f"CNAME target of every subdomain (default {DEFAULT_SUBDOMAIN_TARGET})"),
    ("A4C_SUBDOMAIN_PROXIED", "proxy subdomains through Cloudflare (default true)"),
    ("A4C_ADMIN_ROLE_KEYS", "comma-separated role keys granted to the first admin (default provider_admin)"),
    ("A4C_INVITE_URL_TEMPLATE", "invitation link template (default: the identity service's)"),
    ("A4C_APPLICATION_NAME", "application name in the invitation email (default A4C)"),
    ("A4C_VERIFY_FIRST_CHECK_SECONDS", "wait before the first DNS check (default 10)"),
    ("A4C_VERIFY_INITIAL_INTERVAL_SECONDS", "first interval between DNS checks (default 10)"),
    ("A4C_VERIFY_BACKOFF", "growth factor of that interval (default 1.5)"),
    ("A4C_VERIFY_MAX_INTERVAL_SECONDS", "longest interval between DNS checks (default 60)"),
    ("A4C_VERIFY_DEADLINE_SECONDS", "give up verifying the subdomain after this long (default 600)"),
    ("A4C_STEP_ATTEMPT_SECONDS", "timeout of one attempt of a remote step (default 30)"),
    ("A4C_STEP_TOTAL_SECONDS", "timeout of all attempts of a remote step, then compensation (default 300)"),
    (
        "A4C_SLUG_CLAIM_STALE_SECONDS",
        "age after which an unstarted slug claim may be taken over (default 120)",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The service's whole configuration; `base_domain` None means "ask the database at start"."""

    database_url: str = field(repr=False)
    server: ServerSettings = field(default_factory=ServerSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    task_queue: str = TASK_QUEUE
    base_domain: str | None = None
    reserved_slugs: frozenset[str] = frozenset(DEFAULT_RESERVED_SLUGS)
    subdomain_target: str = DEFAULT_SUBDOMAIN_TARGET
    subdomain_proxied: bool = True
    admin_role_keys: tuple[str, ...] = ("provider_admin",)
    invite_url_template: str = ""
    application_name: str = "A4C"
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    step_timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    slug_claim_stale_seconds: float = 120.0
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
        database_url = reader.required_secret("DATABASE_URL")
        server = ServerSettings.from_env(reader)
        try:
            temporal = TemporalSettings.from_env(env, require_keys=server.environment == "production")
        except TemporalSettingsError as error:
            raise SettingsError(error.key, error.problem) from None
        base_domain = _domain(reader, "A4C_BASE_DOMAIN")
        roles = reader.list("A4C_ADMIN_ROLE_KEYS", ("provider_admin",))
        if not roles:
            raise SettingsError("A4C_ADMIN_ROLE_KEYS", "needs at least one role key")
        target = reader.str("A4C_SUBDOMAIN_TARGET", DEFAULT_SUBDOMAIN_TARGET) or DEFAULT_SUBDOMAIN_TARGET
        if not _DOMAIN.fullmatch(target.replace("{base_domain}", "example.com").lower()):
            raise SettingsError("A4C_SUBDOMAIN_TARGET", f"not a host name: {target!r}")
        return cls(
            database_url=database_url,
            server=server,
            temporal=temporal,
            task_queue=reader.str("TEMPORAL_TASK_QUEUE", TASK_QUEUE) or TASK_QUEUE,
            base_domain=base_domain,
            reserved_slugs=frozenset(
                s.lower() for s in reader.list("A4C_RESERVED_SLUGS", DEFAULT_RESERVED_SLUGS)
            ),
            subdomain_target=target.lower(),
            subdomain_proxied=reader.bool("A4C_SUBDOMAIN_PROXIED", True),
            admin_role_keys=roles,
            invite_url_template=reader.str("A4C_INVITE_URL_TEMPLATE", "") or "",
            application_name=reader.str("A4C_APPLICATION_NAME", "A4C") or "A4C",
            verification=_verification(reader),
            step_timeouts=_step_timeouts(reader),
            slug_claim_stale_seconds=reader.float("A4C_SLUG_CLAIM_STALE_SECONDS", 120.0, min=30, max=86400),
            secrets=(*reader.secrets, *temporal.secrets),
        )


def _domain(reader: EnvReader, key: str) -> str | None:
    value = reader.str(key)
    if value is None:
        return None
    value = value.lower().rstrip(".")
    if not _DOMAIN.fullmatch(value):
        raise SettingsError(key, f"not a domain name: {value!r}")
    return value


def _verification(reader: EnvReader) -> VerificationPolicy:
    policy = VerificationPolicy(
        first_check_seconds=reader.float("A4C_VERIFY_FIRST_CHECK_SECONDS", 10.0, min=0, max=3600),
        initial_interval_seconds=reader.float(
            "A4C_VERIFY_INITIAL_INTERVAL_SECONDS", 10.0, min=0.01, max=3600
        ),
        backoff=reader.float("A4C_VERIFY_BACKOFF", 1.5, min=1.0, max=10.0),
        max_interval_seconds=reader.float("A4C_VERIFY_MAX_INTERVAL_SECONDS", 60.0, min=0.01, max=3600),
        deadline_seconds=reader.float("A4C_VERIFY_DEADLINE_SECONDS", 600.0, min=1, max=7 * 86400),
    )
    if policy.max_interval_seconds < policy.initial_interval_seconds:
        raise SettingsError(
            "A4C_VERIFY_MAX_INTERVAL_SECONDS", "must not be below A4C_VERIFY_INITIAL_INTERVAL_SECONDS"
        )
    return policy


def _step_timeouts(reader: EnvReader) -> StepTimeouts:
    timeouts = StepTimeouts(
        attempt_seconds=reader.float("A4C_STEP_ATTEMPT_SECONDS", 30.0, min=0.1, max=3600),
        total_seconds=reader.float("A4C_STEP_TOTAL_SECONDS", 300.0, min=0.1, max=86400),
    )
    if timeouts.total_seconds < timeouts.attempt_seconds:
        raise SettingsError("A4C_STEP_TOTAL_SECONDS", "must not be below A4C_STEP_ATTEMPT_SECONDS")
    return timeouts
