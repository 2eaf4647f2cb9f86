"""Records A4C owns: idempotent, ownership-safe create and delete on top of the Cloudflare client.

Ownership is written into the record comment (``managed-by=a4c owner=<org id>``, well inside the
Free plan's 100 characters), as external-dns does with its ownership marker. A record without the
marker, or with another owner, is never modified or deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from a4c.common.deadline import Deadline
from a4c.dns import cloudflare_errors
from a4c.dns.cloudflare import CloudflareClient, DnsRecord, RecordInput, RecordPage
from a4c.dns.quota import RecordQuota

MARKER = "managed-by=a4c"
_MANAGED = re.compile(r"(?:^|\s)managed-by=a4c(?:\s|$)")
_OWNER = re.compile(r"(?:^|\s)owner=(\S+)")
_ADDRESS_OR_ALIAS = frozenset({"A", "AAAA", "CNAME"})


def ownership_comment(owner: str) -> str:
    return f"{MARKER} owner={owner}"


@dataclass(frozen=True)
class Ownership:
    managed: bool
    owner: str

    @classmethod
    def of(cls, record: DnsRecord) -> Ownership:
        comment = record.comment or ""
        if not _MANAGED.search(comment):
            return cls(False, "")
        match = _OWNER.search(comment)
        return cls(True, match.group(1) if match else "")


class NotOwned(Exception):
    """The record (or a record on the name) is not ours to change; ``record`` is the one in the way."""

    def __init__(self, message: str, record: DnsRecord, reason: str) -> None:
        super().__init__(message)
        self.record = record
        self.reason = reason


@dataclass(frozen=True)
class CreateSpec:
    zone: str
    name: str
    type: str
    content: str
    ttl: int
    proxied: bool
    owner: str

    def to_input(self) -> RecordInput:
        return RecordInput(
            self.type, self.name, self.content, self.ttl, self.proxied, ownership_comment(self.owner)
        )


@dataclass(frozen=True)
class CreateOutcome:
    record: DnsRecord
    created: bool
    updated: bool


class RecordManager:
    def __init__(self, client: CloudflareClient, quota: RecordQuota) -> None:
        self._client = client
        self.quota = quota

    async def get(self, zone: str, record_id: str, deadline: Deadline) -> DnsRecord:
        return await self._client.get_record(zone, record_id, deadline=deadline)

    async def list(
        self, zone: str, name: str, type_: str, page: int, per_page: int, deadline: Deadline
    ) -> RecordPage:
        return await self._client.list_records(
            zone, name=name or None, type=type_ or None, page=page, per_page=per_page, deadline=deadline
        )

    async def list_owned(self, zone: str, page: int, per_page: int, deadline: Deadline) -> RecordPage:
        """A page of the records carrying the marker; the owner check on each record stays ours
        (Cloudflare's filter is a prefix match on the comment, the marker regex is exact)."""
        found = await self._client.list_owned_records(
            zone, MARKER, page=page, per_page=per_page, deadline=deadline
        )
        owned = [r for r in found.records if Ownership.of(r).managed]
        return RecordPage(owned, found.page, found.total_pages, found.total_count)

    async def create(self, spec: CreateSpec, deadline: Deadline) -> CreateOutcome:
        """Look up the name first; return, update or create; never touch a record we do not own.
        Every upstream call of the request shares the one ``deadline``."""
        existing = await self._client.find_records(spec.zone, name=spec.name, deadline=deadline)
        found = _ours(spec, existing)
        if found is None:
            # A new record needs room in the zone; an existing one (returned or updated) does not.
            await self.quota.ensure_room(spec.zone, deadline)
            try:
                record = await self._client.create_record(spec.zone, spec.to_input(), deadline=deadline)
            except cloudflare_errors.QuotaExceeded as exc:
                raise self.quota.refused(spec.zone, exc) from exc
            except cloudflare_errors.Conflict:
                # A concurrent call got there first (or someone else did): decide again on fresh data.
                existing = await self._client.find_records(spec.zone, name=spec.name, deadline=deadline)
                found = _ours(spec, existing)
                if found is None or not _identical(found, spec):
                    raise
                return CreateOutcome(found, created=False, updated=False)
            self.quota.created(spec.zone)
            return CreateOutcome(record, created=True, updated=False)
        if _identical(found, spec):
            return CreateOutcome(found, created=False, updated=False)
        updated = await self._client.update_record(spec.zone, found.id, spec.to_input(), deadline=deadline)
        return CreateOutcome(updated, created=False, updated=True)

    async def delete(self, zone: str, record_id: str, owner: str, deadline: Deadline) -> bool:
        """Delete a record ``owner`` owns (its marker says so); False when it is already gone."""
        try:
            record = await self._client.get_record(zone, record_id, deadline=deadline)
        except cloudflare_errors.NotFound:
            return False
        ownership = Ownership.of(record)
        if not ownership.managed:
            raise NotOwned(
                f"record {record_id} ({record.type} {record.name}) is not managed by A4C",
                record,
                "NOT_MANAGED",
            )
        if ownership.owner != owner:
            raise NotOwned(
                f"record {record_id} ({record.type} {record.name}) belongs to another owner",
                record,
                "OTHER_OWNER",
            )
        deleted = await self._client.delete_record(zone, record_id, deadline=deadline)
        if deleted:
            self.quota.deleted(zone)
        return deleted


def _ours(spec: CreateSpec, existing: list[DnsRecord]) -> DnsRecord | None:
    """Our record of this type on the name, if any; raises NotOwned when another record is in the way."""
    ours: list[DnsRecord] = []
    for record in existing:
        ownership = Ownership.of(record)
        if record.type == spec.type and ownership.managed and ownership.owner == spec.owner:
            ours.append(record)
        elif _conflicts(record.type, spec.type):
            whose = "another owner's" if ownership.managed else "a record not managed by A4C:"
            if ownership.managed and ownership.owner == spec.owner:
                whose = "this owner's"
            raise NotOwned(
                f"{spec.name} already has {whose} {record.type} record {record.id} ({record.content}); "
                f"it is left untouched",
                record,
                "NAME_TAKEN",
            )
    # Prefer a record that already has the content (several A records can share a name).
    return next((r for r in ours if r.same_content(spec.to_input())), ours[0] if ours else None)


def _conflicts(existing_type: str, wanted_type: str) -> bool:
    if existing_type == wanted_type:
        return True
    return "CNAME" in (existing_type, wanted_type) and {existing_type, wanted_type} <= _ADDRESS_OR_ALIAS


def _identical(record: DnsRecord, spec: CreateSpec) -> bool:
    return record.same_content(spec.to_input()) and record.proxied == spec.proxied and record.ttl == spec.ttl
