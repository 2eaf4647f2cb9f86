"""The ASGI application: routes, security headers on every response, errors as pages.

Content-Security-Policy allows only this origin (`default-src 'self'`, no inline script or style,
nothing from a CDN); forms may post here and redirect only to the identity platform (sign-out).
Every failure an operator can meet is a page: provisioning unreachable is a banner (503), a refusal
a 403 saying why, an unknown organization a 404, anything else a 500 without a trace (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from a4c.console import actions, live, login, pages
from a4c.console.access import Refused, SignInFirst
from a4c.console.provisioning import Denied, NotFound, ProvisioningError, Unavailable
from a4c.console.web import STATIC, Console, render

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def security_headers(settings_issuer: str, secure: bool) -> list[tuple[bytes, bytes]]:
    issuer = urlsplit(settings_issuer)
    login_origin = f"{issuer.scheme}://{issuer.netloc}"
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        f"form-action 'self' {login_origin}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    headers = {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if secure:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware, which would buffer the event streams)."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in present]
                if not is_static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    return RedirectResponse(exc.login_url, status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return render(request, "error.html", {"title": "Not allowed", "problem": exc.reason}, status_code=403)


async def _provisioning(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProvisioningError)
    if isinstance(exc, NotFound):
        return render(request, "error.html", {"title": "Not found", "problem": exc.message}, status_code=404)
    if isinstance(exc, Unavailable):
        return render(request, "error.html", {"title": "Unavailable", "banner": exc.message}, status_code=503)
    if isinstance(exc, Denied):
        log.error("provisioning refused the console's principal: check its scopes")
    return render(
        request, "error.html", {"title": "Could not do that", "problem": exc.message}, status_code=502
    )


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return render(
        request, "error.html", {"title": "Something went wrong", "problem": "see the console's logs"}, 500
    )


async def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(console: Console) -> Starlette:
    routes = [
        Route("/healthz", _health),
        Route("/", pages.organizations),
        Route("/login", login.login),
        Route("/auth/callback", login.callback),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/signed-out", login.signed_out),
        Route("/organizations/new", pages.new_form),
        Route("/organizations", pages.create, methods=["POST"]),
        Route("/live/organizations", live.organization_list),
        Route("/organizations/{organization_id}", pages.organization),
        Route("/organizations/{organization_id}/summary", pages.summary),
        Route("/organizations/{organization_id}/live", live.organization_events),
        Route("/organizations/{organization_id}/{action}", actions.confirm),
        Route("/organizations/{organization_id}/{action}", actions.perform, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            SignInFirst: _sign_in_first,
            Refused: _refused,
            ProvisioningError: _provisioning,
            Exception: _crash,
        },
    )
    app.state.console = console
    app.add_middleware(
        SecurityHeaders,
        headers=security_headers(console.settings.oidc.issuer, console.settings.secure_cookies),
    )
    return app
