"""Worker wiring: channels, stubs, activities and workflows on one Temporal worker per task queue.

One process serves the main queue (workflows and their local activities) and the upstream queues
(a4c.workflows.queues), or the subset it is configured for: a Temporal `Worker` per queue, each upstream
one with the queue's server-side rate limit. Everything is built from arguments (no module globals),
so tests start the same workers against a dev server, real services on port 0 and a real database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

import grpc
from temporalio.client import Client
from temporalio.worker import Worker

from a4c.api.dns.v1 import dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.metrics import Metrics
from a4c.common.tracing import Tracing
from a4c.eventstore import EventStore
from a4c.worker.activities import DnsActivities, EventActivities, IdentityActivities
from a4c.worker.bootstrap import BootstrapOrganizationWorkflow
from a4c.worker.drift import RecordPolicy
from a4c.worker.offboarding import OffboardOrganizationWorkflow
from a4c.worker.offboarding_activities import OffboardingActivities
from a4c.worker.policy import PolicyActivities, StoredHolders, StoredNames, WorkerPolicy
from a4c.worker.reconcile import ReconcileOrganizationsWorkflow
from a4c.worker.reconcile_activities import ReconcileActivities, ReconcilePolicy
from a4c.worker.reconcile_settings import ReconcileSettings
from a4c.worker.subdomain import ProvisionSubdomainWorkflow
from a4c.workflows.queues import DEFAULT_RATES, Queue, served_by, task_queue

WORKFLOWS: Sequence[type] = (
    BootstrapOrganizationWorkflow,
    ProvisionSubdomainWorkflow,
    OffboardOrganizationWorkflow,
    ReconcileOrganizationsWorkflow,
)


@dataclass
class Upstreams:
    """The gRPC channels activities call through; close them when the worker stops."""

    dns: grpc.aio.Channel
    identity: grpc.aio.Channel

    @classmethod
    def open(
        cls,
        dns_address: str,
        identity_address: str,
        token: str | None,
        tls_ca_file: str | None = None,
        *,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> Upstreams:
        """Channels to both services; a CA turns TLS on, a certificate and key add mTLS; ``metrics``
        records every call's duration; ``tracing`` makes each call a client span whose context
        travels in the call's metadata."""
        tls = {"tls_ca_file": tls_ca_file, "tls_cert_file": tls_cert_file, "tls_key_file": tls_key_file}
        return cls(
            dns=open_channel(dns_address, token=token, metrics=metrics, tracing=tracing, **tls),
            identity=open_channel(identity_address, token=token, metrics=metrics, tracing=tracing, **tls),
        )

    async def close(self) -> None:
        await self.dns.close()
        await self.identity.close()


def reconcile_policy(policy: WorkerPolicy, settings: ReconcileSettings) -> ReconcilePolicy:
    """The reconciler holds records to the same zone, target and proxying as the workflows."""
    return ReconcilePolicy(
        RecordPolicy(policy.zone, policy.target, policy.proxied),
        auto_repair=settings.auto_repair,
        delete_orphans=settings.delete_orphans,
        batch_size=settings.batch_size,
        orphan_min_age_seconds=settings.orphan_min_age_seconds,
    )


def activities(
    upstreams: Upstreams,
    store: EventStore,
    policy: WorkerPolicy,
    client: Client | None = None,
    reconcile: ReconcileSettings | None = None,
) -> list[Any]:
    """``client``: the worker's Temporal client (offboarding stops a subdomain workflow through it)."""
    checks = PolicyActivities(policy, StoredNames(store), StoredHolders(store))
    events = EventActivities(store)
    identity_stub = identity_pb2_grpc.IdentityServiceStub(upstreams.identity)
    dns_stub = dns_pb2_grpc.DnsServiceStub(upstreams.dns)
    identity = IdentityActivities(identity_stub, store)
    dns = DnsActivities(dns_stub, store)
    offboarding = OffboardingActivities(client, dns_stub, identity_stub, store)
    drift = ReconcileActivities(
        dns_stub, identity_stub, store, reconcile_policy(policy, reconcile or ReconcileSettings())
    )
    return [
        checks.check_bootstrap,
        checks.check_subdomain,
        checks.check_offboarding,
        events.record_event,
        identity.create_identity_organization,
        identity.grant_admin_role,
        identity.send_invitation,
        identity.send_admin_invitation,
        identity.delete_identity_organization,
        dns.create_dns_record,
        dns.check_propagation,
        dns.remove_dns_record,
        offboarding.stop_subdomain_workflow,
        offboarding.remove_owned_dns_records,
        offboarding.deactivate_identity_organization,
        offboarding.reactivate_identity_organization,
        offboarding.delete_identity_organization,
        drift.reconcile_batch,
        drift.reconcile_orphans,
    ]


@dataclass
class QueueWorkers:
    """The Temporal workers of one process, one per served queue; `async with` runs them all."""

    workers: dict[Queue, Worker]
    _running: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def task_queues(self) -> dict[Queue, str]:
        return {queue: worker.task_queue for queue, worker in self.workers.items()}

    async def __aenter__(self) -> QueueWorkers:
        async with contextlib.AsyncExitStack() as starting:
            for worker in self.workers.values():
                await starting.enter_async_context(worker)
            self._running = starting.pop_all()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._running.aclose()


def queue_workers(
    client: Client,
    main_queue: str,
    *,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]],
    queues: Collection[Queue] = tuple(Queue),
    rates: Mapping[Queue, float | None] = DEFAULT_RATES,
    max_concurrent_activities: int = 100,
    max_concurrent_workflow_tasks: int = 100,
    **options: Any,
) -> QueueWorkers:
    """A worker per queue in `queues` for workflows on `main_queue`; `rates` (activities per second,
    None: no limit) become each upstream queue's server-side limit. `options` go to every Worker."""
    workers: dict[Queue, Worker] = {}
    for queue in Queue:
        if queue not in queues:
            continue
        own = served_by(activities, queue)
        if queue is Queue.MAIN:
            workers[queue] = Worker(
                client,
                task_queue=main_queue,
                workflows=list(workflows),
                activities=own,
                max_concurrent_activities=max_concurrent_activities,
                max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
                **options,
            )
        elif own:
            workers[queue] = Worker(
                client,
                task_queue=task_queue(main_queue, queue),
                activities=own,
                max_concurrent_activities=max_concurrent_activities,
                max_task_queue_activities_per_second=rates.get(queue),
                **options,
            )
    return QueueWorkers(workers)


def build_worker(
    client: Client,
    task_queue: str,
    upstreams: Upstreams,
    store: EventStore,
    *,
    policy: WorkerPolicy,
    queues: Collection[Queue] = tuple(Queue),
    rates: Mapping[Queue, float | None] = DEFAULT_RATES,
    max_concurrent_activities: int = 100,
    max_concurrent_workflow_tasks: int = 100,
    graceful_shutdown_seconds: float = 30.0,
    sticky_timeout_seconds: float = 2.0,
    reconcile: ReconcileSettings | None = None,
) -> QueueWorkers:
    return queue_workers(
        client,
        task_queue,
        workflows=WORKFLOWS,
        activities=activities(upstreams, store, policy, client, reconcile),
        queues=queues,
        rates=rates,
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=graceful_shutdown_seconds),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout_seconds),
    )
