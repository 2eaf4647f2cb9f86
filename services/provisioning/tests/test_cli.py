"""The `a4c` console script against the real service: output for people and scripts, one-line errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from a4c.eventstore import EventType
from a4c.provisioning.cli_output import EVENT_TEXT

from .cli_runner import a4c, bootstrap_args
from .helpers import (
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_ACTIVE,
    SUBDOMAIN_FAILED,
    Running,
    seed,
    unique,
)


def test_every_event_type_has_a_progress_line() -> None:
    assert set(EVENT_TEXT) == set(EventType)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"slug": "Not-OK"}, ["--slug (slug): must be lowercase"]),
        ({"slug": "www"}, ["--slug (slug): is reserved"]),
        ({"admin_email": "nope", "name": " "}, ["--admin-email (admin.email)", "--name (name): is required"]),
        ({"admin_given_name": "Ada\x07"}, ["--admin-given-name (admin.given_name)"]),
    ],
    ids=["slug-case", "slug-reserved", "email-and-name", "given-name-control"],
)
async def test_bad_input_exits_non_zero_naming_the_flag(
    service: Running, flags: dict[str, str], named: list[str]
) -> None:
    slug = flags.pop("slug", unique("clibad"))
    result = await a4c(service, *bootstrap_args(slug, **flags))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("a4c: invalid argument: ")
    assert result.err.count("\n") == 1
    for text in named:
        assert text in result.err


async def test_a_missing_flag_is_a_usage_error(service: Running) -> None:
    result = await a4c(service, "bootstrap", "--name", "Acme", "--slug", "acme")
    assert result.code == 2
    assert "--admin-email" in result.err


async def test_bootstrap_prints_the_organization_and_a_retry_reports_it_already_existed(
    service: Running,
) -> None:
    slug, request_id = unique("clistart"), f"cli-{uuid.uuid4()}"
    started = await a4c(service, "--json", *bootstrap_args(slug, request_id=request_id))
    again = await a4c(service, *bootstrap_args(slug, request_id=request_id))

    assert started.code == 0, started.err
    first = started.json()
    assert isinstance(first, dict)
    assert first["subdomain_fqdn"] == f"{slug}.firstovertheline.com"
    assert first["already_existed"] is False
    assert again.code == 0
    assert again.out.startswith(f"bootstrap already started: {slug} → {slug}.firstovertheline.com\n")
    assert first["organization_id"] in again.out


async def test_a_taken_slug_is_one_line_naming_it(service: Running) -> None:
    _, slug = await seed(service, COMPLETED_BOOTSTRAP, "cli")
    result = await a4c(service, *bootstrap_args(slug))
    assert (result.code, result.err) == (
        1,
        "a4c: already exists: --slug (slug): is already taken by another organization\n",
    )


async def test_orgs_lists_a_table_or_json_with_filters(service: Running) -> None:
    _, active = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE, "cli")
    _, failed = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED, "cli")
    listed = await a4c(service, "--json", "orgs", "--subdomain-status", "failed", "--page-size", "7")
    table = await a4c(service, "orgs", "--bootstrap-status", "completed", "--limit", "1000")

    assert listed.code == 0, listed.err
    rows = listed.json()
    assert isinstance(rows, list)
    slugs = {row["slug"] for row in rows}
    assert failed in slugs
    assert active not in slugs
    assert {row["subdomain_status"] for row in rows} == {"SUBDOMAIN_STATUS_FAILED"}
    header, *lines = table.out.splitlines()
    assert header.split() == ["SLUG", "NAME", "BOOTSTRAP", "SUBDOMAIN", "FQDN", "CREATED", "(UTC)", "ID"]
    assert any(line.startswith(active + " ") and " active " in line for line in lines)


async def test_status_and_events_show_a_bootstrap(service: Running) -> None:
    _, slug = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE, "cli")
    status = await a4c(service, "status", slug)
    events = await a4c(service, "--json", "events", slug)

    assert status.code == 0, status.err
    assert "bootstrap     completed  (step: complete)" in status.out
    assert f"subdomain     {slug}.firstovertheline.com  active" in status.out
    assert "grant_admin_role" in status.out
    listed = events.json()
    assert isinstance(listed, list)
    assert [e["event_type"] for e in listed] == [str(t) for t in COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE]


async def test_watch_shows_each_step_and_exits_by_the_outcome(service: Running) -> None:
    _, active = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE, "cli")
    _, failed = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED, "cli")
    ok, bad = await asyncio.gather(a4c(service, "watch", active), a4c(service, "watch", failed))

    assert ok.code == 0, ok.err
    lines = ok.out.splitlines()
    assert len(lines) == len(COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE) + 1
    assert "admin role granted  [bootstrap running, subdomain pending]" in lines[3]
    assert lines[-2].endswith("subdomain active  [bootstrap completed, subdomain active]")
    assert lines[-1] == f"bootstrap completed; subdomain {active}.firstovertheline.com active"
    assert bad.code == 1
    assert "subdomain verification FAILED: not resolvable after 600 s" in bad.out


async def test_control_commands_explain_refusals_in_one_line(service: Running) -> None:
    _, slug = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_ACTIVE, "cli")
    cancel, retry, missing, anonymous = await asyncio.gather(
        a4c(service, "cancel", slug),
        a4c(service, "retry-subdomain", slug),
        a4c(service, "status", "no-such-org"),
        a4c(service, "status", slug, token=None),
    )
    assert (cancel.code, cancel.out) == (0, "nothing to cancel: the bootstrap is completed\n")
    assert retry.code == 1
    assert retry.err.startswith("a4c: failed precondition: the subdomain is active")
    assert (missing.code, missing.err) == (1, "a4c: not found: no organization with slug 'no-such-org'\n")
    assert (anonymous.code, anonymous.err) == (1, "a4c: unauthenticated: missing bearer token\n")
