"""What the Cloudflare emulator stores, in the shape its API returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from a4c.sandbox.cloudflare.validation import PROXIABLE_TYPES

ACCOUNT_ID = "0" * 32  # the sandbox's one account


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    name_servers: tuple[str, ...]
    created_on: str

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": list(self.name_servers),
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": self.created_on,
            "modified_on": self.created_on,
            "activated_on": self.created_on,
            "meta": {"phishing_detected": False},
            "owner": {"id": None, "type": "user", "email": None},
            "account": {"id": ACCOUNT_ID, "name": "A4C sandbox"},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "legacy_id": "free"},
        }


@dataclass(frozen=True)
class Record:
    id: str
    zone_id: str
    type: str
    name: str
    content: str
    ttl: int
    proxied: bool
    comment: str | None
    tags: tuple[str, ...]
    created_on: str
    modified_on: str

    def to_api(self) -> dict[str, Any]:
        # No zone_id, zone_name or locked: Cloudflare removed them from records in 2024.
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "content": self.content,
            "proxiable": self.type in PROXIABLE_TYPES,
            "proxied": self.proxied,
            "ttl": self.ttl,
            "settings": {},
            "meta": {},
            "comment": self.comment,
            "tags": list(self.tags),
            "created_on": self.created_on,
            "modified_on": self.modified_on,
        }
        if self.comment is not None:
            data["comment_modified_on"] = self.modified_on
        return data


@dataclass(frozen=True)
class ZoneSnapshot:
    """One zone's records after a change; ``serial`` grows with every change (the SOA serial)."""

    zone: Zone
    records: tuple[Record, ...]
    serial: int


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def zone_id_for(name: str) -> str:
    # Stable across restarts so a local stack configured with CLOUDFLARE_ZONE_ID keeps working.
    return hashlib.sha256(f"sandbox-zone:{name}".encode()).hexdigest()[:32]


def default_name_servers(zone: str) -> tuple[str, ...]:
    return (f"ns1.{zone}", f"ns2.{zone}")
