"""Tracing's cost on bootstrap throughput: the same concurrent phase on a stack with traces off, then on.

Each side is a fresh stack (its own Temporal dev server and processes) on the same database; with traces
on, every part batches its spans to a JSON-lines file (A4C_TRACES=file), which costs what an OTLP
exporter does minus the network: creating, recording and serialising every span. Sides run one after
the other, so a shared machine's noise can favour either; the span count shows traces were really on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.eventstore import EventStore
from bench.report import Sample, progress, summarize
from bench.stack import TOKEN, Stack
from bench.workflows import CompletionWatcher, run_phase, system_bootstrap


async def _side(
    database_url: str, workdir: Path, traces: Path | None, sizes: dict[str, Any]
) -> dict[str, Any]:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    async with (
        Stack.start(database_url, workdir, traces_file=traces) as stack,
        await EventStore.connect(database_url, max_size=2) as store,
        CompletionWatcher.running(store) as watcher,
        open_channel(stack.addresses["provisioning"], token=TOKEN) as channel,
    ):
        bootstrap = system_bootstrap(provisioning_pb2_grpc.ProvisioningServiceStub(channel), watcher)
        label = "on" if traces else "off"
        await run_phase(bootstrap, f"tr{label}-w", sizes["warmup"], 1)
        phase = await run_phase(bootstrap, f"tr{label}-c", sizes["traces_count"], 50)
    return {
        "bootstraps": len(phase.latencies),
        "per_second": round(phase.per_second, 2),
        "latency": summarize(Sample(phase.latencies)),
    }


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open() as spans:
        return sum(1 for _ in spans)


async def overhead(database_url: str, workdir: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    off = await _side(database_url, workdir / "traces-off", None, sizes)
    spans_file = workdir / "traces-on" / "traces.jsonl"
    on = await _side(database_url, workdir / "traces-on", spans_file, sizes)
    spans = await asyncio.to_thread(_lines, spans_file)
    slower = round((1 - on["per_second"] / off["per_second"]) * 100, 1) if off["per_second"] else None
    progress(f"traces: {off['per_second']}/s off, {on['per_second']}/s on ({slower}% slower), {spans} spans")
    return {"off": off, "on": on, "spans": spans, "throughput_loss_pct": slower}
