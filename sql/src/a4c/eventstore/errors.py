"""The event store's own exceptions: callers never see asyncpg types (one translation per boundary).

EventStoreError
├── DatabaseUnavailable   cannot reach or use the server right now: retryable
├── ConcurrencyError      the stream moved on (expected version was stale): re-read and retry
├── NotFound              no such organization / environment
├── InvalidEvent          an event the schema rejects (also a ValueError)
├── EventIdConflict       an id already stored for a different stream or event type
├── InvalidArgument       a bad page size (also a ValueError)
└── MigrationError        a migration failed, or an applied file was changed
    └── SchemaMismatch    the database's applied migrations are not this release's (newer, older, changed)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg


class EventStoreError(Exception):
    """Base of everything the event store raises."""


class DatabaseUnavailable(EventStoreError):
    """The database cannot be reached or is shutting down / overloaded; retrying later may help."""


class ConcurrencyError(EventStoreError):
    """An append expected a stream version that is no longer current."""


class NotFound(EventStoreError):
    """The requested row does not exist."""


class InvalidEvent(EventStoreError, ValueError):
    """The event breaks the schema's rules (event type format, payload not an object, ...)."""


class EventIdConflict(EventStoreError):
    """An event id is reused for a different stream or event type: a bug in id derivation."""


class InvalidArgument(EventStoreError, ValueError):
    """A caller-supplied argument is malformed (page token, page size)."""


class MigrationError(EventStoreError):
    """A migration could not be applied, or the applied history does not match the files."""


class SchemaMismatch(MigrationError):
    """The database's schema is not the one this release ships: it holds migrations the release does
    not know (a newer release migrated it), lacks some it ships (not migrated yet) or has a changed
    file. ``unknown``, ``pending`` and ``changed`` name the files; the message says what to do."""

    def __init__(
        self,
        message: str,
        *,
        unknown: tuple[str, ...] = (),
        pending: tuple[str, ...] = (),
        changed: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.unknown = unknown
        self.pending = pending
        self.changed = changed


# SQLSTATEs raised by our own SQL (see the migrations).
WRONG_EXPECTED_VERSION = "A4C01"
_UNAVAILABLE_CLASSES = ("08", "53", "57P")  # connection, insufficient resources, shutdown


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the server cannot serve us now (as opposed to a bad request)."""
    if isinstance(exc, OSError | TimeoutError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.QueryCanceledError):
        return False  # a statement timeout is the caller's budget, not an outage
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, asyncpg.PostgresError) and sqlstate.startswith(_UNAVAILABLE_CLASSES)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise asyncpg and socket errors as EventStoreError subclasses (ours pass through)."""
    try:
        yield
    except EventStoreError:
        raise
    except Exception as exc:
        raise translate(exc) from exc


def translate(exc: Exception) -> EventStoreError:
    if is_unavailable(exc):
        return DatabaseUnavailable(f"database unavailable: {exc}")
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == WRONG_EXPECTED_VERSION:
        return ConcurrencyError(str(exc))
    if isinstance(exc, asyncpg.NoDataFoundError):
        return NotFound(str(exc))
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError):
        return InvalidEvent(str(exc))
    return EventStoreError(f"{type(exc).__name__}: {exc}")
