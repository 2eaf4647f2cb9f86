"""README.md's settings tables are generated from the parts' declarations and must not drift from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from a4c.common.settings_doc import BEGIN, END, PARTS, load, rewrite, section

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_tables_are_the_generated_ones() -> None:
    text = README.read_text(encoding="utf-8")
    assert rewrite(text, section()) == text, "run `python -m a4c.common.settings_doc` and commit README.md"


def test_every_declared_variable_of_every_part_is_in_the_readme() -> None:
    generated = README.read_text(encoding="utf-8").split(BEGIN)[1].split(END)[0]
    names = {s.name for _, path in PARTS for s in load(path)}
    assert len(names) > 40
    assert all(f"| `{name}` |" in generated for name in names)


def test_check_mode_fails_on_a_drifted_copy_and_names_the_fix(tmp_path: Path) -> None:
    drifted = tmp_path / "README.md"
    drifted.write_text(README.read_text(encoding="utf-8").replace("`50051`", "`50052`"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "a4c.common.settings_doc", "--check", str(drifted)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "python -m a4c.common.settings_doc" in result.stderr


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="BEGIN settings tables"):
        rewrite("# no markers here\n", section())
