"""How provisioning and the worker reach Temporal: the SDK's own environment configuration.

`temporalio.envconfig` reads the same variables and TOML profiles as the `temporal` CLI:
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY (turns TLS on), TEMPORAL_TLS,
TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA
and TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA (mTLS), TEMPORAL_GRPC_META_*, and a profile
(TEMPORAL_PROFILE, default `default`) from TEMPORAL_CONFIG_FILE or the CLI's default file;
variables override the file. So a Temporal Cloud namespace or a TLS/mTLS cluster is configuration
only. We add our defaults (localhost:7233, namespace `default`) and check what the SDK lets pass
silently (a named file that is missing, a non-boolean TEMPORAL_TLS, unreadable certificate files,
host-verification switches the Python SDK ignores), so a bad setting stops the start with its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from a4c.workflows.codec import KeySpecError, PayloadKeys, data_converter

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
# The variables we add to the SDK's (TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE are listed by each part).
_BOOLEANS = {"1", "true", "yes", "on", "0", "false", "no", "off"}
# Which variable names each file-backed TLS source, for error messages.
_TLS_SOURCES = {
    "server_root_ca_cert": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "client_cert": "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "client_private_key": "TEMPORAL_TLS_CLIENT_KEY_PATH",
}


class TemporalSettingsError(ValueError):
    """A Temporal connection setting is wrong; `key` names the variable. Never quotes secrets."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class TemporalConnection:
    """Resolved arguments of `Client.connect`; secrets (API key, client key) are kept out of repr."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    api_key: str | None = field(default=None, repr=False)
    tls: bool | TLSConfig = field(default=False, repr=False)
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def tls_enabled(self) -> bool:
        return self.tls is not False

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values logging must redact."""
        return (self.api_key,) if self.api_key else ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TemporalConnection:
        _check_env(env)
        try:
            profile = ClientConfigProfile.load(override_env_vars=dict(env))
        except RuntimeError as error:  # the bridge's ConfigError
            key = "TEMPORAL_PROFILE" if "profile" in str(error).lower() else "TEMPORAL_CONFIG_FILE"
            # Only the first line: a TOML parse error goes on to quote the file, which may hold a key.
            raise TemporalSettingsError(key, str(error).splitlines()[0]) from None
        _check_tls(profile.tls)
        config = profile.to_client_connect_config()  # reads the TLS files
        return cls(
            address=config.get("target_host") or DEFAULT_ADDRESS,
            namespace=config.get("namespace") or DEFAULT_NAMESPACE,
            api_key=config.get("api_key"),
            tls=config.get("tls", False),
            rpc_metadata=dict(config.get("rpc_metadata") or {}),
        )

    async def connect(
        self,
        data_converter: DataConverter,
        *,
        lazy: bool = False,
        interceptors: Sequence[Interceptor] = (),
        runtime: Runtime | None = None,
    ) -> Client:
        """`interceptors` (tracing) also apply to a worker built on the client; `runtime` carries
        Core's telemetry (log forwarding; the worker's Prometheus endpoint), the SDK's default when None."""
        options: dict[str, Any] = {"namespace": self.namespace, "tls": self.tls, "lazy": lazy}
        if interceptors:
            options["interceptors"] = list(interceptors)
        if runtime is not None:
            options["runtime"] = runtime
        if self.api_key:
            options["api_key"] = self.api_key
        if self.rpc_metadata:
            options["rpc_metadata"] = dict(self.rpc_metadata)
        return await Client.connect(self.address, data_converter=data_converter, **options)


def _check_env(env: Mapping[str, str]) -> None:
    config_file = env.get("TEMPORAL_CONFIG_FILE", "").strip()
    if config_file and not Path(config_file).is_file():
        # The SDK would silently fall back to no file at all.
        raise TemporalSettingsError("TEMPORAL_CONFIG_FILE", f"no such file: {config_file}")
    tls = env.get("TEMPORAL_TLS", "").strip().lower()
    if tls and tls not in _BOOLEANS:
        raise TemporalSettingsError("TEMPORAL_TLS", f"not a boolean (true/false): {tls!r}")
    if env.get("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise TemporalSettingsError(
            "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
            "is not supported by the Python SDK; set TEMPORAL_TLS_SERVER_NAME to the certificate's name",
        )


def _check_tls(tls: ClientConfigTLS | None) -> None:
    """The profile's TLS files exist and pair up, so a mistake is a start-up error by name."""
    if tls is None:
        return
    for attribute, key in _TLS_SOURCES.items():
        source = getattr(tls, attribute)
        if isinstance(source, Path) and not source.is_file():
            raise TemporalSettingsError(key, f"no such file: {source}")
    if (tls.client_cert is None) != (tls.client_private_key is None):
        raise TemporalSettingsError(
            "TEMPORAL_TLS_CLIENT_CERT_PATH", "mTLS needs both the client certificate and its key"
        )


@dataclass(frozen=True)
class TemporalSettings:
    """Everything a client or worker needs to reach Temporal: where, how, and the payload keys.

    Keys come from A4C_PAYLOAD_KEYS (secret) or A4C_PAYLOAD_KEYS_FILE (a mounted secret), in the
    `id:base64key,...` form, the first being the current one. `require_keys` (production) makes
    them mandatory; without keys payloads stay plaintext (local use).
    """

    connection: TemporalConnection = field(default_factory=TemporalConnection)
    payload_keys: PayloadKeys | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        keys = self.payload_keys
        encoded = tuple(PayloadKeys.encode(k) for k in keys.keys.values()) if keys else ()
        return (*self.connection.secrets, *encoded)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_keys: bool) -> TemporalSettings:
        return cls(TemporalConnection.from_env(env), payload_keys(env, required=require_keys))

    async def connect(
        self,
        *,
        lazy: bool = False,
        interceptors: Sequence[Interceptor] = (),
        runtime: Runtime | None = None,
    ) -> Client:
        return await self.connection.connect(
            data_converter(self.payload_keys), lazy=lazy, interceptors=interceptors, runtime=runtime
        )


def payload_keys(
    env: Mapping[str, str],
    *,
    required: bool,
    reason: str = "workflow payloads hold personal data, so A4C_ENVIRONMENT=production needs them",
) -> PayloadKeys | None:
    """A4C_PAYLOAD_KEYS or A4C_PAYLOAD_KEYS_FILE; None when neither is set and they are not required."""
    inline = env.get("A4C_PAYLOAD_KEYS", "").strip()
    path = env.get("A4C_PAYLOAD_KEYS_FILE", "").strip()
    if inline and path:
        raise TemporalSettingsError("A4C_PAYLOAD_KEYS", "set it or A4C_PAYLOAD_KEYS_FILE, not both")
    key, spec = "A4C_PAYLOAD_KEYS", inline
    if path:
        key = "A4C_PAYLOAD_KEYS_FILE"
        try:
            spec = Path(path).read_text().strip()
        except OSError as error:
            raise TemporalSettingsError(key, f"cannot read {path}: {error.strerror}") from None
    if not spec:
        if required:
            raise TemporalSettingsError(
                "A4C_PAYLOAD_KEYS", f"is required (or A4C_PAYLOAD_KEYS_FILE): {reason}"
            )
        return None
    try:
        return PayloadKeys.parse(spec)
    except KeySpecError as error:
        raise TemporalSettingsError(key, str(error)) from None
