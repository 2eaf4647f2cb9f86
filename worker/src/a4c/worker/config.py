"""Worker settings, from an explicit environment mapping (see `python -m a4c.worker --help`).

The worker serves no gRPC API, so the kit's server settings do not apply; it shares the event store,
Temporal and log-level variables with the other parts (declared once in `a4c.common.config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from a4c.common.config import (
    DATABASE_URL,
    ENVIRONMENT,
    LOG_LEVEL,
    METRICS_PORT,
    SHUTDOWN_GRACE_SECONDS,
    TEMPORAL_ADDRESS,
    TEMPORAL_CONNECTION,
    TEMPORAL_NAMESPACE,
    SettingsError,
)
from a4c.common.env import EnvReader
from a4c.common.settings import Int, Optional, Required, Text
from a4c.workflows.connection import TemporalSettings, TemporalSettingsError
from a4c.workflows.models import TASK_QUEUE

TASK_QUEUE_SETTING = Text("TEMPORAL_TASK_QUEUE", "task queue to poll", TASK_QUEUE)
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
# Activities may run longer than a gRPC call, so the worker's grace period is longer than a service's.
WORKER_SHUTDOWN_GRACE = SHUTDOWN_GRACE_SECONDS.but(
    help="time running activities get to finish on SIGTERM", value=30.0, max=3600
)
SETTINGS = (
    DATABASE_URL,
    TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE,
    *TEMPORAL_CONNECTION,
    TASK_QUEUE_SETTING,
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
    WORKER_SHUTDOWN_GRACE,
    LOG_LEVEL,
    ENVIRONMENT.but(help="development or production (production requires A4C_PAYLOAD_KEYS)"),
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
    health_host: str = HEALTH_HOST.default
    health_port: int = HEALTH_PORT.default
    metrics_port: int | None = None
    max_concurrent_activities: int = MAX_ACTIVITIES.default
    max_concurrent_workflow_tasks: int = MAX_WORKFLOW_TASKS.default
    shutdown_grace_seconds: float = WORKER_SHUTDOWN_GRACE.default
    log_level: str = LOG_LEVEL.default
    environment: str = ENVIRONMENT.default
    secrets: tuple[str, ...] = field(default=(), repr=False)

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
            health_host=HEALTH_HOST.read(reader),
            health_port=HEALTH_PORT.read(reader),
            metrics_port=WORKER_METRICS_PORT.read(reader),
            max_concurrent_activities=MAX_ACTIVITIES.read(reader),
            max_concurrent_workflow_tasks=MAX_WORKFLOW_TASKS.read(reader),
            shutdown_grace_seconds=WORKER_SHUTDOWN_GRACE.read(reader),
            environment=environment,
            secrets=(*reader.secrets, *temporal.secrets),
        )
