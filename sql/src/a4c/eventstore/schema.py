"""The start-up check of every part that reads the event store: is this database's schema ours?

During a rolling upgrade old and new replicas run side by side, and an image can be rolled back
after its release migrated the database. A part whose code predates a migration the database holds
(or that ships one the database lacks, or whose file differs from the applied one) would run
against a schema it was not written for, silently. So :meth:`EventStore.connect` compares the
database's `schema_migrations` with the migrations packaged with this code — whatever their number —
and refuses with :class:`SchemaMismatch` naming the files and what to do.
"""

from __future__ import annotations

import asyncpg

from .errors import SchemaMismatch, translate_errors
from .migrate import Migration, applied_migrations, load_migrations, refuse_unknown, unknown_files


async def check_schema(pool: asyncpg.Pool[asyncpg.Record], *, known: list[Migration] | None = None) -> None:
    """Raise SchemaMismatch unless the database has applied exactly the packaged migrations."""
    shipped = load_migrations() if known is None else known
    with translate_errors():
        async with pool.acquire() as conn:
            applied = await applied_migrations(conn)
    unknown = unknown_files(shipped, applied)
    if unknown:
        raise refuse_unknown(unknown, "this part")
    pending = tuple(m.filename for m in shipped if m.version not in applied)
    if pending:
        raise SchemaMismatch(
            f"the database lacks migrations this release ships: {', '.join(pending)}; run "
            f"`python -m a4c.eventstore migrate` (the migration Job) before starting this part",
            pending=pending,
        )
    changed = tuple(m.filename for m in shipped if applied[m.version][1] != m.checksum)
    if changed:
        raise SchemaMismatch(
            f"migrations differ from the ones applied to the database: {', '.join(changed)}; this "
            f"image was built from edited migration files (forward-only: add a new file instead)",
            changed=changed,
        )
