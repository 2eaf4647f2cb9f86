"""The stack's state dir is made private, including what an older run left world-readable."""

from __future__ import annotations

import os
from pathlib import Path

from a4c.devstack.stack.state import make_private


def test_an_old_state_dir_is_tightened_to_the_owner(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "worker.log").write_text("{}")
    (state / "zitadel.json").write_text('{"email": "ada@demo.example"}')
    for path in (state, state / "logs", state / "logs" / "worker.log", state / "zitadel.json"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (state / "logs" / "postgres.log").symlink_to(state / "zitadel.json")

    make_private(state)

    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "logs").stat().st_mode & 0o777 == 0o700
    assert (state / "logs" / "worker.log").stat().st_mode & 0o777 == 0o600
    assert (state / "zitadel.json").stat().st_mode & 0o777 == 0o600


def test_postgres_own_user_may_only_traverse_it(tmp_path: Path) -> None:
    state = tmp_path / "fresh"
    make_private(state, traverse_gid=os.getgid())
    assert state.stat().st_mode & 0o777 == 0o710
    assert state.stat().st_gid == os.getgid()
