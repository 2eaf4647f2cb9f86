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
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from a4c.common.main import Service
from a4c.common.server import GrpcServer, create_server
from a4c.eventstore import EventStore
from a4c.sandbox.testing import CloudflareSandbox
from a4c.sandbox.zitadel.testing import RunningZitadel, run_zitadel
from a4c.worker.devserver import PARTITION_ARGS, temporal_binary
from a4c.worker.runner import Upstreams, build_worker
from a4c.workflows import search
from a4c.workflows.models import (
    BOOTSTRAP_WORKFLOW,
    BootstrapInput,
    BootstrapResult,
    StepTimeouts,
    SubdomainInput,
    VerificationPolicy,
    bootstrap_workflow_id,
)

TOKEN = "system-test-token-0123456789"
ZONE = "firstovertheline.com"

# Fast but realistic spacing for tests: checks every 100 ms, give up after 20 s.
FAST_VERIFICATION = VerificationPolicy(
    first_check_seconds=0.05,
    initial_interval_seconds=0.1,
    backoff=1.5,
    max_interval_seconds=0.5,
    deadline_seconds=20,
)
FAST_TIMEOUTS = StepTimeouts(attempt_seconds=5, total_seconds=30)

Builder = Callable[[Mapping[str, str]], Awaitable[Service]]


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
    server = create_server(service.settings, service.bindings)
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
    _worker: Worker | None = None
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.temporal.client

    def bootstrap_input(
        self,
        slug: str,
        *,
        name: str | None = None,
        verification: VerificationPolicy = FAST_VERIFICATION,
        timeouts: StepTimeouts = FAST_TIMEOUTS,
    ) -> BootstrapInput:
        org = str(uuid.uuid4())
        fqdn = f"{slug}.{ZONE}"
        return BootstrapInput(
            organization_id=org,
            name=name or f"{slug.title()} Health",
            slug=slug,
            admin_email=f"admin@{slug}.example",
            admin_given_name="Ada",
            admin_family_name="Admin",
            subdomain=SubdomainInput(
                organization_id=org,
                zone=ZONE,
                fqdn=fqdn,
                target=f"app.{ZONE}",
                proxied=True,
                verification=verification,
                timeouts=timeouts,
            ),
            timeouts=timeouts,
        )

    async def start_bootstrap(self, request: BootstrapInput) -> WorkflowHandle[Any, BootstrapResult]:
        return await self.client.start_workflow(
            BOOTSTRAP_WORKFLOW,
            request,
            id=bootstrap_workflow_id(request.organization_id),
            task_queue=self.task_queue,
            result_type=BootstrapResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=search.initial(request.organization_id, request.slug, "initiated"),
        )

    def worker_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": self.task_queue,
            "A4C_DNS_SERVICE_ADDRESS": self.dns.address,
            "A4C_IDENTITY_SERVICE_ADDRESS": self.identity.address,
            "A4C_SERVICE_TOKEN": TOKEN,
            "A4C_HEALTH_PORT": "0",
            "A4C_SHUTDOWN_GRACE_SECONDS": "1",
        }

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

    def in_process_worker(self) -> Worker:
        return build_worker(
            self.client, self.task_queue, self.upstreams, self.store, graceful_shutdown_seconds=1
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
) -> AsyncIterator[System]:
    """Start everything; `with_worker=False` leaves running workers to the test."""
    async with contextlib.AsyncExitStack() as stack:
        cloudflare = await stack.enter_async_context(CloudflareSandbox(propagation_delay=propagation_delay))
        zitadel = await stack.enter_async_context(run_zitadel())
        dns = await start_service(dns_build, cloudflare.dns_service_env(ZONE, A4C_AUTH_TOKENS=TOKEN))
        stack.push_async_callback(dns.stop)
        identity = await start_service(identity_build, zitadel.identity_env(auth_token=TOKEN))
        stack.push_async_callback(identity.stop)
        temporal = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            search_attributes=list(search.KEYS),
            dev_server_extra_args=PARTITION_ARGS,
        )
        stack.push_async_callback(temporal.shutdown)
        store = await EventStore.connect(database_url)
        stack.push_async_callback(store.close)
        upstreams = Upstreams.open(dns.address, identity.address, TOKEN)
        stack.push_async_callback(upstreams.close)
        system = System(
            cloudflare,
            zitadel,
            dns,
            identity,
            temporal,
            store,
            database_url,
            f"a4c-test-{uuid.uuid4().hex[:8]}",
            upstreams,
        )
        stack.enter_context(system._reaping())
        if with_worker:
            worker = system.in_process_worker()
            await stack.enter_async_context(worker)
        yield system
