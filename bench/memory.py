"""Resident memory and CPU time of each process, sampled while the benchmark runs.

RSS (/proc/<pid>/status VmRSS) every SAMPLE_SECONDS; a window keeps each
process's peak between its start and end. PostgreSQL is many processes sharing its buffers: its
figure is the sum of PSS (proportional set size, shared pages divided among their users) over the
postmaster and every backend, so shared memory counts once.

A window also records the CPU seconds each process used during it (utime + stime from /proc): on
a small machine that says which process the others wait for. `machine_busy` is every core's
non-idle time in the window, whoever ran: beyond the sum of the processes, that is other load.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

from bench import procfs

SAMPLE_SECONDS = 0.25
MB = 1024 * 1024


def over_server(read: Callable[[int], float], postmaster: int) -> float:
    """`read` summed over the postmaster and every live backend (PSS for memory: shared pages once;
    CPU: a backend that exited meanwhile is not counted)."""
    total = 0.0
    for pid in [postmaster, *procfs.children(postmaster)]:
        with contextlib.suppress(OSError):
            total += read(pid)
    return total


class MemorySampler:
    """`pids()` is asked again at every sample, so processes may come and go."""

    def __init__(self, pids: Callable[[], dict[str, int]], postmaster: int | None) -> None:
        self._pids = pids
        self._postmaster = postmaster
        self._windows: dict[str, dict[str, float]] = {}
        self._cpu: dict[str, dict[str, float]] = {}
        self._open: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def _read(self, read: Callable[[int], float], server_read: Callable[[int], float]) -> dict[str, float]:
        """One figure per process (PostgreSQL's summed over its processes)."""
        now: dict[str, float] = {}
        for name, pid in self._pids().items():
            with contextlib.suppress(OSError):
                now[name] = read(pid)
        if self._postmaster is not None:
            now["postgresql"] = over_server(server_read, self._postmaster)
        return now

    def sample(self) -> dict[str, float]:
        now = self._read(procfs.rss_bytes, procfs.pss_bytes)
        for label in list(self._open):
            peaks = self._windows[label]
            for name, value in now.items():
                peaks[name] = max(peaks.get(name, 0), value)
        return now

    def cpu(self) -> dict[str, float]:
        return self._read(procfs.cpu_seconds, procfs.cpu_seconds)

    @contextlib.contextmanager
    def window(self, label: str) -> Iterator[None]:
        self._windows[label] = {}
        self._open.append(label)
        self.sample()
        cpu_before, busy_before, started = self.cpu(), procfs.machine_busy_seconds(), time.perf_counter()
        try:
            yield
        finally:
            self.sample()
            self._open.remove(label)
            seconds = time.perf_counter() - started
            used = {n: round(v - cpu_before.get(n, 0.0), 2) for n, v in sorted(self.cpu().items())}
            busy = round(procfs.machine_busy_seconds() - busy_before, 2)
            self._cpu[label] = {"window_seconds": round(seconds, 2), "machine_busy": busy, **used}

    def cpu_seconds(self, label: str) -> dict[str, float]:
        """CPU seconds per process within the window, and the window's length."""
        return self._cpu[label]

    def peaks_mb(self, label: str) -> dict[str, float]:
        return {name: round(value / MB, 1) for name, value in sorted(self._windows[label].items())}

    async def __aenter__(self) -> MemorySampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(SAMPLE_SECONDS)
