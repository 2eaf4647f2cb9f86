"""`python -m a4c.worker`: run the Temporal worker until SIGTERM, letting activities finish."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from temporalio.client import Client

from a4c.common.config import SettingsError
from a4c.common.logging import configure_logging
from a4c.common.main import REFUSED_EXIT, RefusedToStart, parse_args
from a4c.common.metrics import MetricsListener
from a4c.common.tracing import Tracing
from a4c.eventstore import EventStore, NotFound, SchemaMismatch
from a4c.worker.config import SETTINGS, Settings
from a4c.worker.health import WorkerHealth
from a4c.worker.runner import Upstreams, build_worker
from a4c.worker.schedule import ScheduleSettings, ensure_schedule
from a4c.worker.telemetry import worker_metrics
from a4c.workflows.telemetry import core_runtime, temporal_interceptors

DESCRIPTION = "A4C worker: runs the bootstrap, subdomain and drift reconciler workflows and their activities."
log = logging.getLogger("a4c.worker")


async def run(settings: Settings) -> None:
    tracing = Tracing.start(settings.tracing)
    # Core's logs are forwarded into ours on either Runtime (a4c.workflows.telemetry.core_logging).
    metrics, runtime = worker_metrics() if settings.metrics_port is not None else (None, core_runtime())
    # The SDK's environment configuration (TLS, API key, profiles) and the payload codec, if keyed;
    # the tracing interceptor on the client is the worker's too (workflow runs and activities).
    try:
        store = await EventStore.connect(settings.database_url)  # checks the schema is this release's
    except SchemaMismatch as exc:
        raise RefusedToStart(str(exc)) from None
    client = await settings.temporal.connect(
        interceptors=temporal_interceptors(tracing.provider), runtime=runtime
    )
    base_domain = await _base_domain(settings, store)
    upstreams = Upstreams.open(
        settings.dns_address,
        settings.identity_address,
        settings.service_token,
        settings.service_tls_ca_file,
        tls_cert_file=settings.service_tls_cert_file,
        tls_key_file=settings.service_tls_key_file,
        metrics=metrics,
        tracing=tracing,
    )
    health = WorkerHealth(client, settings.health_port, host=settings.health_host)
    worker = build_worker(
        client,
        settings.task_queue,
        upstreams,
        store,
        policy=settings.policy(base_domain),
        queues=settings.queues,
        rates=settings.queue_rates,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_seconds=settings.shutdown_grace_seconds,
        reconcile=settings.reconcile,
        sticky_timeout_seconds=settings.sticky_timeout_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    listener = None
    if metrics is not None and settings.metrics_port is not None:
        listener = MetricsListener(metrics, settings.health_host, settings.metrics_port)
        await listener.start()
    await health.start()
    await _ensure_reconcile_schedule(client, settings)
    try:
        async with worker:
            await stop.wait()
    finally:
        await health.stop()
        if listener is not None:
            await listener.stop()
        await upstreams.close()
        await store.close()
        await tracing.shutdown()


async def _ensure_reconcile_schedule(client: Client, settings: Settings) -> None:
    """The reconciler's schedule (a4c.worker.schedule). A failure is logged, not fatal: bootstraps
    matter more than the reconciler, and the next replica to start tries again."""
    interval = settings.reconcile.interval_seconds
    if interval <= 0:
        return
    wanted = ScheduleSettings(interval, settings.reconcile.batches_per_run, settings.task_queue)
    try:
        await ensure_schedule(client, wanted)
    except Exception:
        log.exception("could not create or update the reconcile schedule; the worker runs without it")


async def _base_domain(settings: Settings, store: EventStore) -> str:
    """The zone every workflow is held to: configured, else the environment's from the database."""
    if settings.base_domain is not None:
        return settings.base_domain
    try:
        return await store.get_base_domain(settings.environment)
    except NotFound:
        await store.close()
        raise SettingsError(
            "A4C_ENVIRONMENT",
            f"the database has no base domain for {settings.environment!r}; set A4C_BASE_DOMAIN",
        ) from None


def main() -> None:
    # The worker serves no gRPC API, so the kit's server settings do not apply to it.
    parse_args("python -m a4c.worker", DESCRIPTION, SETTINGS, sys.argv[1:])
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"python -m a4c.worker: config error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.secrets)
    try:
        asyncio.run(run(settings))
    except SettingsError as error:
        print(f"python -m a4c.worker: config error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except RefusedToStart as error:
        # Before the health port binds: its probes never see SERVING (see a4c.common.main).
        print(f"python -m a4c.worker: refusing to start: {error}", file=sys.stderr)
        raise SystemExit(REFUSED_EXIT) from None


if __name__ == "__main__":
    main()
