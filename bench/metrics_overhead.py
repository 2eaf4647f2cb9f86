"""What metrics cost per gRPC call: the same unary call, loopback, with the kit's server and client
metrics interceptors on and off (everything else equal: auth, access log, the servicer).

A bootstrap makes about a dozen such calls plus its upstream attempts (one histogram observation each),
so the per-call figure times that, against a bootstrap's wall time, is the throughput overhead; the
Temporal SDK's own metrics are on in every worker either way (its core records them regardless of the
exporter). `python -m bench.metrics_overhead` prints just this.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.auth import Credential
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings
from a4c.common.metrics import Metrics
from a4c.common.server import ServiceBinding, create_server
from a4c.dns.servicer import SCOPES
from bench.report import Sample, summarize

TOKEN = "bench-metrics-token-0123456789"
WARMUP = 50


class _Dns(dns_pb2_grpc.DnsServiceServicer):
    async def GetRecord(
        self, request: dns_pb2.GetRecordRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> dns_pb2.GetRecordResponse:
        return dns_pb2.GetRecordResponse(record=dns_pb2.Record(id=request.id))


# gRPC calls of one bootstrap, each timed on both sides (provisioning's BootstrapOrganization, the worker's
# three identity calls, CreateRecord and about three CheckPropagation): what one bootstrap pays per call.
CALLS_PER_BOOTSTRAP = 8


@contextlib.asynccontextmanager
async def _stub(metrics: Metrics | None) -> AsyncIterator[dns_pb2_grpc.DnsServiceStub]:
    binding = ServiceBinding(
        "a4c.api.dns.v1.DnsService", dns_pb2_grpc.add_DnsServiceServicer_to_server, _Dns(), scopes=SCOPES
    )
    principals = (Credential.of("worker", ("read", "write"), TOKEN),)
    settings = ServerSettings(host="127.0.0.1", port=0, principals=principals)
    server = create_server(settings, [binding], metrics=metrics)
    await server.start()
    try:
        async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN, metrics=metrics) as channel:
            yield dns_pb2_grpc.DnsServiceStub(channel)
    finally:
        await server.stop(0)


async def _batch(stub: dns_pb2_grpc.DnsServiceStub, count: int, into: list[float]) -> None:
    request = dns_pb2.GetRecordRequest(id="rec")
    for _ in range(count):
        started = time.perf_counter()
        await stub.GetRecord(request, timeout=5)
        into.append(time.perf_counter() - started)


async def metrics_overhead(count: int, rounds: int = 10) -> dict[str, object]:
    """Both servers up at once and small batches alternated (the machine's load drifts between them)."""
    off: list[float] = []
    on: list[float] = []
    async with _stub(None) as bare, _stub(Metrics()) as measured:
        await _batch(bare, WARMUP, [])
        await _batch(measured, WARMUP, [])
        for _ in range(rounds):
            await _batch(bare, count // rounds, off)
            await _batch(measured, count // rounds, on)
    off_ms = float(summarize(Sample(off))["p50_ms"])
    on_ms = float(summarize(Sample(on))["p50_ms"])
    return {
        "calls": len(on),
        "grpc_call_p50_ms_off": off_ms,
        "grpc_call_p50_ms_on": on_ms,
        "per_call_overhead_ms": round(on_ms - off_ms, 3),
        "per_bootstrap_overhead_ms": round(CALLS_PER_BOOTSTRAP * (on_ms - off_ms), 3),
    }


if __name__ == "__main__":
    print(asyncio.run(metrics_overhead(4000)))
