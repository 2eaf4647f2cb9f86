"""Live reading of the event log: catch-up by sequence, woken early by NOTIFY.

Why this is gap-free: appends are serialized in the database (migration 0001), so sequence order is
commit order and "every event with sequence > last delivered" never excludes one that commits later.
A subscription therefore only ever reads `sequence > last` in order; NOTIFY merely says "read now".

LISTEN needs a session connection; poolers in transaction mode (Supabase's port 6543) accept LISTEN
but never deliver, and some refuse it. So reading never depends on a notification: the log is also
polled every `poll_interval` seconds, LISTEN failures fall back to polling, and a lost listener
connection is re-established (followed by a catch-up read) while polling carries on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .errors import is_unavailable
from .events import NOTIFY_CHANNEL
from .models import StoredEvent

_log = logging.getLogger(__name__)

Reader = Callable[[int, int, UUID | None], Awaitable[list[StoredEvent]]]
if TYPE_CHECKING:
    _Listener = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
_RELISTEN_AFTER = 5.0
_LISTEN_CONNECT_TIMEOUT = 10.0  # a black-holed listener address must not stall delivery for long


class Subscription:
    """Events with sequence > `after_sequence`, in sequence order, then new ones as they commit.

    Use as `async with store.subscribe(n) as events: async for event in events: ...` so the listener
    connection is closed when you stop; `aclose()` does the same. Database errors while reading end
    the iteration with the store's exception; resume with `subscribe(last_sequence)`.
    """

    def __init__(
        self,
        read: Reader,
        *,
        after_sequence: int,
        stream_id: UUID | None,
        listen_dsn: str | None,
        pool: asyncpg.Pool[asyncpg.Record] | None,
        notifications: bool,
        poll_interval: float,
        batch_size: int,
    ) -> None:
        self._read = read
        self._last = after_sequence  # last read from the log (buffered or handed out)
        self._delivered = after_sequence
        self._stream_id = stream_id
        self._listen_dsn = listen_dsn
        self._pool = pool
        self._notifications = notifications
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._buffer: collections.deque[StoredEvent] = collections.deque()
        self._wake = asyncio.Event()
        self._listener: _Listener | None = None
        self._listen_retry_at = 0.0
        self._closed = False

    @property
    def last_sequence(self) -> int:
        """Sequence of the last event handed out (or `after_sequence` before the first)."""
        return self._delivered

    @property
    def listening(self) -> bool:
        """True while a LISTEN connection is up (False: polling only)."""
        return self._listener is not None and not self._listener.is_closed()

    async def __aenter__(self) -> Subscription:
        await self._ensure_listening()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> StoredEvent:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            await self._fill()
        event = self._buffer.popleft()
        self._delivered = event.sequence
        return event

    async def aclose(self) -> None:
        self._closed = True
        self._wake.set()
        await self._drop_listener()

    async def _fill(self) -> None:
        await self._ensure_listening()
        # Clear before reading: a notification that lands during the read sets it again.
        self._wake.clear()
        batch = await self._read(self._last, self._batch_size, self._stream_id)
        if batch:
            self._buffer.extend(batch)
            self._last = batch[-1].sequence
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wake.wait()

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            note = json.loads(str(payload))
            if self._stream_id is not None and note.get("stream_id") != str(self._stream_id):
                return
            if int(note["sequence"]) <= self._last:
                return
        except (ValueError, KeyError, TypeError):
            pass  # an unexpected payload still means "something was appended": read
        self._wake.set()

    def _on_listener_lost(self, conn: object) -> None:
        self._wake.set()

    async def _ensure_listening(self) -> None:
        if not self._notifications or self._closed or self.listening:
            return
        if time.monotonic() < self._listen_retry_at:
            return
        await self._drop_listener()
        conn: _Listener | None = None
        try:
            conn = await self._connect_listener()
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            # A lost listener must not leave us asleep until the next poll: wake, re-listen, catch up.
            conn.add_termination_listener(self._on_listener_lost)
        except Exception as exc:
            if not (is_unavailable(exc) or isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError)):
                raise
            _log.warning("LISTEN unavailable (%s); polling every %ss", exc, self._poll_interval)
            self._listen_retry_at = time.monotonic() + _RELISTEN_AFTER
            if conn is not None:
                await self._close_connection(conn)
            return
        if self._closed:  # closed while we were connecting
            await self._close_connection(conn)
            return
        self._listener = conn
        self._wake.set()  # events may have committed before LISTEN took effect: read once more

    async def _connect_listener(self) -> _Listener:
        if self._listen_dsn is not None:
            return await asyncpg.connect(self._listen_dsn, timeout=_LISTEN_CONNECT_TIMEOUT)
        if self._pool is None:
            raise asyncpg.InterfaceError("no DSN or pool to listen on")
        return await self._pool.acquire()

    async def _drop_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            if not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._close_connection(conn)

    async def _close_connection(self, conn: _Listener) -> None:
        with contextlib.suppress(Exception):
            if isinstance(conn, PoolConnectionProxy):
                assert self._pool is not None
                # The store's pool does not reset sessions on release (EventStore.connect): the
                # next user of this connection must not receive our notifications.
                await conn.execute("UNLISTEN *")
                await self._pool.release(conn)
            else:
                await conn.close(timeout=2)
