"""The whole system (root conftest's `system`) with a worker, the provisioning service and the console."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest_asyncio

from a4c.devstack.system import RunningService, System, start_service
from a4c.provisioning.server import build as provisioning_build

from .helpers import RunningConsole, running_console

# Until the sandbox Zitadel's OIDC app is seeded for a test, the console only needs well-formed values.
PLACEHOLDER_OIDC = {
    "A4C_CONSOLE_OIDC_CLIENT_ID": "console-tests",
    "A4C_CONSOLE_OIDC_PROJECT_ID": "300000000000000001",
}


@dataclass
class Stack:
    system: System
    provisioning: RunningService
    console: RunningConsole


@pytest_asyncio.fixture(scope="session")
async def stack(system: System) -> AsyncIterator[Stack]:
    # A queue of its own: other modules' tests run their own workers on the system's queue.
    queue = f"console-{uuid.uuid4().hex[:8]}"
    worker = system.in_process_worker(task_queue=queue)
    async with worker:
        env = replace(system.wiring, task_queue=queue).env("provisioning")
        provisioning = await start_service(functools.partial(provisioning_build), env)
        try:
            wiring = system.wiring.at(provisioning=provisioning.address, console="127.0.0.1:0")
            oidc = {"A4C_CONSOLE_OIDC_ISSUER": f"http://{system.wiring.address('sandbox-zitadel')}"}
            async with running_console({**wiring.env("console"), **PLACEHOLDER_OIDC, **oidc}) as console:
                yield Stack(system, provisioning, console)
        finally:
            await provisioning.stop()
