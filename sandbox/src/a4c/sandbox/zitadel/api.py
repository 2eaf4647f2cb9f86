"""How one emulated API call runs, whichever URL style it came in by.

Each operation is written once as a handler ``(Call) -> dict`` and registered under its REST
(grpc-gateway) path and/or its Connect path. The REST style merges path parameters into the body
(as grpc-gateway does) and answers 201 where Zitadel does; Connect answers 200 on success.
Authentication, the ``x-zitadel-orgid`` context of v1 management calls and error rendering are
done here, so handlers only hold Zitadel's rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from a4c.sandbox.zitadel.errors import ApiError, Style, body_of
from a4c.sandbox.zitadel.model import User
from a4c.sandbox.zitadel.store import Store
from a4c.sandbox.zitadel.wire import camel_keys, compact

log = logging.getLogger(__name__)


@dataclass
class Call:
    store: Store
    body: dict[str, Any]
    caller: User
    # The organization a v1 management call acts in: x-zitadel-orgid, else the caller's own.
    org_id: str
    style: Style
    base_url: str


Handler = Callable[[Call], dict[str, Any]]


@dataclass(frozen=True)
class Rest:
    method: str
    path: str
    handler: Handler
    # Zitadel answers 201 for some creations on the REST paths (AddOrganization, AddHumanUser).
    status: int = 200


def connect_path(service: str, method: str) -> str:
    return f"/{service}/{method}"


def error_response(error: ApiError, style: Style) -> JSONResponse:
    return JSONResponse(body_of(error, style), status_code=error.http_status)


def build_routes(store: Store, rest: list[Rest], connect: Mapping[str, Handler]) -> list[BaseRoute]:
    """Starlette routes for every REST endpoint plus one route per Connect method."""
    routes: list[BaseRoute] = []
    for item in rest:
        routes.append(
            Route(item.path, _endpoint(store, item.handler, "rest", item.status), methods=[item.method])
        )
    for path, handler in connect.items():
        routes.append(Route(path, _endpoint(store, handler, "connect", 200), methods=["POST"]))
    return routes


def _endpoint(store: Store, handler: Handler, style: Style, status: int) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            call = await _prepare(store, request, style)
            result = handler(call)
        except ApiError as error:
            return error_response(error, style)
        return JSONResponse(compact(result), status_code=status)

    return endpoint


async def _prepare(store: Store, request: Request, style: Style) -> Call:
    caller = _authenticate(store, request)
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if style == "connect" and content_type != "application/json":
        raise ApiError(
            "unimplemented", f"content type {content_type} is not served by the sandbox", "SANDBOX-ct415"
        )
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError("invalid_argument", "request body is not valid JSON", "GATEWAY-bodyjs") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_argument", "request body must be a JSON object", "GATEWAY-bodyob")
    body = camel_keys(body)
    if style == "rest":
        body.update(request.path_params)
        body.update({k: v for k, v in request.query_params.items() if k not in body})
    org_id = _org_context(store, request, caller)
    base_url = str(request.base_url).rstrip("/")
    return Call(store, body, caller, org_id, style, base_url)


def _authenticate(store: Store, request: Request) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError("unauthenticated", "auth header missing", "AUTH-7fs1e")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthenticated", "invalid auth header", "AUTH-7fs1e")
    caller = store.caller(token.strip())
    if caller is None:
        raise ApiError("unauthenticated", "Errors.Token.Invalid", "AUTH-7fs1e")
    if not caller.instance_roles:
        raise ApiError("permission_denied", "No matching permissions found", "AUTH-5mWD2")
    return caller


def _org_context(store: Store, request: Request, caller: User) -> str:
    requested = request.headers.get("x-zitadel-orgid", "").strip()
    if not requested:
        return caller.org_id
    with store.read() as state:
        if requested not in state.orgs:
            # Zitadel checks the org context while authorizing: an unknown org is a permission error.
            raise ApiError("permission_denied", "Organisation doesn't exist", "AUTH-Bs7Ds")
    return requested
