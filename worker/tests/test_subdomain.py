"""The subdomain child, fast: the real workflows, mocked activities, time-skipping server.

The production verification policy (first check after 10 s, spaced up to 60 s, 10-minute deadline)
runs as it is: the test server skips the waits while a test awaits a result. The child verifies,
or fails, without changing the bootstrap's outcome. End to end against the DNS service and the
sandbox nameservers: test_bootstrap.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_bootstrap
from a4c.eventstore import EventType
from a4c.workflows.models import BootstrapResult, SubdomainResult, VerificationPolicy, subdomain_workflow_id

from .mocked import MockedActivities, Script, bootstrap_input, mocked_worker, skipping_time

POLICY = VerificationPolicy()
DEADLINE = timedelta(seconds=POLICY.deadline_seconds)


@dataclass
class Outcome:
    bootstrap: BootstrapResult
    subdomain: SubdomainResult
    child_calls: list[tuple[str, str]]
    # Both workflows' calls, in the order they happened.
    all_calls: list[tuple[str, str]]
    # When each propagation check started (server time), counted from the first.
    checks: list[timedelta]


async def _bootstrap(env: WorkflowEnvironment, script: Script) -> Outcome:
    request = bootstrap_input("tenant")
    child_id = subdomain_workflow_id(request.organization_id)
    # The worker stays up until the child (which outlives the bootstrap) has ended too.
    async with mocked_worker(env.client, script) as mocks:
        handle = await start_bootstrap(env.client, mocks.task_queue, request)
        bootstrap = await handle.result()
        child = env.client.get_workflow_handle(child_id, result_type=SubdomainResult)
        async with skipping_time(env.client):
            subdomain = await child.result()
    every = [(c.activity, c.detail) for c in mocks.calls]
    return Outcome(bootstrap, subdomain, mocks.of(child_id), every, _check_times(mocks, child_id))


def _check_times(mocks: MockedActivities, child_id: str) -> list[timedelta]:
    times = [
        c.started
        for c in mocks.calls
        if c.workflow_id == child_id and c.activity == "check_propagation" and c.started is not None
    ]
    return [t - times[0] for t in times]


async def test_the_subdomain_verifies_after_checks_spaced_by_the_policy(
    time_skipping: WorkflowEnvironment,
) -> None:
    outcome = await _bootstrap(time_skipping, Script(checks_before_propagated=3))

    assert outcome.bootstrap.status == "completed"
    assert outcome.subdomain.status == "active"
    assert outcome.subdomain.dns_record_id
    assert outcome.child_calls == [
        ("create_dns_record", ""),
        ("record_event", EventType.SUBDOMAIN_VERIFICATION_STARTED),
        *[("check_propagation", "")] * 4,
        ("record_event", EventType.SUBDOMAIN_VERIFIED),
    ]
    # Temporal's retry policy spaces the checks: 10 s, then x1.5 each time (plus real milliseconds).
    seconds = [gap.total_seconds() for gap in outcome.checks]
    assert seconds == pytest.approx([0, 10, 25, 47.5], abs=1.0)


async def test_a_subdomain_that_never_propagates_fails_at_the_deadline_and_the_bootstrap_completes(
    time_skipping: WorkflowEnvironment,
) -> None:
    outcome = await _bootstrap(time_skipping, Script(checks_before_propagated=None))

    assert outcome.bootstrap.status == "completed"
    assert outcome.subdomain.status == "failed"
    assert outcome.subdomain.error == "not propagated before the 600s deadline"
    assert outcome.child_calls[-1] == ("record_event", EventType.SUBDOMAIN_VERIFICATION_FAILED)
    # The bootstrap did not wait for DNS: it had completed long before the child gave up.
    calls = outcome.all_calls
    assert calls.index(("record_event", EventType.BOOTSTRAP_COMPLETED)) < calls.index(
        ("record_event", EventType.SUBDOMAIN_VERIFICATION_FAILED)
    )
    # It kept checking until the deadline was near (the last gap is at most the longest interval),
    # and never after it.
    last = outcome.checks[-1]
    assert DEADLINE - timedelta(seconds=POLICY.max_interval_seconds) <= last <= DEADLINE


async def test_a_dns_record_that_cannot_be_created_fails_the_subdomain_only(
    time_skipping: WorkflowEnvironment,
) -> None:
    outcome = await _bootstrap(time_skipping, Script(fail=("create_dns_record",)))

    assert outcome.bootstrap.status == "completed"
    assert outcome.subdomain.status == "failed"
    assert outcome.subdomain.error == "InvalidArgument: create_dns_record refused"
    assert outcome.child_calls == [
        ("create_dns_record", ""),
        ("record_event", EventType.SUBDOMAIN_VERIFICATION_FAILED),
    ]
