"""`python -m a4c.eventstore migrate|status`: the entry point of the k8s migration Job.

Exit codes: 0 done, 1 failed (the message says why), 2 bad usage (e.g. DATABASE_URL missing).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence

import asyncpg

from .errors import EventStoreError, translate_errors
from .migrate import (
    LOCK_TIMEOUT_SECONDS,
    STATEMENT_TIMEOUT_SECONDS,
    applied_migrations,
    load_migrations,
    migrate,
    unknown_files,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m a4c.eventstore",
        description="Event store schema tools. The database comes from --database-url or DATABASE_URL.",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: $DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "migrate",
        help="apply pending migrations (safe to run from several replicas at once)",
        description="Apply pending migrations in order, each once; refuse if an applied file changed.",
    )
    up.add_argument(
        "--environment",
        help="also record which environment this database serves, e.g. production "
        "(default: $A4C_ENVIRONMENT; unset leaves the recorded one as it is)",
    )
    up.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        help="seconds to keep retrying while the database is not reachable yet (default: 30)",
    )
    up.add_argument(
        "--lock-timeout",
        type=float,
        default=LOCK_TIMEOUT_SECONDS,
        help=f"seconds a migration statement may wait for a table lock before the file is tried "
        f"again (default: {LOCK_TIMEOUT_SECONDS:g})",
    )
    up.add_argument(
        "--statement-timeout",
        type=float,
        default=STATEMENT_TIMEOUT_SECONDS,
        help="seconds one migration statement may run, 0 for no limit "
        f"(default: {STATEMENT_TIMEOUT_SECONDS:g})",
    )
    commands.add_parser("status", help="list migrations and whether each is applied")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = _parser()
    args = parser.parse_args(argv)
    dsn = args.database_url or environ.get("DATABASE_URL")
    if not dsn:
        parser.error("no database: set DATABASE_URL or pass --database-url")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "migrate":
            environment = args.environment or environ.get("A4C_ENVIRONMENT") or None
            applied = asyncio.run(
                migrate(
                    dsn,
                    environment=environment,
                    connect_timeout=args.connect_timeout,
                    lock_timeout=args.lock_timeout,
                    statement_timeout=args.statement_timeout,
                )
            )
            names = ", ".join(m.filename for m in applied) or "nothing to apply"
            print(f"migrations: {names}")
        else:
            asyncio.run(_status(dsn))
    except EventStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _status(dsn: str) -> None:
    with translate_errors():
        conn = await asyncpg.connect(dsn)
    try:
        with translate_errors():
            applied = await applied_migrations(conn)
    finally:
        await conn.close()
    shipped = load_migrations()
    for migration in shipped:
        recorded = applied.get(migration.version)
        state = "pending" if recorded is None else "applied"
        if recorded is not None and recorded[1] != migration.checksum:
            state = "CHANGED since applied"
        print(f"{migration.filename}: {state}")
    for filename in unknown_files(shipped, applied):
        print(f"{filename}: UNKNOWN to this release (applied by a newer one)")


if __name__ == "__main__":
    sys.exit(main())
