"""`make bench` at tiny sizes: every part runs end to end and the results file has every figure.

Not timed and no targets asserted (the numbers of a smoke run mean nothing); the full run is
`make bench`. The bench process works in databases of its own on the session's server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = {"sandbox", "dns", "identity", "provisioning", "worker", "floor_worker", "temporal", "postgresql"}


@pytest.mark.timeout(450)  # above the run's own 420 s: its error says what hung, not pytest's
def test_the_smoke_benchmark_measures_every_part_and_writes_the_results(
    database_server_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "latest.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_server_url},
        capture_output=True,
        text=True,
        timeout=420,  # a shared 2-core machine under load took 200 s
    )
    assert run.returncode == 0, run.stderr[-4000:]

    results = json.loads(out.read_text())
    for side in ("floor", "system"):
        assert results[side]["sequential"]["n"] == results["sizes"]["sequential"]
        for concurrency in (50, 200):
            phase = results[side][f"concurrent_{concurrency}"]
            assert phase["bootstraps"] == results["sizes"][f"count_{concurrency}"]
            assert phase["per_second"] > 0
    for call in ("dns_create_record", "identity_create_organization"):
        assert results["hop"][call]["ratio_p50"] > 0
        # The emulator counted each side's upstream requests, and every kind the service makes has
        # its reason.
        requests = results["hop"][call]["upstream_requests"]
        assert requests["direct"] == requests["service"]
        assert set(requests["service"]) == set(requests["why"])
    # CPU per bootstrap: each of our processes is accounted for (a smoke run's few bootstraps may
    # round to 0 ticks in a small one), the workers did measurable work.
    cpu = results["cpu_per_bootstrap"]
    assert set(cpu["system"]) >= PROCESSES
    assert cpu["system"]["worker"] > 0
    assert cpu["floor_worker_ms"] > 0
    assert cpu["ours_ms"] == round(sum(cpu["system"][n] for n in ("worker", "dns", "identity", "provisioning",
                                                              "postgresql")), 2)  # fmt: skip
    # The seed run's delays were reported by the sandbox and fall inside the bootstrap they slowed.
    (seeded,) = results["seed_profile"]["bootstraps"]
    assert {d["path"] for d in seeded["delays"]} >= {"/v2/organizations"}
    assert 0 < seeded["injected_seconds"] <= seeded["seconds"]
    assert seeded["ratio"] >= 1
    assert results["eventstore"]["appends"]["projection_errors"] == 0
    assert set(results["eventstore"]["reads"]["ratio_p50"]) == {
        "get_by_slug",
        "list_first_page",
        "list_filtered_next_page",
        "read_stream",
    }
    for window in ("idle", "system_200"):
        assert set(results["memory_mb"][window]) >= PROCESSES
    # Every target is a row with a verdict, and the printed table is the same table.
    targets = [r for r in results["rows"] if "target_value" in r]
    assert all(r["check"] is not None for r in targets)
    # ... + traces on/off + metrics overhead + our CPU per bootstrap + seed latency (< 30 s, ratio)
    assert len(targets) == 2 + 2 + 1 + 4 + 4 + 1 + 1 + 1 + 2
    # Tracing's cost is measured with traces really on (a stack whose parts wrote spans).
    assert results["traces_overhead"]["spans"] > 0
    assert results["traces_overhead"]["on"]["bootstraps"] == results["sizes"]["traces_count"]
    overhead = results["metrics_overhead"]
    assert overhead["calls"] == results["sizes"]["metrics_calls"]
    assert overhead["grpc_call_p50_ms_off"] > 0
    assert overhead["grpc_call_p50_ms_on"] > 0
    assert "| bootstrap p50, sequential (ms): floor → system |" in run.stdout
