"""Start every part in dependency order with readiness checks, watch them, stop them all.

    PostgreSQL → migrations ┐
    Temporal dev server     ├→ dns, identity, provisioning (gRPC health SERVING) → worker (health SERVING)
    sandbox (ready line)    ┘   → the console's login seeded at the sandbox Zitadel → console (GET /healthz)

Independent parts of one level start together. A part that dies, at start or later, stops the whole
stack with a message naming it and its log. `stack.json` in the state dir lists what runs (pids,
addresses, logs) while the stack is up, so a second stack on the same state dir is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from a4c.devstack.console_login import OPERATE_LOGIN, READ_LOGIN, seed
from a4c.devstack.postgres import EmbeddedPostgres, EmbeddedPostgresError
from a4c.devstack.stack.checks import TEMPORAL_SERVICE, grpc_serving, http_ok, tcp_open
from a4c.devstack.stack.config import HOST, StackSettings
from a4c.devstack.stack.parts import Parts
from a4c.devstack.stack.ports import busy_ports
from a4c.devstack.stack.process import Child, PartError

START_TIMEOUT = 60.0  # per part; the Temporal dev server is the slowest (a few seconds)
STOP_GRACE = 10.0
RUN_FILE = "stack.json"

Report = Callable[[str, str, float], None]  # part, address, seconds it took to be ready


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


class Supervisor:
    def __init__(self, settings: StackSettings, token: str, report: Report) -> None:
        self.settings = settings
        self.token = token
        self.report = report
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self._postgres_start: asyncio.Future[str] | None = None
        self.parts = Parts(settings, token, settings.database_url or "")
        self.sandbox: dict[str, Any] = {}

    @property
    def run_file(self) -> Path:
        return self.settings.state_dir / RUN_FILE

    @property
    def started_anything(self) -> bool:
        return bool(self.children) or self.postgres is not None

    def local_ports(self) -> dict[str, int]:
        """The ports of the parts this stack runs itself (external parts need none)."""
        s = self.settings
        skip = {
            "postgres": s.database_url is not None,
            "temporal": s.temporal_address is not None,
            "temporal-ui": s.temporal_address is not None or not s.temporal_ui,
            "dns": s.dns_address is not None,
            "identity": s.identity_address is not None,
            "provisioning": s.provisioning_address is not None,
            "sandbox-cloudflare": not s.runs_sandbox,
            "sandbox-zitadel": not s.runs_sandbox,
            "sandbox-dns": not s.runs_sandbox,
            "console": not self.parts.runs_console,
        }
        return {name: port for name, port in s.ports.items() if not skip.get(name, False)}

    # -- start ---------------------------------------------------------------------------------------

    async def start(self) -> Parts:
        self._claim_state_dir()
        busy = busy_ports(self.local_ports())
        if busy:
            lines = "\n".join(f"  {b}" for b in busy)
            raise StackError(
                f"cannot start: {len(busy)} port(s) the stack needs are taken:\n{lines}\n"
                "Stop what holds them, or move the whole stack with --port-base N (A4C_STACK_PORT_BASE)."
            )
        await _all(self._database(), self._temporal(), self._sandbox())
        await _all(*(self._service(name) for name in ("dns", "identity", "provisioning") if self._runs(name)))
        await self._worker()
        await self._console()
        self._write_run_file()
        return self.parts

    def _runs(self, service: str) -> bool:
        return getattr(self.settings, f"{service}_address") is None

    async def _database(self) -> None:
        if self.settings.database_url is None:
            pg = self.postgres = EmbeddedPostgres(
                self.settings.state_dir / "postgres", port=self.settings.ports["postgres"]
            )
            self._link_log("postgres", pg.log_file)
            started = time.monotonic()
            # A thread cannot be cancelled: stop() waits for this start before stopping the server.
            self._postgres_start = asyncio.ensure_future(asyncio.to_thread(pg.start))
            try:
                self.parts.database_url = await asyncio.shield(self._postgres_start)
            except EmbeddedPostgresError as exc:
                raise PartError("postgres", str(exc).splitlines()[0], self._log("postgres")) from None
            self.report("postgres", f"{HOST}:{pg.port}", time.monotonic() - started)
        migrate = Child("migrate", self.parts.migrate_argv(), self.parts.env("migrate"), self._log("migrate"))
        await migrate.start()
        try:
            code = await migrate.wait()
        finally:  # also when Ctrl-C cancels the start: the migration must not outlive the stack
            await migrate.stop(STOP_GRACE)
        if code != 0:
            raise migrate.failure("applying the migrations")
        self.report("migrations", "applied", migrate.elapsed)

    async def _temporal(self) -> None:
        if self.settings.temporal_address is not None:
            return
        child = await self._spawn("temporal", self.parts.temporal_argv(), self.parts.env("temporal"))
        address = self.settings.address("temporal")
        await self._until(child, lambda: grpc_serving(address, TEMPORAL_SERVICE), "Temporal answering")
        if self.settings.temporal_ui:
            ui = self.settings.ports["temporal-ui"]
            await self._until(child, lambda: tcp_open(HOST, ui), "Web UI")
        self.report("temporal", address, child.elapsed)

    async def _sandbox(self) -> None:
        if not self.settings.runs_sandbox:
            return
        argv, env = Parts.module_argv("a4c.sandbox"), self.parts.env("sandbox")
        child = await self._spawn("sandbox", argv, env, pipe=True)
        self.sandbox = await child.ready_line(START_TIMEOUT)
        self.report("sandbox", f"DNS {self.sandbox.get('dns')}", child.elapsed)

    async def _service(self, name: str) -> None:
        child = await self._spawn(name, Parts.module_argv(f"a4c.{name}"), self.parts.env(name))
        address = self.settings.address(name)
        await self._until(child, lambda: grpc_serving(address), "gRPC health SERVING")
        self.report(name, address, child.elapsed)

    async def _worker(self) -> None:
        child = await self._spawn("worker", Parts.module_argv("a4c.worker"), self.parts.env("worker"))
        address = self.settings.address("worker-health")
        await self._until(child, lambda: grpc_serving(address), "health SERVING")
        self.report("worker", f"{address} (health)", child.elapsed)

    async def _console(self) -> None:
        if not self.parts.runs_console:
            return
        url = self.parts.console_url
        if not self.settings.real_zitadel:
            # Stable local passwords (derived from the stack's token), so a restarted stack keeps them.
            derived = hashlib.sha256(f"a4c-local-operators:{self.token}".encode()).hexdigest()
            self.parts.console_login = await seed(
                f"http://{self.settings.address('sandbox-zitadel')}",
                f"{url}/auth/callback",
                pat=self.parts.wiring.zitadel.pat,
                post_logout_redirect_uris=[f"{url}/signed-out"],
                passwords={OPERATE_LOGIN: f"{derived[:16]}-Aa1", READ_LOGIN: f"{derived[16:32]}-Aa1"},
            )
        child = await self._spawn("console", Parts.module_argv("a4c.console"), self.parts.env("console"))
        await self._until(child, lambda: http_ok(f"{url}/healthz"), "HTTP /healthz")
        self.report("console", self.settings.address("console"), child.elapsed)

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str], pipe: bool = False) -> Child:
        child = Child(name, argv, env, self._log(name))
        self.children.append(child)
        await child.start(pipe_stdout=pipe)
        self._write_run_file()  # so a crash while starting still leaves its pids to clean up
        return child

    @staticmethod
    async def _until(child: Child, check: Callable[[], Awaitable[bool]], what: str) -> None:
        await child.until(check, what, START_TIMEOUT)

    # -- run and stop --------------------------------------------------------------------------------

    async def first_exit(self) -> PartError:
        """Wait until some part exits (it should not while the stack runs) and say which."""
        waits = {asyncio.ensure_future(child.wait()): child for child in self.children}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        return waits[done.pop()].failure("while the stack was running")

    async def stop(self) -> None:
        """Stop every part in reverse start order (the worker first, PostgreSQL last)."""
        for child in reversed(self.children):
            await child.stop(STOP_GRACE)
        if self._postgres_start is not None:
            await asyncio.wait([self._postgres_start])
        if self.postgres is not None:
            postmaster = self.pids().get("postgres")
            await asyncio.to_thread(self.postgres.stop)
            # pg_ctl returns once the pid file is gone, a moment before the postmaster has exited.
            deadline = time.monotonic() + STOP_GRACE
            while postmaster and _running(postmaster) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # not our child: no wait() to await, only /proc to poll
        with contextlib.suppress(FileNotFoundError):
            self.run_file.unlink()

    def pids(self) -> dict[str, int]:
        """Every process the stack started and that may still run, PostgreSQL's postmaster included."""
        pids = {c.name: c.pid for c in self.children if c.pid is not None and c.name != "migrate"}
        if self.postgres is not None:
            pid_file = self.postgres.data_dir / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                pids["postgres"] = int(pid_file.read_text().splitlines()[0])
        return pids

    # -- state dir -----------------------------------------------------------------------------------

    def _log(self, part: str) -> Path:
        return self.settings.logs_dir / f"{part}.log"

    def _link_log(self, part: str, target: Path) -> None:
        """PostgreSQL writes its own log in its data dir; the logs dir points at it."""
        link = self._log(part)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(target)

    def _claim_state_dir(self) -> None:
        """Refuse a state dir a live stack uses; end what a crashed one left running there."""
        try:
            running = json.loads(self.run_file.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(running, dict):
            return
        pid = running.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and b"a4c.devstack" in _cmdline(pid):
            raise StackError(
                f"another stack (pid {pid}) is running on {self.settings.state_dir}: stop it first "
                "(Ctrl-C in its terminal), or use another --state-dir"
            )
        for name, part in (running.get("parts") or {}).items():
            # PostgreSQL is adopted instead: EmbeddedPostgres finds the server running in its data dir.
            if name != "postgres" and isinstance(part, dict) and isinstance(part.get("pid"), int):
                _end_leftover(part["pid"])
        self.run_file.unlink()

    def _write_run_file(self) -> None:
        parts = {name: {"pid": pid, "log": str(self._log(name))} for name, pid in self.pids().items()}
        state = {"pid": os.getpid(), "ports": self.local_ports(), "parts": parts}
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.run_file.write_text(json.dumps(state, indent=2) + "\n")


async def _all(*steps: Coroutine[Any, Any, None]) -> None:
    """Run independent start steps together; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def _end_leftover(pid: int) -> None:
    """End the process group of a part a crashed stack left behind, if that pid is still one of ours."""
    cmdline = _cmdline(pid)  # empty when gone (or no /proc: nothing we can verify, so nothing we touch)
    if b"a4c." not in cmdline and b"temporal" not in cmdline:
        return  # gone, or the pid was reused by something else
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            return


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent (PostgreSQL's parent is init, not us)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
