"""The drift reconciler's contract: workflow and schedule names, inputs, findings and tallies.

`ReconcileOrganizationsWorkflow` pages through the reconcilable organizations in id order, one batch
per activity, and continues as new after `batches_per_run` batches so its history stays bounded; the
tally travels in the input across runs. The provisioning service starts a read-only run (`dry_run`)
for `a4c reconcile --dry-run`; the worker's schedule starts the acting ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

RECONCILE_WORKFLOW = "ReconcileOrganizationsWorkflow"
# One schedule per namespace and task queue; its runs get ids "<schedule id>-<time>".
RECONCILE_SCHEDULE_ID = "a4c-reconcile-organizations"
PREVIEW_WORKFLOW_PREFIX = "a4c-reconcile-preview-"
# A batch per activity, then continue-as-new after this many (history: ~6 events per batch).
DEFAULT_BATCHES_PER_RUN = 5
MAX_BATCHES_PER_RUN = 50
# Findings listed in a result (counts are always complete): a preview shows many, a scheduled run
# few, since its events are the record and its result stays in history.
PREVIEW_LISTED = 1000
SCHEDULED_LISTED = 20


class DriftKind(StrEnum):
    RECORD_MISSING = "record_missing"  # our record is gone and the name is free: restore it
    RECORD_CHANGED = "record_changed"  # our record is there with other content: restore it
    NAME_TAKEN = "name_taken"  # a record we do not own holds the name: never overwritten
    IDENTITY_MISSING = "identity_missing"  # the Zitadel organization was deleted out of band
    IDENTITY_DEACTIVATED = "identity_deactivated"  # ...or deactivated out of band
    ORPHAN_RECORD = "orphan_record"  # a record with our marker whose owner is not live
    ORPHAN_IDENTITY = "orphan_identity"  # a Zitadel organization we marked whose owner is not live
    UNCHECKED = "unchecked"  # a service refused this organization's comparison (logged); next run again


class DriftAction(StrEnum):
    REPAIR = "repair"
    REPORT = "report"
    DELETE = "delete"


@dataclass(frozen=True)
class DriftFinding:
    organization_id: str
    slug: str
    kind: str  # a DriftKind value
    action: str  # a DriftAction value: what a run that acts does (a preview only says it)
    subject: str  # the record name or the identity organization id


@dataclass(frozen=True)
class ReconcileTally:
    """What one or more batches found and spent; `plus` keeps the listed findings bounded."""

    checked: int = 0
    batches: int = 0
    runs: int = 1
    dns_calls: int = 0
    identity_calls: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # DriftKind value -> findings
    findings: list[DriftFinding] = field(default_factory=list)
    truncated: bool = False
    listed: int = PREVIEW_LISTED

    def plus(self, other: ReconcileTally) -> ReconcileTally:
        counts = dict(self.counts)
        for kind, n in other.counts.items():
            counts[kind] = counts.get(kind, 0) + n
        findings = [*self.findings, *other.findings]
        return replace(
            self,
            checked=self.checked + other.checked,
            batches=self.batches + other.batches,
            dns_calls=self.dns_calls + other.dns_calls,
            identity_calls=self.identity_calls + other.identity_calls,
            counts=counts,
            findings=findings[: self.listed],
            truncated=self.truncated or other.truncated or len(findings) > self.listed,
        )


@dataclass(frozen=True)
class ReconcileInput:
    """`after`: the last organization id compared (keyset cursor); empty to start from the first."""

    dry_run: bool = False
    batches_per_run: int = DEFAULT_BATCHES_PER_RUN
    after: str = ""
    tally: ReconcileTally | None = None


@dataclass(frozen=True)
class BatchInput:
    after: str
    dry_run: bool
    listed: int


@dataclass(frozen=True)
class BatchResult:
    tally: ReconcileTally
    next_after: str
    done: bool  # no organization after this batch


@dataclass(frozen=True)
class OrphanInput:
    dry_run: bool
    listed: int
