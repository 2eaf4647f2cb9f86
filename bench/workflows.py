"""Bootstrap latency and throughput: the floor (no-op activities) and the system (provisioning API).

Latency is start call → bootstrap completed: for the system, the `organization.bootstrap.completed`
event as one subscription to the event store sees it; for the floor, which writes no events, the
workflow's result (the workflow ends in the same task that would have appended that event).
Between phases every subdomain child is left to finish, so one phase's tail does not load the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from temporalio.client import Client

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.devstack.temporal import start_bootstrap
from a4c.devstack.wiring import Wiring
from a4c.eventstore import EventStore, EventType
from a4c.workflows.models import subdomain_workflow_id
from bench.report import Sample, progress, summarize

DRAIN_TIMEOUT = 120.0

# One bootstrap: returns (latency seconds, a coroutine that waits until its subdomain is done).
Bootstrap = Callable[[str], Awaitable[tuple[float, Callable[[], Awaitable[object]]]]]


def new_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class CompletionWatcher:
    """One subscription to the whole log; hands each organization's completion time to its waiter."""

    # event type → what it ends: a failed bootstrap ends its wait too (and is reported as an error).
    WATCHED = {
        EventType.BOOTSTRAP_COMPLETED.value: "completed",
        EventType.BOOTSTRAP_FAILED.value: "completed",
        EventType.SUBDOMAIN_VERIFIED.value: "subdomain",
        EventType.SUBDOMAIN_VERIFICATION_FAILED.value: "subdomain",
    }

    def __init__(self) -> None:
        self._futures: dict[tuple[UUID, str], asyncio.Future[tuple[float, str]]] = {}
        self.failures: dict[UUID, object] = {}  # a failed bootstrap's event data: what to report

    def wait(self, organization_id: UUID, kind: str) -> asyncio.Future[tuple[float, str]]:
        key = (organization_id, kind)
        if key not in self._futures:
            self._futures[key] = asyncio.get_running_loop().create_future()
        return self._futures[key]

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, store: EventStore) -> AsyncIterator[CompletionWatcher]:
        watcher = cls()
        start = await store.last_sequence()
        task = asyncio.create_task(watcher._follow(store, start))
        try:
            yield watcher
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, store: EventStore, after: int) -> None:
        async with store.subscribe(after) as events:
            async for event in events:
                kind = self.WATCHED.get(str(event.event_type))
                if kind is None:
                    continue
                if str(event.event_type) == EventType.BOOTSTRAP_FAILED.value:
                    self.failures[event.stream_id] = event.data
                future = self.wait(event.stream_id, kind)
                if not future.done():
                    future.set_result((time.perf_counter(), str(event.event_type)))


def system_bootstrap(
    stub: provisioning_pb2_grpc.ProvisioningServiceAsyncStub, watcher: CompletionWatcher
) -> Bootstrap:
    async def run(prefix: str) -> tuple[float, Callable[[], Awaitable[object]]]:
        slug = new_slug(prefix)
        request = pb.BootstrapOrganizationRequest(
            name=f"Bench {slug}",
            slug=slug,
            admin=pb.Admin(email=f"ada@{slug}.example", given_name="Ada", family_name="Lovelace"),
            request_id=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        reply = await stub.BootstrapOrganization(request, timeout=60)
        org = UUID(reply.organization_id)
        finished, event_type = await watcher.wait(org, "completed")
        if event_type != EventType.BOOTSTRAP_COMPLETED.value:
            raise RuntimeError(f"bootstrap {slug} ended with {event_type}: {watcher.failures.get(org)}")
        return finished - started, lambda: watcher.wait(org, "subdomain")

    return run


def floor_bootstrap(client: Client, wiring: Wiring) -> Bootstrap:
    """The workflow the provisioning service would start, with the same wiring, but started directly."""

    async def run(prefix: str) -> tuple[float, Callable[[], Awaitable[object]]]:
        slug = new_slug(prefix)
        request = wiring.bootstrap_input(slug, name=f"Bench {slug}")
        started = time.perf_counter()
        handle = await start_bootstrap(client, wiring.task_queue or "", request)
        await handle.result()
        elapsed = time.perf_counter() - started
        child = client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
        return elapsed, child.result

    return run


@dataclass
class Phase:
    latencies: list[float]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def run_phase(bootstrap: Bootstrap, prefix: str, count: int, concurrency: int) -> Phase:
    """`count` bootstraps, at most `concurrency` at a time; then waits for their subdomains."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> tuple[float, Callable[[], Awaitable[object]]]:
        async with gate:
            return await bootstrap(prefix)

    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(count)))
    seconds = time.perf_counter() - started
    async with asyncio.timeout(DRAIN_TIMEOUT):
        await asyncio.gather(*(drain() for _, drain in results))
    return Phase([latency for latency, _ in results], seconds)


async def measure(
    sides: dict[str, Bootstrap],
    sizes: dict[str, int],
    window: Callable[[str], contextlib.AbstractContextManager[object]] | None = None,
) -> dict[str, dict[str, object]]:
    """Warm-up, sequential latency, then throughput at 50 and 200 concurrent, for each side.

    The sides take turns phase by phase (floor, system, floor, system, ...), so a neighbour's load
    on a shared machine lands on both rather than on one. `window(label)` brackets each concurrent
    phase (the sampler's peak memory and CPU windows, labelled `<side>_<concurrency>`).
    """
    for name, bootstrap in sides.items():
        await run_phase(bootstrap, f"{name}-w", sizes["warmup"], 1)
    results: dict[str, dict[str, object]] = {name: {} for name in sides}
    for name, bootstrap in sides.items():
        sequential = await run_phase(bootstrap, f"{name}-s", sizes["sequential"], 1)
        results[name]["sequential"] = summarize(Sample(sequential.latencies))
        progress(f"{name} sequential: {results[name]['sequential']}")
    for concurrency in (50, 200):
        for name, bootstrap in sides.items():
            with window(f"{name}_{concurrency}") if window else contextlib.nullcontext():
                phase = await run_phase(bootstrap, f"{name}-c", sizes[f"count_{concurrency}"], concurrency)
            results[name][f"concurrent_{concurrency}"] = {
                "bootstraps": len(phase.latencies),
                "seconds": round(phase.seconds, 3),
                "per_second": round(phase.per_second, 2),
                "latency": summarize(Sample(phase.latencies)),
            }
            progress(f"{name} {concurrency} concurrent: {phase.per_second:.2f}/s")
    return results
