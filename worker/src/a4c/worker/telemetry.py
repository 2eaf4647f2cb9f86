"""The worker's one metrics port: the Temporal SDK's Prometheus endpoint merged into ours.

The SDK's metrics (task slots, schedule-to-start latencies, poll and task failures, and our domain
metrics recorded through its meter, a4c.worker.domain_metrics) come from its Rust core, which serves
them itself on ``PrometheusConfig.bind_address``. Our Python registry holds the gRPC client metrics of
the calls to dns/identity. Rather than two ports per pod (two scrape endpoints, two NetworkPolicy
holes), the core binds to a loopback port only and our listener appends that scrape to its own: one
``GET /metrics`` on A4C_METRICS_PORT has both. The two sets share no metric name (``temporal_*`` and
``a4c_*`` versus ``rpc_*``), so the concatenation is a valid exposition.
"""

from __future__ import annotations

import asyncio
import socket

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from a4c.common.metrics import Metrics
from a4c.worker.domain_metrics import DURATION_BUCKETS, initialize
from a4c.workflows.telemetry import core_logging

LOOPBACK = "127.0.0.1"


def free_loopback_port() -> int:
    """A port for the core's endpoint. The core binds it a moment later: a race with another process
    taking it in between is possible but harmless (the worker then fails to start, loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def sdk_runtime(port: int) -> Runtime:
    """A Runtime whose core serves Prometheus on loopback ``port``, with conventional names: counters
    end in ``_total``, durations are seconds (``_seconds``), our histograms get second buckets."""
    config = PrometheusConfig(
        bind_address=f"{LOOPBACK}:{port}",
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides={name: list(b) for name, b in DURATION_BUCKETS.items()},
    )
    # Core's logs are forwarded into ours on this Runtime too (a process has one per client).
    return Runtime(telemetry=TelemetryConfig(metrics=config, logging=core_logging()))


async def scrape_sdk(port: int) -> bytes:
    """One plain HTTP/1.0 GET of the core's endpoint (loopback: no client library needed)."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(f"GET /metrics HTTP/1.0\r\nhost: {LOOPBACK}\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
        raise ConnectionError(f"SDK metrics endpoint answered {head.splitlines()[:1]!r}")
    return body


def worker_metrics() -> tuple[Metrics, Runtime]:
    """Our registry with the SDK's endpoint appended, and the Runtime to connect the client with."""
    port = free_loopback_port()
    metrics = Metrics()

    async def sdk() -> bytes:
        return await scrape_sdk(port)

    metrics.add_source(sdk)
    runtime = sdk_runtime(port)
    initialize(runtime.metric_meter)
    return metrics, runtime
