"""The whole system in one process, for tests: emulators, both services, Temporal, the worker.

    async with running_system(database_url) as system:
        handle = await system.start_bootstrap(system.bootstrap_input("acme"))
        await handle.result()

Everything binds free loopback ports and shuts down cleanly (worker first, then the Temporal dev
server, so the SDK is not left half-closed at interpreter exit). `worker_process()` runs the worker
as a real `python -m a4c.worker` process instead, for crash tests that kill it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from a4c.common.main import Service
from a4c.common.server import GrpcServer, create_server
from a4c.common.tracing import Tracing
from a4c.devstack.emulators import CloudflareSandbox, RunningZitadel, run_zitadel
from a4c.devstack.temporal import start_bootstrap, start_dev_server
from a4c.devstack.wiring import TESTS, ZONE, Profile, Wiring
from a4c.eventstore import EventStore
from a4c.sandbox.cloudflare import CloudflareSettings
from a4c.worker.config import Settings as WorkerSettings
from a4c.worker.policy import WorkerPolicy
from a4c.worker.reconcile_settings import ReconcileSettings
from a4c.worker.runner import QueueWorkers, Upstreams, build_worker
from a4c.workflows.models import BootstrapInput, BootstrapResult
from a4c.workflows.telemetry import temporal_interceptors

TOKEN = "system-test-token-0123456789"
__all__ = ["ZONE", "RunningService", "System", "running_system", "start_service"]

Builder = Callable[..., Awaitable[Service]]  # build(env, *, tracing=...)


def _with_tracing(client: Client, tracing: Tracing) -> Client | None:
    """The same connection with the tracing interceptor added; None when tracing is off."""
    interceptors = temporal_interceptors(tracing.provider)
    if not interceptors:
        return None
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return Client(**config)


@dataclass
class RunningService:
    service: Service
    server: GrpcServer

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def stop(self) -> None:
        await self.server.stop(0)
        await self.service.on_stop()


async def start_service(build: Builder, env: Mapping[str, str]) -> RunningService:
    service = await build(env)
    server = create_server(service.settings, service.bindings, tracing=service.tracing)
    await server.start()
    return RunningService(service, server)


@dataclass
class System:
    cloudflare: CloudflareSandbox
    zitadel: RunningZitadel
    dns: RunningService
    identity: RunningService
    temporal: WorkflowEnvironment
    store: EventStore
    database_url: str
    task_queue: str
    upstreams: Upstreams
    wiring: Wiring
    # The dev server's client, with the tracing interceptor when the system is traced.
    traced_client: Client | None = None
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.traced_client or self.temporal.client

    def bootstrap_input(self, slug: str, *, name: str | None = None) -> BootstrapInput:
        return self.wiring.bootstrap_input(slug, name=name)

    async def start_bootstrap(self, request: BootstrapInput) -> WorkflowHandle[Any, BootstrapResult]:
        return await start_bootstrap(self.client, self.task_queue, request)

    def worker_env(self) -> dict[str, str]:
        """A worker process's environment (health on a free port), for crash tests that kill it."""
        return self.wiring.env("worker", os.environ)

    def worker_process(self) -> subprocess.Popen[bytes]:
        """A real worker process (stdout/stderr discarded); stopped at system shutdown if still alive."""
        process = subprocess.Popen(
            [sys.executable, "-m", "a4c.worker"],
            env=self.worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._processes.append(process)
        return process

    @property
    def worker_policy(self) -> WorkerPolicy:
        """The policy a worker process would enforce under this wiring (the same settings)."""
        settings = WorkerSettings.from_env(self.wiring.env("worker"))
        return settings.policy(settings.base_domain or self.wiring.zone)

    def in_process_worker(
        self,
        policy: WorkerPolicy | None = None,
        task_queue: str | None = None,
        *,
        reconcile: ReconcileSettings | None = None,
    ) -> QueueWorkers:
        """Workers on every queue of the system's (or `task_queue`); `policy` replaces the wiring's,
        `reconcile` the reconciler's default settings."""
        settings = WorkerSettings.from_env(self.wiring.env("worker"))
        return build_worker(
            self.client,
            task_queue or self.task_queue,
            self.upstreams,
            self.store,
            policy=policy or self.worker_policy,
            rates=settings.queue_rates,
            graceful_shutdown_seconds=1,
            reconcile=reconcile,
        )

    @contextlib.contextmanager
    def _reaping(self) -> Iterator[None]:
        try:
            yield
        finally:
            for process in self._processes:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=10)


@contextlib.asynccontextmanager
async def running_system(
    database_url: str,
    *,
    dns_build: Builder,
    identity_build: Builder,
    propagation_delay: float = 0.0,
    with_worker: bool = True,
    tracing: Tracing | None = None,
    profile: Profile = TESTS,
    cloudflare_settings: CloudflareSettings | None = None,
) -> AsyncIterator[System]:
    """Start everything; `with_worker=False` leaves running workers to the test. `tracing` is given to
    every in-process part (services, their upstream HTTP, the worker's channels, the Temporal client),
    so one exporter sees the whole trace. `profile` replaces the tests' (e.g. with more settings for a
    part), `cloudflare_settings` the emulator's (e.g. a zone's record quota)."""
    traced = tracing or Tracing.off()
    async with contextlib.AsyncExitStack() as stack:
        cloudflare = await stack.enter_async_context(
            CloudflareSandbox(cloudflare_settings, propagation_delay=propagation_delay)
        )
        zitadel = await stack.enter_async_context(run_zitadel())
        wiring = Wiring.for_emulators(
            TOKEN, cloudflare=cloudflare, zitadel=zitadel, database_url=database_url, profile=profile
        )
        dns = await start_service(functools.partial(dns_build, tracing=traced), wiring.env("dns"))
        stack.push_async_callback(dns.stop)
        identity = await start_service(
            functools.partial(identity_build, tracing=traced), wiring.env("identity")
        )
        stack.push_async_callback(identity.stop)
        temporal = await start_dev_server()
        stack.push_async_callback(temporal.shutdown)
        task_queue = f"a4c-test-{uuid.uuid4().hex[:8]}"
        temporal_address = temporal.client.service_client.config.target_host
        wiring = replace(wiring, task_queue=task_queue).at(
            dns=dns.address, identity=identity.address, temporal=temporal_address
        )
        store = await EventStore.connect(database_url)
        stack.push_async_callback(store.close)
        upstreams = Upstreams.open(dns.address, identity.address, wiring.worker_token, tracing=traced)
        stack.push_async_callback(upstreams.close)
        system = System(
            cloudflare,
            zitadel,
            dns,
            identity,
            temporal,
            store,
            database_url,
            task_queue,
            upstreams,
            wiring,
            traced_client=_with_tracing(temporal.client, traced),
        )
        stack.enter_context(system._reaping())
        if with_worker:
            worker = system.in_process_worker()
            await stack.enter_async_context(worker)
        yield system
