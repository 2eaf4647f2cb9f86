"""The workflow contract's vocabulary agrees with the schema that projects it (migration 0006)."""

from __future__ import annotations

from a4c.eventstore import EventStore, SubdomainStatus
from a4c.workflows import search
from a4c.workflows.models import (
    BOOTSTRAP_STEPS,
    BootstrapStep,
    Compensation,
    SubdomainInput,
    VerificationPolicy,
    subdomain_workflow_id,
)
from a4c.workflows.start import subdomain_start


async def test_the_database_knows_the_bootstrap_steps_in_workflow_order(event_store: EventStore) -> None:
    rows = await event_store.pool.fetch("SELECT name, undone_by FROM bootstrap_steps ORDER BY position")
    assert [r["name"] for r in rows] == list(BOOTSTRAP_STEPS)
    undone = {r["name"]: r["undone_by"] for r in rows if r["undone_by"] is not None}
    assert undone == {
        BootstrapStep.IDENTITY: Compensation.DELETE_IDENTITY,
        BootstrapStep.SUBDOMAIN: Compensation.REMOVE_DNS_RECORD,
    }


def test_a_subdomain_run_is_started_under_the_organizations_id_with_its_attributes() -> None:
    request = SubdomainInput(
        "org-1", "example.com", "a.example.com", verification=VerificationPolicy(deadline_seconds=60)
    )
    options = subdomain_start(request, "a")
    assert options["id"] == subdomain_workflow_id("org-1")
    attributes = options["search_attributes"]
    assert attributes.get(search.ORG_SLUG) == "a"
    assert attributes.get(search.SUBDOMAIN_STATUS) == SubdomainStatus.PENDING
    assert options["execution_timeout"].total_seconds() == 60 + 3600
