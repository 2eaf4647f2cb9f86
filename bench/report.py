"""Numbers in, summaries, ratios, the JSON file and the markdown table out."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    """Durations in seconds."""

    values: Sequence[float]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: with 30 samples p95 is the 29th value)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(sample: Sample) -> dict[str, float]:
    """p50/p95/mean in milliseconds, and the count."""
    values = list(sample.values)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 3),
        "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


def progress(message: str) -> None:
    """One line on stderr as each part finishes: a 10-minute run should say where it is."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def machine() -> dict[str, Any]:
    model = ""
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with Path("/proc/meminfo").open() as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value}{unit}"


def _verdict(value: float | None, target: float, *, at_most: bool) -> str:
    if value is None:
        return "-"
    ok = value <= target if at_most else value >= target
    return "met" if ok else "**missed**"


def row(
    what: str,
    baseline: float | None,
    measured: float | None,
    *,
    ratio_of: bool = True,
    target: str = "",
    limit: float | None = None,
    at_most: bool = True,
    check: float | None = None,
) -> dict[str, Any]:
    """A table row; the verdict compares `check` (default: the ratio) with `limit`."""
    value = ratio(measured, baseline) if ratio_of and measured is not None and baseline else None
    out: dict[str, Any] = {"what": what, "baseline": baseline, "measured": measured, "ratio": value}
    if limit is not None:
        checked = value if check is None else check
        out.update(target=target, target_value=limit, at_most=at_most, check=checked)
    return out


def table(results: dict[str, Any]) -> str:
    """One markdown table: what, floor/direct/bare, system/service, ratio, target, verdict."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    for row in results.get("rows", []):
        rows.append(
            (
                row["what"],
                _fmt(row.get("baseline")),
                _fmt(row.get("measured")),
                _fmt(row.get("ratio")),
                row.get("target", ""),
                _verdict(row.get("check"), row["target_value"], at_most=row["at_most"])
                if "target_value" in row
                else "",
            )
        )
    header = ("measure", "baseline", "ours", "ratio", "target", "")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
