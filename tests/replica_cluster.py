"""Several replicas of each part as OS processes on one Temporal dev server and one PostgreSQL.

    async with Cluster.start(workdir, database_url, temporal_address, replicas, profile=...) as cluster:
        cluster.kill("dns", 0); await cluster.restart("dns", 0)

The sandbox (`python -m a4c.sandbox`) stands in for Cloudflare, its nameservers and Zitadel; every
other part is `python -m a4c.<part>`, one process per replica, each with its environment from the
wiring table (`Wiring.env(part, replica=i)`: its own port; its callers dial every replica of what
they call through gRPC's round robin). Logs go to <workdir>/<part>-<i>.log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from a4c.devstack.wiring import HOST, Profile, Wiring

READY_TIMEOUT = 120.0  # ten Python processes starting at once on a busy 2-core machine
# Each part's address in the wiring, by the part's name (the worker is reached at its health port).
_ADDRESS_OF = {
    "dns": "dns",
    "identity": "identity",
    "provisioning": "provisioning",
    "worker": "worker-health",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    workdir: Path
    wiring: Wiring
    sandbox: dict[str, Any]  # its ready line
    processes: dict[tuple[str, int], subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0
    _logs: list[IO[bytes]] = field(default_factory=list)

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        workdir: Path,
        database_url: str,
        temporal_address: str,
        replicas: Mapping[str, int],
        *,
        token: str,
        task_queue: str,
        profile: Profile,
        worker_queues: Sequence[str] = (),
    ) -> AsyncIterator[Cluster]:
        """`replicas`: how many of dns, identity, provisioning and worker; `worker_queues`: what each
        worker replica serves (A4C_WORKER_QUEUES)."""
        bind = {name: f"{HOST}:0" for name in ("sandbox-cloudflare", "sandbox-zitadel", "sandbox-dns")}
        sandbox_env = {**os.environ, **Wiring(token, bind, profile=profile).env("sandbox")}
        cluster = cls(workdir, Wiring(token), {})
        try:
            cluster.sandbox = await cluster._start_sandbox(sandbox_env)
            addresses = {
                _ADDRESS_OF[part]: ",".join(f"{HOST}:{free_port()}" for _ in range(count))
                for part, count in replicas.items()
            }
            cluster.wiring = Wiring.for_sandbox_process(
                token,
                cluster.sandbox,
                sandbox_env,
                database_url=database_url,
                task_queue=task_queue,
                profile=profile,
                addresses={**addresses, "temporal": temporal_address},
                worker_queues=tuple(worker_queues),
            )
            # Callees first, so no caller starts against nothing (it would only retry meanwhile).
            for part in ("dns", "identity", "provisioning", "worker"):
                for index in range(replicas.get(part, 0)):
                    cluster._spawn(part, index)
            parts = [key for key in cluster.processes if key[0] != "sandbox"]
            await asyncio.gather(*(cluster.healthy(part, i) for part, i in parts))
            yield cluster
        finally:
            cluster._stop()

    def address(self, part: str, index: int) -> str:
        return self.wiring.replicas(_ADDRESS_OF[part])[index]

    def kill(self, part: str, index: int) -> None:
        """SIGKILL: no shutdown, no grace, in-flight calls and activities simply lost."""
        process = self.processes[(part, index)]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    async def restart(self, part: str, index: int) -> None:
        """The same replica again (same port, same settings), ready."""
        self.restarts += 1
        self._spawn(part, index)
        await self.healthy(part, index)

    async def healthy(self, part: str, index: int) -> None:
        async with grpc.aio.insecure_channel(self.address(part, index)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=READY_TIMEOUT
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, (part, index)

    def alive(self) -> dict[tuple[str, int], bool]:
        return {key: process.poll() is None for key, process in self.processes.items()}

    def _spawn(self, part: str, index: int) -> None:
        log = (self.workdir / f"{part}-{index}.log").open("ab")
        self._logs.append(log)
        env = self.wiring.env(part, os.environ, replica=index)
        self.processes[(part, index)] = subprocess.Popen(
            [sys.executable, "-m", f"a4c.{part}"], env=env, stdout=log, stderr=log
        )

    async def _start_sandbox(self, env: Mapping[str, str]) -> dict[str, Any]:
        """The sandbox prints its bound addresses as one JSON line when ready."""
        log = (self.workdir / "sandbox.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "a4c.sandbox"], env=dict(env), stdout=subprocess.PIPE, stderr=log
        )
        self.processes[("sandbox", 0)] = process
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), READY_TIMEOUT)
        if not line:
            raise RuntimeError(f"the sandbox exited early; see {self.workdir / 'sandbox.log'}")
        ready: dict[str, Any] = json.loads(line)
        return ready

    def _stop(self) -> None:
        # Workers first (they call the services), the sandbox last.
        rank = {"worker": 0, "provisioning": 1, "dns": 2, "identity": 2, "sandbox": 3}
        order = sorted(self.processes, key=lambda key: rank[key[0]])
        for key in order:
            if self.processes[key].poll() is None:
                self.processes[key].terminate()
        for key in order:
            try:
                self.processes[key].wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.processes[key].kill()
                self.processes[key].wait(timeout=10)
        for log in self._logs:
            log.close()
