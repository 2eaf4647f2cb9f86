"""Worker settings, from an explicit environment mapping (see `python -m a4c.worker --help`).

The worker serves no gRPC API, so the kit's server settings do not apply; it shares the event store,
Temporal and log-level variables with the other parts (declared once in `a4c.common.config`).

The subdomain and step policy (zone, CNAME target, proxying, verification pacing, step timeouts,
extra reserved slugs) is the worker's own: Temporal is a trust boundary, so the worker re-derives it
here instead of trusting its workflow input (a4c.worker.policy). The variables carry the same names
as the provisioning service's, so one ConfigMap configures both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from a4c.common.config import (
    DATABASE_URL,
    ENVIRONMENT,
    LOG_LEVEL,
    METRICS_PORT,
    SHUTDOWN_GRACE_SECONDS,
    TEMPORAL_ADDRESS,
    TEMPORAL_CONNECTION,
    TEMPORAL_NAMESPACE,
    TRACING_SETTINGS,
    SettingsError,
)
from a4c.common.env import EnvReader
from a4c.common.names import RESERVED_SLUGS as BUILT_IN_RESERVED
from a4c.common.names import host_name, slug_problem
from a4c.common.settings import Bool, Float, Int, List, Optional, Required, Setting, Text
from a4c.common.tracing import TracingSettings
from a4c.worker.policy import WorkerPolicy
from a4c.worker.reconcile_settings import RECONCILE_SETTINGS, ReconcileSettings
from a4c.workflows.connection import TemporalSettings, TemporalSettingsError
from a4c.workflows.models import TASK_QUEUE, StepTimeouts, VerificationPolicy
from a4c.workflows.pacing import PACING_SETTINGS, read_step_timeouts, read_verification
from a4c.workflows.queues import DEFAULT_RATES, UPSTREAM_QUEUES, Queue

SERVICE_NAME = "a4c-worker"  # service.name of its spans unless OTEL_SERVICE_NAME
TASK_QUEUE_SETTING = Text(
    "TEMPORAL_TASK_QUEUE",
    "main task queue (workflows); the upstream queues add -cloudflare, -zitadel, -nameservers",
    TASK_QUEUE,
)
# k8s runs one Deployment per queue in prod (each scaled on its own) and one all-queues worker in dev.
WORKER_QUEUES = List(
    "A4C_WORKER_QUEUES",
    "queues this worker serves: main (workflows, event appends), cloudflare, zitadel, nameservers",
    tuple(queue.value for queue in Queue),
)


def _rate(queue: Queue, what: str) -> Float:
    return Float(
        f"A4C_{queue.value.upper()}_ACTIVITIES_PER_SECOND",
        f"{what} per second Temporal dispatches from the {queue.value} queue to all its workers together "
        "(server-side; every worker on the queue must set the same; 0: this worker sets none)",
        DEFAULT_RATES[queue],
        min=0,
        max=10000,
    )


# Derived from each upstream's documented limit in a4c.workflows.queues (README: "Upstream rate limits").
QUEUE_RATES: dict[Queue, Float] = {
    Queue.CLOUDFLARE: _rate(Queue.CLOUDFLARE, "DNS record changes"),
    Queue.ZITADEL: _rate(Queue.ZITADEL, "identity calls"),
    Queue.NAMESERVERS: _rate(Queue.NAMESERVERS, "propagation checks"),
}
DNS_ADDRESS = Required("A4C_DNS_SERVICE_ADDRESS", "DNS service host:port")
IDENTITY_ADDRESS = Required("A4C_IDENTITY_SERVICE_ADDRESS", "identity service host:port")
SERVICE_TOKEN = Optional(
    "A4C_SERVICE_TOKEN", "bearer token presented to the DNS and identity services", secret=True
)
SERVICE_TLS_CA_FILE = Optional(
    "A4C_SERVICE_TLS_CA_FILE",
    "CA bundle to verify the services' TLS certificates (set: TLS)",
    shown_default="none: plaintext",
)
SERVICE_TLS_CERT_FILE = Optional(
    "A4C_SERVICE_TLS_CERT_FILE",
    "client certificate (PEM) for services that require mTLS, with A4C_SERVICE_TLS_KEY_FILE",
    shown_default="none: no client certificate",
)
SERVICE_TLS_KEY_FILE = Optional("A4C_SERVICE_TLS_KEY_FILE", "the client certificate's private key (PEM)")
HEALTH_HOST = Text("A4C_HEALTH_HOST", "interface of the worker's gRPC health endpoint", "0.0.0.0")
HEALTH_PORT = Int(
    "A4C_HEALTH_PORT", "port of the worker's gRPC health endpoint (0 picks one)", 8081, min=0, max=65535
)
# Our registry and the Temporal SDK's own metrics, merged on this one port (a4c.worker.telemetry).
WORKER_METRICS_PORT = METRICS_PORT.but(
    help="port of GET /metrics (Prometheus text: the Temporal SDK's metrics and ours), on "
    "A4C_HEALTH_HOST (0 picks a free port; the k8s manifests use 9090)"
)
MAX_ACTIVITIES = Int("A4C_WORKER_MAX_CONCURRENT_ACTIVITIES", "activity slots", 100, min=1)
MAX_WORKFLOW_TASKS = Int("A4C_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "workflow task slots", 100, min=2)
# A dead worker's workflow tasks wait this long on its sticky queue before any worker gets them:
# Temporal's 10 s default would add 10 s to every bootstrap a crash catches (issue 21).
STICKY_TIMEOUT = Float(
    "A4C_WORKER_STICKY_TIMEOUT_SECONDS",
    "how long a workflow task waits for this worker (its cache) before it goes to any worker",
    2.0,
    min=0.5,
    max=60,
)
# Activities may run longer than a gRPC call, so the worker's grace period is longer than a service's.
WORKER_SHUTDOWN_GRACE = SHUTDOWN_GRACE_SECONDS.but(
    help="time running activities get to finish on SIGTERM", value=30.0, max=3600
)
# -- the policy the worker enforces on every workflow (a4c.worker.policy) ---------------------------
BASE_DOMAIN = Optional(
    "A4C_BASE_DOMAIN",
    "the only zone tenant subdomains may be created in",
    shown_default="the database's get_base_domain(A4C_ENVIRONMENT), development: firstovertheline.com",
)
SUBDOMAIN_TARGET = Text(
    "A4C_SUBDOMAIN_TARGET", "the only CNAME target a subdomain may point at", "app.{base_domain}"
)
SUBDOMAIN_PROXIED = Bool("A4C_SUBDOMAIN_PROXIED", "subdomains are proxied through Cloudflare", True)
RESERVED_SLUGS = List(
    "A4C_RESERVED_SLUGS",
    "comma-separated slugs refused on top of the built-in list (a4c.common.names)",
    (),
    shown_default="none beyond the built-in list",
)
POLICY_SETTINGS = (
    BASE_DOMAIN,
    SUBDOMAIN_TARGET,
    SUBDOMAIN_PROXIED,
    RESERVED_SLUGS,
    *PACING_SETTINGS,
)
SETTINGS: tuple[Setting[Any], ...] = (
    DATABASE_URL,
    TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE,
    *TEMPORAL_CONNECTION,
    TASK_QUEUE_SETTING,
    WORKER_QUEUES,
    *QUEUE_RATES.values(),
    DNS_ADDRESS,
    IDENTITY_ADDRESS,
    SERVICE_TOKEN,
    SERVICE_TLS_CA_FILE,
    SERVICE_TLS_CERT_FILE,
    SERVICE_TLS_KEY_FILE,
    HEALTH_HOST,
    HEALTH_PORT,
    WORKER_METRICS_PORT,
    MAX_ACTIVITIES,
    MAX_WORKFLOW_TASKS,
    STICKY_TIMEOUT,
    WORKER_SHUTDOWN_GRACE,
    *POLICY_SETTINGS,
    *RECONCILE_SETTINGS,
    LOG_LEVEL,
    ENVIRONMENT.but(help="development or production (production requires A4C_PAYLOAD_KEYS)"),
    *TRACING_SETTINGS,
)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(repr=False)
    dns_address: str
    identity_address: str
    service_token: str | None = field(default=None, repr=False)
    service_tls_ca_file: str | None = None
    service_tls_cert_file: str | None = None
    service_tls_key_file: str | None = None
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    task_queue: str = TASK_QUEUE_SETTING.default
    queues: frozenset[Queue] = frozenset(Queue)
    # activities per second per upstream queue; None: this worker sets no server-side limit
    queue_rates: dict[Queue, float | None] = field(default_factory=lambda: dict(DEFAULT_RATES))
    health_host: str = HEALTH_HOST.default
    health_port: int = HEALTH_PORT.default
    metrics_port: int | None = None
    max_concurrent_activities: int = MAX_ACTIVITIES.default
    max_concurrent_workflow_tasks: int = MAX_WORKFLOW_TASKS.default
    sticky_timeout_seconds: float = STICKY_TIMEOUT.default
    shutdown_grace_seconds: float = WORKER_SHUTDOWN_GRACE.default
    log_level: str = LOG_LEVEL.default
    environment: str = ENVIRONMENT.default
    base_domain: str | None = None  # None: ask the database at start (`policy(base_domain)`)
    subdomain_target: str = SUBDOMAIN_TARGET.default
    subdomain_proxied: bool = SUBDOMAIN_PROXIED.default
    reserved_slugs: frozenset[str] = BUILT_IN_RESERVED
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    step_timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    tracing: TracingSettings = field(default_factory=lambda: TracingSettings(SERVICE_NAME))
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def policy(self, base_domain: str) -> WorkerPolicy:
        """What every workflow is checked against, once the zone is known."""
        return WorkerPolicy(
            zone=base_domain,
            target=self.subdomain_target.replace("{base_domain}", base_domain),
            proxied=self.subdomain_proxied,
            reserved=self.reserved_slugs,
            verification=self.verification,
            timeouts=self.step_timeouts,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        environment = ENVIRONMENT.read(reader)
        try:
            temporal = TemporalSettings.from_env(env, require_keys=environment == "production")
        except TemporalSettingsError as error:
            raise SettingsError(error.key, error.problem) from None
        ca = SERVICE_TLS_CA_FILE.read(reader)
        cert, key = SERVICE_TLS_CERT_FILE.read(reader), SERVICE_TLS_KEY_FILE.read(reader)
        if (cert is None) != (key is None):
            missing = SERVICE_TLS_KEY_FILE if key is None else SERVICE_TLS_CERT_FILE
            raise SettingsError(
                missing.name, "a client certificate needs both A4C_SERVICE_TLS_CERT_FILE and _KEY_FILE"
            )
        if cert and not ca:
            raise SettingsError(SERVICE_TLS_CERT_FILE.name, "mTLS needs A4C_SERVICE_TLS_CA_FILE (TLS) too")
        return cls(
            database_url=DATABASE_URL.read(reader),
            log_level=LOG_LEVEL.read(reader),
            dns_address=DNS_ADDRESS.read(reader),
            identity_address=IDENTITY_ADDRESS.read(reader),
            service_token=SERVICE_TOKEN.read(reader),
            service_tls_ca_file=ca,
            service_tls_cert_file=cert,
            service_tls_key_file=key,
            temporal=temporal,
            task_queue=TASK_QUEUE_SETTING.read(reader),
            queues=_queues(WORKER_QUEUES.read(reader)),
            queue_rates={queue: QUEUE_RATES[queue].read(reader) or None for queue in UPSTREAM_QUEUES},
            health_host=HEALTH_HOST.read(reader),
            health_port=HEALTH_PORT.read(reader),
            metrics_port=WORKER_METRICS_PORT.read(reader),
            max_concurrent_activities=MAX_ACTIVITIES.read(reader),
            max_concurrent_workflow_tasks=MAX_WORKFLOW_TASKS.read(reader),
            sticky_timeout_seconds=STICKY_TIMEOUT.read(reader),
            shutdown_grace_seconds=WORKER_SHUTDOWN_GRACE.read(reader),
            environment=environment,
            base_domain=_domain(BASE_DOMAIN.read(reader)),
            subdomain_target=_target(SUBDOMAIN_TARGET.read(reader)),
            subdomain_proxied=SUBDOMAIN_PROXIED.read(reader),
            reserved_slugs=_reserved(RESERVED_SLUGS.read(reader)),
            verification=read_verification(reader),
            step_timeouts=read_step_timeouts(reader),
            reconcile=ReconcileSettings.read(reader),
            tracing=TracingSettings.from_env(reader, SERVICE_NAME),
            secrets=(*reader.secrets, *temporal.secrets),
        )


def _queues(names: tuple[str, ...]) -> frozenset[Queue]:
    known = [queue.value for queue in Queue]
    for name in names:
        if name.lower() not in known:
            raise SettingsError(WORKER_QUEUES.name, f"unknown queue {name!r}; known: {', '.join(known)}")
    if not names:
        raise SettingsError(WORKER_QUEUES.name, "name at least one queue")
    return frozenset(Queue(name.lower()) for name in names)


def _domain(value: str | None) -> str | None:
    if value is None:
        return None
    domain = host_name(value)
    if domain is None:
        raise SettingsError(BASE_DOMAIN.name, f"not a domain name: {value!r}")
    return domain


def _target(value: str) -> str:
    value = value.lower().rstrip(".")
    if host_name(value.replace("{base_domain}", "example.com")) is None:
        raise SettingsError(SUBDOMAIN_TARGET.name, f"not a host name: {value!r}")
    return value


def _reserved(extra: tuple[str, ...]) -> frozenset[str]:
    """The built-in list plus the configured slugs: configuration may add, never remove."""
    extra_set = frozenset(slug.lower() for slug in extra)
    for slug in sorted(extra_set):
        # A reserved entry that no slug could match would silently protect nothing.
        if slug_problem(slug, frozenset()) is not None:
            raise SettingsError(RESERVED_SLUGS.name, f"not a slug: {slug!r}")
    return BUILT_IN_RESERVED | extra_set
