"""Fail when the committed generated code differs from what the .proto files generate now.

Run by `make proto-check` (part of `make test`). It regenerates into a scratch directory with the
same generators and flags as `make proto`, so nobody can edit a .proto and forget to regenerate.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "src"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(proto_root: Path, out: Path) -> None:
    """Run protoc exactly as the Makefile's `proto` target does."""
    protos = sorted(str(p.relative_to(proto_root)) for p in proto_root.glob("a4c/**/*.proto"))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        *protos,
    ]
    subprocess.run(cmd, check=True, cwd=proto_root, env=env)  # noqa: S603 - our interpreter, our protos


def generated_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)}


def drift(proto_root: Path, committed: Path) -> list[str]:
    """Return one line per generated file that is missing, extra or different."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(proto_root, fresh)
        want, have = generated_files(fresh), generated_files(committed)
        problems = [f"missing: {p}" for p in sorted(want - have)]
        problems += [f"stale (no .proto generates it): {p}" for p in sorted(have - want)]
        problems += [
            f"differs: {p}"
            for p in sorted(want & have)
            if not filecmp.cmp(fresh / p, committed / p, shallow=False)
        ]
        return problems


def main() -> int:
    problems = drift(HERE, GENERATED)
    if problems:
        print("Generated code is out of date with protos/ (run `make proto`):", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("proto-check: generated code matches the .proto files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
