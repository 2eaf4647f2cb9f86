"""The stack's state dir is private: it holds emails, invitation codes, tokens, passwords and logs.

`make_private` creates it 0700 (0710 when the embedded PostgreSQL runs as another user, who must only
traverse it to reach its data dir) and tightens what an older run left: files 0600, folders 0700. The
stack also sets its umask to 077 (`__main__`), which every part it starts inherits, so whatever they
write there later (logs, temporal.db, the emulators' state) is private from the start.
"""

from __future__ import annotations

import os
from pathlib import Path

# Files and folders: owner only. The state dir itself may grant one group (PostgreSQL's user) search.
FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


def make_private(state_dir: Path, *, traverse_gid: int | None = None) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    if traverse_gid is None:
        state_dir.chmod(DIR_MODE)
    else:
        os.chown(state_dir, -1, traverse_gid)
        state_dir.chmod(0o710)
    for path in state_dir.rglob("*"):
        if path.is_symlink():
            continue  # the stack's log links point into data dirs that keep their own modes
        path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
