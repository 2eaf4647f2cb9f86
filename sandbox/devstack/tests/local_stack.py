"""Running `python -m a4c.devstack` (what `make run` runs) as a real process, for the tests.

Every process the stack starts inherits a marker variable, so the tests can find anything it left
behind (PostgreSQL's postmaster and whatever a part spawned included) by reading /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a4c.devstack.stack.ports import SPAN, busy_ports, layout

READY_LINE = "Running. Ctrl-C stops everything."
GUARD_SECONDS = 120  # hang protection only: a stack comes up in seconds

# Settings a developer's shell might hold that would point the stack at something else.
_FOREIGN_PREFIXES = ("A4C_", "SANDBOX_", "CLOUDFLARE_", "ZITADEL_", "TEMPORAL_", "DATABASE_URL", "PG")


@contextlib.contextmanager
def scratch_state_dir() -> Iterator[Path]:
    """A state dir under a world-searchable temp dir: run as root, the embedded PostgreSQL runs as
    `nobody`, which must reach its data dir (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="a4c-stack-"))
    root.chmod(0o755)
    try:
        yield root / "state"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def free_port_base() -> int:
    """A port base whose whole block is free now (far from the defaults and from ephemeral ports)."""
    for _ in range(50):
        base = random.randrange(20000, 30000 - SPAN)
        if not busy_ports(layout(base)):
            return base
    raise RuntimeError("no free block of ports for the stack")


def stack_env(marker: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    return {**env, "A4C_STACK_TEST_MARKER": marker, "SANDBOX_PROPAGATION_DELAY_SECONDS": "1", **extra}


def marked_processes(marker: str) -> list[int]:
    """Pids of live processes carrying the marker in their environment (zombies have no environ)."""
    needle = f"A4C_STACK_TEST_MARKER={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited PostgreSQL waits for init, not us, to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@dataclass
class StackRun:
    """One run of the stack: its process, what it printed, and the pids it reported."""

    process: asyncio.subprocess.Process
    state_dir: Path
    port_base: int
    marker: str
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def ports(self) -> dict[str, int]:
        return layout(self.port_base)

    def address(self, part: str) -> str:
        return f"127.0.0.1:{self.ports[part]}"

    @property
    def token(self) -> str:
        return (self.state_dir / "local-token").read_text().strip()

    @property
    def worker_token(self) -> str:
        return (self.state_dir / "worker-token").read_text().strip()

    @property
    def text(self) -> str:
        return "\n".join(self.out + self.err)

    async def wait_for_line(self, wanted: str) -> None:
        """Read stdout until a line equals `wanted`; fail with everything printed if the stack exits."""
        await self._wait_for(lambda line: line == wanted, repr(wanted))

    async def wait_for_line_starting(self, prefix: str) -> None:
        await self._wait_for(lambda line: line.startswith(prefix), f"a line starting {prefix!r}")

    async def _wait_for(self, matches: Callable[[str], bool], wanted: str) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(GUARD_SECONDS):
            while raw := await self.process.stdout.readline():
                line = raw.decode().rstrip("\n")
                self.out.append(line)
                if matches(line):
                    return
        await self.process.wait()
        raise AssertionError(f"the stack exited ({self.process.returncode}) before {wanted}:\n{self.text}")

    async def finish(self) -> int:
        """Wait for the exit, collecting the rest of the output."""
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        async with asyncio.timeout(GUARD_SECONDS):
            rest, errors = await asyncio.gather(self.process.stdout.read(), self.process.stderr.read())
            code = await self.process.wait()
        self.out += rest.decode().splitlines()
        self.err += errors.decode().splitlines()
        return code

    async def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        return await self.finish()

    def read_pids(self) -> dict[str, int]:
        running: dict[str, Any] = json.loads((self.state_dir / "stack.json").read_text())
        self.pids = {name: part["pid"] for name, part in running["parts"].items()}
        return self.pids


async def start_stack(
    state_dir: Path, port_base: int, *args: str, marker: str | None = None, **env: str
) -> StackRun:
    marker = marker or uuid.uuid4().hex
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "a4c.devstack",
        "--state-dir",
        str(state_dir),
        "--port-base",
        str(port_base),
        *args,
        env=stack_env(marker, **env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return StackRun(process, state_dir, port_base, marker)


@contextlib.asynccontextmanager
async def running_stack(state_dir: Path, port_base: int) -> AsyncIterator[StackRun]:
    """A stack up to its 'Running' line; killed (group by group) if the test fails before stopping it."""
    run = await start_stack(state_dir, port_base)
    try:
        await run.wait_for_line(READY_LINE)
        run.read_pids()
        yield run
    finally:
        if run.process.returncode is None:
            run.process.kill()
            await run.process.wait()
        for pid in marked_processes(run.marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
