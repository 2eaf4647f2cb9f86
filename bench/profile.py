"""`python -m bench.profile`: where our processes spend their CPU under the bench's load.

Starts the bench's stack, warms it up, then runs `--count` system bootstraps at `--concurrency`
while py-spy (a dev dependency) samples the chosen processes by pid, without changing them. For
each process it writes py-spy's raw collapsed stacks to `--out`/<name>.txt (open them with any
flame-graph viewer, e.g. speedscope) and prints the functions with the most samples, inclusive
and own, so a cut can be aimed. Sampling costs CPU too: profile a few processes at a time. With no
process named it only prints CPU ms per bootstrap per process (a quick before/after for a cut).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.eventstore import DatabaseFactory, database_server
from a4c.eventstore import EventStore
from bench.cpu import OURS
from bench.memory import MemorySampler
from bench.run import postmaster_pid
from bench.stack import TOKEN, Stack
from bench.workflows import CompletionWatcher, run_phase, system_bootstrap

PROCESSES = ("worker", "dns", "identity", "provisioning", "sandbox", "bench_driver")


def top(stacks: Path, limit: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Total samples, the frames most often anywhere on the stack, and most often on top of it."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        n = int(count)
        total += n
        names = frames.split(";")
        for name in set(names):
            inclusive[name] += n
        own[names[-1]] += n
    return total, inclusive.most_common(limit), own.most_common(limit)


def report(name: str, stacks: Path, limit: int) -> None:
    total, inclusive, own = top(stacks, limit)
    print(f"\n== {name}: {total} samples ({stacks})")
    for title, rows in (("inclusive", inclusive), ("own", own)):
        print(f"-- {title}")
        for frame, n in rows:
            print(f"{100 * n / max(total, 1):5.1f}%  {frame}")


def spy(pid: int, rate: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` until SIGINT, without pausing it (--nonblocking: less skew)."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw",
               "--rate", str(rate), "--nonblocking", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def profile(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    with database_server() as server_url, tempfile.TemporaryDirectory(prefix="a4c-profile-") as workdir:
        databases = DatabaseFactory(server_url, prefix="a4c_profile")
        try:
            url = await databases.create()
            async with (
                Stack.start(url, Path(workdir)) as stack,
                await EventStore.connect(stack.database_url, max_size=2) as store,
                CompletionWatcher.running(store) as watcher,
                open_channel(stack.addresses["provisioning"], token=TOKEN) as channel,
            ):
                bootstrap = system_bootstrap(provisioning_pb2_grpc.ProvisioningServiceStub(channel), watcher)
                await run_phase(bootstrap, "profile-w", 10, 5)
                pids = stack.pids()
                spies = {
                    name: spy(pids[name], args.rate, args.out / f"{name}.txt") for name in args.processes
                }
                await asyncio.sleep(1 if spies else 0)  # py-spy attaches
                sampler = MemorySampler(stack.pids, await postmaster_pid(url))
                with sampler.window("profile"):
                    phase = await run_phase(bootstrap, "profile", args.count, args.concurrency)
                for sampler in spies.values():
                    sampler.send_signal(2)  # SIGINT: py-spy writes its file and exits
                for sampler in spies.values():
                    sampler.wait(timeout=30)
                print(f"{args.count} bootstraps at {args.concurrency} concurrent: {phase.per_second:.2f}/s")
                used = sampler.cpu_seconds("profile")
                per = {n: round(1000 * v / args.count, 2) for n, v in used.items() if n != "window_seconds"}
                ours = round(sum(per.get(n, 0.0) for n in OURS), 2)
                print(f"CPU ms per bootstrap: {per}; ours {ours}")
        finally:
            await databases.drop_all()
    for name in args.processes:
        report(name, args.out / f"{name}.txt", args.top)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("processes", nargs="*", help=f"of {', '.join(PROCESSES)}; none: CPU figures only")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rate", type=int, default=100, help="samples per second per process")
    parser.add_argument("--top", type=int, default=40, help="functions printed per process")
    parser.add_argument("--out", type=Path, default=Path("bench/results/profile"))
    args = parser.parse_args()
    unknown = set(args.processes) - set(PROCESSES)
    if unknown:
        parser.error(f"unknown processes {sorted(unknown)}: choose from {', '.join(PROCESSES)}")
    asyncio.run(profile(args))


if __name__ == "__main__":
    cli()
