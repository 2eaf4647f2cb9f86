"""The drift check must notice a .proto edited without regenerating, and accept the committed tree."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

PROTOS = Path(__file__).resolve().parents[1]


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_drift", PROTOS / "check_drift.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_generated_code_matches_protos() -> None:
    assert load_checker().drift(PROTOS, PROTOS / "src") == []


def test_edited_proto_without_regeneration_is_reported(tmp_path: Path) -> None:
    checker = load_checker()
    shutil.copytree(PROTOS / "a4c", tmp_path / "a4c")
    shutil.copytree(PROTOS / "src", tmp_path / "src")
    proto = tmp_path / "a4c/api/dns/v1/dns.proto"
    proto.write_text(proto.read_text().replace("bool deleted = 1;", "bool deleted = 1;\n  string note = 2;"))

    problems = checker.drift(tmp_path, tmp_path / "src")

    assert "differs: a4c/api/dns/v1/dns_pb2.py" in problems
    assert "differs: a4c/api/dns/v1/dns_pb2.pyi" in problems


def test_generated_file_without_proto_is_reported(tmp_path: Path) -> None:
    checker = load_checker()
    shutil.copytree(PROTOS / "a4c", tmp_path / "a4c")
    shutil.copytree(PROTOS / "src", tmp_path / "src")
    (tmp_path / "a4c/api/identity/v1/identity.proto").unlink()

    problems = checker.drift(tmp_path, tmp_path / "src")

    assert "stale (no .proto generates it): a4c/api/identity/v1/identity_pb2.py" in problems
