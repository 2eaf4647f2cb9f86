"""Cloudflare API v4 client for a zone's DNS records (httpx, async, one pooled client passed in).

Every call takes a :class:`Deadline` (retries included), normally the servicer's, passed down
unchanged. The kit's retry loop (:mod:`a4c.common.upstream`) retries throttling (429 + retry-after),
5xx and transport errors with jittered backoff while the deadline allows; this module only says what
an answer means (``_classify``). The client-side :class:`RequestBudget` keeps the process under
Cloudflare's rate limit. Failures surface as the small hierarchy in :mod:`a4c.dns.cloudflare_errors`.
The API token is only ever put in the Authorization header: it is never logged, never part of an
exception or a repr.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from typing import Any

import httpx

from a4c.common.deadline import Clock, Deadline
from a4c.common.metrics import Metrics
from a4c.common.retry import RetryPolicy
from a4c.common.upstream import DeadlineExceeded, Failure, RetryLoop, Sleep
from a4c.dns.budget import BudgetExhausted, RequestBudget
from a4c.dns.cloudflare_errors import (
    IDENTICAL_RECORD_CODES,
    Conflict,
    NotFound,
    RateLimited,
    Unavailable,
    parse_response,
)
from a4c.dns.cloudflare_types import DnsRecord, RecordInput, RecordPage, ZoneRecordUsage

__all__ = ["CloudflareClient", "DnsRecord", "RecordInput", "RecordPage", "ZoneRecordUsage"]

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
MAX_PAGES = 1000  # a runaway-pagination guard: 100,000 records is far beyond any zone of ours


# Like the official SDK: a few attempts, 0.5 s doubling to 8 s, retry-after honoured up to 60 s.
CLOUDFLARE_RETRY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_retry_after=60.0)


class CloudflareClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        zone_ids: Mapping[str, str] | None = None,
        default_timeout: float = 30.0,
        page_size: int = 100,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._http = http
        self._headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        self._base = base_url.rstrip("/")
        self._budget = budget or RequestBudget(1000, clock=clock, sleep=sleep)
        self._retry = RetryLoop(
            "cloudflare", retry or CLOUDFLARE_RETRY, httpx.TransportError, sleep, rng, metrics=metrics
        )
        self._zone_ids = {name.lower(): zid for name, zid in (zone_ids or {}).items()}
        self._zone_locks: dict[str, asyncio.Lock] = {}
        self._default_timeout = default_timeout
        self._page_size = page_size
        self._clock = clock

    def __repr__(self) -> str:
        return f"CloudflareClient(base_url={self._base!r})"

    # -- zones -------------------------------------------------------------------------------
    async def zone_id(self, zone: str, *, deadline: Deadline | None = None) -> str:
        """The zone's id, looked up by name once and then cached (or configured up front)."""
        return await self._zone_id(zone.lower(), self._deadline(deadline))

    async def _zone_id(self, zone: str, deadline: Deadline) -> str:
        if zone in self._zone_ids:
            return self._zone_ids[zone]
        async with self._zone_locks.setdefault(zone, asyncio.Lock()):  # one lookup per zone at a time
            if zone not in self._zone_ids:
                body = await self._request("GET", "/zones", params={"name": zone}, deadline=deadline)
                matches = [z for z in body.get("result") or [] if z.get("name") == zone]
                if not matches:
                    raise NotFound(f"zone {zone} not found, or not visible to this API token", status=404)
                self._zone_ids[zone] = str(matches[0]["id"])
        return self._zone_ids[zone]

    # -- records -----------------------------------------------------------------------------
    async def list_records(
        self,
        zone: str,
        *,
        name: str | None = None,
        type: str | None = None,
        page: int = 1,
        per_page: int = 100,
        deadline: Deadline | None = None,
    ) -> RecordPage:
        deadline = self._deadline(deadline)
        return await self._page(zone, name, type, page, per_page, deadline)

    async def list_owned_records(
        self, zone: str, marker: str, *, page: int, per_page: int, deadline: Deadline | None = None
    ) -> RecordPage:
        """One page of the records whose comment starts with `marker` (filtered by Cloudflare, so a
        sweep pays one request per `per_page` owned records, not per record of the zone)."""
        deadline = self._deadline(deadline)
        return await self._page(zone, None, None, page, per_page, deadline, comment_prefix=marker)

    async def find_records(
        self, zone: str, *, name: str, type: str | None = None, deadline: Deadline | None = None
    ) -> list[DnsRecord]:
        """Every record with exactly this name (and type), across all pages."""
        return await self._find(zone, name, type, self._deadline(deadline))

    async def _find(self, zone: str, name: str, type_: str | None, deadline: Deadline) -> list[DnsRecord]:
        records: list[DnsRecord] = []
        for number in range(1, MAX_PAGES + 1):
            page = await self._page(zone, name, type_, number, self._page_size, deadline)
            records += page.records
            if number >= page.total_pages:
                break
        return records

    async def get_record(self, zone: str, record_id: str, *, deadline: Deadline | None = None) -> DnsRecord:
        deadline = self._deadline(deadline)
        path = await self._record_path(zone, record_id, deadline)
        return DnsRecord.from_api(zone, (await self._request("GET", path, deadline=deadline))["result"])

    async def create_record(
        self, zone: str, record: RecordInput, *, deadline: Deadline | None = None
    ) -> DnsRecord:
        """POST the record. Retrying after an attempt that got no clear answer is safe: Cloudflare
        refuses a second identical record (81058), and then the one the lost attempt made is returned."""
        deadline = self._deadline(deadline)
        path = f"/zones/{await self._zone_id(zone.lower(), deadline)}/dns_records"
        try:
            body = await self._request("POST", path, json=record.to_api(), deadline=deadline)
        except Conflict as exc:
            if exc.code not in IDENTICAL_RECORD_CODES or not exc.after_uncertain_attempt:
                raise
            for existing in await self._find(zone, record.name, record.type, deadline):
                if existing.same_content(record):
                    return existing
            raise
        return DnsRecord.from_api(zone, body["result"])

    async def update_record(
        self, zone: str, record_id: str, record: RecordInput, *, deadline: Deadline | None = None
    ) -> DnsRecord:
        """Overwrite (PUT) every field of the record: idempotent, so retried freely."""
        deadline = self._deadline(deadline)
        path = await self._record_path(zone, record_id, deadline)
        body = await self._request("PUT", path, json=record.to_api(), deadline=deadline)
        return DnsRecord.from_api(zone, body["result"])

    async def delete_record(self, zone: str, record_id: str, *, deadline: Deadline | None = None) -> bool:
        """True when this call deleted the record, False when it was already gone."""
        deadline = self._deadline(deadline)
        path = await self._record_path(zone, record_id, deadline)
        try:
            await self._request("DELETE", path, deadline=deadline)
        except NotFound as exc:
            # Gone after an attempt that got no clear answer: that attempt deleted it.
            return exc.after_uncertain_attempt
        return True

    async def zone_usage(self, zone: str, *, deadline: Deadline | None = None) -> ZoneRecordUsage:
        """How many records the zone holds, and the quota Cloudflare reports for it (one GET)."""
        deadline = self._deadline(deadline)
        path = f"/zones/{await self._zone_id(zone.lower(), deadline)}/dns_records/usage"
        return ZoneRecordUsage.from_api((await self._request("GET", path, deadline=deadline))["result"] or {})

    async def _page(
        self,
        zone: str,
        name: str | None,
        type_: str | None,
        page: int,
        per_page: int,
        deadline: Deadline,
        *,
        comment_prefix: str | None = None,
    ) -> RecordPage:
        params: dict[str, str | int] = {"page": page, "per_page": per_page}
        if comment_prefix:
            params["comment.startswith"] = comment_prefix
        if name:
            params["name.exact"] = name
        if type_:
            params["type"] = type_
        path = f"/zones/{await self._zone_id(zone.lower(), deadline)}/dns_records"
        return RecordPage.from_api(zone, await self._request("GET", path, params=params, deadline=deadline))

    async def _record_path(self, zone: str, record_id: str, deadline: Deadline) -> str:
        return f"/zones/{await self._zone_id(zone.lower(), deadline)}/dns_records/{record_id}"

    # -- transport ---------------------------------------------------------------------------
    def _deadline(self, deadline: Deadline | None) -> Deadline:
        return deadline or Deadline.after(self._default_timeout, clock=self._clock)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        deadline: Deadline,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """One API call with the budget, bounded retries and the deadline applied."""

        async def send() -> httpx.Response:
            try:
                await self._budget.acquire(deadline)
            except BudgetExhausted as exc:
                raise RateLimited(str(exc), retry_after=exc.wait) from None
            if deadline.expired:  # the wait for a slot used it up
                raise DeadlineExceeded(f"cloudflare {method} {path}: deadline exceeded before sending")
            return await self._http.request(
                method,
                self._base + path,
                params=params,
                json=json,
                headers=self._headers,
                timeout=httpx.Timeout(deadline.remaining()),
            )

        def classify(outcome: httpx.Response | Exception) -> dict[str, Any] | Failure:
            return self._classify(method, path, outcome)

        return await self._retry.run(f"{method} {path}", send, classify, deadline=deadline)

    def _classify(
        self, method: str, path: str, outcome: httpx.Response | Exception
    ) -> dict[str, Any] | Failure:
        """What one attempt's answer means. Any Unavailable may have been applied: Cloudflare gives
        no sign of whether a 5xx or a lost connection acted."""
        if isinstance(outcome, DeadlineExceeded):
            return Failure(Unavailable(str(outcome)))
        if isinstance(outcome, Exception):
            # The exception text can hold the URL, never the headers; keep just its kind.
            lost = Unavailable(f"{method} {path}: {type(outcome).__name__}")
            return Failure.of(lost, maybe_applied=True)
        answer = parse_response(method, path, outcome)
        if isinstance(answer, dict):
            return answer
        if isinstance(answer, RateLimited) and answer.retry_after is not None:
            # Every caller holds back for as long as Cloudflare said: never hammer after a 429.
            self._budget.pause(answer.retry_after)
        return Failure.of(answer, maybe_applied=isinstance(answer, Unavailable))
