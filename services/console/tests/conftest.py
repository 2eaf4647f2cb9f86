"""The whole system (root conftest's `system`) with a worker, the provisioning service and the console,
whose operators sign in through the sandbox Zitadel (its OIDC app and two operators seeded for it)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest_asyncio

from a4c.devstack.console_login import ConsoleLogin, seed
from a4c.devstack.system import RunningService, System, start_service
from a4c.provisioning.server import build as provisioning_build
from a4c.workflows.models import StepTimeouts

from .helpers import RunningConsole, free_port, running_console


@dataclass
class Stack:
    system: System
    provisioning: RunningService
    console: RunningConsole
    login: ConsoleLogin


@contextlib.asynccontextmanager
async def provisioning_with_worker(
    system: System, timeouts: StepTimeouts | None = None
) -> AsyncIterator[RunningService]:
    """A provisioning service and a worker on a queue of their own (other modules' tests run workers on
    the system's queue); ``timeouts``: the worker's step timeouts instead of the wiring's."""
    queue = f"console-{uuid.uuid4().hex[:8]}"
    policy = replace(system.worker_policy, timeouts=timeouts) if timeouts else None
    async with system.in_process_worker(policy, task_queue=queue):
        service = await start_service(
            provisioning_build, replace(system.wiring, task_queue=queue).env("provisioning")
        )
        try:
            yield service
        finally:
            await service.stop()


@pytest_asyncio.fixture(scope="session")
async def stack(system: System) -> AsyncIterator[Stack]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    login = await seed(
        system.zitadel.url,
        f"{url}/auth/callback",
        pat=system.zitadel.config.pat,
        post_logout_redirect_uris=[f"{url}/signed-out"],
    )
    # Attempts long enough for the cancel scenario's slow role grant (test_browser.py).
    async with provisioning_with_worker(
        system, StepTimeouts(attempt_seconds=15, total_seconds=60)
    ) as provisioning:
        wiring = system.wiring.at(provisioning=provisioning.address, console=f"127.0.0.1:{port}")
        wiring = replace(wiring, console_oidc=login.env())
        async with running_console(wiring.env("console")) as console:
            yield Stack(system, provisioning, console, login)


@pytest_asyncio.fixture(scope="session")
async def impatient(stack: Stack) -> AsyncIterator[RunningService]:
    """A second provisioning service whose worker gives each remote step 2 s in all: with Cloudflare
    refusing record creation, its subdomains fail at once (the console's provisioning retries them)."""
    async with provisioning_with_worker(stack.system, StepTimeouts(attempt_seconds=1, total_seconds=2)) as s:
        yield s
