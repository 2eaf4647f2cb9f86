"""Process facts from /proc (Linux): no dependency, and the same numbers `ps` and `top` show."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, field: str) -> int:
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ProcessLookupError(f"{pid} has no {field}")


def rss_bytes(pid: int) -> int:
    """Resident set size now (VmRSS)."""
    return _status_kb(pid, "VmRSS") * 1024


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages divided among the processes that map them."""
    for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise ProcessLookupError(f"{pid} has no Pss")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (fields 14 and 15 of its stat)."""
    fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU time every core has spent not idle since boot, whoever ran (the first line of /proc/stat:
    user, nice, system, idle, iowait, irq, softirq, steal; guest time is already in user)."""
    fields = (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / _TICKS


def ppid(pid: int) -> int:
    # The command name in field 2 may hold spaces and parentheses: split after its last ')'.
    stat = (PROC / str(pid) / "stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def cmdline(pid: int) -> list[str]:
    return (PROC / str(pid) / "cmdline").read_text().split("\0")[:-1]


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (scans /proc: processes come and go, so races are skipped)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(entry.name)] = ppid(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, p in parents.items() if p == parent]
        found += kids
        frontier += kids
    return found
