"""`python -m bench` (make bench): everything measured in one run, side by side, on this machine.

Writes bench/results/latest.json (or --out) and prints the markdown table. `--smoke` runs tiny sizes
(the test suite's smoke test): it checks that every part works, and its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.eventstore import DatabaseFactory, database_server
from a4c.eventstore import EventStore
from bench import cpu, eventstore, hop, procfs, traces
from bench.memory import MemorySampler
from bench.metrics_overhead import metrics_overhead
from bench.report import machine, progress, table, write_json
from bench.results_table import rows
from bench.seed import seed_profile
from bench.stack import TOKEN, Stack
from bench.workflows import CompletionWatcher, floor_bootstrap, measure, system_bootstrap

FULL = {
    "warmup": 3,
    "sequential": 30,
    "count_50": 200,
    "count_200": 200,
    "hop_calls": 100,
    "append_events": 9_000,
    "small_orgs": 1_000,
    "large_orgs": 100_000,
    "events_per_org": 10,
    "read_samples": 500,
    "seed_runs": 2,
    "seed_scale": 1.0,
    "idle_seconds": 3,
    "metrics_calls": 4_000,
    "traces_count": 200,
}
SMOKE = {
    "warmup": 1,
    "sequential": 2,
    "count_50": 3,
    "count_200": 3,
    "hop_calls": 3,
    "append_events": 288,
    "small_orgs": 100,
    "large_orgs": 1_000,
    "events_per_org": 10,
    "read_samples": 10,
    "seed_runs": 1,
    "seed_scale": 0.05,
    "idle_seconds": 0.5,
    "metrics_calls": 100,
    "traces_count": 3,
}
DEFAULT_OUT = Path(__file__).parent / "results" / "latest.json"


async def postmaster_pid(url: str) -> int | None:
    """The server's postmaster: the parent of our backend, read while the backend lives (only when
    the server runs on this host)."""
    conn = await asyncpg.connect(url)
    try:
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        with contextlib.suppress(OSError):
            return procfs.ppid(backend)
        return None
    finally:
        await conn.close()


async def workflow_benchmarks(stack: Stack, sizes: dict[str, Any], sampler: MemorySampler) -> dict[str, Any]:
    with sampler.window("idle"):
        await asyncio.sleep(sizes["idle_seconds"])  # a quiet spell: idle is a duration, not an event
    async with (
        await EventStore.connect(stack.database_url, max_size=2) as store,
        CompletionWatcher.running(store) as watcher,
        open_channel(stack.addresses["provisioning"], token=TOKEN) as channel,
    ):
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
        sides = {
            "floor": floor_bootstrap(stack.client, stack.floor_wiring),
            "system": system_bootstrap(stub, watcher),
        }
        measured = await measure(sides, sizes, window=sampler.window)
        dns = await hop.dns_hop(stack, sizes["hop_calls"])
        identity = await hop.identity_hop(stack, sizes["hop_calls"])
        progress(f"hop: dns {dns['ratio_p50']}x, identity {identity['ratio_p50']}x at p50")
        seed = await seed_profile(stack, watcher, sizes["seed_runs"], sizes["seed_scale"])
    return {
        "floor": measured["floor"],
        "system": measured["system"],
        "hop": {"dns_create_record": dns, "identity_create_organization": identity},
        "seed_profile": seed,
        "memory_mb": {
            "idle": sampler.peaks_mb("idle"),
            "floor_200": sampler.peaks_mb("floor_200"),
            "system_200": sampler.peaks_mb("system_200"),
        },
        "cpu_seconds": {label: sampler.cpu_seconds(label) for label in ("floor_200", "system_200")},
    }


def cpu_accounting(results: dict[str, Any], sizes: dict[str, Any]) -> dict[str, Any]:
    per = cpu.per_bootstrap(results["cpu_seconds"], sizes["count_200"], os.cpu_count() or 1)
    progress(f"CPU ms per bootstrap: ours {per['ours_ms']} vs floor worker {per['floor_worker_ms']}")
    return per


async def main(sizes: dict[str, Any], out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "sizes": sizes, "load_average_before": os.getloadavg()}
    with database_server() as server_url, tempfile.TemporaryDirectory(prefix="a4c-bench-") as workdir:
        databases = DatabaseFactory(server_url, prefix="a4c_bench")
        try:
            url = await databases.create()
            async with Stack.start(url, Path(workdir)) as stack:
                sampler = MemorySampler(stack.pids, await postmaster_pid(url))
                async with sampler:
                    results.update(await workflow_benchmarks(stack, sizes, sampler))
                    results["cpu_per_bootstrap"] = cpu_accounting(results, sizes)
            overhead = await metrics_overhead(sizes["metrics_calls"])
            progress(f"metrics: {overhead['per_call_overhead_ms']} ms per gRPC call")
            results["metrics_overhead"] = overhead
            results["traces_overhead"] = await traces.overhead(url, Path(workdir), sizes)
            appends = await eventstore.appends(databases, sizes["append_events"])
            progress(f"appends: {appends}")
            results["eventstore"] = {
                "appends": appends,
                "reads": await eventstore.reads(
                    databases,
                    sizes["small_orgs"],
                    sizes["large_orgs"],
                    sizes["events_per_org"],
                    sizes["read_samples"],
                ),
            }
        finally:
            await databases.drop_all()
    results["seconds"] = round(time.perf_counter() - started, 1)
    # Other work on the machine skews every figure: a 1-minute load above nproc says it was busy.
    results["load_average_after"] = os.getloadavg()
    results["rows"] = rows(results)
    write_json(out, results)
    return results


async def traces_only(sizes: dict[str, Any]) -> dict[str, Any]:
    with database_server() as server_url, tempfile.TemporaryDirectory(prefix="a4c-bench-") as workdir:
        databases = DatabaseFactory(server_url, prefix="a4c_bench")
        try:
            return await traces.overhead(await databases.create(), Path(workdir), sizes)
        finally:
            await databases.drop_all()


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: it works; times mean nothing")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    parser.add_argument(
        "--traces-only", action="store_true", help="only tracing's overhead (off vs on); prints its JSON"
    )
    args = parser.parse_args()
    if args.traces_only:
        print(json.dumps(asyncio.run(traces_only(SMOKE if args.smoke else FULL)), indent=2))
        return
    results = asyncio.run(main(SMOKE if args.smoke else FULL, args.out))
    m = results["machine"]
    print(f"\nA4C benchmarks — {m['nproc']} x {m['cpu']}, {m['memory_gb']} GB, {results['seconds']} s\n")
    print(table(results))
    print(f"\nresults: {args.out}")
