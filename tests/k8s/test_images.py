"""Each part's image holds only its own dependencies, and the part starts with only those.

No Docker engine runs here, so the test does what the Dockerfile's build stage does: it lays out the files
that stage copies (honouring .dockerignore) in an empty folder, runs the same `uv sync --frozen --no-dev
--package a4c-<part>` into a fresh environment, and runs `python -m a4c.<part> --help` there. An import of a
workspace member the part does not declare fails with ModuleNotFoundError, as it would in the image.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from k8slib import ENVIRONMENTS, IMAGES, REPO, one

DOCKERFILE = REPO / "Dockerfile"
UV_SYNC = "uv sync --frozen --no-dev --package a4c-{part}"
# The migration Job runs this in the provisioning image (k8s/base/migrate.yaml).
EXTRA_ENTRY_POINTS = {"provisioning": [["a4c.eventstore", "migrate", "--help"]]}


def workspace_members() -> dict[str, str]:
    """Workspace member name -> folder, from uv.lock."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {p["name"]: p["source"]["editable"] for p in lock["package"] if "editable" in p.get("source", {})}


def member_closure(name: str) -> set[str]:
    """The workspace members `uv sync --package name` installs: name and its member dependencies."""
    lock = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    members = workspace_members()
    closure, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in closure:
            continue
        closure.add(current)
        todo += [d["name"] for d in lock[current].get("dependencies", []) if d["name"] in members]
    return closure


def dockerfile_stages() -> dict[str, dict]:
    """Stage name -> {"base": FROM argument, "steps": [(INSTRUCTION, arguments)]}, continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            base, _, name = args.partition(" AS ")
            current = {"base": base.strip(), "steps": []}
            stages[name.strip() or base.strip()] = current
        elif current is not None:
            current["steps"].append((instruction.upper(), " ".join(args.split())))
    return stages


def build_stage_of(target: str) -> str:
    (source,) = [
        a for i, a in dockerfile_stages()[target]["steps"] if i == "COPY" and a.startswith("--from=")
    ]
    return source.split()[0].removeprefix("--from=")


def lineage(stage: str) -> list[str]:
    stages = dockerfile_stages()
    chain = [stage]
    while stages[chain[-1]]["base"] in stages:
        chain.append(stages[chain[-1]]["base"])
    return chain


def copies(stage: str) -> list[tuple[str, str]]:
    """(source, destination) of the context COPYs in a stage and the stages it builds on."""
    found = []
    for name in lineage(stage):
        for instruction, args in dockerfile_stages()[name]["steps"]:
            if instruction == "COPY" and not args.startswith("--from="):
                *sources, destination = args.split()
                found += [(s, destination) for s in sources]
    return found


def dockerignore_excludes(relative: str) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        regex = re.escape(pattern.lstrip("!")).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, c) for c in candidates):
            excluded = not negate
    return excluded


def lay_out_build_context(part: str, app: Path) -> None:
    """The files the part's build stage has in /app (its WORKDIR) before its `uv sync`."""
    for source, destination in copies(build_stage_of(part)):
        origin = REPO / source
        into_folder = destination.endswith("/") or destination == "."
        files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        for file in files:
            if dockerignore_excludes(file.relative_to(REPO).as_posix()):
                continue
            if origin.is_dir():
                placed = app / destination / file.relative_to(origin)
            else:
                placed = app / destination / file.name if into_folder else app / destination
            placed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, placed)


def uv_command() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    base = getattr(sys, "_base_executable", sys.executable)
    if subprocess.run([base, "-m", "uv", "--version"], capture_output=True, check=False).returncode == 0:
        return [base, "-m", "uv"]
    pytest.fail("uv not found: `make setup` installs it")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "UV_", "CONDA"))}
    return env | {"UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"} | extra


@pytest.mark.parametrize("part", IMAGES)
def test_each_image_copies_exactly_its_members_dependency_closure(part):
    members = workspace_members()
    closure = member_closure(f"a4c-{part}")
    copied = {source for source, _ in copies(build_stage_of(part))}
    expected_sources = {members[m] for m in closure}
    pyprojects = {f"{folder}/pyproject.toml" for folder in members.values()}
    folders = copied - pyprojects - {"pyproject.toml", "uv.lock"}
    # A member nested in another's folder (worker/contract in worker) comes with its parent's copy.
    nested = {s for s in expected_sources if any(s.startswith(f"{other}/") for other in expected_sources)}
    assert folders == expected_sources - nested
    assert pyprojects <= copied, "uv needs every member's pyproject.toml to read the workspace"
    runs = " ".join(
        a for n in lineage(build_stage_of(part)) for i, a in dockerfile_stages()[n]["steps"] if i == "RUN"
    )
    assert UV_SYNC.format(part=part) in runs


# Everything under sandbox/ is local tooling: the emulators and the dev stack / test harness.
LOCAL_TOOLING = {"a4c-sandbox", "a4c-devstack"}


@pytest.mark.parametrize("part", IMAGES)
def test_no_part_ships_local_tooling_or_another_part(part):
    closure = member_closure(f"a4c-{part}")
    assert not closure & LOCAL_TOOLING
    assert not closure & {f"a4c-{other}" for other in IMAGES if other != part}


def test_the_emulators_are_a_leaf_that_depends_on_no_other_member():
    assert member_closure("a4c-sandbox") == {"a4c-sandbox"}


@pytest.mark.parametrize("part", IMAGES)
def test_each_image_runs_its_part_as_the_non_root_user_the_pods_expect(part, rendered):
    stages = dockerfile_stages()
    entrypoint = [a for i, a in stages[part]["steps"] if i == "ENTRYPOINT"]
    assert entrypoint == [f'["python", "-m", "a4c.{part}"]']
    users = [a for n in lineage(part) for i, a in stages[n]["steps"] if i == "USER"]
    assert users, "the image runs as root"
    uid, gid = (int(x) for x in users[0].split(":"))
    # The venv's interpreter is a symlink into the build image: the runtime must be the same base.
    assert stages[lineage(part)[-1]]["base"] == stages[lineage(build_stage_of(part))[-1]]["base"]
    for env in ENVIRONMENTS:
        pod = one(rendered[env], "Deployment", f"a4c-{part}")["spec"]["template"]["spec"]
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)


@pytest.mark.parametrize("part", IMAGES)
def test_a_part_starts_with_only_the_dependencies_its_image_installs(part, tmp_path):
    app = tmp_path / "app"
    lay_out_build_context(part, app)
    venv = tmp_path / "venv"
    python = getattr(sys, "_base_executable", sys.executable)
    sync = subprocess.run(
        [*uv_command(), "sync", "--frozen", "--no-dev", "--package", f"a4c-{part}", "--python", python],
        cwd=app,
        env=clean_env(UV_PROJECT_ENVIRONMENT=str(venv)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert sync.returncode == 0, sync.stderr

    installed = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import importlib.metadata as m; print(*{d.name for d in m.distributions()})",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=clean_env(),
    ).stdout.split()
    assert {d for d in installed if d.startswith("a4c-")} == member_closure(f"a4c-{part}")

    for args in [[f"a4c.{part}", "--help"], *EXTRA_ENTRY_POINTS.get(part, [])]:
        started = subprocess.run(
            [venv / "bin" / "python", "-m", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,  # nothing importable beside it: only the environment counts
            env=clean_env(),
        )
        assert started.returncode == 0, f"python -m {' '.join(args)}:\n{started.stdout}\n{started.stderr}"
        assert started.stdout.strip(), f"python -m {' '.join(args)} printed no help"


@pytest.mark.parametrize("part", IMAGES)
def test_each_image_carries_the_oci_source_revision_and_version_labels_from_build_args(part):
    stages = dockerfile_stages()
    labels = " ".join(a for n in lineage(part) for i, a in stages[n]["steps"] if i == "LABEL")
    args = {a.split("=")[0] for n in lineage(part) for i, a in stages[n]["steps"] if i == "ARG"}
    for label, arg in (("source", "SOURCE"), ("revision", "REVISION"), ("version", "VERSION")):
        assert f'org.opencontainers.image.{label}="${{{arg}}}"' in labels, (part, label)
        assert arg in args, (part, arg)
        assert f"--build-arg {arg}=" in (REPO / "Makefile").read_text(), arg
