"""Prod runs images pinned by digest (the a4c parts and Temporal's admin-tools for the setup Job), and
`make images PUSH=1` writes the digests the registry returned into the prod overlay (k8s/pin_images.py).

No Docker engine runs here: a stand-in `docker` on PATH answers `buildx build` the way buildx does, by
writing the pushed image's digest to the --metadata-file, and records the arguments it was given.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from k8slib import IMAGES, K8S, REPO, containers, of_kind, pod_templates

PINNED = re.compile(r"^[a-z0-9.\-/]+:[\w.\-]+@sha256:[0-9a-f]{64}$")
PIN_IMAGES = K8S / "pin_images.py"

FAKE_DOCKER = r"""#!/bin/sh
# Stand-in for `docker buildx build`: log the arguments, write a digest where --metadata-file says.
echo "$@" >> "$DOCKER_LOG"
while [ $# -gt 0 ]; do
  case "$1" in
    --metadata-file) meta="$2"; shift ;;
    --target) target="$2"; shift ;;
  esac
  shift
done
digest=$(printf '%s' "$target" | sha256sum | cut -d' ' -f1)
printf '{"containerimage.digest": "sha256:%s"}' "$digest" > "$meta"
"""


def images(docs) -> set[str]:
    return {c["image"] for _, t in pod_templates(docs) for c in containers(t["spec"])}


def test_prod_runs_every_image_pinned_by_digest_dev_by_tag(rendered):
    assert all(PINNED.match(image) for image in images(rendered["prod"])), images(rendered["prod"])
    assert not any("@" in image for image in images(rendered["dev"]))


def test_the_temporal_setup_job_runs_admin_tools_pinned_by_digest(kustomize_build):
    docs = kustomize_build(K8S / "temporal")
    (job,) = of_kind(docs, "Job")
    (image,) = {c["image"] for c in containers(job["spec"]["template"]["spec"])}
    assert PINNED.match(image), image
    (raw,) = [d for d in yaml.safe_load_all((K8S / "temporal" / "setup-job.yaml").read_text()) if d]
    assert image.startswith(raw["spec"]["template"]["spec"]["containers"][0]["image"] + "@")
    assert {d["kind"] for d in docs} == {"Namespace", "NetworkPolicy", "Job"}


def run_pin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PIN_IMAGES), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_pin_images_refuses_a_malformed_digest_or_an_unknown_image(tmp_path):
    kustomization = tmp_path / "kustomization.yaml"
    shutil.copy(K8S / "overlays" / "prod" / "kustomization.yaml", kustomization)
    before = kustomization.read_text()
    assert run_pin(str(kustomization), "a4c-dns=r/dns:1@sha256:abc").returncode == 2
    assert run_pin(str(kustomization), "a4c-dns=r/dns:1").returncode == 2
    assert run_pin(str(kustomization), f"a4c-nope=r/x:1@sha256:{'a' * 64}").returncode == 2
    assert kustomization.read_text() == before


@pytest.fixture
def repo_copy(tmp_path) -> Path:
    """The Makefile and k8s/ in a git repository of their own, with this checkout's .venv."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO / "Makefile", copy)
    shutil.copytree(K8S, copy / "k8s")
    (copy / ".venv").symlink_to(REPO / ".venv")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "Makefile", "k8s"], ["commit", "-qm", "copy"]):
        subprocess.run([*git, *args], cwd=copy, check=True, capture_output=True)
    return copy


def test_make_images_labels_each_image_and_pins_the_pushed_digests_in_prod(
    repo_copy, tmp_path, kustomize_build
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    env = os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_LOG": str(log)}
    made = subprocess.run(
        [
            "make",
            "images",
            "REGISTRY=ghcr.io/acme/a4c",
            "TAG=1.2.3",
            "SOURCE=https://example.com/a4c.git",
            "PUSH=1",
        ],
        cwd=repo_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo_copy, capture_output=True, text=True, check=True
    ).stdout.strip()
    builds = log.read_text().splitlines()
    assert len(builds) == len(IMAGES)
    for line in builds:
        for arg in ("VERSION=1.2.3", f"REVISION={revision}", "SOURCE=https://example.com/a4c.git"):
            assert f"--build-arg {arg}" in line, line
        assert "--push" in line
    pinned = images(kustomize_build(repo_copy / "k8s" / "overlays" / "prod"))
    for part in IMAGES:
        digest = subprocess.run(
            ["sha256sum"], input=part, capture_output=True, text=True, check=True
        ).stdout.split()[0]
        assert f"ghcr.io/acme/a4c/{part}:1.2.3@sha256:{digest}" in pinned
    assert len(pinned) == len(IMAGES)  # nothing else, nothing left on a placeholder
