"""The Cloudflare API v4 emulator: zones, DNS records and token verify behind Cloudflare's envelope,
auth rules, error codes and rate limit, so clients written against the real API (the official SDK
included, pointed at ``<url>/client/v4``) work against it unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from a4c.sandbox.cloudflare import auth
from a4c.sandbox.cloudflare.models import ACCOUNT_ID
from a4c.sandbox.cloudflare.plans import ACCOUNT_RECORD_QUOTA, DEFAULT_PLAN, Plan, plan_named
from a4c.sandbox.cloudflare.query import order_records, parse_page, record_filter, zone_filter
from a4c.sandbox.cloudflare.store import Batch, CloudflareStore, Record, RecordQuota, Zone
from a4c.sandbox.cloudflare.validation import (
    ApiError,
    RecordSpec,
    check_id,
    merge_patch,
    parse_record,
    validation_error,
)
from a4c.sandbox.faults import ASGIApp, FaultMiddleware, Faults, Quota, RateLimit

DEFAULT_ZONES = ("firstovertheline.com", "analytics4change.com")
DEFAULT_TOKEN = "sandbox-cloudflare-token"
BASE_PATH = "/client/v4"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class CloudflareSettings:
    zones: tuple[str, ...] = DEFAULT_ZONES
    # Tokens with Zone:Read + DNS:Edit on every zone.
    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    # Tokens with read permissions only: writes answer 403 like a token lacking DNS:Edit.
    read_only_tokens: tuple[str, ...] = ()
    # Tokens whose permissions cover only the zones named (by zone name): other zones are invisible
    # in GET /zones and answer 403 10000 when addressed by id.
    scoped_tokens: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Cloudflare: 1,200 requests per 5 minutes per token, then every call is refused for 5 minutes.
    rate_limit: RateLimit | None = field(default_factory=lambda: RateLimit(1200, 300, 300))
    # ...and 200 requests per second per client IP, whatever the token.
    ip_rate_limit: RateLimit | None = field(default_factory=lambda: RateLimit(200, 1))
    # The zones' plan (a4c.sandbox.cloudflare.plans): record quota, comment length, batch size.
    plan: str = DEFAULT_PLAN
    # When the zones were created (RFC 3339, UTC; None: when the emulator starts). A Free zone created
    # before 2024-09-01 holds 1,000 records, a newer one 200.
    zone_created_on: str | None = None
    # A record quota Cloudflare set for the zones on request, instead of the plan's (None: the plan's).
    record_quota: int | None = None

    @property
    def plan_limits(self) -> Plan:
        return plan_named(self.plan)


@dataclass
class CloudflareEmulator:
    """The ASGI app (faults applied) and the state tests and the DNS server reach into."""

    settings: CloudflareSettings
    store: CloudflareStore
    faults: Faults
    app: ASGIApp


def envelope(result: Any, result_info: Mapping[str, int] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = dict(result_info)
    return JSONResponse(body)


def error_response(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "errors": error.errors_json()}
    if not error.gateway:
        body.update(messages=[], result=None)
    return JSONResponse(body, status_code=error.status)


def fault_body(status: int, reason: str) -> dict[str, Any]:
    """What Cloudflare answers when it throttles or fails (used by the fault middleware)."""
    if reason == "rate_limited":  # the code and text of published 429 payloads
        errors = [{"code": 971, "message": "Please wait and consider throttling your request speed"}]
    else:
        # No published payload shows a code for a 5xx from the API: send none, so no client keys on one.
        errors = []
    return {"success": False, "errors": errors, "messages": [], "result": None}


def quota_headers(quota: Quota) -> dict[str, str]:
    """Cloudflare's rate-limit headers (IETF draft style), sent on every answer."""
    limit = quota.limit
    return {
        "Ratelimit": f'"default";r={quota.remaining};t={quota.reset_seconds}',
        "Ratelimit-Policy": f'"default";q={limit.limit};w={int(limit.window_seconds)}',
    }


def create_app(
    settings: CloudflareSettings | None = None,
    *,
    store: CloudflareStore | None = None,
    faults: Faults | None = None,
) -> CloudflareEmulator:
    settings = settings or CloudflareSettings()
    store = store or CloudflareStore(settings.zones, created_on=settings.zone_created_on)
    plan_named(settings.plan)  # fail at start on an unknown plan
    faults = faults or Faults(rate_limit=settings.rate_limit, ip_rate_limit=settings.ip_rate_limit)
    api = _Api(settings, store)
    routes = [
        Route("/user/tokens/verify", api.guard(api.verify_token), methods=["GET"]),
        Route("/zones", api.guard(api.list_zones), methods=["GET"]),
        Route("/zones/{zone_id}", api.guard(api.get_zone), methods=["GET"]),
        Route("/zones/{zone_id}/dns_records", api.guard(api.list_records), methods=["GET"]),
        Route("/zones/{zone_id}/dns_records", api.guard(api.create_record, write=True), methods=["POST"]),
        Route("/zones/{zone_id}/dns_records/batch", api.guard(api.batch, write=True), methods=["POST"]),
        Route("/zones/{zone_id}/dns_records/usage", api.guard(api.zone_usage), methods=["GET"]),
        Route("/accounts/{account_id}/dns_records/usage", api.guard(api.account_usage), methods=["GET"]),
        Route("/zones/{zone_id}/dns_records/{record_id}", api.guard(api.get_record), methods=["GET"]),
        Route(
            "/zones/{zone_id}/dns_records/{record_id}",
            api.guard(api.update_record, write=True),
            methods=["PUT", "PATCH"],
        ),
        Route(
            "/zones/{zone_id}/dns_records/{record_id}",
            api.guard(api.delete_record, write=True),
            methods=["DELETE"],
        ),
    ]
    app = Starlette(
        routes=[Mount(BASE_PATH, routes=routes)],
        exception_handlers={HTTPException: _http_error},
    )
    return CloudflareEmulator(
        settings, store, faults, FaultMiddleware(app, faults, fault_body, quota_headers)
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if status == 405:
        return error_response(ApiError(405, 10405, "Method not allowed"))
    return error_response(ApiError(400, 7000, "No route for that URI"))


def _api_path(request: Request) -> str:
    """The path as Cloudflare names it in routing errors: relative to /client/v4."""
    return request.url.path.removeprefix(BASE_PATH) or "/"


class _Api:
    def __init__(self, settings: CloudflareSettings, store: CloudflareStore) -> None:
        self.settings = settings
        self.store = store

    def guard(self, handler: Handler, *, write: bool = False) -> Handler:
        """Authenticate, then turn ApiError into Cloudflare's error envelope."""

        async def guarded(request: Request) -> Response:
            try:
                auth.authorize(self.settings, request, write)
                return await handler(request)
            except ApiError as error:
                return error_response(error)

        return guarded

    async def verify_token(self, request: Request) -> Response:
        token = request.headers["authorization"].partition(" ")[2].strip()
        token_id = hashlib.sha256(token.encode()).hexdigest()[:32]
        return envelope({"id": token_id, "status": "active"})

    async def list_zones(self, request: Request) -> Response:
        # A token sees only the zones it has permissions on; the others are simply not listed.
        matches = zone_filter(request.query_params)
        zones = [z for z in self.store.zones() if auth.visible(self.settings, request, z) and matches(z)]
        chunk, info = parse_page(request.query_params, 20, 50).slice(zones)
        return envelope([self._zone_json(z) for z in chunk], info)

    async def get_zone(self, request: Request) -> Response:
        return envelope(self._zone_json(self.store.zone(self._zone_id(request))))

    def _zone_json(self, zone: Zone) -> dict[str, Any]:
        data, plan = zone.to_api(), self.settings.plan_limits
        data["plan"] = {**data["plan"], "name": plan.name, "legacy_id": plan.legacy_id}
        return data

    async def zone_usage(self, request: Request) -> Response:
        """Records in the zone and its quota (null when the account's quota applies instead)."""
        zone_id = self._zone_id(request)
        quota = self._quota(zone_id)
        limit = None if quota is None or quota.account_wide else quota.limit
        return envelope({"record_quota": limit, "record_usage": self.store.record_count(zone_id)})

    async def account_usage(self, request: Request) -> Response:
        """Records across the account's zones; its quota only where one applies (Enterprise)."""
        if check_id(request.path_params["account_id"], _api_path(request)) != ACCOUNT_ID:
            raise ApiError(403, 10000, "Authentication error", gateway=True)
        account_wide = self.settings.plan_limits.record_quota is None and self.settings.record_quota is None
        limit = ACCOUNT_RECORD_QUOTA if account_wide else None
        return envelope({"record_quota": limit, "record_usage": self.store.record_count()})

    async def list_records(self, request: Request) -> Response:
        zone_id = self._zone_id(request)
        params = request.query_params
        page = parse_page(params, 100, 5_000_000)  # the API spec: 1 to 5,000,000, default 100
        matching = [r for r in self.store.records(zone_id) if record_filter(params)(r)]
        chunk, info = page.slice(order_records(matching, params))
        return envelope([r.to_api() for r in chunk], info)

    async def get_record(self, request: Request) -> Response:
        zone_id, record_id = self._ids(request)
        return envelope(self.store.record(zone_id, record_id).to_api())

    async def create_record(self, request: Request) -> Response:
        zone_id = self._zone_id(request)
        spec = self._spec(zone_id, await _json_object(request))
        result = self.store.apply(zone_id, Batch(posts=[spec]), record_quota=self._quota(zone_id))
        return envelope(result.posts[0].to_api())

    async def update_record(self, request: Request) -> Response:
        zone_id, record_id = self._ids(request)
        body = await _json_object(request)
        if request.method == "PATCH":
            body = merge_patch(_as_body(self.store.record(zone_id, record_id)), body)
        spec = self._spec(zone_id, body)
        change = [(record_id, spec)]
        batch = Batch(patches=change) if request.method == "PATCH" else Batch(puts=change)
        result = self.store.apply(zone_id, batch)
        return envelope((result.patches or result.puts)[0].to_api())

    async def delete_record(self, request: Request) -> Response:
        zone_id, record_id = self._ids(request)
        self.store.apply(zone_id, Batch(deletes=[record_id]))
        return envelope({"id": record_id})

    async def batch(self, request: Request) -> Response:
        zone_id = self._zone_id(request)
        body = await _json_object(request)
        ops = {key: _op_list(body, key) for key in ("deletes", "patches", "puts", "posts")}
        limit = self.settings.plan_limits.max_batch_operations
        if sum(len(v) for v in ops.values()) > limit:
            raise validation_error(f"A batch may hold at most {limit} operations.")
        patches = []
        for op in ops["patches"]:
            record_id = _op_id(op)
            current = _as_body(self.store.record(zone_id, record_id))
            patches.append((record_id, self._spec(zone_id, merge_patch(current, op))))
        result = self.store.apply(
            zone_id,
            Batch(
                deletes=[_op_id(op) for op in ops["deletes"]],
                patches=patches,
                puts=[(_op_id(op), self._spec(zone_id, op)) for op in ops["puts"]],
                posts=[self._spec(zone_id, op) for op in ops["posts"]],
            ),
            record_quota=self._quota(zone_id),
        )
        return envelope({key: [r.to_api() for r in getattr(result, key)] for key in ops})

    def _spec(self, zone_id: str, body: Mapping[str, Any]) -> RecordSpec:
        zone = self.store.zone(zone_id)
        return parse_record(body, zone.name, self.settings.plan_limits.comment_max_length)

    def _quota(self, zone_id: str) -> RecordQuota | None:
        """The zone's quota: the one set for it, else its plan's given its creation date, else
        (Enterprise) the account's."""
        if self.settings.record_quota is not None:
            return RecordQuota(self.settings.record_quota)
        limit = self.settings.plan_limits.zone_record_quota(self.store.zone(zone_id).created_on)
        return (
            RecordQuota(limit) if limit is not None else RecordQuota(ACCOUNT_RECORD_QUOTA, account_wide=True)
        )

    def _zone_id(self, request: Request) -> str:
        """The path's zone id: malformed → 400 7003/7000; out of the token's scope → 403 10000."""
        zone_id = check_id(request.path_params["zone_id"], _api_path(request))
        known = {z.id: z for z in self.store.zones()}.get(zone_id)
        if known is None or not auth.visible(self.settings, request, known):
            # The token has no permission on it (another account's zone, or outside its scope).
            raise ApiError(403, 10000, "Authentication error", gateway=True)
        return zone_id

    def _ids(self, request: Request) -> tuple[str, str]:
        return self._zone_id(request), check_id(request.path_params["record_id"], _api_path(request))


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise ApiError(400, 6007, "Malformed JSON in request body") from exc
    if not isinstance(body, dict):
        raise ApiError(400, 6007, "Malformed JSON in request body")
    return body


def _op_list(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    ops = body.get(key) or []
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise validation_error(f"{key} must be a list of objects.")
    return ops


def _op_id(op: Mapping[str, Any]) -> str:
    record_id = str(op.get("id", ""))
    if len(record_id) != 32 or any(c not in "0123456789abcdef" for c in record_id):
        raise validation_error("Invalid record identifier.")
    return record_id


def _as_body(record: Record) -> dict[str, Any]:
    """The stored record as a request body, for PATCH to merge into."""
    return {f.name: getattr(record, f.name) for f in fields(RecordSpec)}
