"""EventStore: the one object other code uses to append and read events and read projections."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from uuid import UUID

import asyncpg

from . import projections, reconcile, schema
from ._rows import EVENT_COLUMNS, event_from_row, to_json
from .errors import ConcurrencyError, EventIdConflict, translate_errors
from .models import (
    BootstrapState,
    BootstrapStatus,
    BootstrapStepRecord,
    LifecycleStatus,
    NewEvent,
    Organization,
    OrganizationCursor,
    OrganizationPage,
    StoredEvent,
    SubdomainStatus,
)
from .subscribe import Subscription

_APPEND_ATTEMPTS = 3

# Column lists are module constants; every value travels as a bind parameter.
_SELECT_BY_IDS = f"SELECT {EVENT_COLUMNS} FROM domain_events WHERE id = ANY($1)"  # noqa: S608
_SELECT_STREAM = f"""SELECT {EVENT_COLUMNS} FROM domain_events
    WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3"""  # noqa: S608
_SELECT_AFTER = f"""SELECT {EVENT_COLUMNS} FROM domain_events
    WHERE sequence > $1 AND ($3::uuid IS NULL OR stream_id = $3) ORDER BY sequence LIMIT $2"""  # noqa: S608

# One statement for any number of events: triggers dedupe by id, assign versions, project, NOTIFY.
# WITH ORDINALITY + ORDER BY keeps the caller's order, which is the order sequences are assigned in.
# RETURNING hands back each inserted row as stored (every trigger that shapes it runs BEFORE insert),
# so only ids the dedupe skipped need a read afterwards: one round trip per append, not two.
_INSERT = f"""
INSERT INTO domain_events (id, stream_id, stream_type, stream_version, event_type, event_data, event_metadata)
SELECT e.id, e.stream_id, e.stream_type, e.stream_version, e.event_type, e.data::jsonb, e.meta::jsonb
  FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS e(id, stream_id, stream_type, stream_version, event_type, data, meta, ord)
 ORDER BY e.ord
RETURNING {EVENT_COLUMNS}
"""  # noqa: S608


async def _keep_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does (roll back an open
    transaction, drop client-side listeners). Its default also sends `pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL` on every release: a round trip and four statements per append or read,
    undoing what this store never does on a pooled connection (no SET, no session advisory locks —
    the append lock is transaction-level —, no cursors outside a transaction; a subscription that
    LISTENs on a pooled connection UNLISTENs before giving it back)."""


class EventStore:
    """Appends and reads over an asyncpg pool; build with `await EventStore.connect(dsn)` or pass a pool.

    `dsn` (given by `connect`) lets subscriptions LISTEN on their own connection instead of holding a
    pooled one; `notifications=False` makes subscriptions poll only (e.g. behind a transaction pooler).
    """

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        dsn: str | None = None,
        notifications: bool = True,
        poll_interval: float = 1.0,
        owns_pool: bool = False,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._notifications = notifications
        self._poll_interval = poll_interval
        self._owns_pool = owns_pool

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        notifications: bool = True,
        poll_interval: float = 1.0,
        statement_cache_size: int = 100,
        command_timeout: float | None = 30.0,
        check_schema: bool = True,
    ) -> EventStore:
        """Open a pool (closed by `close()`). Use statement_cache_size=0 behind a transaction pooler.

        First the database's applied migrations are compared with the ones packaged here (see
        a4c.eventstore.schema): SchemaMismatch when they differ, so no part runs on a schema it was
        not written for. `check_schema=False` is for tools that inspect any schema (tests, status)."""
        with translate_errors():
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                statement_cache_size=statement_cache_size,
                command_timeout=command_timeout,
                reset=_keep_session,
            )
        if check_schema:
            try:
                await schema.check_schema(pool)
            except BaseException:
                await pool.close()
                raise
        return cls(pool, dsn=dsn, notifications=notifications, poll_interval=poll_interval, owns_pool=True)

    @property
    def pool(self) -> asyncpg.Pool[asyncpg.Record]:
        return self._pool

    async def close(self) -> None:
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self) -> EventStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- writing ----------------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> StoredEvent:
        """Append one event; appending an id that is already stored returns the stored event."""
        (stored,) = await self.append_many([event])
        return stored

    async def append_many(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Append events atomically, in order; returns the stored events in the same order.

        Ids already stored are skipped (idempotent replay). A stale `expected_version` raises
        ConcurrencyError; a collision on a store-assigned version is retried (it cannot happen under
        the database's append serialization, but a REPEATABLE READ caller could still meet one).
        """
        if not events:
            return []
        columns = _columns(events)
        explicit = any(e.expected_version is not None for e in events)
        for _ in range(_APPEND_ATTEMPTS):
            inserted = await self._try_insert(columns, explicit_versions=explicit)
            if inserted is not None:
                return await self._stored(events, inserted)
        raise ConcurrencyError(f"append gave up after {_APPEND_ATTEMPTS} version conflicts")

    async def _try_insert(
        self, columns: tuple[list[object], ...], *, explicit_versions: bool
    ) -> list[asyncpg.Record] | None:
        """One insert attempt: the rows it stored, or None when a concurrent writer won a race that
        a retry resolves."""
        with translate_errors():
            try:
                return await self._pool.fetch(_INSERT, *columns)
            except asyncpg.UniqueViolationError as exc:
                if explicit_versions and exc.constraint_name == "domain_events_stream_version_key":
                    raise ConcurrencyError(str(exc)) from exc
                return None  # the retry's triggers see the winner: its id is skipped, versions move on

    async def _stored(self, events: Sequence[NewEvent], inserted: list[asyncpg.Record]) -> list[StoredEvent]:
        by_id = {row["id"]: event_from_row(row) for row in inserted}
        skipped = [i for i in dict.fromkeys(e.id for e in events) if i not in by_id]
        if skipped:  # already stored (a replayed append): read them as they are
            with translate_errors():
                rows = await self._pool.fetch(_SELECT_BY_IDS, skipped)
            by_id.update((row["id"], event_from_row(row)) for row in rows)
        result = []
        for event in events:
            stored = by_id[event.id]
            if (stored.stream_id, stored.event_type) != (event.stream_id, event.event_type):
                raise EventIdConflict(
                    f"event id {event.id} is stored as {stored.event_type} on stream {stored.stream_id}, "
                    f"not {event.event_type} on {event.stream_id}"
                )
            result.append(stored)
        return result

    # -- reading the log --------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: UUID, *, after_version: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """A stream's events in version order (all, or `limit` after `after_version`)."""
        with translate_errors():
            rows = await self._pool.fetch(_SELECT_STREAM, stream_id, after_version, limit)
        return [event_from_row(row) for row in rows]

    async def read_all(
        self, after_sequence: int = 0, limit: int = 1000, *, stream_id: UUID | None = None
    ) -> list[StoredEvent]:
        """Up to `limit` events with sequence > `after_sequence`, in sequence order (all streams or one)."""
        with translate_errors():
            rows = await self._pool.fetch(_SELECT_AFTER, after_sequence, limit, stream_id)
        return [event_from_row(row) for row in rows]

    async def last_sequence(self) -> int:
        """The highest committed sequence (0 for an empty log): a starting point for `subscribe`."""
        with translate_errors():
            value = await self._pool.fetchval("SELECT coalesce(max(sequence), 0) FROM domain_events")
        return int(value)

    def subscribe(
        self,
        after_sequence: int = 0,
        *,
        stream_id: UUID | None = None,
        notifications: bool | None = None,
        poll_interval: float | None = None,
        batch_size: int = 500,
    ) -> Subscription:
        """Every event after `after_sequence`, then live ones, in order and without gaps."""

        async def read(after: int, limit: int, stream: UUID | None) -> list[StoredEvent]:
            return await self.read_all(after, limit, stream_id=stream)

        return Subscription(
            read,
            after_sequence=after_sequence,
            stream_id=stream_id,
            listen_dsn=self._dsn,
            pool=self._pool,
            notifications=self._notifications if notifications is None else notifications,
            poll_interval=self._poll_interval if poll_interval is None else poll_interval,
            batch_size=batch_size,
        )

    # -- projections and configuration ------------------------------------------------------------

    async def get_organization(self, organization_id: UUID) -> Organization:
        return await projections.get_organization(self._pool, organization_id)

    async def get_organization_by_slug(self, slug: str) -> Organization:
        return await projections.get_organization_by_slug(self._pool, slug)

    async def list_organizations(
        self,
        *,
        subdomain_status: SubdomainStatus | None = None,
        bootstrap_status: BootstrapState | None = None,
        page_size: int = 50,
        after: OrganizationCursor | None = None,
        query: str | None = None,
        lifecycle_status: LifecycleStatus | None = None,
    ) -> OrganizationPage:
        """Newest first, continuing after `after` (a previous page's `next_after`); `query` matches a
        slug's start or any part of a name, ignoring case."""
        return await projections.list_organizations(
            self._pool,
            subdomain_status=subdomain_status,
            bootstrap_status=bootstrap_status,
            page_size=page_size,
            after=after,
            query=query,
            lifecycle_status=lifecycle_status,
        )

    async def reconcilable_batch(self, after: UUID | None, limit: int) -> list[Organization]:
        """The drift reconciler's next batch: finished bootstraps with ids above `after`, in id order."""
        return await reconcile.reconcilable_batch(self._pool, after, limit)

    async def live_organizations(self, ids: Sequence[UUID]) -> set[UUID]:
        """The ids among `ids` whose organization is live (not failed or cancelled): not orphans."""
        return await reconcile.live_organizations(self._pool, ids)

    async def count_by_status(
        self, stuck_after_seconds: float
    ) -> list[tuple[BootstrapState, SubdomainStatus, int, int]]:
        """Organizations per (bootstrap, subdomain) status, and how many of them are stuck (metrics)."""
        return await projections.count_by_status(self._pool, stuck_after_seconds)

    async def get_bootstrap_status(self, organization_id: UUID) -> BootstrapStatus:
        return await projections.get_bootstrap_status(self._pool, organization_id)

    async def get_bootstrap_steps(self, organization_id: UUID) -> list[BootstrapStepRecord]:
        """Every step of the bootstrap in workflow order, as the database's step projection has it.

        A bootstrap that has no events yet (or no such organization) has every step pending.
        """
        return await projections.get_bootstrap_steps(self._pool, organization_id)

    async def get_base_domain(self, environment: str | None = None) -> str:
        """The base domain of `environment`, or of this database's configured environment."""
        return await projections.get_base_domain(self._pool, environment)

    async def rebuild_projection(self, *, time_limit: float | None = 3600.0) -> int:
        """Replay the whole log into organizations_projection; returns the number of events replayed.

        One transaction that holds the append lock throughout: appends wait until it commits.
        """
        return await projections.rebuild(self._pool, time_limit)


def _columns(events: Sequence[NewEvent]) -> tuple[list[object], ...]:
    return (
        [e.id for e in events],
        [e.stream_id for e in events],
        [e.stream_type for e in events],
        [None if e.expected_version is None else e.expected_version + 1 for e in events],
        [e.event_type for e in events],
        [to_json(e.data) for e in events],
        [to_json(e.metadata) for e in events],
    )
