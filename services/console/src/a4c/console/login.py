"""Sign in through the identity platform (OIDC code + PKCE), sign out (CSRF-checked POST)."""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response

from a4c.console import access
from a4c.console.oidc import LoginError
from a4c.console.roles import Role
from a4c.console.session import Session
from a4c.console.web import console_of, redirect, render, safe_next, session_of

log = logging.getLogger(__name__)


async def login(request: Request) -> Response:
    session = session_of(request)
    next_path = safe_next(request.query_params.get("next"))
    if session.signed_in:
        return redirect(request, next_path)
    try:
        url, pending = await console_of(request).oidc.start(next_path)
    except LoginError as error:
        return render(request, "login_error.html", {"problem": error.message}, status_code=502)
    session.pending = pending
    return redirect(request, url)


async def callback(request: Request) -> Response:
    session = session_of(request)
    pending = session.pending
    params = request.query_params
    if pending is None or not hmac.compare_digest(params.get("state", ""), pending.state):
        # An old tab, a second login in another tab, or a forged callback: start again.
        return render(
            request, "login_error.html", {"problem": "this login expired; sign in again"}, status_code=400
        )
    if "error" in params or not params.get("code"):
        session.pending = None
        return render(
            request, "login_error.html", {"problem": "the identity platform did not sign you in"}, 400
        )
    try:
        identity = await console_of(request).oidc.finish(params["code"], pending)
    except LoginError as error:
        session.pending = None
        log.warning("login failed: %s", error.message)
        return render(request, "login_error.html", {"problem": error.message}, status_code=502)
    if identity.role is Role.NONE:
        session.pending = None
        problem = "your account holds no console role (read or operate); ask an administrator"
        return render(request, "login_error.html", {"problem": problem}, status_code=403)
    session.sign_in(identity)
    log.info("operator signed in", extra={"role": identity.role.value})
    return redirect(request, safe_next(pending.next_path))


async def logout(request: Request) -> Response:
    await access.poster(request)
    request.scope["a4c.session"] = Session()  # a new, empty session: the old CSRF token is void too
    console = console_of(request)
    try:
        url = await console.oidc.logout_url(f"{console.settings.public_url}/signed-out")
    except LoginError:
        url = None
    return redirect(request, url or "/signed-out")


async def signed_out(request: Request) -> Response:
    return render(request, "signed_out.html")
