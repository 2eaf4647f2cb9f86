"""One live subscription to the event log per process, fanned out to every watcher by stream.

A hundred WatchBootstrap calls must not hold a hundred LISTEN connections: the hub subscribes once
(lazily, on the first watcher) and hands each appended event to the queues of that stream's watchers.

Gap-free hand-over (see `Feed`): a watcher registers first, then waits until the hub knows its start
position P, then reads the stream's history from the database. Every event up to P committed before
the hub started, so the history read contains it; every later one reaches the watcher's queue. The
two overlap, never leave a hole, and the watcher drops what it already delivered by sequence.

A watcher that does not keep up overflows its bounded queue; it is then told to re-read from the
database (the source of truth) instead of the hub buffering without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from uuid import UUID

from a4c.eventstore import EventStore, StoredEvent

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)


class Feed:
    """One watcher's live events of one stream, in sequence order."""

    def __init__(self, stream_id: UUID, size: int, on_overflow: Callable[[], None] | None = None) -> None:
        self.stream_id = stream_id
        self._queue: asyncio.Queue[StoredEvent] = asyncio.Queue(size)
        self._overflowed = False
        self._signal = asyncio.Event()
        self._on_overflow = on_overflow

    def offer(self, event: StoredEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            if not self._overflowed and self._on_overflow is not None:
                self._on_overflow()  # once per fall-behind, not per dropped event
            self._overflowed = True
        self._signal.set()

    def take_overflow(self) -> bool:
        """True (once) when events were dropped: re-read the database after your last sequence.

        The queue is emptied first, so whatever arrives from now on follows that re-read.
        """
        if not self._overflowed:
            return False
        self._overflowed = False
        while not self._queue.empty():
            self._queue.get_nowait()
        return True

    async def wait(self) -> None:
        """Until something arrived (an event, or an overflow)."""
        while self._queue.empty() and not self._overflowed:
            self._signal.clear()
            await self._signal.wait()

    def drain(self) -> list[StoredEvent]:
        events = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events


class EventHub:
    def __init__(
        self,
        store: EventStore,
        *,
        queue_size: int = QUEUE_SIZE,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        """``on_overflow``: called each time a watcher falls behind (the overflow metric)."""
        self._store = store
        self._queue_size = queue_size
        self._on_overflow = on_overflow
        self._feeds: dict[UUID, set[Feed]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._closed = False

    @property
    def watchers(self) -> int:
        return sum(len(feeds) for feeds in self._feeds.values())

    @contextlib.asynccontextmanager
    async def feed(self, stream_id: UUID) -> AsyncIterator[Feed]:
        """Register a watcher of `stream_id`; on entry the hub has its start position (see module doc)."""
        if self._closed:
            raise RuntimeError("event hub is closed")
        feed = Feed(stream_id, self._queue_size, self._on_overflow)
        self._feeds[stream_id].add(feed)
        try:
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name="a4c-provisioning-event-hub")
            await self._started.wait()
            yield feed
        finally:
            feeds = self._feeds.get(stream_id)
            if feeds is not None:
                feeds.discard(feed)
                if not feeds:
                    del self._feeds[stream_id]

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        position: int | None = None
        failures = 0
        while True:
            try:
                if position is None:
                    position = await self._store.last_sequence()
                    self._started.set()
                async with self._store.subscribe(position) as events:
                    async for event in events:
                        position, failures = event.sequence, 0
                        self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                log.warning("event subscription failed (%s); resuming after %.1fs", error, delay)
                await asyncio.sleep(delay)  # backoff before resubscribing from the last position

    def _dispatch(self, event: StoredEvent) -> None:
        for feed in self._feeds.get(event.stream_id, ()):
            feed.offer(event)
