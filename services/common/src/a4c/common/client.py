"""Client channels for calling our own services (worker → dns/identity, CLI → provisioning, tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from a4c.common.metrics import Metrics
from a4c.common.rpc_metrics import client_interceptors
from a4c.common.tracing import Tracing


class _WithToken:
    """Adds `authorization: Bearer <token>` to a call that does not already carry one."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if not metadata.get_all("authorization"):
            metadata.add(*self._header)
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=details.timeout,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


# grpc.aio files each interceptor object under the first call kind it implements, so one object
# implementing both would only ever see unary calls: one class per kind.
class _UnaryToken(_WithToken, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_token(details), request)


class _StreamToken(_WithToken, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._with_token(details), request)


def open_channel(
    address: str,
    *,
    token: str | None = None,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_key_file: str | None = None,
    tracing: Tracing | None = None,
    metrics: Metrics | None = None,
) -> grpc.aio.Channel:
    """An aio channel to `address` (host:port, or any gRPC target) that authenticates every call with `token`.

    `tls_ca_file` turns TLS on and is the only trust anchor (the server's name in `address` must be in
    its certificate); `tls_cert_file` + `tls_key_file` add a client certificate for servers that ask
    for one (mTLS). Files are read here, once: a renewed certificate needs a new channel. With
    ``metrics``, every call's duration is recorded (``rpc_client_call_duration_seconds``); ``tracing``
    adds a client span per call and propagates its context in the call's metadata.
    """
    if (tls_cert_file is None) != (tls_key_file is None):
        raise ValueError("a client certificate needs both tls_cert_file and tls_key_file")
    if tls_cert_file and not tls_ca_file:
        raise ValueError("a client certificate needs tls_ca_file (TLS) too")
    # Tracing first: its span covers the whole call, token and metrics inside it.
    interceptors: list[grpc.aio.ClientInterceptor] = (tracing or Tracing.off()).client_interceptors()
    if token:
        interceptors += [_UnaryToken(token), _StreamToken(token)]
    interceptors.extend(client_interceptors(metrics))
    # Round robin over whatever the target resolves to: an `ipv4:a:1,b:2` list of replicas (the tests'),
    # or a headless Service's addresses; a ClusterIP name resolves to one address, the same as pick_first.
    options = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.enable_retries", 1),
        ("grpc.lb_policy_name", "round_robin"),
    ]
    if tls_ca_file:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(tls_ca_file).read_bytes(),
            private_key=Path(tls_key_file).read_bytes() if tls_key_file else None,
            certificate_chain=Path(tls_cert_file).read_bytes() if tls_cert_file else None,
        )
        return grpc.aio.secure_channel(address, credentials, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
