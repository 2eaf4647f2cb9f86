"""What metrics cost per gRPC call: the same unary call, loopback, with the kit's server and client
metrics interceptors on and off (everything else equal: auth, access log, the servicer).

A bootstrap makes about a dozen such calls plus its upstream attempts (one histogram observation each),
so the per-call figure times that, against a bootstrap's wall time, is the throughput overhead; the
Temporal SDK's own metrics are on in every worker either way (its core records them regardless of the
exporter). `python -m bench.metrics_overhead` prints just this.
"""

from __future__ import annotations

import asyncio
import time
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


async def _calls(metrics: Metrics | None, count: int) -> Sample:
    binding = ServiceBinding(
        "a4c.api.dns.v1.DnsService", dns_pb2_grpc.add_DnsServiceServicer_to_server, _Dns(), scopes=SCOPES
    )
    principals = (Credential.of("worker", ("read", "write"), TOKEN),)
    settings = ServerSettings(host="127.0.0.1", port=0, principals=principals)
    server = create_server(settings, [binding], metrics=metrics)
    await server.start()
    try:
        async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN, metrics=metrics) as channel:
            stub = dns_pb2_grpc.DnsServiceStub(channel)
            request = dns_pb2.GetRecordRequest(id="rec")
            for _ in range(WARMUP):
                await stub.GetRecord(request, timeout=5)
            values = []
            for _ in range(count):
                started = time.perf_counter()
                await stub.GetRecord(request, timeout=5)
                values.append(time.perf_counter() - started)
    finally:
        await server.stop(0)
    return Sample(values)


async def metrics_overhead(count: int, rounds: int = 3) -> dict[str, object]:
    """Alternating off/on rounds (the machine's load drifts); medians of the per-round p50s."""
    off: list[float] = []
    on: list[float] = []
    for _ in range(rounds):
        off.append(float(summarize(await _calls(None, count))["p50_ms"]))
        on.append(float(summarize(await _calls(Metrics(), count))["p50_ms"]))
    off_ms, on_ms = sorted(off)[rounds // 2], sorted(on)[rounds // 2]
    return {
        "calls_per_round": count,
        "rounds": rounds,
        "grpc_call_p50_ms_off": off_ms,
        "grpc_call_p50_ms_on": on_ms,
        "per_call_overhead_ms": round(on_ms - off_ms, 3),
        "per_call_overhead_pct": round(100 * (on_ms - off_ms) / off_ms, 1),
    }


if __name__ == "__main__":
    print(asyncio.run(metrics_overhead(2000)))
