"""The worker's policy, fast: its settings, its rules, and a refused input calls nothing.

End to end (hand-started workflows against the services and the sandbox): test_hostile_input.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from a4c.common.config import SettingsError
from a4c.devstack.temporal import start_bootstrap
from a4c.worker.config import Settings
from a4c.worker.policy import REJECTED, bootstrap_problems, subdomain_problems
from a4c.workflows.models import (
    SUBDOMAIN_WORKFLOW,
    StepTimeouts,
    SubdomainInput,
    VerificationPolicy,
    subdomain_workflow_id,
)
from a4c.workflows.start import subdomain_start

from .mocked import POLICY, ZONE, Script, bootstrap_input, mocked_worker

BASE = {
    "DATABASE_URL": "postgresql://u@db/a4c",
    "A4C_DNS_SERVICE_ADDRESS": "d:1",
    "A4C_IDENTITY_SERVICE_ADDRESS": "i:1",
}


def test_the_policy_comes_from_the_workers_settings() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "A4C_BASE_DOMAIN": "Example.COM.",
            "A4C_SUBDOMAIN_TARGET": "edge.{base_domain}",
            "A4C_SUBDOMAIN_PROXIED": "false",
            "A4C_RESERVED_SLUGS": "acme,Globex",
            "A4C_VERIFY_DEADLINE_SECONDS": "42",
            "A4C_STEP_TOTAL_SECONDS": "60",
        }
    )
    assert settings.base_domain == "example.com"
    policy = settings.policy("example.com")
    assert (policy.zone, policy.target, policy.proxied) == ("example.com", "edge.example.com", False)
    assert policy.verification == replace(VerificationPolicy(), deadline_seconds=42)
    assert policy.timeouts == StepTimeouts(total_seconds=60)
    # Configuration adds to the built-in list, never removes from it.
    assert {"acme", "globex", "smtp", "autodiscover", "mta-sts", "ns1", "login", "www"} <= policy.reserved


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("A4C_BASE_DOMAIN", "not a domain"),
        ("A4C_SUBDOMAIN_TARGET", "https://evil.example/"),
        ("A4C_RESERVED_SLUGS", "ok,Not A Slug"),
        ("A4C_VERIFY_MAX_INTERVAL_SECONDS", "1"),
        ("A4C_STEP_TOTAL_SECONDS", "1"),
    ],
)
def test_a_bad_policy_setting_is_a_start_up_error_naming_it(key: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({**BASE, key: value})
    assert error.value.key == key


def test_the_provisioning_services_input_passes() -> None:
    assert bootstrap_problems(bootstrap_input("acme"), POLICY) == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "smtp"}, "slug"),
        ({"slug": "Acme"}, "slug"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Acme\nInc"}, "name"),
        ({"admin_given_name": ""}, "admin_given_name"),
        ({"admin_email": "not-an-address"}, "admin_email"),
        ({"organization_id": "42"}, "organization_id"),
    ],
)
def test_a_bad_bootstrap_field_is_named(change: dict[str, str], field: str) -> None:
    assert field in bootstrap_problems(replace(bootstrap_input("acme"), **change), POLICY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"zone": "evil.example"}, "zone"),
        ({"fqdn": "acme.evil.example"}, "fqdn"),
        ({"fqdn": f"mta-sts.{ZONE}"}, "fqdn"),
        ({"fqdn": f"deep.acme.{ZONE}"}, "fqdn"),
        ({"target": "evil.example"}, "target"),
        ({"record_type": "A"}, "record_type"),
        ({"proxied": False}, "proxied"),
    ],
)
def test_a_subdomain_that_is_not_the_workers_to_make_is_named(change: dict[str, object], field: str) -> None:
    subdomain = replace(bootstrap_input("acme").subdomain, **change)  # type: ignore[arg-type]
    assert field in subdomain_problems(subdomain, POLICY)


def test_an_empty_target_is_left_to_the_worker() -> None:
    assert subdomain_problems(replace(bootstrap_input("acme").subdomain, target=""), POLICY) == {}


async def test_a_refused_bootstrap_calls_nothing_and_records_nothing(
    time_skipping: WorkflowEnvironment,
) -> None:
    request = replace(bootstrap_input("acme"), slug="autoconfig")
    async with mocked_worker(time_skipping.client, Script()) as mocks:
        handle = await start_bootstrap(time_skipping.client, mocks.task_queue, request)
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == REJECTED
    assert mocks.calls == []


async def test_the_workers_pacing_and_timeouts_replace_the_inputs(time_skipping: WorkflowEnvironment) -> None:
    # An input asking for a week of checks and hour-long attempts runs with the worker's policy.
    greedy = VerificationPolicy(deadline_seconds=7 * 86400)
    request = bootstrap_input("acme", verification=greedy, timeouts=StepTimeouts(3600, 86400))
    async with mocked_worker(time_skipping.client, Script()) as mocks:
        result = await (await start_bootstrap(time_skipping.client, mocks.task_queue, request)).result()
    assert result.status == "completed"
    child = time_skipping.client.get_workflow_handle(subdomain_workflow_id(request.organization_id))
    started = (await child.fetch_history()).events[0].workflow_execution_started_event_attributes
    # The child was started with the worker's deadline (plus the start options' margin), not a week.
    assert started.workflow_execution_timeout.ToSeconds() == POLICY.verification.deadline_seconds + 3600
    (child_input,) = await time_skipping.client.data_converter.decode(
        started.input.payloads, [SubdomainInput]
    )
    assert (child_input.verification, child_input.timeouts) == (POLICY.verification, POLICY.timeouts)


async def test_a_subdomain_for_an_organization_nobody_recorded_is_refused(
    time_skipping: WorkflowEnvironment,
) -> None:
    request = bootstrap_input("acme").subdomain  # valid in every field, but no bootstrap recorded it
    async with mocked_worker(time_skipping.client, Script()) as mocks:
        handle = await time_skipping.client.start_workflow(
            SUBDOMAIN_WORKFLOW, request, task_queue=mocks.task_queue, **subdomain_start(request, "acme")
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == REJECTED
    assert "fqdn" in failure.value.cause.message
    assert mocks.calls == []
