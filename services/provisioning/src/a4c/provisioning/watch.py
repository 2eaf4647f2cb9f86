"""WatchBootstrap: an organization's events in order, exactly once, until nothing more is expected.

History first (only events after `after_sequence` are delivered), then live events from the shared
hub. Each event row carries the statuses the database's projection had after it (migration 0006),
so nothing is recomputed here. The end: the latest statuses are settled (bootstrap final, subdomain
final) *and* neither of the organization's workflows is still running, checked with Temporal,
because a workflow may still append after its status turned final (compensated after failed, a
retried subdomain after failed). When a workflow closes without a further event, its closure wakes
the watcher; a last read from the database then picks up anything appended in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from uuid import UUID

from a4c.eventstore import BootstrapState, EventStore, StoredEvent, SubdomainStatus
from a4c.provisioning import retry
from a4c.provisioning.hub import EventHub, Feed
from a4c.provisioning.temporal import Execution, Workflows
from a4c.workflows.models import bootstrap_workflow_id, subdomain_workflow_id

log = logging.getLogger(__name__)

PAGE = 1000
FAILURE_BACKOFF = 1.0


@dataclass(frozen=True)
class WatchItem:
    event: StoredEvent
    bootstrap: BootstrapState
    subdomain: SubdomainStatus


_SUBDOMAIN_FINAL = {SubdomainStatus.ACTIVE, SubdomainStatus.FAILED, SubdomainStatus.REMOVED}


class _Session:
    """The latest statuses and the position of one watcher; `advance` skips what was already seen."""

    def __init__(self, after_sequence: int) -> None:
        self.bootstrap = BootstrapState.INITIATED
        self.subdomain = SubdomainStatus.PENDING
        self.last = 0
        self._after = after_sequence

    def advance(self, events: Iterable[StoredEvent]) -> list[WatchItem]:
        items = []
        for event in events:
            if event.sequence <= self.last:
                continue
            # None only for rows no trigger projected (e.g. bulk-loaded with triggers off).
            self.bootstrap = event.bootstrap_status or self.bootstrap
            self.subdomain = event.subdomain_status or self.subdomain
            self.last = event.sequence
            if event.sequence > self._after:  # earlier ones only bring the statuses up to date
                items.append(WatchItem(event, self.bootstrap, self.subdomain))
        return items

    @property
    def settled(self) -> bool:
        """Nothing more is expected: the bootstrap is final and so is the subdomain.

        A failed or cancelled bootstrap stopped its subdomain workflow during compensation, so its
        subdomain may stay pending for good; it counts as settled too.
        """
        if not self.bootstrap.is_final:
            return False
        return self.bootstrap != BootstrapState.COMPLETED or self.subdomain in _SUBDOMAIN_FINAL


async def read_stream(store: EventStore, stream_id: UUID, after_sequence: int) -> list[StoredEvent]:
    """Every event of the stream after `after_sequence`, in sequence order."""
    events: list[StoredEvent] = []

    async def page_after(after: int) -> list[StoredEvent]:
        return await retry.idempotent(lambda: store.read_all(after, PAGE, stream_id=stream_id))

    while True:
        page = await page_after(events[-1].sequence if events else after_sequence)
        events += page
        if len(page) < PAGE:
            return events


class Watcher:
    def __init__(self, store: EventStore, hub: EventHub, workflows: Workflows) -> None:
        self._store = store
        self._hub = hub
        self._workflows = workflows

    async def watch(self, organization_id: UUID, after_sequence: int) -> AsyncIterator[WatchItem]:
        session = _Session(after_sequence)
        async with self._hub.feed(organization_id) as feed:
            for item in session.advance(await read_stream(self._store, organization_id, 0)):
                yield item
            while True:
                if session.settled:
                    running = await self._running(organization_id)
                    if not running:
                        tail = session.advance(await read_stream(self._store, organization_id, session.last))
                        if not tail:
                            return
                        for item in tail:
                            yield item
                        continue
                    await self._event_or_closure(feed, running)
                else:
                    await feed.wait()
                if feed.take_overflow():
                    events = await read_stream(self._store, organization_id, session.last)
                else:
                    events = feed.drain()
                for item in session.advance(events):
                    yield item

    async def _running(self, organization_id: UUID) -> list[str]:
        """Ids of the organization's workflows still running (none when Temporal cannot tell)."""
        ids = [bootstrap_workflow_id(str(organization_id)), subdomain_workflow_id(str(organization_id))]
        try:
            executions = await asyncio.gather(*(self._workflows.execution(i) for i in ids))
        except Exception as error:
            log.warning("cannot check workflows of %s with Temporal: %s", organization_id, error)
            return []
        return [i for i, execution in zip(ids, executions, strict=True) if execution == Execution.RUNNING]

    async def _event_or_closure(self, feed: Feed, running: list[str]) -> None:
        tasks = [asyncio.create_task(feed.wait())]
        tasks += [asyncio.create_task(self._workflows.wait_closed(i)) for i in running]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [
            r for r in results if isinstance(r, Exception) and not isinstance(r, asyncio.CancelledError)
        ]
        if failures:
            log.warning("waiting for a workflow to close failed: %s", failures[0])
            await asyncio.sleep(FAILURE_BACKOFF)  # do not spin on a Temporal that keeps failing
