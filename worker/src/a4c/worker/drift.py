"""The drift comparison: what an organization's record and identity organization should be, against
what the upstream listings say. Pure functions, so the acting run and the preview (`a4c reconcile
--dry-run`) decide alike, and tests can feed them records directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from a4c.api.dns.v1 import dns_pb2
from a4c.eventstore import IdentityStatus, Organization, SubdomainStatus
from a4c.workflows.reconcile import DriftKind

# Subdomains the reconciler owns: verified ones, and those it already found drifted. A subdomain still
# being created or verified belongs to its workflow; a failed or removed one waits for RetrySubdomain.
RECONCILED_SUBDOMAINS = frozenset({SubdomainStatus.ACTIVE, SubdomainStatus.DRIFTED})
# Zitadel states (the identity service strips the prefix) that count as a deactivated organization.
_DEACTIVATED = frozenset({"INACTIVE"})
_ALIASES = frozenset({dns_pb2.RECORD_TYPE_A, dns_pb2.RECORD_TYPE_AAAA, dns_pb2.RECORD_TYPE_CNAME})


@dataclass(frozen=True)
class RecordPolicy:
    """The record every tenant subdomain must be: the worker's zone, CNAME target and proxying."""

    zone: str
    target: str
    proxied: bool


def owns(record: dns_pb2.Record, organization_id: str) -> bool:
    return record.managed and record.owner == organization_id


def record_drift(org: Organization, ours: Iterable[dns_pb2.Record], policy: RecordPolicy) -> DriftKind | None:
    """Our records (marker with this owner) against the one the subdomain should have. MISSING means
    none on the name: whether the name is free is `name_drift`'s question (it needs a lookup)."""
    fqdn = org.subdomain_fqdn or ""
    on_name = [r for r in ours if r.name == fqdn]
    if not on_name:
        return DriftKind.RECORD_MISSING
    if any(_as_wanted(r, policy) for r in on_name):
        return None
    return DriftKind.RECORD_CHANGED


def name_drift(org: Organization, on_name: Iterable[dns_pb2.Record]) -> dns_pb2.Record | None:
    """A record on the subdomain's name that we do not own and that a CNAME cannot coexist with."""
    organization_id = str(org.id)
    return next((r for r in on_name if not owns(r, organization_id) and r.type in _ALIASES), None)


def identity_drift(state: str | None) -> DriftKind | None:
    """`state`: the identity organization's state as listed or read, None when it does not exist."""
    if state is None:
        return DriftKind.IDENTITY_MISSING
    if state in _DEACTIVATED:
        return DriftKind.IDENTITY_DEACTIVATED
    return None


def identity_status(kind: DriftKind) -> IdentityStatus:
    return IdentityStatus.MISSING if kind is DriftKind.IDENTITY_MISSING else IdentityStatus.DEACTIVATED


def _as_wanted(record: dns_pb2.Record, policy: RecordPolicy) -> bool:
    return (
        record.type == dns_pb2.RECORD_TYPE_CNAME
        and record.content.lower().rstrip(".") == policy.target
        and record.proxied == policy.proxied
    )
