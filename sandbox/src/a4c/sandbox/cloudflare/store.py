"""The emulator's zones and records: all-or-nothing changes, Cloudflare's conflict rules, change
notifications (the DNS server and persistence listen) and a JSON form for SANDBOX_STATE_DIR.

Thread-safe: the HTTP app runs in an event loop while the DNS server reads from its own threads.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from a4c.sandbox.cloudflare.models import (
    Record,
    Zone,
    ZoneSnapshot,
    default_name_servers,
    now_rfc3339,
    zone_id_for,
)
from a4c.sandbox.cloudflare.validation import NO_ROUTE, ApiError, RecordSpec

__all__ = ["Batch", "BatchResult", "CloudflareStore", "Record", "RecordQuota", "Zone", "ZoneSnapshot"]

log = logging.getLogger(__name__)
_ADDRESS_TYPES = ("A", "AAAA")


@dataclass(frozen=True)
class Batch:
    """One all-or-nothing change, applied in Cloudflare's order: deletes, patches, puts, posts."""

    deletes: Sequence[str] = ()
    patches: Sequence[tuple[str, RecordSpec]] = ()
    puts: Sequence[tuple[str, RecordSpec]] = ()
    posts: Sequence[RecordSpec] = ()


@dataclass(frozen=True)
class BatchResult:
    deletes: tuple[Record, ...]
    patches: tuple[Record, ...]
    puts: tuple[Record, ...]
    posts: tuple[Record, ...]


Listener = Callable[[ZoneSnapshot], None]


@dataclass(frozen=True)
class RecordQuota:
    """How many records a change may leave: per zone, or across all zones (an account quota)."""

    limit: int
    account_wide: bool = False


QUOTA_EXCEEDED = (400, 81045, "Record quota exceeded.")


class CloudflareStore:
    def __init__(self, zones: Iterable[str], *, created_on: str | None = None) -> None:
        """``created_on``: when every zone was created (RFC 3339, UTC; default now): the record quota
        of a Free zone depends on it."""
        self._lock = threading.RLock()
        created = created_on or now_rfc3339()
        self._zones: dict[str, Zone] = {}
        for name in zones:
            zone = Zone(zone_id_for(name), name, default_name_servers(name), created)
            self._zones[zone.id] = zone
        self._records: dict[str, dict[str, Record]] = {zid: {} for zid in self._zones}
        self._serials: dict[str, int] = dict.fromkeys(self._zones, 1)
        self._listeners: list[Listener] = []

    # -- reads -------------------------------------------------------------------------------
    def zones(self) -> list[Zone]:
        with self._lock:
            return sorted(self._zones.values(), key=lambda z: z.name)

    def zone(self, zone_id: str) -> Zone:
        with self._lock:
            zone = self._zones.get(zone_id)
        if zone is None:
            raise ApiError(404, 7003, NO_ROUTE)
        return zone

    def records(self, zone_id: str) -> list[Record]:
        with self._lock:
            self.zone(zone_id)
            return list(self._records[zone_id].values())

    def record(self, zone_id: str, record_id: str) -> Record:
        with self._lock:
            self.zone(zone_id)
            record = self._records[zone_id].get(record_id)
        if record is None:
            raise ApiError(404, 81044, "Record does not exist.")
        return record

    def record_count(self, zone_id: str | None = None) -> int:
        """Records in the zone, or (None) in every zone: what Cloudflare's usage endpoints report."""
        with self._lock:
            if zone_id is None:
                return sum(len(records) for records in self._records.values())
            self.zone(zone_id)
            return len(self._records[zone_id])

    def snapshot(self, zone_id: str) -> ZoneSnapshot:
        with self._lock:
            zone = self.zone(zone_id)
            return ZoneSnapshot(zone, tuple(self._records[zone_id].values()), self._serials[zone_id])

    # -- changes -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` (under the store lock, so in order) after every change to a zone."""
        with self._lock:
            self._listeners.append(listener)

    def apply(self, zone_id: str, batch: Batch, *, record_quota: RecordQuota | None = None) -> BatchResult:
        """Apply every operation to a working copy, check it, then commit it whole. With
        ``record_quota``, a change that adds records beyond it fails as Cloudflare's quota does."""
        with self._lock:
            self.zone(zone_id)
            work = dict(self._records[zone_id])
            stamp = now_rfc3339()
            deleted = tuple(self._pop(work, rid) for rid in batch.deletes)
            patched = tuple(self._replace(work, rid, spec, stamp) for rid, spec in batch.patches)
            put = tuple(self._replace(work, rid, spec, stamp) for rid, spec in batch.puts)
            posted = tuple(self._add(work, zone_id, spec, stamp) for spec in batch.posts)
            if record_quota is not None and posted:
                others = self.record_count() - len(self._records[zone_id]) if record_quota.account_wide else 0
                if others + len(work) > record_quota.limit:
                    raise ApiError(*QUOTA_EXCEEDED)
            if deleted or patched or put or posted:
                self._records[zone_id] = work
                self._serials[zone_id] += 1
                self._notify(zone_id)
            return BatchResult(deleted, patched, put, posted)

    def _pop(self, work: dict[str, Record], record_id: str) -> Record:
        record = work.pop(record_id, None)
        if record is None:
            raise ApiError(404, 81044, "Record does not exist.")
        return record

    def _replace(self, work: dict[str, Record], record_id: str, spec: RecordSpec, stamp: str) -> Record:
        current = work.get(record_id)
        if current is None:
            raise ApiError(404, 81044, "Record does not exist.")
        updated = replace(current, **asdict(spec), modified_on=stamp)
        _check_conflicts(work, updated)
        work[record_id] = updated
        return updated

    def _add(self, work: dict[str, Record], zone_id: str, spec: RecordSpec, stamp: str) -> Record:
        record = Record(uuid.uuid4().hex, zone_id, **asdict(spec), created_on=stamp, modified_on=stamp)
        _check_conflicts(work, record)
        work[record.id] = record
        return record

    def _notify(self, zone_id: str) -> None:
        snapshot = self.snapshot(zone_id)
        for listener in self._listeners:
            listener(snapshot)

    # -- persistence -------------------------------------------------------------------------
    def persist_to(self, path: Path) -> None:
        """Load the records saved at ``path`` (if any), then save them there after every change."""
        if path.exists():
            self.load_json(json.loads(path.read_text()))
            log.info("cloudflare sandbox state loaded from %s", path)

        def save(_snapshot: ZoneSnapshot) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True))
            os.replace(tmp, path)  # atomic: a crash never leaves half a file

        self.subscribe(save)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "zones": {
                    zone.name: {
                        "serial": self._serials[zone.id],
                        "records": [_record_json(r) for r in self._records[zone.id].values()],
                    }
                    for zone in self._zones.values()
                }
            }

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Restore records saved by :meth:`to_json` for the zones configured now (others are ignored)."""
        with self._lock:
            by_name = {zone.name: zone for zone in self._zones.values()}
            for name, saved in data.get("zones", {}).items():
                zone = by_name.get(name)
                if zone is None:
                    continue
                records = [Record(zone_id=zone.id, **_json_fields(r)) for r in saved.get("records", [])]
                self._records[zone.id] = {r.id: r for r in records}
                self._serials[zone.id] = max(int(saved.get("serial", 1)), 1) + 1
                self._notify(zone.id)


def _record_json(record: Record) -> dict[str, Any]:
    data = asdict(record)
    del data["zone_id"]
    data["tags"] = list(record.tags)
    return data


def _json_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    fields["tags"] = tuple(fields.get("tags", ()))
    return fields


def _check_conflicts(work: Mapping[str, Record], record: Record) -> None:
    """Cloudflare's rules for records sharing a name (codes from real payloads)."""
    for other in work.values():
        if other.id == record.id or other.name != record.name:
            continue
        if other.type == record.type and other.content == record.content:
            raise ApiError(400, 81058, "An identical record already exists.")
        if record.type == "CNAME" and other.type in (*_ADDRESS_TYPES, "CNAME"):
            raise ApiError(400, 81053, "An A, AAAA, or CNAME record with that host already exists.")
        if record.type in _ADDRESS_TYPES and other.type == "CNAME":
            raise ApiError(400, 81054, "A CNAME record with that host already exists.")
