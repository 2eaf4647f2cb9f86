"""One supervised child process: its own process group, its log file, its readiness, its stop.

Each part runs in a session of its own (`start_new_session`), so Ctrl-C in the terminal reaches only
the stack, which then stops the parts in reverse dependency order; and a stop signals the whole group,
so nothing a part spawned is left behind. stdout and stderr go to `<logs>/<part>.log`, except that a
part announcing readiness on stdout (the sandbox's JSON line) is read first and then copied there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

POLL_SECONDS = 0.1  # readiness polling: how soon a ready part is noticed


class PartError(RuntimeError):
    """A part that could not start or died; the message names it, its log and the log's last lines."""

    def __init__(self, part: str, problem: str, log: Path | None = None, tail: str = "") -> None:
        self.part = part
        self.log = log
        where = f"; log: {log}" if log else ""
        detail = f"\n{tail}" if tail else ""
        super().__init__(f"{part}: {problem}{where}{detail}")


def log_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"    | {line[:240]}" for line in text[-lines:])


class Child:
    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self._log_handle: BinaryIO | None = None
        self._copy: asyncio.Task[None] | None = None
        self.started_at = 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since start: how long the part took to become ready."""
        return time.monotonic() - self.started_at

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    async def start(self, *, pipe_stdout: bool = False) -> None:
        self.started_at = time.monotonic()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log.open("ab")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._log_handle.write(f"--- {stamp} starting {self.name}: {' '.join(self.argv)}\n".encode())
        self._log_handle.flush()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if pipe_stdout else self._log_handle,
                stderr=self._log_handle,
                start_new_session=True,
            )
        except OSError as exc:
            raise PartError(self.name, f"cannot run {self.argv[0]}: {exc.strerror}", self.log) from None

    def failure(self, doing: str) -> PartError:
        code = self.returncode
        if code is None:
            problem = f"failed {doing}"
        elif code < 0:
            problem = f"was killed by {signal.Signals(-code).name} {doing}"
        else:
            problem = f"exited with code {code} {doing}"
        return PartError(self.name, problem, self.log, log_tail(self.log))

    async def ready_line(self, within: float) -> dict[str, Any]:
        """The JSON object with `"ready": true` the part prints on stdout; then stdout goes to the log."""
        assert self.process is not None
        assert self.process.stdout is not None
        stdout = self.process.stdout
        try:
            async with asyncio.timeout(within):
                while line := await stdout.readline():
                    with contextlib.suppress(ValueError):
                        ready = json.loads(line)
                        if isinstance(ready, dict) and ready.get("ready") is True:
                            self._copy = asyncio.create_task(self._copy_to_log(stdout))
                            return ready
                    self._write(line)
        except TimeoutError:
            raise PartError(
                self.name, f"not ready after {within:g} s", self.log, log_tail(self.log)
            ) from None
        await self.process.wait()
        raise self.failure("before it was ready")

    async def until(self, check: Callable[[], Awaitable[bool]], what: str, within: float) -> None:
        """Poll `check` until it holds; fail at once when the process exits meanwhile."""
        deadline = time.monotonic() + within
        while True:
            if self.returncode is not None:
                raise self.failure(f"before {what}")
            if await check():
                return
            if time.monotonic() > deadline:
                raise PartError(self.name, f"no {what} after {within:g} s", self.log, log_tail(self.log))
            await asyncio.sleep(POLL_SECONDS)

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self, grace: float) -> None:
        """SIGTERM the whole group, wait up to `grace`, then SIGKILL what is left of it."""
        if self.process is not None:
            pid = self.process.pid
            if self.process.returncode is None:
                _signal_group(pid, signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.process.wait(), grace)
                except TimeoutError:
                    self._write(f"--- not stopped after {grace:g} s: killed\n".encode())
            # The leader may be gone while something it spawned still runs in its group.
            _signal_group(pid, signal.SIGKILL)
            await self.process.wait()
        if self._copy is not None:
            await self._copy
        if self._log_handle is not None:
            self._write(f"--- stopped (exit code {self.returncode})\n".encode())
            self._log_handle.close()
            self._log_handle = None

    async def _copy_to_log(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self._write(line)

    def _write(self, data: bytes) -> None:
        if self._log_handle is not None and not self._log_handle.closed:
            self._log_handle.write(data)
            self._log_handle.flush()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
