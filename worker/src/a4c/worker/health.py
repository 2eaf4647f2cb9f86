"""The worker's gRPC health endpoint: SERVING only while Temporal answers.

Kubernetes probes it natively (grpc.health.v1 on A4C_HEALTH_PORT, plaintext, health only: the kit's
`HealthListener`, the same one the services use for their probe port). A background task checks the
Temporal connection every few seconds and flips the status, so a worker cut off from Temporal is
taken out of readiness instead of silently polling nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from grpc_health.v1 import health, health_pb2
from temporalio.client import Client

from a4c.common.health import HealthListener

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class WorkerHealth:
    def __init__(self, client: Client, port: int, host: str = "0.0.0.0", interval: float = 5.0) -> None:
        self._client = client
        self._interval = interval
        self._servicer = health.aio.HealthServicer()
        self._listener = HealthListener(self._servicer, host, port)
        self.port = self._listener.port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._listener.start()
        await self.check_once()
        self._task = asyncio.create_task(self._watch())

    async def check_once(self) -> bool:
        try:
            ok = await self._client.service_client.check_health(timeout=timedelta(seconds=2))
        except Exception as error:
            log.warning("temporal unreachable: %s", error)
            ok = False
        await self._servicer.set("", SERVING if ok else NOT_SERVING)
        return bool(ok)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check_once()

    async def stop(self) -> None:
        await self._servicer.enter_graceful_shutdown()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._listener.stop()
