"""CPU-seconds per bootstrap, per process, from the sampler's 200-concurrent windows.

CPU time (utime + stime from /proc) counts only what each process itself ran, so unlike wall-clock
ratios it holds up when other work shares the machine. "Ours" is what ships: worker, DNS,
identity, provisioning and PostgreSQL (the event store); the floor worker runs the same workflows
with no-op activities, so it is the SDK's share that ours is measured against. The stand-ins
(the sandbox's emulators and the load driver) and the Temporal dev server are accounted for apart:
on a CPU-bound machine the throughput ratio follows the ratio of all processes' CPU per bootstrap,
so these figures say how much of a missed throughput target is ours.
"""

from __future__ import annotations

from typing import Any

OURS = ("worker", "dns", "identity", "provisioning", "postgresql")
STAND_INS = ("sandbox", "bench_driver")
SERVER = "temporal"


def _per_bootstrap_ms(window: dict[str, float], bootstraps: int) -> dict[str, float]:
    return {
        name: round(1000 * seconds / bootstraps, 2)
        for name, seconds in window.items()
        if name not in ("window_seconds", "machine_busy") and bootstraps
    }


def _sum(values: dict[str, float], names: tuple[str, ...]) -> float:
    return round(sum(values.get(name, 0.0) for name in names), 2)


def _busy_share(window: dict[str, float], nproc: int) -> float | None:
    """The share of the machine's CPU the window used, everyone included (1.0: every core busy)."""
    busy, seconds = window.get("machine_busy"), window.get("window_seconds")
    return round(busy / (seconds * nproc), 3) if busy is not None and seconds and nproc else None


def per_bootstrap(cpu_seconds: dict[str, dict[str, float]], bootstraps: int, nproc: int) -> dict[str, Any]:
    """The floor's and the system's CPU milliseconds per bootstrap at 200 concurrent, and the sums
    the targets read."""
    floor_window, system_window = cpu_seconds["floor_200"], cpu_seconds["system_200"]
    floor = _per_bootstrap_ms(floor_window, bootstraps)
    system = _per_bootstrap_ms(system_window, bootstraps)
    all_floor = _sum(floor, (*OURS, *STAND_INS, SERVER, "floor_worker"))
    all_system = _sum(system, (*OURS, *STAND_INS, SERVER, "floor_worker"))
    stand_ins_extra = _sum(system, STAND_INS) - _sum(floor, STAND_INS)
    mine = {
        "floor_worker_ms": floor.get("floor_worker", 0.0),
        "ours_ms": _sum(system, OURS),
        "stand_ins_ms": {"floor": _sum(floor, STAND_INS), "system": _sum(system, STAND_INS)},
        "temporal_ms": {"floor": floor.get(SERVER, 0.0), "system": system.get(SERVER, 0.0)},
        "all_ms": {"floor": all_floor, "system": all_system},
        # If CPU is what limits both sides, throughput goes as the inverse of all CPU per bootstrap:
        # this is the ratio CPU alone predicts, and what it would be if the stand-ins cost the
        # system no more than they cost the floor.
        "cpu_bound_throughput_ratio": round(all_floor / all_system, 3) if all_system else None,
        "cpu_bound_throughput_ratio_without_stand_ins": (
            round(all_floor / (all_system - stand_ins_extra), 3) if all_system > stand_ins_extra else None
        ),
        "machine_busy_share": {
            "floor": _busy_share(floor_window, nproc),
            "system": _busy_share(system_window, nproc),
        },
    }
    return {"floor": floor, "system": system, **mine}
