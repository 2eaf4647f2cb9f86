"""Settings read from an explicit environment mapping, validated at start-up.

Every problem names the variable, so an operator sees `A4C_GRPC_PORT: not an integer` and the
process exits before it binds a port. Nothing here reads `os.environ` itself: callers pass the
mapping, which keeps tests free of global state.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

# EnvReader names its methods after the types they return, which shadows the builtins inside the
# class body; these aliases keep the annotations unambiguous.
_Str = builtins.str
_Int = builtins.int
_Float = builtins.float
_Bool = builtins.bool
_N = TypeVar("_N", int, float)

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting is missing or invalid; `key` names the environment variable."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class EnvReader:
    """Typed, validating reads from an environment mapping.

    Values read with `secret()` are collected in `secrets` so logging can redact them.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.secrets: builtins.list[_Str] = []

    def _raw(self, key: _Str) -> _Str | None:
        value = self._env.get(key)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def str(self, key: _Str, default: _Str | None = None) -> _Str | None:
        value = self._raw(key)
        return default if value is None else value

    def required(self, key: _Str) -> _Str:
        value = self._raw(key)
        if value is None:
            raise SettingsError(key, "is required but not set")
        return value

    def secret(self, key: _Str, default: _Str | None = None) -> _Str | None:
        value = self.str(key, default)
        if value:
            self.secrets.append(value)
        return value

    def required_secret(self, key: _Str) -> _Str:
        """A required value that must never be logged (tokens, database URLs with passwords)."""
        value = self.required(key)
        self.secrets.append(value)
        return value

    def log_level(self, key: _Str = "A4C_LOG_LEVEL") -> _Str:
        level = (self.str(key, "INFO") or "INFO").upper()
        if level not in LOG_LEVELS:
            raise SettingsError(key, f"unknown level {level!r}")
        return level

    def int(self, key: _Str, default: _Int, min: _Int | None = None, max: _Int | None = None) -> _Int:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = builtins.int(raw)
        except ValueError:
            raise SettingsError(key, f"not an integer: {raw!r}") from None
        return self._bounded(key, value, min, max)

    def float(
        self, key: _Str, default: _Float, min: _Float | None = None, max: _Float | None = None
    ) -> _Float:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = builtins.float(raw)
        except ValueError:
            raise SettingsError(key, f"not a number: {raw!r}") from None
        return self._bounded(key, value, min, max)

    def bool(self, key: _Str, default: _Bool) -> _Bool:
        raw = self._raw(key)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise SettingsError(key, f"not a boolean (true/false): {raw!r}")

    def list(self, key: _Str, default: tuple[_Str, ...] = ()) -> tuple[_Str, ...]:
        raw = self._raw(key)
        if raw is None:
            return default
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def choice(self, key: _Str, default: _Str, choices: tuple[_Str, ...]) -> _Str:
        value = self.str(key, default) or default
        if value not in choices:
            raise SettingsError(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    @staticmethod
    def _bounded(key: _Str, value: _N, low: _N | None, high: _N | None) -> _N:
        if low is not None and value < low:
            raise SettingsError(key, f"must be at least {low}, not {value}")
        if high is not None and value > high:
            raise SettingsError(key, f"must be at most {high}, not {value}")
        return value


@dataclass(frozen=True)
class ServerSettings:
    """What every gRPC service needs to serve: address, auth, TLS, logging, shutdown."""

    host: str = "0.0.0.0"
    port: int = 50051
    health_port: int | None = None
    auth_tokens: tuple[str, ...] = ()
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    log_level: str = "INFO"
    shutdown_grace_seconds: float = 10.0
    environment: str = "development"

    def __repr__(self) -> str:
        # Never print the tokens, even in a debugger or a crash dump.
        return (
            f"ServerSettings(host={self.host!r}, port={self.port}, health_port={self.health_port}, "
            f"auth_tokens=<{len(self.auth_tokens)}>, "
            f"tls={self.tls_enabled}, environment={self.environment!r})"
        )

    @property
    def auth_enabled(self) -> bool:
        return bool(self.auth_tokens)

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    @classmethod
    def from_env(cls, reader: EnvReader) -> ServerSettings:
        auth_disabled = reader.bool("A4C_AUTH_DISABLED", False)
        raw_tokens = reader.secret("A4C_AUTH_TOKENS")
        tokens = tuple(t.strip() for t in (raw_tokens or "").split(",") if t.strip())
        reader.secrets.extend(tokens)
        if not tokens and not auth_disabled:
            raise SettingsError(
                "A4C_AUTH_TOKENS", "is required (A4C_AUTH_DISABLED=true turns auth off locally)"
            )
        if any(len(t) < 16 for t in tokens):
            raise SettingsError("A4C_AUTH_TOKENS", "every token must be at least 16 characters")
        cert, key = reader.str("A4C_TLS_CERT_FILE"), reader.str("A4C_TLS_KEY_FILE")
        if (cert is None) != (key is None):
            missing = "A4C_TLS_KEY_FILE" if key is None else "A4C_TLS_CERT_FILE"
            raise SettingsError(missing, "TLS needs both A4C_TLS_CERT_FILE and A4C_TLS_KEY_FILE")
        client_ca = reader.str("A4C_TLS_CLIENT_CA_FILE")
        if client_ca and not cert:
            raise SettingsError("A4C_TLS_CLIENT_CA_FILE", "mTLS needs A4C_TLS_CERT_FILE and A4C_TLS_KEY_FILE")
        level = reader.log_level()
        port = reader.int("A4C_GRPC_PORT", 50051, min=0, max=65535)
        health_port = (
            reader.int("A4C_HEALTH_PORT", 0, min=0, max=65535) if reader.str("A4C_HEALTH_PORT") else None
        )
        if health_port and health_port == port:
            raise SettingsError("A4C_HEALTH_PORT", f"must differ from A4C_GRPC_PORT ({port})")
        return cls(
            host=reader.str("A4C_GRPC_HOST", "0.0.0.0") or "0.0.0.0",
            port=port,
            health_port=health_port,
            auth_tokens=() if auth_disabled else tokens,
            tls_cert_file=cert,
            tls_key_file=key,
            tls_client_ca_file=client_ca,
            log_level=level,
            shutdown_grace_seconds=reader.float("A4C_SHUTDOWN_GRACE_SECONDS", 10.0, min=0, max=600),
            environment=reader.choice("A4C_ENVIRONMENT", "development", ENVIRONMENTS),
        )


# Environment variables every service reads through ServerSettings, for `--help` and the docs.
SERVER_ENV_HELP: tuple[tuple[str, str], ...] = (
    ("A4C_GRPC_HOST", "interface to bind (default 0.0.0.0)"),
    ("A4C_GRPC_PORT", "port to bind (default 50051; 0 picks a free port)"),
    (
        "A4C_HEALTH_PORT",
        "plaintext port serving only grpc.health.v1, for probes when the main port is TLS "
        "(default none: health on A4C_GRPC_PORT only; 0 picks a free port)",
    ),
    ("A4C_AUTH_TOKENS", "secret: comma-separated bearer tokens callers may present (required)"),
    ("A4C_AUTH_DISABLED", "true turns authentication off (local use only; default false)"),
    ("A4C_TLS_CERT_FILE", "server certificate (PEM); enables TLS with A4C_TLS_KEY_FILE"),
    ("A4C_TLS_KEY_FILE", "server private key (PEM)"),
    ("A4C_TLS_CLIENT_CA_FILE", "CA bundle; when set, clients must present a certificate (mTLS)"),
    ("A4C_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR (default INFO)"),
    ("A4C_SHUTDOWN_GRACE_SECONDS", "how long in-flight calls may finish after SIGTERM (default 10)"),
    ("A4C_ENVIRONMENT", "development or production (default development)"),
)
