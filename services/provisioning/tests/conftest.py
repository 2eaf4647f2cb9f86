"""Session fixtures: one Temporal dev server (no worker: starting a workflow needs none) and one service.

Tests that need workflows to *run* use the whole system (test_system.py) instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_dev_server

from .helpers import Running, running_provisioning, service_env


@pytest_asyncio.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def service(database_url: str, temporal: WorkflowEnvironment) -> AsyncIterator[Running]:
    """The service on the session database; its task queue has no worker, so workflows only start."""
    env = service_env(database_url, f"provisioning-test-{uuid.uuid4().hex[:8]}")
    async with running_provisioning(env, temporal.client) as running:
        yield running
