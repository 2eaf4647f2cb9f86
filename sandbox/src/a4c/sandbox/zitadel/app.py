"""The Zitadel API emulator as one ASGI app: ``create_app(config)`` → :class:`ZitadelEmulator`.

    emulator = create_app(ZitadelConfig(search_lag_seconds=0.5))
    async with AsgiServer(emulator, name="zitadel") as server:
        ...  # point a client at server.url with emulator.config.pat, or a key from emulator.create_key()

Fault injection is the sandbox's shared middleware (``/_sandbox/faults``); its error bodies take
the style of the path they answer (REST status JSON or Connect error). Besides Zitadel's own API the
app serves ``GET /debug/healthz``, ``GET|DELETE /_sandbox/emails``, ``POST /_sandbox/zitadel/keys``
and ``GET|PUT /_sandbox/zitadel/behaviour`` (lag and the zitadel/zitadel#10330 quirk, camelCase JSON).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from a4c.sandbox.faults import FaultMiddleware, FaultRule, Faults, Receive, Scope, Send
from a4c.sandbox.zitadel import (
    apps,
    auth,
    authorizations,
    invites,
    metadata,
    oidc,
    org_metadata,
    orgs,
    passwords,
    project_admin,
    projects,
    users,
)
from a4c.sandbox.zitadel.api import build_routes, error_response
from a4c.sandbox.zitadel.config import Behaviour, ZitadelConfig
from a4c.sandbox.zitadel.errors import ApiError, Style, body_of, fault_error
from a4c.sandbox.zitadel.store import Store
from a4c.sandbox.zitadel.wire import camel_keys

log = logging.getLogger(__name__)

# The style of the request being answered, for fault bodies (the shared middleware only passes status).
_STYLE: contextvars.ContextVar[Style] = contextvars.ContextVar("zitadel_style", default="rest")


def style_of(path: str) -> Style:
    return "connect" if path.startswith("/zitadel.") else "rest"


def seed_latency_rules() -> list[FaultRule]:
    """SANDBOX_LATENCY_PROFILE=seed: a slow Zitadel's timings on the calls that write.

    Org and user creation 5-10 s, role grants 2 s, invitations 2 s; reads stay fast, so a bootstrap
    sees roughly one slow call per step, as it would against a busy Zitadel.
    """
    slow = [
        "/v2/organizations", "/zitadel.org.v2.OrganizationService/AddOrganization",
        "/v2/users/human", "/v2/users/new", "/zitadel.user.v2.UserService/AddHumanUser",
        "/zitadel.user.v2.UserService/CreateUser",
    ]  # fmt: skip
    grant = [
        "/management/v1/users/*/grants",
        "/zitadel.authorization.v2.AuthorizationService/CreateAuthorization",
    ]
    invite = ["/v2/users/*/invite_code", "/zitadel.user.v2.UserService/CreateInviteCode"]
    rules = [FaultRule(kind="latency", path=p, method="POST", min_seconds=5, max_seconds=10) for p in slow]
    rules += [
        FaultRule(kind="latency", path=p, method="POST", min_seconds=2, max_seconds=2) for p in grant + invite
    ]
    return rules


class ZitadelEmulator:
    """ASGI app of the emulated Zitadel instance; ``store``, ``faults`` and ``config`` are live."""

    def __init__(self, config: ZitadelConfig, store: Store, faults: Faults) -> None:
        self.config, self.store, self.faults = config, store, faults
        rest = [
            *orgs.REST,
            *users.REST,
            *invites.REST,
            *metadata.REST,
            *org_metadata.REST,
            *projects.REST,
            *authorizations.REST,
            *passwords.REST,
            *project_admin.REST,
            *apps.REST,
        ]
        connect = {
            **orgs.CONNECT,
            **users.CONNECT,
            **invites.CONNECT,
            **metadata.CONNECT,
            **projects.CONNECT,
            **authorizations.CONNECT,
            **passwords.CONNECT,
        }
        routes: list[BaseRoute] = [
            Route("/debug/healthz", _healthz, methods=["GET"]),
            Route("/_sandbox/zitadel/behaviour", self._behaviour, methods=["GET", "PUT"]),
            *auth.routes(store),
            *oidc.routes(store),
            *invites.control_routes(store),
            *build_routes(store, rest, connect),
        ]
        handlers = {404: _not_found, 405: _not_found}
        inner = Starlette(routes=routes, exception_handlers=handlers)
        self._app = FaultMiddleware(inner, faults, _fault_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _STYLE.set(style_of(scope["path"]))
        await self._app(scope, receive, send)

    def create_key(self, user_id: str | None = None) -> dict[str, Any]:
        """A service-account key JSON for the JWT profile (the sandbox's service account by default)."""
        return auth.create_service_key(self.store, user_id)

    def write_key_file(self, path: Path, user_id: str | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only from the start: it holds a private key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.create_key(user_id), out, indent=2)
        return path

    def emails(self, to: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as state:
            chosen = [e for e in state.emails if to is None or e.to.casefold() == to.casefold()]
            return [invites.email_view(e) for e in chosen]

    async def _behaviour(self, request: Request) -> JSONResponse:
        if request.method == "PUT":
            try:
                update = camel_keys(await request.json())
                self.store.behaviour = _behaviour_from(self.store.behaviour, update)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        current = asdict(self.store.behaviour)
        return JSONResponse({"searchLagSeconds": current["search_lag_seconds"],
                             "duplicateOrgIdQuirk": current["duplicate_org_id_quirk"]})  # fmt: skip


def _behaviour_from(current: Behaviour, update: Any) -> Behaviour:
    if not isinstance(update, dict):
        raise ValueError("body: must be a JSON object")
    unknown = sorted(set(update) - {"searchLagSeconds", "duplicateOrgIdQuirk"})
    if unknown:  # e.g. the former userLagSeconds: refused rather than silently ignored
        raise ValueError(f"{unknown[0]}: not a behaviour of this emulator")
    lag = update.get("searchLagSeconds", current.search_lag_seconds)
    quirk = update.get("duplicateOrgIdQuirk", current.duplicate_org_id_quirk)
    if not isinstance(lag, int | float) or isinstance(lag, bool) or lag < 0:
        raise ValueError("searchLagSeconds: must be a number >= 0")
    if not isinstance(quirk, bool):
        raise ValueError("duplicateOrgIdQuirk: must be true or false")
    return Behaviour(float(lag), quirk)


def _fault_body(status: int, reason: str) -> Any:
    return body_of(fault_error(status), _STYLE.get())


async def _healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    code = "unimplemented" if status == 405 else "not_found"
    error = ApiError(code, f"no route for {request.method} {request.url.path}", "SANDBOX-route")
    response = error_response(error, style_of(request.url.path))
    response.status_code = status
    return response


def create_app(
    config: ZitadelConfig | None = None,
    *,
    faults: Faults | None = None,
    clock: Callable[[], float] = time.time,
) -> ZitadelEmulator:
    """Build the emulator; with ``config.key_file`` set, write a fresh key there unless it still works."""
    config = config or ZitadelConfig()
    rules = seed_latency_rules() if config.latency_profile == "seed" else []
    faults = faults or Faults(rules)
    emulator = ZitadelEmulator(config, Store(config, clock=clock), faults)
    if config.key_file is not None and not _key_file_valid(emulator.store, config.key_file):
        emulator.write_key_file(config.key_file)
        log.info("wrote a service-account key for the JWT profile to %s", config.key_file)
    return emulator


def _key_file_valid(store: Store, path: Path) -> bool:
    try:
        key_id = json.loads(path.read_text()).get("keyId")
    except (OSError, ValueError, AttributeError):
        return False
    with store.read() as state:
        return isinstance(key_id, str) and key_id in state.keys
