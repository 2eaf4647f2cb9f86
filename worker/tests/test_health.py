"""The worker's health endpoint follows its Temporal connection (Kubernetes readiness)."""

from __future__ import annotations

import socket

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from temporalio.client import Client

from a4c.devstack.system import System
from a4c.worker.health import NOT_SERVING, SERVING, WorkerHealth


async def status_of(health: WorkerHealth) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{health.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    return reply.status


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serving_while_temporal_answers(system: System) -> None:
    health = WorkerHealth(system.client, port=0, host="127.0.0.1", interval=60)
    await health.start()
    try:
        assert await status_of(health) == SERVING
    finally:
        await health.stop()


async def test_not_serving_when_temporal_is_unreachable() -> None:
    client = await Client.connect(f"127.0.0.1:{closed_port()}", lazy=True)
    health = WorkerHealth(client, port=0, host="127.0.0.1", interval=60)
    await health.start()
    try:
        assert await health.check_once() is False
        assert await status_of(health) == NOT_SERVING
    finally:
        await health.stop()
