"""Readiness probes: a TCP port that accepts, a gRPC health endpoint that says SERVING."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

# Temporal's frontend answers grpc.health.v1 for its workflow service once it takes calls.
TEMPORAL_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"


async def tcp_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_ok(url: str) -> bool:
    """True when a GET of `url` answers 200 (the console's /healthz)."""
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def grpc_serving(address: str, service: str = "") -> bool:
    """True when `address` answers the standard health check with SERVING (auth is not needed)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
