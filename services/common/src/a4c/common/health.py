"""A plaintext listener that serves `grpc.health.v1` and nothing else, for the kubelet's gRPC probes.

The kubelet cannot speak TLS, so a server on TLS (or mTLS) answers its probes on this second port. It
shares the main server's health servicer, so both ports always report the same status, and it carries
no reflection, no interceptors and no business service: a caller on it can learn SERVING or NOT_SERVING
and nothing more. The worker, which serves no API at all, uses the same listener.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2_grpc


class HealthListener:
    """Binds `host:port` (0 picks a free port; `.port` is the bound one) at construction; start/stop."""

    def __init__(self, servicer: health.aio.HealthServicer, host: str, port: int) -> None:
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(servicer, self._server)
        address = f"{host}:{port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as exc:  # grpc raises RuntimeError("Failed to bind ...")
            raise OSError(f"cannot bind health port {address}: {exc}") from exc
        if self.port == 0:
            raise OSError(f"cannot bind health port {address}: address in use or not available")

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop(0)
