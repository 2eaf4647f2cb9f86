"""Worker settings, from an explicit environment mapping (see `python -m a4c.worker --help`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from a4c.common.config import EnvReader, SettingsError
from a4c.workflows.models import TASK_QUEUE

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("DATABASE_URL", "secret: PostgreSQL URL of the event store (required)"),
    ("TEMPORAL_ADDRESS", "Temporal frontend host:port (default localhost:7233)"),
    ("TEMPORAL_NAMESPACE", "Temporal namespace (default default)"),
    ("TEMPORAL_TASK_QUEUE", f"task queue to poll (default {TASK_QUEUE})"),
    ("A4C_DNS_SERVICE_ADDRESS", "DNS service host:port (required)"),
    ("A4C_IDENTITY_SERVICE_ADDRESS", "identity service host:port (required)"),
    ("A4C_SERVICE_TOKEN", "secret: bearer token presented to the DNS and identity services"),
    ("A4C_SERVICE_TLS_CA_FILE", "CA bundle to verify the services' TLS certificates (set: TLS)"),
    ("A4C_SERVICE_TLS_CERT_FILE", "client certificate (PEM) for services that require mTLS"),
    ("A4C_SERVICE_TLS_KEY_FILE", "the client certificate's private key (PEM)"),
    ("A4C_HEALTH_HOST", "interface of the worker's gRPC health endpoint (default 0.0.0.0)"),
    ("A4C_HEALTH_PORT", "port of the worker's gRPC health endpoint (default 8081; 0 picks one)"),
    ("A4C_WORKER_MAX_CONCURRENT_ACTIVITIES", "activity slots (default 100)"),
    ("A4C_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "workflow task slots (default 100)"),
    ("A4C_SHUTDOWN_GRACE_SECONDS", "time running activities get to finish on SIGTERM (default 30)"),
    ("A4C_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR (default INFO)"),
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
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = TASK_QUEUE
    health_host: str = "0.0.0.0"
    health_port: int = 8081
    max_concurrent_activities: int = 100
    max_concurrent_workflow_tasks: int = 100
    shutdown_grace_seconds: float = 30.0
    log_level: str = "INFO"
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        database_url = reader.required_secret("DATABASE_URL")
        level = reader.log_level()
        ca = reader.str("A4C_SERVICE_TLS_CA_FILE")
        cert, key = reader.str("A4C_SERVICE_TLS_CERT_FILE"), reader.str("A4C_SERVICE_TLS_KEY_FILE")
        if (cert is None) != (key is None):
            missing = "A4C_SERVICE_TLS_KEY_FILE" if key is None else "A4C_SERVICE_TLS_CERT_FILE"
            raise SettingsError(
                missing, "a client certificate needs both A4C_SERVICE_TLS_CERT_FILE and _KEY_FILE"
            )
        if cert and not ca:
            raise SettingsError("A4C_SERVICE_TLS_CERT_FILE", "mTLS needs A4C_SERVICE_TLS_CA_FILE (TLS) too")
        return cls(
            database_url=database_url,
            dns_address=reader.required("A4C_DNS_SERVICE_ADDRESS"),
            identity_address=reader.required("A4C_IDENTITY_SERVICE_ADDRESS"),
            service_token=reader.secret("A4C_SERVICE_TOKEN"),
            service_tls_ca_file=ca,
            service_tls_cert_file=cert,
            service_tls_key_file=key,
            temporal_address=reader.str("TEMPORAL_ADDRESS", "localhost:7233") or "localhost:7233",
            temporal_namespace=reader.str("TEMPORAL_NAMESPACE", "default") or "default",
            task_queue=reader.str("TEMPORAL_TASK_QUEUE", TASK_QUEUE) or TASK_QUEUE,
            health_host=reader.str("A4C_HEALTH_HOST", "0.0.0.0") or "0.0.0.0",
            health_port=reader.int("A4C_HEALTH_PORT", 8081, min=0, max=65535),
            max_concurrent_activities=reader.int("A4C_WORKER_MAX_CONCURRENT_ACTIVITIES", 100, min=1),
            max_concurrent_workflow_tasks=reader.int("A4C_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", 100, min=2),
            shutdown_grace_seconds=reader.float("A4C_SHUTDOWN_GRACE_SECONDS", 30.0, min=0, max=3600),
            log_level=level,
            secrets=tuple(reader.secrets),
        )
