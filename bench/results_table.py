"""The table's rows from the results: each target next to what it is compared with."""

from __future__ import annotations

from typing import Any

from bench.cpu import OURS, SERVER, STAND_INS
from bench.report import row

SERVICES = ("dns", "identity", "provisioning")


def _ms(summary: dict[str, Any], key: str = "p50_ms") -> float | None:
    value = summary.get(key)
    return None if value is None else float(value)


def _bootstrap_rows(floor: dict[str, Any], system: dict[str, Any]) -> list[dict[str, Any]]:
    fs, ss = floor["sequential"], system["sequential"]
    out = [
        row("bootstrap p50, sequential (ms): floor → system", _ms(fs), _ms(ss), target="<= 1.3x", limit=1.3),
        row("bootstrap p95, sequential (ms): floor → system", _ms(fs, "p95_ms"), _ms(ss, "p95_ms")),
    ]
    for concurrency in (50, 200):
        f, s = floor[f"concurrent_{concurrency}"], system[f"concurrent_{concurrency}"]
        what = f"bootstraps/s, {concurrency} concurrent: floor → system"
        if concurrency == 200:
            out.append(
                row(what, f["per_second"], s["per_second"], target=">= 0.8x", limit=0.8, at_most=False)
            )
        else:
            out.append(row(what, f["per_second"], s["per_second"]))
        out.append(
            row(
                f"bootstrap p50 at {concurrency} concurrent (ms): floor → system",
                _ms(f["latency"]),
                _ms(s["latency"]),
            )
        )
    return out


def _hop_rows(hop: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    calls = {
        "dns_create_record": "DNS CreateRecord",
        "identity_create_organization": "identity CreateOrganization",
    }
    for name, label in calls.items():
        direct, service = hop[name]["direct"], hop[name]["service"]
        what = f"{label} (ms): httpx → gRPC service"
        out.append(row(f"{what}, p50", _ms(direct), _ms(service), target="<= 1.5x", limit=1.5))
        out.append(row(f"{what}, p95", _ms(direct, "p95_ms"), _ms(service, "p95_ms")))
    return out


def _eventstore_rows(store: dict[str, Any]) -> list[dict[str, Any]]:
    appends, reads = store["appends"], store["reads"]
    out = [
        row(
            "events appended/s: bare insert → a4c.eventstore with projection",
            appends["bare_insert_per_second"],
            appends["with_projection_per_second"],
            target=">= 0.5x",
            limit=0.5,
            at_most=False,
        )
    ]
    small, large = reads["small"], reads["large"]
    sizes = f"{small['events']:,} → {large['events']:,} events"
    for name in small["reads"]:
        out.append(
            row(
                f"{name} p50 (ms), {sizes}",
                _ms(small["reads"][name]),
                _ms(large["reads"][name]),
                target="<= 1.5x",
                limit=1.5,
            )
        )
    return out


def _memory_rows(memory: dict[str, Any]) -> list[dict[str, Any]]:
    idle, busy = memory["idle"], memory["system_200"]
    out = []
    for name in sorted(set(idle) | set(busy)):
        what = f"peak RSS {name} (MB): idle → 200 concurrent"
        before, during = idle.get(name), busy.get(name)
        if name in SERVICES:
            out.append(
                row(what, before, during, ratio_of=False, target="idle <= 100 MB", limit=100.0, check=before)
            )
        elif name == "worker":
            out.append(
                row(what, before, during, ratio_of=False, target="busy <= 250 MB", limit=250.0, check=during)
            )
        else:
            out.append(row(what, before, during, ratio_of=False))
    return out


def _cpu_rows(cpu: dict[str, Any]) -> list[dict[str, Any]]:
    """CPU ms per bootstrap at 200 concurrent: each of ours next to the floor worker's, the sum with
    its target, then what the stand-ins and the Temporal server cost and the throughput CPU predicts."""
    floor, system, floor_worker = cpu["floor"], cpu["system"], cpu["floor_worker_ms"]
    out = [
        row(f"CPU ms per bootstrap at 200 concurrent: floor worker → {name}", floor_worker, system.get(name))
        for name in OURS
    ]
    out.append(
        row(
            "CPU ms per bootstrap at 200 concurrent: floor worker → ours (" + " + ".join(OURS) + ")",
            floor_worker,
            cpu["ours_ms"],
            target="<= 1.5x",
            limit=1.5,
        )
    )
    for name in (*STAND_INS, SERVER):
        out.append(
            row(
                f"CPU ms per bootstrap at 200 concurrent, {name}: floor → system",
                floor.get(name),
                system.get(name),
            )
        )
    out.append(
        row(
            "CPU ms per bootstrap at 200 concurrent, every process: floor → system",
            cpu["all_ms"]["floor"],
            cpu["all_ms"]["system"],
        )
    )
    out.append(
        row(
            "throughput ratio CPU predicts at 200 concurrent: all → stand-ins as cheap as the floor's",
            cpu["cpu_bound_throughput_ratio"],
            cpu["cpu_bound_throughput_ratio_without_stand_ins"],
            ratio_of=False,
        )
    )
    share = cpu["machine_busy_share"]
    out.append(
        row("machine CPU busy at 200 concurrent (share of all cores, anyone's): floor → system",
            share["floor"], share["system"], ratio_of=False)
    )  # fmt: skip
    return out


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = _bootstrap_rows(results["floor"], results["system"])
    out += _hop_rows(results["hop"])
    out += _eventstore_rows(results["eventstore"])
    out += _memory_rows(results["memory_mb"])
    out += _cpu_rows(results["cpu_per_bootstrap"])
    out += _metrics_rows(results.get("metrics_overhead"), results["system"]["sequential"])
    tracing = results.get("traces_overhead")
    if tracing:
        out.append(
            row(
                "bootstraps/s, 50 concurrent: traces off → on",
                tracing["off"]["per_second"],
                tracing["on"]["per_second"],
                target=">= 0.95x",
                limit=0.95,
                at_most=False,
            )
        )
    seed = results["seed_profile"]
    if seed.get("runs"):
        out.append(
            row(
                f"bootstrap with seed latencies (s), max of {seed['runs']}",
                None,
                seed["max_seconds"],
                ratio_of=False,
                target="< 30 s",
                limit=30.0,
                check=seed["max_seconds"],
            )
        )
        out.append(
            row(
                f"seed latencies: bootstrap latency / injected latency on its path, worst of {seed['runs']}",
                None,
                seed["max_ratio"],
                ratio_of=False,
                target="<= 1.05",
                limit=1.05,
                check=seed["max_ratio"],
            )
        )
    return out


def _metrics_rows(overhead: dict[str, Any] | None, sequential: dict[str, Any]) -> list[dict[str, Any]]:
    """Metrics on vs off: one gRPC call's p50, and that difference times a bootstrap's calls against a
    sequential bootstrap's p50 (the throughput overhead; target <= 5 %)."""
    if not overhead:
        return []
    off, on = overhead["grpc_call_p50_ms_off"], overhead["grpc_call_p50_ms_on"]
    bootstrap_ms = _ms(sequential)
    share = round(100 * overhead["per_bootstrap_overhead_ms"] / bootstrap_ms, 3) if bootstrap_ms else None
    return [
        row("gRPC call p50 (ms): metrics off → on", off, on),
        row(
            "metrics overhead per bootstrap (% of sequential p50)",
            None,
            share,
            ratio_of=False,
            target="<= 5 %",
            limit=5.0,
            check=share,
        ),
    ]
