"""Cloudflare's per-plan limits that shape the DNS API's answers (figures from Cloudflare's docs:
"DNS records quota" on the Manage DNS records page, the record attributes reference, batch limits).

The record quota is per zone and depends on the plan and, for Free zones, on when the zone was
created: Free zones created before 2024-09-01 00:00 UTC hold 1,000 records, those created on or after
it 200; Pro and Business zones 3,500. Enterprise zones have no quota of their own: the account's
zones together hold at most 1,000,000 records. Cloudflare may also set a zone's quota on request
(support raised js.org's to 5,000): ``CloudflareSettings.record_quota``. Comments are at most 100
characters on Free zones and 500 on paid ones; a batch holds at most 200 operations on Free and
3,500 on paid plans.
"""

from __future__ import annotations

from dataclasses import dataclass

# Free zones created from this moment on get the smaller quota (Cloudflare's docs, 2024).
FREE_QUOTA_CUTOVER = "2024-09-01T00:00:00Z"
ACCOUNT_RECORD_QUOTA = 1_000_000  # Enterprise: per account, public zones


@dataclass(frozen=True)
class Plan:
    key: str
    # The zone's `plan` object as GET /zones answers it.
    name: str
    legacy_id: str
    # Per zone; None: the account-level quota applies instead (Enterprise).
    record_quota: int | None
    comment_max_length: int
    max_batch_operations: int
    # Free zones created before FREE_QUOTA_CUTOVER keep this larger quota.
    older_zone_record_quota: int | None = None

    def zone_record_quota(self, zone_created_on: str) -> int | None:
        """The zone's record quota by this plan, given when the zone was created (RFC 3339, UTC)."""
        if self.older_zone_record_quota is not None and _before(zone_created_on, FREE_QUOTA_CUTOVER):
            return self.older_zone_record_quota
        return self.record_quota


PLANS: dict[str, Plan] = {
    plan.key: plan
    for plan in (
        Plan("free", "Free Website", "free", 200, 100, 200, older_zone_record_quota=1000),
        Plan("pro", "Pro Website", "pro", 3500, 500, 3500),
        Plan("business", "Business Website", "business", 3500, 500, 3500),
        Plan("enterprise", "Enterprise Website", "enterprise", None, 500, 3500),
    )
}
DEFAULT_PLAN = "free"


def plan_named(key: str) -> Plan:
    try:
        return PLANS[key]
    except KeyError:
        raise ValueError(f"unknown plan {key!r}: one of {', '.join(PLANS)}") from None


def _before(moment: str, cutover: str) -> bool:
    # Both are RFC 3339 in UTC with a Z: comparing their date-time prefixes compares the moments.
    return moment[:19] < cutover[:19]
