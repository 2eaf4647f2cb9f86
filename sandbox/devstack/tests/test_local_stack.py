"""`make run`'s local stack as real processes: up, a bootstrap to an active subdomain, a clean stop, a
restart that keeps the organizations, and a busy port or a failing part reported by name."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.stack.ports import busy_ports
from a4c.devstack.temporal import temporal_binary
from a4c.eventstore import EventType
from a4c.workflows import search

sys.path.insert(0, str(Path(__file__).parent))
from local_stack import (
    StackRun,
    free_port_base,
    marked_processes,
    running,
    running_stack,
    scratch_state_dir,
    start_stack,
)

ZONE = "firstovertheline.com"
SLUG = "acme-stack"
ADMIN = "grace@acme-stack.example"


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    """One state dir for the module: the restart test finds what the first run left."""
    with scratch_state_dir() as path:
        yield path


@pytest.fixture
def scratch() -> Iterator[Path]:
    with scratch_state_dir() as path:
        yield path


@pytest.fixture(scope="module")
def port_base() -> int:
    return free_port_base()


@pytest.fixture(scope="module")
def first_run() -> dict[str, Any]:
    """What the first run saw, for the restart test to compare with."""
    return {}


async def organization_snapshot(stub: Any, slug: str) -> tuple[Any, list[tuple[int, str, str]]]:
    org = (await stub.GetOrganization(pb.GetOrganizationRequest(slug=slug), timeout=10)).organization
    reply = await stub.ListOrganizationEvents(
        pb.ListOrganizationEventsRequest(slug=slug, page_size=1000), timeout=10
    )
    events = [(e.sequence, e.event_type, e.id) for e in reply.events]
    return (org.id, org.bootstrap_status, org.subdomain_status, org.subdomain_fqdn), events


def assert_all_stopped(run: StackRun) -> None:
    assert run.pids, "the stack reported no pids"
    assert {"postgres", "temporal", "sandbox", "dns", "identity", "provisioning", "worker"} <= set(run.pids)
    alive = [name for name, pid in run.pids.items() if running(pid)]
    assert alive == [], f"still running after the stop: {alive}"
    assert marked_processes(run.marker) == [], "a process the stack started is still running"
    assert busy_ports(run.ports) == []


async def output_of(*argv: str, env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"{argv}: {err.decode()}"
    return out.decode()


async def check_printed_commands(run: StackRun) -> None:
    """The `a4c` commands the stack prints work with the environment it prints; so does the README's
    `temporal workflow list` query on the search attributes."""
    export = next(line for line in run.out if "export A4C_PROVISIONING_ADDRESS=" in line)
    printed = dict(pair.split("=", 1) for pair in export.split("export ", 1)[1].split())
    env = {**os.environ, **printed}
    a4c = str(Path(sys.executable).parent / "a4c")
    for command in ("status demo", "orgs", "events demo"):
        assert f".venv/bin/a4c {command}" in run.text
    status = await output_of(a4c, "status", "demo", env=env)
    assert "completed" in status
    assert "active" in status
    assert "demo" in await output_of(a4c, "orgs", env=env)
    assert EventType.SUBDOMAIN_VERIFIED in await output_of(a4c, "events", "demo", env=env)
    query = ["workflow", "list", "--address", run.address("temporal"), "--query", 'OrgSlug = "demo"']
    assert "org-bootstrap-" in await output_of(temporal_binary(), *query)


async def test_make_run_brings_everything_up_bootstraps_and_stops_cleanly(
    state_dir: Path, port_base: int, first_run: dict[str, Any]
) -> None:
    async with running_stack(state_dir, port_base) as run:
        text = run.text
        assert re.search(
            rf"Demo tenant: bootstrap completed in [0-9.]+ s, subdomain demo\.{re.escape(ZONE)} active", text
        )
        # Each service's line carries its own caller's token: the worker's for dns, the operator's else.
        assert (
            f'grpcurl -plaintext -H "authorization: Bearer {run.worker_token}" {run.address("dns")} list'
            in text
        )
        assert run.worker_token != run.token
        dns_port = run.ports["sandbox-dns"]
        assert f"dig @127.0.0.1 -p {dns_port} demo.{ZONE}" in text
        assert f"A4C_PROVISIONING_TOKEN={run.token}" in text
        await check_printed_commands(run)

        async with open_channel(run.address("provisioning"), token=run.token) as channel:
            stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            admin = pb.Admin(email=ADMIN, given_name="Grace", family_name="Hopper")
            request = pb.BootstrapOrganizationRequest(name="Acme Stack", slug=SLUG, admin=admin)
            started = await stub.BootstrapOrganization(request, timeout=30)
            watched = [
                item
                async for item in stub.WatchBootstrap(
                    pb.WatchBootstrapRequest(organization_id=started.organization_id), timeout=60
                )
            ]
            assert watched[-1].subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE
            view = (await stub.GetBootstrap(pb.GetBootstrapRequest(slug=SLUG), timeout=10)).bootstrap
            assert (view.status, view.subdomain_status) == (
                pb.BOOTSTRAP_STATUS_COMPLETED,
                pb.SUBDOMAIN_STATUS_ACTIVE,
            )
            for slug in ("demo", SLUG):
                first_run[slug] = await organization_snapshot(stub, slug)

        query = dns.message.make_query(f"{SLUG}.{ZONE}", dns.rdatatype.A)
        answer = await dns.asyncquery.udp(query, "127.0.0.1", port=dns_port, timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR
        assert [r for r in answer.answer if r.rdtype == dns.rdatatype.A], answer.to_text()

        async with httpx.AsyncClient(timeout=10) as http:
            mailbox = f"http://{run.address('sandbox-zitadel')}/_sandbox/emails"
            assert f"{mailbox}?to=ada%40demo.example" in text
            emails = (await http.get(mailbox, params={"to": ADMIN})).json()["emails"]
            assert len(emails) == 1
            assert emails[0]["code"] in emails[0]["link"]
            ui = await http.get(f"http://{run.address('temporal-ui')}/namespaces/default/workflows")
            assert ui.status_code == 200
            # The console: its URL and the local operators' logins are printed; a visitor is sent to sign in.
            console = f"http://{run.address('console')}"
            assert re.search(rf"console\s+{re.escape(console)}", text)
            assert re.search(r"console operator\s+console-operator / \S+  \(console.operate\)", text)
            assert (await http.get(f"{console}/healthz")).status_code == 200
            visit = await http.get(f"{console}/")
            assert (visit.status_code, visit.headers["location"]) == (303, "/login?next=/")

        assert await run.stop(signal.SIGINT) == 0
        assert "Stopped: every part the stack started has exited." in run.text
        assert_all_stopped(run)
        assert not (state_dir / "stack.json").exists()
    assert_private(state_dir)


def assert_private(state_dir: Path) -> None:
    """Emails, invitation codes, the token, the database password and logs are the user's alone."""
    mode = state_dir.stat().st_mode & 0o777
    assert mode in (0o700, 0o710), oct(mode)  # 0710: PostgreSQL's own user may only traverse it (as root)
    assert (state_dir / "postgres.password").stat().st_mode & 0o777 == 0o600
    files = [p for p in state_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) > 10
    loose = [
        f"{p.relative_to(state_dir)} {oct(p.stat().st_mode & 0o777)}"
        for p in files
        if p.stat().st_mode & 0o077
    ]
    assert loose == [], f"readable by others: {loose}"


async def test_a_restart_keeps_the_organizations_with_the_same_status_and_events(
    state_dir: Path, port_base: int, first_run: dict[str, Any]
) -> None:
    assert set(first_run) == {"demo", SLUG}, "runs after the end-to-end test"
    async with running_stack(state_dir, port_base) as run:
        assert "Demo tenant 'demo': found (bootstrapped by an earlier run)" in run.text
        async with open_channel(run.address("provisioning"), token=run.token) as channel:
            stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            for slug in ("demo", SLUG):
                assert await organization_snapshot(stub, slug) == first_run[slug]
            listed = await stub.ListOrganizations(pb.ListOrganizationsRequest(), timeout=10)
            assert sorted(o.slug for o in listed.organizations) == sorted(["demo", SLUG])
        # A part that dies while the stack runs takes the stack down, named with its log.
        os.kill(run.pids["worker"], signal.SIGKILL)
        assert await run.finish() == 1
        assert (
            f"worker: was killed by SIGKILL while the stack was running; log: {state_dir}/logs/worker.log"
            in ("\n".join(run.err))
        )
        assert_all_stopped(run)


async def test_ctrl_c_while_starting_stops_what_already_runs(scratch: Path) -> None:
    run = await start_stack(scratch, free_port_base())
    await run.wait_for_line_starting("  ✓ ")
    assert await run.stop(signal.SIGINT) == 130
    assert "Stopped: every part the stack started has exited." in run.text
    assert marked_processes(run.marker) == []
    assert not (scratch / "stack.json").exists()


async def test_an_external_database_and_temporal_replace_the_embedded_ones(
    scratch: Path, fresh_database: Callable[..., Awaitable[str]]
) -> None:
    url = await fresh_database(migrated=False)
    temporal = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=list(search.KEYS)
    )
    try:
        address = temporal.client.service_client.config.target_host
        run = await start_stack(
            scratch, free_port_base(), "--once", DATABASE_URL=url, TEMPORAL_ADDRESS=address
        )
        assert await run.finish() == 0, run.text
        workflows = [w.id async for w in temporal.client.list_workflows('OrgSlug = "demo"')]
    finally:
        await temporal.shutdown()
    assert "✓ postgres" not in run.text
    assert "✓ temporal" not in run.text
    assert "Temporal UI" not in run.text
    assert "✓ migrations" in run.text
    assert "Demo tenant: bootstrap completed" in run.text
    assert any(w.startswith("org-bootstrap-") for w in workflows)
    assert not (scratch / "postgres").exists()
    assert not (scratch / "temporal.db").exists()
    assert url not in run.text
    assert url not in (scratch / "logs" / "migrate.log").read_text()
    assert marked_processes(run.marker) == []


async def test_settings_are_listed_and_a_bad_one_is_named(scratch: Path) -> None:
    help_text = await output_of(sys.executable, "-m", "a4c.devstack", "--help")
    for name in ("--once", "--state-dir", "--port-base", "A4C_STACK_EXIT_AFTER_DEMO", "DATABASE_URL"):
        assert name in help_text
    run = await start_stack(scratch, free_port_base(), A4C_STACK_EXIT_AFTER_DEMO="maybe")
    assert await run.finish() == 2
    assert "A4C_STACK_EXIT_AFTER_DEMO" in "\n".join(run.err)
    assert not scratch.exists(), "a bad setting must start nothing"


async def test_a_taken_port_stops_the_stack_at_once_naming_the_port_and_the_part(scratch: Path) -> None:
    base = free_port_base()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", base + 5))  # the Temporal frontend's offset
        holder.listen()
        run = await start_stack(scratch, base, "--once")
        assert await run.finish() == 1
    assert f"port {base + 5} (temporal) is already in use" in "\n".join(run.err)
    assert "--port-base" in "\n".join(run.err)
    assert marked_processes(run.marker) == []
    assert not (scratch / "logs").exists(), "nothing may start when a port is taken"


async def test_a_part_that_fails_to_start_is_named_with_its_log_and_the_rest_is_stopped(
    scratch: Path,
) -> None:
    run = await start_stack(scratch, free_port_base(), "--once", A4C_LOG_LEVEL="LOUD")
    assert await run.finish() == 1
    errors = "\n".join(run.err)
    # The three services refuse the setting; whichever is noticed first is reported with its log.
    assert "exited with code 2" in errors
    assert "A4C_LOG_LEVEL" in errors
    assert any(
        f"log: {scratch / 'logs' / name}.log" in errors for name in ("dns", "identity", "provisioning")
    )
    assert "Stopped: every part the stack started has exited." in run.text
    assert marked_processes(run.marker) == []
