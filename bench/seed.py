"""Bootstraps against a slow Zitadel: how close their latency gets to the latency injected upstream.

The profile is the Zitadel emulator's `seed` rules (SANDBOX_LATENCY_PROFILE=seed) made fixed, each
at its longest (org creation 10 s, grant 2 s, invitation 2 s), set on the running emulator through
its fault endpoint and cleared afterwards. Bootstraps run one at a time, each after the previous
one's subdomain is done, so every delay the sandbox reports in a bootstrap's window is on that
bootstrap's path. The critical-path latency is the union of those delays' intervals (delays that
overlap count once), and the ratio is bootstrap latency / that: what our parts, Temporal and the
network add on top of the upstream's own time. Target <= 1.05.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.sandbox.zitadel.app import seed_latency_rules
from bench.report import progress, ratio
from bench.stack import TOKEN, Stack
from bench.workflows import CompletionWatcher, system_bootstrap


def fixed_rules(scale: float = 1.0) -> list[dict[str, Any]]:
    """The seed rules, each at its longest: fixed, so runs compare, and the worst case for < 30 s.
    `scale` shrinks them (the smoke run: the same path in a fraction of the time)."""
    return [
        {"kind": r.kind, "path": r.path, "method": r.method, "seconds": r.max_seconds * scale}
        for r in seed_latency_rules()
    ]


def covered_seconds(delays: list[dict[str, Any]], start: float, end: float) -> float:
    """The length of the union of the delays' intervals, clipped to [start, end]."""
    spans = sorted((max(start, d["at"]), min(end, d["at"] + d["seconds"])) for d in delays if d["at"] < end)
    total, reach = 0.0, start
    for begin, finish in spans:
        begin = max(begin, reach)
        if finish > begin:
            total += finish - begin
            reach = finish
    return total


async def seed_profile(
    stack: Stack, watcher: CompletionWatcher, runs: int, scale: float = 1.0
) -> dict[str, Any]:
    if runs == 0:
        return {"runs": 0}
    rules = fixed_rules(scale)
    faults = stack.sandbox["faults"]["zitadel"]
    out: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient() as http,
        open_channel(stack.addresses["provisioning"], token=TOKEN) as channel,
    ):
        (await http.post(faults, json={"faults": rules})).raise_for_status()
        try:
            bootstrap = system_bootstrap(provisioning_pb2_grpc.ProvisioningServiceStub(channel), watcher)
            for _ in range(runs):
                started = time.time()
                latency, subdomain = await bootstrap("seed")
                await subdomain()  # nothing of this run is left running into the next
                delays = (await http.get(faults)).raise_for_status().json()["delays"]
                end = started + latency
                mine = [d for d in delays if started <= d["at"] < end]
                injected = covered_seconds(mine, started, end)
                out.append(
                    {
                        "seconds": round(latency, 3),
                        "injected_seconds": round(injected, 3),
                        "ratio": ratio(latency, injected),
                        "delays": [{k: d[k] for k in ("method", "path", "seconds")} for d in mine],
                    }
                )
        finally:
            (await http.delete(faults)).raise_for_status()
    ratios = [r["ratio"] for r in out if r["ratio"] is not None]
    worst = max(ratios) if ratios else None
    progress(f"seed profile: latency / injected = {ratios}")
    return {
        "runs": runs,
        "profile": rules,
        "bootstraps": out,
        "seconds": sorted(r["seconds"] for r in out),
        "max_seconds": max(r["seconds"] for r in out),
        "max_ratio": worst,
    }
