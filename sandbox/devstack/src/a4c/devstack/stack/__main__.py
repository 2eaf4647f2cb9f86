"""``python -m a4c.devstack`` (what ``make run`` runs): the whole system on one machine.

Starts PostgreSQL, Temporal, the sandbox, the three services and the worker as supervised processes,
bootstraps a demo tenant, prints where to look, and runs until Ctrl-C/SIGTERM; then stops every part.
``--once`` (or A4C_STACK_EXIT_AFTER_DEMO=1) stops as soon as the demo tenant is active. Exit codes:
0 clean stop, 1 a part failed (or the demo did not end active), 2 bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TextIO, TypeVar

from a4c.common.settings import help_text
from a4c.devstack.postgres import server_user
from a4c.devstack.stack.config import SETTINGS, StackConfigError, StackSettings, check_port_base, local_token
from a4c.devstack.stack.demo import DemoOutcome, DemoTenant, run_demo
from a4c.devstack.stack.guide import View
from a4c.devstack.stack.process import PartError
from a4c.devstack.stack.state import UMASK, make_private
from a4c.devstack.stack.supervisor import StackError, Supervisor

T = TypeVar("T")
INTERRUPTED = 130

DESCRIPTION = (
    "The whole A4C system on this machine: embedded PostgreSQL, the Temporal dev server (Web UI), the "
    "sandbox (Cloudflare API, Zitadel API, DNS), the dns/identity/provisioning services and the worker, "
    "then a demo tenant bootstrapped through the provisioning API. Ctrl-C stops everything."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m a4c.devstack",
        description=help_text(DESCRIPTION, SETTINGS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--once", action="store_true", help="stop once the demo tenant is active")
    parser.add_argument("--state-dir", help="state and logs (default .state)")
    parser.add_argument("--port-base", type=int, help="every part at N + its offset instead of the defaults")
    return parser


async def run(settings: StackSettings, out: TextIO, err: TextIO) -> int:
    view = View(out, err, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    os.umask(UMASK)  # what the stack and its parts write (state, logs) is the user's alone
    server = None if settings.database_url else server_user()
    make_private(settings.state_dir, traverse_gid=server.pw_gid if server else None)
    token = local_token(settings.state_dir)
    supervisor = Supervisor(settings, token, view.ready)
    view.line(f"Starting the local stack (state in {settings.state_dir}):")
    try:
        outcome = await _until_stopped(stop, _up(supervisor, view))
        if outcome is None:  # interrupted while starting
            return INTERRUPTED
        if settings.once:
            return 0 if outcome is True or (isinstance(outcome, DemoOutcome) and outcome.succeeded) else 1
        view.line("\nRunning. Ctrl-C stops everything.")
        failure = await _until_stopped(stop, supervisor.first_exit())
        if failure is not None:
            view.error(f"\n✗ {failure}")
            return 1
        return 0
    except (PartError, StackError) as exc:
        view.error(f"\n✗ {exc}")
        return 1
    finally:
        if supervisor.started_anything:
            view.line("\nStopping…")
            await supervisor.stop()
            view.line("Stopped: every part the stack started has exited.")


async def _up(supervisor: Supervisor, view: View) -> DemoOutcome | bool:
    """Start everything, then the demo; True when there is no demo to run."""
    parts = await supervisor.start()
    settings = supervisor.settings
    if not settings.demo:
        view.where_to_look(parts, None, DemoTenant())
        return True
    tenant = DemoTenant()
    outcome = await run_demo(parts.provisioning_address, parts.provisioning_token, view.line, tenant)
    took = f" in {outcome.bootstrap_seconds:.1f} s" if outcome.bootstrap_seconds is not None else ""
    view.line(
        f"Demo tenant: bootstrap {outcome.bootstrap}{took}, subdomain {outcome.fqdn} {outcome.subdomain}"
    )
    if outcome.error:
        view.line(f"  error: {outcome.error}")
    view.where_to_look(parts, outcome, tenant)
    return outcome


async def _until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, T]) -> T | None:
    """The work's result, or None when a stop signal came first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    args = _parser().parse_args(argv)
    environment = dict(os.environ if env is None else env)
    try:
        port_base = check_port_base(args.port_base) if args.port_base is not None else None
        settings = StackSettings.from_env(
            environment, state_dir=args.state_dir, port_base=port_base, once=args.once
        )
    except StackConfigError as exc:
        print(f"python -m a4c.devstack: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(asyncio.run(run(settings, sys.stdout, sys.stderr)))


if __name__ == "__main__":
    main()
