"""The system under test, every part its own process, so each one's memory can be read on its own.

    async with Stack.start(database_url, workdir) as stack:
        stack.provisioning_address, stack.client, stack.pids() ...

Processes: the sandbox (`python -m a4c.sandbox`: Cloudflare API, DNS, Zitadel API), the DNS, identity
and provisioning services, the worker, and the floor worker (bench.floor_worker). Temporal is the SDK's
dev server (a child of this process) and PostgreSQL the caller's. Logs go to files under `workdir`.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from a4c.sandbox.cloudflare.app import DEFAULT_TOKEN
from a4c.sandbox.zitadel.config import ZitadelConfig
from a4c.worker.devserver import PARTITION_ARGS, temporal_binary
from a4c.workflows import search
from bench import procfs

TOKEN = "bench-service-token-0123456789"
ZONE = "firstovertheline.com"
READY_TIMEOUT = 60.0
# Fast subdomain verification, as in the whole-system tests: propagation is instant in the sandbox.
VERIFY_ENV = {
    "A4C_VERIFY_FIRST_CHECK_SECONDS": "0.05",
    "A4C_VERIFY_INITIAL_INTERVAL_SECONDS": "0.1",
    "A4C_VERIFY_MAX_INTERVAL_SECONDS": "0.5",
    "A4C_VERIFY_DEADLINE_SECONDS": "60",
}


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
    sandbox: dict[str, Any]
    addresses: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.temporal.client

    @property
    def temporal_address(self) -> str:
        return str(self.client.service_client.config.target_host)

    @property
    def zitadel(self) -> ZitadelConfig:
        return ZitadelConfig()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, database_url: str, workdir: Path) -> AsyncIterator[Stack]:
        temporal = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            search_attributes=list(search.KEYS),
            dev_server_extra_args=PARTITION_ARGS,
        )
        suffix = uuid.uuid4().hex[:8]
        stack = cls(workdir, database_url, temporal, f"a4c-bench-{suffix}", f"a4c-floor-{suffix}", {})
        try:
            await stack._start_processes()
            yield stack
        finally:
            stack._stop_processes()
            await temporal.shutdown()

    def _spawn(
        self, name: str, args: list[str], env: Mapping[str, str], *, stdout_pipe: bool = False
    ) -> subprocess.Popen[bytes]:
        """`python <args>` with stderr (and stdout unless piped) to <workdir>/<name>.log."""
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE if stdout_pipe else log,
            stderr=log,
        )
        self.processes[name] = process
        return process

    async def _start_processes(self) -> None:
        await self._start_sandbox()
        zitadel = self.zitadel
        server = {"A4C_GRPC_HOST": "127.0.0.1", "A4C_AUTH_TOKENS": TOKEN}
        ports = {name: free_port() for name in ("dns", "identity", "provisioning", "worker_health")}
        self.addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
        self._spawn(
            "dns",
            ["-m", "a4c.dns"],
            {
                **server,
                "A4C_GRPC_PORT": str(ports["dns"]),
                "CLOUDFLARE_API_TOKEN": DEFAULT_TOKEN,
                "CLOUDFLARE_BASE_URL": self.sandbox["cloudflare_api"],
                "CLOUDFLARE_ZONE_NAME": ZONE,
                # Cloudflare's own ceiling (1,200 per 5 minutes): a bench run stays under it.
                "CLOUDFLARE_MAX_REQUESTS_PER_5MIN": "1200",
                "A4C_DNS_NAMESERVERS": self.sandbox["dns"],
            },
        )
        self._spawn(
            "identity",
            ["-m", "a4c.identity"],
            {
                **server,
                "A4C_GRPC_PORT": str(ports["identity"]),
                "ZITADEL_URL": self.sandbox["zitadel_api"],
                "ZITADEL_PROJECT_ID": zitadel.project_id,
                "ZITADEL_PAT": zitadel.pat,
            },
        )
        self._spawn(
            "provisioning",
            ["-m", "a4c.provisioning"],
            {
                **server,
                **VERIFY_ENV,
                "A4C_GRPC_PORT": str(ports["provisioning"]),
                "DATABASE_URL": self.database_url,
                "TEMPORAL_ADDRESS": self.temporal_address,
                "TEMPORAL_TASK_QUEUE": self.task_queue,
                "A4C_BASE_DOMAIN": ZONE,
                "A4C_ADMIN_ROLE_KEYS": zitadel.role_keys[0],
            },
        )
        worker = self.worker_env(ports["worker_health"])
        self._spawn("worker", ["-m", "a4c.worker"], worker)
        floor = {**worker, "TEMPORAL_TASK_QUEUE": self.floor_task_queue}
        self._spawn("floor_worker", ["-m", "bench.floor_worker"], floor)
        await asyncio.gather(
            *(self._healthy(self.addresses[n]) for n in ("dns", "identity", "provisioning", "worker_health"))
        )

    def worker_env(self, health_port: int) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "A4C_DNS_SERVICE_ADDRESS": self.addresses["dns"],
            "A4C_IDENTITY_SERVICE_ADDRESS": self.addresses["identity"],
            "A4C_SERVICE_TOKEN": TOKEN,
            "A4C_HEALTH_PORT": str(health_port),
            "A4C_SHUTDOWN_GRACE_SECONDS": "1",
        }

    async def _start_sandbox(self) -> None:
        """Ports 0 everywhere; the sandbox prints its bound addresses as one JSON line when ready."""
        env = {
            "SANDBOX_CLOUDFLARE_PORT": "0",
            "SANDBOX_DNS_PORT": "0",
            "SANDBOX_ZITADEL_PORT": "0",
            # Cloudflare's 1,200 requests per 5 minutes per token would cap a run at ~550 subdomains
            # (list + create each), and the direct calls of the hop benchmark share the token: off
            # here. The DNS service still keeps its own budget, as in production.
            "SANDBOX_CLOUDFLARE_RATE_LIMIT": "off",
            # Likewise Cloudflare's 200 requests per second per IP: the hop benchmark's direct calls
            # measure latency, not throttling.
            "SANDBOX_CLOUDFLARE_IP_RATE_LIMIT": "off",
        }
        process = self._spawn("sandbox", ["-m", "a4c.sandbox"], env, stdout_pipe=True)
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), READY_TIMEOUT)
        if not line:
            raise RuntimeError(f"the sandbox exited early; see {self.workdir / 'sandbox.log'}")
        self.sandbox = json.loads(line)

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
