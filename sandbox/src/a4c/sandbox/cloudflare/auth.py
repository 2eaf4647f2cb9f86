"""Who may call the Cloudflare emulator, and which zones a token sees, answered in the words of
Cloudflare's API gateway (codes and shapes from published payloads; see sandbox/FIDELITY.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from a4c.sandbox.cloudflare.models import Zone
from a4c.sandbox.cloudflare.validation import ApiError

if TYPE_CHECKING:  # the settings live with the app, which imports this module
    from a4c.sandbox.cloudflare.app import CloudflareSettings


def _token(request: Request) -> str:
    return request.headers.get("authorization", "").partition(" ")[2].strip()


def visible(settings: CloudflareSettings, request: Request, zone: Zone) -> bool:
    """Whether the request's token has permissions on ``zone`` (scoped tokens name theirs)."""
    scope = settings.scoped_tokens.get(_token(request))
    return scope is None or zone.name in scope


def authorize(settings: CloudflareSettings, request: Request, write: bool) -> None:
    """Raise the gateway's refusal unless the request carries a token that may do this."""
    header = request.headers.get("authorization")
    if header is None:
        if "x-auth-key" in request.headers or "x-auth-email" in request.headers:
            raise ApiError(403, 9103, "Unknown X-Auth-Key or X-Auth-Email")
        raise ApiError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        chain = [(6111, "Invalid format for Authorization header")]
        raise ApiError(400, 6003, "Invalid request headers", chain)
    if token in settings.tokens or token in settings.scoped_tokens:
        return
    if token in settings.read_only_tokens:
        if write:
            raise ApiError(403, 10000, "Authentication error", gateway=True)
        return
    # An unknown token: each route family answers its own way in published payloads.
    path = request.url.path
    if path.endswith("/user/tokens/verify"):
        raise ApiError(401, 1000, "Invalid API Token")
    if "/dns_records" in path:
        raise ApiError(401, 10000, "Authentication error", gateway=True)
    raise ApiError(403, 9109, "Invalid access token")
