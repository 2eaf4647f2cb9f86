"""Cloudflare's per-plan limits that shape the DNS API's answers (figures from Cloudflare's docs:
"DNS records quota" on the Manage DNS records page, the record attributes reference, batch limits).

Free zones created on or after 2024-09-01 hold at most 200 records, older Free zones 1,000; Pro,
Business and Enterprise zones 3,500 (Enterprise accounts may instead have an account-level quota,
not modelled). Comments are at most 100 characters on Free zones and 500 on paid ones; a batch holds
at most 200 operations on Free and 3,500 on paid plans.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    key: str
    # The zone's `plan` object as GET /zones answers it.
    name: str
    legacy_id: str
    record_quota: int
    comment_max_length: int
    max_batch_operations: int


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan("free", "Free Website", "free", 200, 100, 200),
        Plan("free-legacy", "Free Website", "free", 1000, 100, 200),
        Plan("pro", "Pro Website", "pro", 3500, 500, 3500),
        Plan("business", "Business Website", "business", 3500, 500, 3500),
        Plan("enterprise", "Enterprise Website", "enterprise", 3500, 500, 3500),
    )
}
DEFAULT_PLAN = "free"


def plan_named(key: str) -> Plan:
    try:
        return PLANS[key]
    except KeyError:
        raise ValueError(f"unknown plan {key!r}: one of {', '.join(PLANS)}") from None
