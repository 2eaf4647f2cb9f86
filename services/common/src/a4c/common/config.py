"""The kit's settings: what every gRPC service reads (`SERVER_SETTINGS`) and what parts share.

Each variable is declared once here (see `a4c.common.settings`); `ServerSettings.from_env` reads them and
adds the rules that span variables (TLS needs a certificate and a key; principals unless auth is off).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from a4c.common.auth import Credential, parse_principals, with_delegates
from a4c.common.env import EnvReader, SettingsError
from a4c.common.settings import (
    LOG_LEVELS,
    Bool,
    Choice,
    Float,
    Int,
    List,
    Optional,
    OptionalInt,
    Required,
    Text,
)

__all__ = ["EnvReader", "ServerSettings", "SettingsError"]

ENVIRONMENTS = ("development", "production")

# Shared by several parts (each lists them in its own spec).
LOG_LEVEL = Choice("A4C_LOG_LEVEL", "log level: " + ", ".join(LOG_LEVELS), "INFO", LOG_LEVELS, upper=True)
DATABASE_URL = Required("DATABASE_URL", "PostgreSQL URL of the event store", secret=True)
TEMPORAL_ADDRESS = Text("TEMPORAL_ADDRESS", "Temporal frontend host:port", "localhost:7233")
TEMPORAL_NAMESPACE = Text("TEMPORAL_NAMESPACE", "Temporal namespace", "default")
# The Temporal SDK's own environment configuration (temporalio.envconfig) reads these, in
# a4c.workflows.connection; they are declared here so --help and the README list them once.
_SDK = "none (read by temporalio.envconfig)"
TEMPORAL_CONNECTION = (
    Optional("TEMPORAL_API_KEY", "API key (Temporal Cloud); turns TLS on", secret=True, shown_default=_SDK),
    Optional(
        "TEMPORAL_TLS",
        "true/false: TLS to the frontend (on with an API key or any TEMPORAL_TLS_* file)",
        shown_default="off",
    ),
    Optional(
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "CA that signed the frontend's certificate",
        shown_default="the system roots",
    ),
    Optional(
        "TEMPORAL_TLS_SERVER_NAME",
        "name the frontend's certificate must carry",
        shown_default="the address's host",
    ),
    Optional(
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "client certificate for mTLS, with TEMPORAL_TLS_CLIENT_KEY_PATH",
        shown_default=_SDK,
    ),
    Optional("TEMPORAL_TLS_CLIENT_KEY_PATH", "client private key for mTLS", shown_default=_SDK),
    Optional("TEMPORAL_CONFIG_FILE", "TOML file of client profiles", shown_default="the temporal CLI's"),
    Optional("TEMPORAL_PROFILE", "profile of that file; variables override it", shown_default="default"),
    Optional(
        "A4C_PAYLOAD_KEYS",
        "payload encryption keys id:base64key,... (first seals, all open)",
        secret=True,
        shown_default="none: payloads in clear; required when A4C_ENVIRONMENT=production",
    ),
    Optional("A4C_PAYLOAD_KEYS_FILE", "file holding that key list (a mounted secret) instead"),
)

GRPC_HOST = Text("A4C_GRPC_HOST", "interface to bind", "0.0.0.0")
GRPC_PORT = Int("A4C_GRPC_PORT", "port to bind (0 picks a free port)", 50051, min=0, max=65535)
HEALTH_PORT = OptionalInt(
    "A4C_HEALTH_PORT",
    "plaintext port serving only grpc.health.v1 with the main port's status, for probes when the main "
    "port is TLS (0 picks a free port; the k8s manifests use 8081)",
    min=0,
    max=65535,
    shown_default="none: health on the main port only",
)
METRICS_PORT = OptionalInt(
    "A4C_METRICS_PORT",
    "port of the plain-HTTP Prometheus endpoint GET /metrics, alone (0 picks a free port; the k8s "
    "manifests use 9090)",
    min=0,
    max=65535,
    shown_default="none: no metrics recorded or served",
)
AUTH_PRINCIPALS = Optional(
    "A4C_AUTH_PRINCIPALS",
    "callers as name:scope+scope:token entries, comma-separated; the token (at least 16 characters) "
    "or sha256=<hex> of it; each service's scopes are in the README's trust model",
    secret=True,
    shown_default="required (or A4C_AUTH_PRINCIPALS_FILE) unless A4C_AUTH_DISABLED",
)
AUTH_PRINCIPALS_FILE = Optional(
    "A4C_AUTH_PRINCIPALS_FILE",
    "file holding that list (a mounted secret; one entry a line, # comments); read at start, "
    "so a change takes effect on restart",
)
# Replaced by A4C_AUTH_PRINCIPALS (one token for every method was issue 14); still read so a
# deployment that sets it fails with the way to migrate instead of starting without its callers.
LEGACY_AUTH_TOKENS = "A4C_AUTH_TOKENS"
AUTH_DELEGATES = List(
    "A4C_AUTH_DELEGATES",
    "principals (of A4C_AUTH_PRINCIPALS) trusted to name the person they act for in the a4c-on-behalf-of "
    "call metadata, recorded as the events' actor (the console)",
)
AUTH_DISABLED = Bool("A4C_AUTH_DISABLED", "true turns authentication off (local use only)", False)
TLS_CERT_FILE = Optional(
    "A4C_TLS_CERT_FILE",
    "server certificate (PEM); enables TLS with A4C_TLS_KEY_FILE",
    shown_default="none: plaintext",
)
TLS_KEY_FILE = Optional("A4C_TLS_KEY_FILE", "server private key (PEM)")
TLS_CLIENT_CA_FILE = Optional(
    "A4C_TLS_CLIENT_CA_FILE", "CA bundle; when set, clients must present a certificate (mTLS)"
)
MAX_CONCURRENT_RPCS = Int(
    "A4C_GRPC_MAX_CONCURRENT_RPCS",
    "calls in flight (streams included) beyond which the server answers RESOURCE_EXHAUSTED",
    500,
    min=1,
    max=100_000,
)
PAGE_TOKEN_KEY = Optional(
    "A4C_PAGE_TOKEN_KEY",
    "HMAC key signing page tokens, at least 32 characters; replicas must share it",
    secret=True,
    shown_default="a random key per process (tokens then only work on the replica that issued them)",
)
SHUTDOWN_GRACE_SECONDS = Float(
    "A4C_SHUTDOWN_GRACE_SECONDS", "how long in-flight calls may finish after SIGTERM", 10.0, min=0, max=600
)
ENVIRONMENT = Choice("A4C_ENVIRONMENT", "development or production", "development", ENVIRONMENTS)

# Traces (a4c.common.tracing): off unless A4C_TRACES says where spans go. Every part lists these.
TRACES = Choice(
    "A4C_TRACES",
    "where OpenTelemetry spans go: off, otlp (a collector, OTEL_EXPORTER_OTLP_*), file (A4C_TRACES_FILE)",
    "off",
    ("off", "otlp", "file"),
)
TRACES_FILE = Optional(
    "A4C_TRACES_FILE",
    "JSON-lines file spans are appended to with A4C_TRACES=file",
    shown_default="none (required with A4C_TRACES=file)",
)
TRACES_SERVICE_NAME = Optional(
    "OTEL_SERVICE_NAME", "service.name of this part's spans", shown_default="the part's name (a4c-dns, ...)"
)
OTLP_ENDPOINT = Optional(
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTLP/gRPC collector URL with A4C_TRACES=otlp; the exporter also reads the other standard "
    "OTEL_EXPORTER_OTLP_* variables (headers, certificate, timeout) from the process environment",
    shown_default="http://localhost:4317",
)
TRACING_SETTINGS = (TRACES, TRACES_FILE, TRACES_SERVICE_NAME, OTLP_ENDPOINT)

SERVER_SETTINGS = (
    GRPC_HOST,
    GRPC_PORT,
    HEALTH_PORT,
    METRICS_PORT,
    AUTH_PRINCIPALS,
    AUTH_PRINCIPALS_FILE,
    AUTH_DELEGATES,
    AUTH_DISABLED,
    MAX_CONCURRENT_RPCS,
    PAGE_TOKEN_KEY,
    TLS_CERT_FILE,
    TLS_KEY_FILE,
    TLS_CLIENT_CA_FILE,
    LOG_LEVEL,
    SHUTDOWN_GRACE_SECONDS,
    ENVIRONMENT,
    *TRACING_SETTINGS,
)


@dataclass(frozen=True)
class ServerSettings:
    """What every gRPC service needs to serve: address, auth, TLS, logging, shutdown."""

    host: str = GRPC_HOST.default
    port: int = GRPC_PORT.default
    health_port: int | None = HEALTH_PORT.default
    metrics_port: int | None = METRICS_PORT.default
    # Empty: authentication is off (A4C_AUTH_DISABLED); from_env refuses that unless asked.
    principals: tuple[Credential, ...] = ()
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    log_level: str = LOG_LEVEL.default
    shutdown_grace_seconds: float = SHUTDOWN_GRACE_SECONDS.default
    environment: str = ENVIRONMENT.default
    max_concurrent_rpcs: int = MAX_CONCURRENT_RPCS.default
    page_token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __repr__(self) -> str:
        # Never print the tokens, even in a debugger or a crash dump.
        return (
            f"ServerSettings(host={self.host!r}, port={self.port}, health_port={self.health_port}, "
            f"metrics_port={self.metrics_port}, "
            f"principals={[c.principal.name for c in self.principals]}, "
            f"tls={self.tls_enabled}, environment={self.environment!r})"
        )

    @property
    def auth_enabled(self) -> bool:
        return bool(self.principals)

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    @classmethod
    def from_env(cls, reader: EnvReader) -> ServerSettings:
        auth_disabled = AUTH_DISABLED.read(reader)
        principals = () if auth_disabled else _principals(reader)
        cert, key = TLS_CERT_FILE.read(reader), TLS_KEY_FILE.read(reader)
        if (cert is None) != (key is None):
            missing = TLS_KEY_FILE.name if key is None else TLS_CERT_FILE.name
            raise SettingsError(missing, "TLS needs both A4C_TLS_CERT_FILE and A4C_TLS_KEY_FILE")
        client_ca = TLS_CLIENT_CA_FILE.read(reader)
        if client_ca and not cert:
            raise SettingsError(TLS_CLIENT_CA_FILE.name, "mTLS needs A4C_TLS_CERT_FILE and A4C_TLS_KEY_FILE")
        level = LOG_LEVEL.read(reader)
        port = GRPC_PORT.read(reader)
        health_port = HEALTH_PORT.read(reader)
        if health_port and health_port == port:
            raise SettingsError(HEALTH_PORT.name, f"must differ from A4C_GRPC_PORT ({port})")
        metrics_port = METRICS_PORT.read(reader)
        if metrics_port and metrics_port in (port, health_port):
            raise SettingsError(METRICS_PORT.name, "must differ from A4C_GRPC_PORT and A4C_HEALTH_PORT")
        return cls(
            host=GRPC_HOST.read(reader),
            port=port,
            health_port=health_port,
            metrics_port=metrics_port,
            principals=principals,
            tls_cert_file=cert,
            tls_key_file=key,
            tls_client_ca_file=client_ca,
            log_level=level,
            shutdown_grace_seconds=SHUTDOWN_GRACE_SECONDS.read(reader),
            environment=ENVIRONMENT.read(reader),
            max_concurrent_rpcs=MAX_CONCURRENT_RPCS.read(reader),
            page_token_key=_page_token_key(reader),
        )


def _principals(reader: EnvReader) -> tuple[Credential, ...]:
    if reader.str(LEGACY_AUTH_TOKENS) is not None:
        raise SettingsError(
            LEGACY_AUTH_TOKENS,
            "is replaced by A4C_AUTH_PRINCIPALS: give each caller a name and scopes, "
            "name:scope+scope:token (see the README's trust model)",
        )
    inline, path = AUTH_PRINCIPALS.read(reader), AUTH_PRINCIPALS_FILE.read(reader)
    if inline and path:
        raise SettingsError(AUTH_PRINCIPALS_FILE.name, "set A4C_AUTH_PRINCIPALS or this file, not both")
    if path:
        try:
            text, name = Path(path).read_text(), AUTH_PRINCIPALS_FILE.name
        except OSError as exc:
            raise SettingsError(AUTH_PRINCIPALS_FILE.name, f"cannot read {path}: {exc.strerror}") from None
    else:
        text, name = inline or "", AUTH_PRINCIPALS.name
    credentials, tokens = parse_principals(text, name)
    reader.secrets.extend(tokens)
    credentials = with_delegates(credentials, AUTH_DELEGATES.read(reader), AUTH_DELEGATES.name)
    if not credentials:
        raise SettingsError(
            AUTH_PRINCIPALS.name,
            "is required (or A4C_AUTH_PRINCIPALS_FILE; A4C_AUTH_DISABLED=true turns auth off locally)",
        )
    return credentials


def _page_token_key(reader: EnvReader) -> bytes:
    key = PAGE_TOKEN_KEY.read(reader)
    if key is None:
        return secrets.token_bytes(32)
    if len(key) < 32:
        raise SettingsError(PAGE_TOKEN_KEY.name, "must be at least 32 characters")
    return key.encode()
