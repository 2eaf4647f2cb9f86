"""The system under test, every part its own process, so each one's memory can be read on its own.

    async with Stack.start(database_url, workdir) as stack:
        stack.provisioning_address, stack.client, stack.pids() ...

Processes: the sandbox (`python -m a4c.sandbox`: Cloudflare API, DNS, Zitadel API), the DNS, identity
and provisioning services, the worker, and the floor worker (bench.floor_worker). Temporal is the SDK's
dev server (a child of this process) and PostgreSQL the caller's. Logs go to files under `workdir`.
Each part's environment comes from the wiring table (a4c.devstack.wiring) with the BENCH profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_dev_server, temporal_binary
from a4c.devstack.wiring import BENCH, HOST, ZONE, Wiring
from a4c.sandbox.zitadel.config import ZitadelConfig
from bench import procfs

TOKEN = "bench-service-token-0123456789"
READY_TIMEOUT = 180.0  # seven processes starting at once on a loaded 2-core machine took over 60 s
__all__ = ["TOKEN", "ZONE", "Stack"]
GRPC_PARTS = ("dns", "identity", "provisioning", "worker-health")
SANDBOX = f"{HOST}:0"  # every emulator on a port of its own choosing; its ready line says which


def free_port() -> int:
    """A port free right now (the process that gets it binds it within a second)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    workdir: Path
    database_url: str
    temporal: WorkflowEnvironment
    task_queue: str
    floor_task_queue: str
    wiring: Wiring
    floor_health_port: int = field(default_factory=lambda: free_port())
    sandbox: dict[str, Any] = field(default_factory=dict)  # its ready line: addresses, fault endpoints
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.temporal.client

    @property
    def temporal_address(self) -> str:
        return str(self.client.service_client.config.target_host)

    @property
    def addresses(self) -> Mapping[str, str]:
        return self.wiring.addresses

    @property
    def zitadel(self) -> ZitadelConfig:
        return self.wiring.zitadel

    @property
    def floor_wiring(self) -> Wiring:
        """The floor worker's: the same parts, its own task queue and health port."""
        floor = replace(self.wiring, task_queue=self.floor_task_queue)
        return floor.at(worker_health=f"{HOST}:{self.floor_health_port}")

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, database_url: str, workdir: Path, *, traces_file: Path | None = None
    ) -> AsyncIterator[Stack]:
        """`traces_file`: every part appends its spans there (the traces-overhead bench); None: off."""
        temporal = await start_dev_server()
        suffix = uuid.uuid4().hex[:8]
        task_queue = f"a4c-bench-{suffix}"
        # Until the sandbox says where it listens, the wiring knows only where it should bind.
        sandbox = {name: SANDBOX for name in ("sandbox-cloudflare", "sandbox-zitadel", "sandbox-dns")}
        wiring = Wiring(
            TOKEN,
            sandbox,
            database_url=database_url,
            task_queue=task_queue,
            profile=BENCH,
            traces_file=traces_file,
        )
        stack = cls(workdir, database_url, temporal, task_queue, f"a4c-floor-{suffix}", wiring)
        try:
            await stack._start_processes()
            yield stack
        finally:
            stack._stop_processes()
            await temporal.shutdown()

    def _spawn(
        self, name: str, args: list[str], env: Mapping[str, str], *, stdout_pipe: bool = False
    ) -> subprocess.Popen[bytes]:
        """`python <args>` in `env` with stderr (and stdout unless piped) to <workdir>/<name>.log."""
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, *args],
            env=dict(env),
            stdout=subprocess.PIPE if stdout_pipe else log,
            stderr=log,
        )
        self.processes[name] = process
        return process

    async def _start_processes(self) -> None:
        sandbox_env = {**os.environ, **self.wiring.env("sandbox")}
        self.sandbox = await self._start_sandbox(sandbox_env)
        ports = {name: f"{HOST}:{free_port()}" for name in GRPC_PARTS}
        self.wiring = Wiring.for_sandbox_process(
            TOKEN,
            self.sandbox,
            sandbox_env,
            database_url=self.database_url,
            task_queue=self.task_queue,
            profile=BENCH,
            addresses={**ports, "temporal": self.temporal_address},
            traces_file=self.wiring.traces_file,
        )
        for part in ("dns", "identity", "provisioning", "worker"):
            self._spawn(part, ["-m", f"a4c.{part}"], self.wiring.env(part, os.environ))
        self._spawn("floor_worker", ["-m", "bench.floor_worker"], self.floor_wiring.env("worker", os.environ))
        await asyncio.gather(*(self._healthy(address) for address in ports.values()))

    async def _start_sandbox(self, env: Mapping[str, str]) -> dict[str, Any]:
        """The sandbox prints its bound addresses as one JSON line when ready."""
        process = self._spawn("sandbox", ["-m", "a4c.sandbox"], env, stdout_pipe=True)
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), READY_TIMEOUT)
        if not line:
            raise RuntimeError(f"the sandbox exited early; see {self.workdir / 'sandbox.log'}")
        ready: dict[str, Any] = json.loads(line)
        return ready

    async def _healthy(self, address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=READY_TIMEOUT)

    def pids(self) -> dict[str, int]:
        """Every measured process: ours, the Temporal dev server (our child) and this driver."""
        pids = {name: p.pid for name, p in self.processes.items()}
        pids["bench_driver"] = os.getpid()
        binary = os.path.basename(temporal_binary())
        for child in procfs.children(os.getpid()):
            with contextlib.suppress(OSError, IndexError):
                if os.path.basename(procfs.cmdline(child)[0]) == binary:
                    pids["temporal"] = child
        return pids

    def _stop_processes(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in self._logs:
            log.close()
