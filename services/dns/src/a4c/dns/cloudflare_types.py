"""Records as the Cloudflare client takes and returns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RecordInput:
    """A record to write: name a lowercase FQDN without trailing dot; ttl 1 = automatic."""

    type: str
    name: str
    content: str
    ttl: int = 1
    proxied: bool = False
    comment: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "content": self.content,
            "ttl": self.ttl,
            "proxied": self.proxied,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class DnsRecord:
    id: str
    zone: str
    type: str
    name: str
    content: str
    ttl: int
    proxied: bool
    comment: str | None
    created_on: datetime | None
    modified_on: datetime | None

    @classmethod
    def from_api(cls, zone: str, data: dict[str, Any]) -> DnsRecord:
        return cls(
            id=str(data["id"]),
            zone=zone,
            type=str(data["type"]),
            name=str(data["name"]),
            content=str(data.get("content") or ""),
            ttl=int(data.get("ttl") or 1),
            proxied=bool(data.get("proxied")),
            comment=data.get("comment") or None,
            created_on=_time(data.get("created_on")),
            modified_on=_time(data.get("modified_on")),
        )

    def same_content(self, other: RecordInput) -> bool:
        """Cloudflare's notion of an identical record: type, name and content."""
        mine, theirs = self.content, other.content
        if self.type == "CNAME":  # host names compare case-insensitively
            mine, theirs = mine.lower(), theirs.lower()
        return self.type == other.type and self.name == other.name and mine == theirs


@dataclass(frozen=True)
class RecordPage:
    records: list[DnsRecord]
    page: int
    total_pages: int
    total_count: int

    @classmethod
    def from_api(cls, zone: str, body: dict[str, Any]) -> RecordPage:
        info = body.get("result_info") or {}
        records = [DnsRecord.from_api(zone, r) for r in body.get("result") or []]
        return cls(
            records=records,
            page=int(info.get("page") or 1),
            # Cloudflare answers 0 pages for an empty list; only a missing field means "this one".
            total_pages=int(info.get("total_pages", 1)),
            total_count=int(info.get("total_count") or len(records)),
        )


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class ZoneRecordUsage:
    """`GET /zones/{id}/dns_records/usage`: records in the zone, and its quota (None: Cloudflare
    reports none for the zone, e.g. an Enterprise account's quota applies instead)."""

    used: int
    quota: int | None

    @classmethod
    def from_api(cls, result: dict[str, Any]) -> ZoneRecordUsage:
        quota = result.get("record_quota")
        return cls(int(result.get("record_usage") or 0), int(quota) if quota is not None else None)
