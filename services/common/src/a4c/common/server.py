"""The grpc.aio server every service runs on: health, reflection, principals and scopes, limits,
access log, TLS.

Principals are read once, at start: a changed A4C_AUTH_PRINCIPALS (or its file) takes effect on the
next restart (in Kubernetes, a rollout), like certificates.

`create_server` binds (port 0 picks a free port, which tests use) but does not start, so callers
can read `.port` first. `stop` flips health to NOT_SERVING before draining, so load balancers and
Kubernetes stop sending new calls while in-flight ones finish within the grace period.

With `A4C_HEALTH_PORT` set, the same health status is also served in plaintext on that port, alone
(`a4c.common.health`): the kubelet's gRPC probes cannot speak TLS. Certificates are read once, at
start: a renewed certificate takes effect on the next restart (in Kubernetes, a rollout).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from a4c.common.auth import Credentials, MethodScopes, check_configuration
from a4c.common.config import AUTH_PRINCIPALS, ServerSettings
from a4c.common.health import HealthListener
from a4c.common.interceptors import AccessLogInterceptor, AuthInterceptor
from a4c.common.limits import Limit
from a4c.common.metrics import Metrics
from a4c.common.rpc_metrics import ServerMetricsInterceptor
from a4c.common.tracing import Tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceBinding:
    """One servicer to register: its full service name, the generated `add_*_to_server`, the scope
    each of its methods needs (every method must have one) and the limits of some of them."""

    name: str
    add: Callable[[Any, grpc.aio.Server], None]
    servicer: object
    scopes: MethodScopes = field(default_factory=lambda: MethodScopes({}))
    limits: Mapping[str, Limit] = field(default_factory=dict)


def _methods(service: str) -> list[str]:
    return [m.name for m in descriptor_pool.Default().FindServiceByName(service).methods]


def _auth_interceptor(settings: ServerSettings, bindings: Sequence[ServiceBinding]) -> AuthInterceptor:
    """Scope and limit checks for every method; a SettingsError (naming the principals setting) when
    a method has no declared scope or a principal holds a scope no method here needs."""
    scopes = check_configuration(
        settings.principals,
        {b.name: b.scopes for b in bindings},
        {b.name: _methods(b.name) for b in bindings},
        AUTH_PRINCIPALS.name,
    )
    limits = {f"/{b.name}/{method}": limit for b in bindings for method, limit in b.limits.items()}
    credentials = Credentials(settings.principals) if settings.auth_enabled else None
    return AuthInterceptor(credentials, scopes, limits)


class GrpcServer:
    """A bound aio server with its health servicer; see module docstring for the lifecycle."""

    def __init__(
        self,
        server: grpc.aio.Server,
        health_servicer: Any,
        names: Sequence[str],
        port: int,
        health_listener: HealthListener | None = None,
    ) -> None:
        self._server = server
        self._health = health_servicer
        self._names = list(names)
        self.port = port
        self._health_listener = health_listener
        # The plaintext health-only port, when one is configured (None: health is on `port` only).
        self.health_port = health_listener.port if health_listener else None
        self._stopped = False

    async def start(self) -> None:
        await self._server.start()
        if self._health_listener:
            await self._health_listener.start()
        for name in ["", *self._names]:  # "" is the whole server's status
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "serving on port %d",
            self.port,
            extra={"services": self._names, "health_port": self.health_port},
        )

    async def drain(self) -> None:
        """Report NOT_SERVING for every service (new calls should go elsewhere); keep serving."""
        await self._health.enter_graceful_shutdown()

    async def stop(self, grace: float | None = None) -> None:
        """Drain, then stop accepting calls and give in-flight ones `grace` seconds."""
        if self._stopped:
            return
        self._stopped = True
        await self.drain()
        await self._server.stop(grace)
        # Last: the probes keep seeing NOT_SERVING (not a refused connection) while calls drain.
        if self._health_listener:
            await self._health_listener.stop()
        log.info("stopped", extra={"grace_seconds": grace})

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


def _credentials(settings: ServerSettings) -> grpc.ServerCredentials | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    pair = (Path(settings.tls_key_file).read_bytes(), Path(settings.tls_cert_file).read_bytes())
    client_ca = Path(settings.tls_client_ca_file).read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def create_server(
    settings: ServerSettings,
    bindings: Sequence[ServiceBinding],
    *,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> GrpcServer:
    """Build and bind the server; raise OSError (naming the address) when the port is taken and
    SettingsError when the principals do not fit the services' scopes.

    With ``metrics``, every call's duration is recorded (before auth: it sees calls auth rejects too);
    with ``tracing``, every call is a span, outermost, so the access-log line is inside it. The access
    log wraps the auth interceptor's handler and so logs its refusals and the principal too."""
    interceptors: list[grpc.aio.ServerInterceptor] = [
        *(tracing or Tracing.off()).server_interceptors(),
        *([ServerMetricsInterceptor(metrics)] if metrics is not None else []),
        AccessLogInterceptor(),
        _auth_interceptor(settings, bindings),
    ]
    if not settings.auth_enabled:
        log.warning("authentication is disabled (A4C_AUTH_DISABLED=true)")
    server = grpc.aio.server(
        interceptors=interceptors,
        # Beyond this, grpc answers RESOURCE_EXHAUSTED at once instead of queueing without bound.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        options=[
            ("grpc.so_reuseport", 0),  # a taken port must fail loudly, not be shared
            ("grpc.max_receive_message_length", 4 * 1024 * 1024),
            # Long-lived HTTP/2 connections through a ClusterIP Service stick to one pod; closing them
            # every few minutes (with a grace for calls in flight) lets clients spread over new replicas.
            ("grpc.max_connection_age_ms", 5 * 60 * 1000),
            ("grpc.max_connection_age_grace_ms", 30 * 1000),
        ],
    )
    for binding in bindings:
        binding.add(binding.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [b.name for b in bindings]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)

    address = f"{settings.host}:{settings.port}"
    credentials = _credentials(settings)
    try:
        port = (
            server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        )
    except RuntimeError as exc:  # grpc raises RuntimeError("Failed to bind ...")
        raise OSError(f"cannot bind gRPC port {address}: {exc}") from exc
    if port == 0:
        raise OSError(f"cannot bind gRPC port {address}: address in use or not available")
    listener = (
        HealthListener(health_servicer, settings.host, settings.health_port)
        if settings.health_port is not None
        else None
    )
    return GrpcServer(server, health_servicer, names, port, listener)
