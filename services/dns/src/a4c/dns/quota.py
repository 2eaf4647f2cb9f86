"""The zone's record quota: Cloudflare caps the records a zone holds by its plan ("DNS records quota":
200 for a Free zone created since 2024-09-01, 1,000 for an older Free zone, 3,500 for Pro and
Business, or what Cloudflare set for the zone on request). With one record per tenant, that is a
hard cap on tenants per zone, and no retry makes room.

The service knows the quota from its setting (CLOUDFLARE_ZONE_RECORD_QUOTA) and the count from
Cloudflare's usage endpoint (`GET /zones/{id}/dns_records/usage`, every record of the zone, ours or
not). Asking before every create would spend one more request of the shared Cloudflare budget per
tenant, so the count is kept: read at most every ``max_age`` seconds and moved by this replica's own
creates and deletes in between. Records other replicas add show at the next read; a create that a
stale count lets through meets Cloudflare's own quota (81045), refused the same way (ZoneFull). So
the local check gives the clear answer and saves the POST; Cloudflare's stays the authority, and a
usage read that fails never fails a create (Cloudflare still checks).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from a4c.common.deadline import Clock, Deadline
from a4c.common.metrics import Metrics
from a4c.dns import cloudflare_errors
from a4c.dns.cloudflare import CloudflareClient

log = logging.getLogger(__name__)
USAGE_MAX_AGE_SECONDS = 60.0


class ZoneFull(Exception):
    """The zone holds its record quota: no record can be added (``used`` None: Cloudflare said so)."""

    def __init__(
        self, zone: str, quota: int, used: int | None, *, cloudflare_code: int | None = None
    ) -> None:
        self.zone, self.quota, self.used, self.cloudflare_code = zone, quota, used, cloudflare_code
        if used is not None:
            state = f"the zone {zone} holds {used} of its {quota} DNS records (its record quota)"
        else:
            state = (
                f"Cloudflare refused the record: the zone {zone} is at its DNS record quota (code "
                f"{cloudflare_code}), below the {quota} this service counts on (CLOUDFLARE_ZONE_RECORD_QUOTA)"
            )
        super().__init__(
            f"{state}; no record can be added until records are deleted or the quota is raised "
            f"(another plan, or another zone): retrying does not help"
        )

    @property
    def description(self) -> str:
        held = (
            f"{self.used} of {self.quota}"
            if self.used is not None
            else f"at Cloudflare's quota (<= {self.quota})"
        )
        return f"DNS records: {held}"


@dataclass(frozen=True)
class ZoneUsage:
    zone: str
    used: int
    quota: int  # the quota this service enforces
    cloudflare_quota: int | None  # what Cloudflare reports (None: none for the zone)

    @property
    def available(self) -> int:
        return max(self.quota - self.used, 0)


class RecordQuota:
    def __init__(
        self,
        client: CloudflareClient,
        quota: int,
        *,
        max_age: float = USAGE_MAX_AGE_SECONDS,
        clock: Clock = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.quota = quota
        self._client = client
        self._max_age = max_age
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # zone -> (when counted, records)
        self._warned: set[str] = set()
        self._gauge = None
        if metrics is not None:
            self._gauge = metrics.gauge("a4c_dns_zone_records", "Records the zone holds, as last counted")
            metrics.gauge("a4c_dns_zone_record_quota", "The zone's record quota this service enforces").set(
                quota
            )

    async def usage(self, zone: str, deadline: Deadline) -> ZoneUsage:
        """Counted by Cloudflare now (one request); the kept count starts again from it."""
        read = await self._client.zone_usage(zone, deadline=deadline)
        self._note(zone, read.used)
        if read.quota is not None and read.quota != self.quota and zone not in self._warned:
            self._warned.add(zone)
            log.warning(
                "Cloudflare reports a record quota of %d for %s, CLOUDFLARE_ZONE_RECORD_QUOTA says %d",
                read.quota,
                zone,
                self.quota,
            )
        return ZoneUsage(zone, read.used, self.quota, read.quota)

    async def ensure_room(self, zone: str, deadline: Deadline) -> None:
        """Raise ZoneFull when the zone holds its quota (by the kept count, read again when old)."""
        seen = self._seen.get(zone)
        if seen is None or self._clock() - seen[0] > self._max_age:
            try:
                used = (await self.usage(zone, deadline)).used
            except cloudflare_errors.CloudflareError as error:
                log.warning(
                    "record usage of %s unknown (%s): Cloudflare checks the quota itself", zone, error
                )
                return
        else:
            used = seen[1]
        if used >= self.quota:
            raise ZoneFull(zone, self.quota, used)

    def created(self, zone: str) -> None:
        self._moved(zone, +1)

    def deleted(self, zone: str) -> None:
        self._moved(zone, -1)

    def refused(self, zone: str, error: cloudflare_errors.QuotaExceeded) -> ZoneFull:
        """Cloudflare's own quota refused a create: count again next time, answer as ZoneFull."""
        self._seen.pop(zone, None)
        return ZoneFull(zone, self.quota, None, cloudflare_code=error.code)

    def _moved(self, zone: str, by: int) -> None:
        seen = self._seen.get(zone)
        if seen is not None:
            self._seen[zone] = (seen[0], max(seen[1] + by, 0))
            if self._gauge is not None:
                self._gauge.set(self._seen[zone][1])

    def _note(self, zone: str, used: int) -> None:
        self._seen[zone] = (self._clock(), used)
        if self._gauge is not None:
            self._gauge.set(used)
