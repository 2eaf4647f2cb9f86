"""``/oauth/v2/authorize`` and the hosted login (``/ui/login/login``) it sends the browser to.

The authorization code flow as Zitadel runs it: the authorize endpoint checks the client and its
redirect URI first — when either is wrong nothing can be trusted to receive an error, so the
browser gets an error page and no redirect (RFC 6749 §4.1.2.1) — then everything else, answering
those errors by redirect with ``error``, ``error_description`` and ``state``. A valid request
becomes a pending auth request and the browser goes to the login page; a correct login name and
password there send it back to the redirect URI with a single-use ``code`` and the ``state``.

PKCE: public clients (auth method NONE) must send a ``code_challenge``; only ``S256`` is taken
(Zitadel's discovery lists only S256; ``plain`` is refused rather than accepted). There is no
single sign-on session: every authorization shows the login page, and ``prompt=none`` answers
``login_required``.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from a4c.sandbox.zitadel.apps import find_client
from a4c.sandbox.zitadel.model import AuthRequest, OidcApp, User
from a4c.sandbox.zitadel.oidc import pages
from a4c.sandbox.zitadel.oidc.params import Endpoint, issuer, params, redirect
from a4c.sandbox.zitadel.passwords import password_matches
from a4c.sandbox.zitadel.store import State, Store, token_hash
from a4c.sandbox.zitadel.users import login_name

PUBLIC = "OIDC_AUTH_METHOD_TYPE_NONE"
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters of the URL-safe alphabet.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class _Refused(Exception):
    """An authorization error to send back to the (trusted) redirect URI."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def authorize_endpoint(store: Store) -> Endpoint:
    async def authorize(request: Request) -> Response:
        values = await params(request)
        with store.read() as state:
            app = find_client(state, values.get("client_id", ""))
        if app is None:
            return pages.error_page("invalid_request", "unknown client_id: no application has it")
        redirect_uri = values.get("redirect_uri", "")
        if not redirect_uri:
            return pages.error_page("invalid_request", "The redirect_uri is missing in the request.")
        if redirect_uri not in app.redirect_uris:  # exact match, as Zitadel compares them
            return pages.error_page(
                "invalid_request", "The requested redirect_uri is missing in the client configuration."
            )
        state_param = values.get("state", "")
        try:
            auth_request = _new_request(store, app, values)
        except _Refused as refused:
            reply = {"error": refused.error, "error_description": refused.description, "state": state_param}
            return redirect(redirect_uri, reply)
        with store.read():  # the store's lock also guards its auth requests
            _forget_stale(store)
            store.auth_requests[auth_request.id] = auth_request
        login = f"{issuer(request)}/ui/login/login?authRequestID={auth_request.id}"
        return RedirectResponse(login, status_code=302, headers={"cache-control": "no-store"})

    return authorize


def _new_request(store: Store, app: OidcApp, values: dict[str, str]) -> AuthRequest:
    if values.get("response_type", "") != "code":
        raise _Refused("unsupported_response_type", "only response_type code is supported")
    if values.get("response_mode", "query") != "query":
        raise _Refused("invalid_request", "only response_mode query is supported")
    scopes = values.get("scope", "").split()
    if "openid" not in scopes:
        raise _Refused("invalid_scope", "The scope openid is missing in your request.")
    challenge, method = values.get("code_challenge", ""), values.get("code_challenge_method", "")
    if challenge:
        if method != "S256":  # absent means plain (RFC 7636 §4.3)
            unsupported = f"code_challenge_method {method or 'plain'} is not supported: use S256"
            raise _Refused("invalid_request", unsupported)
        if not _S256_CHALLENGE.match(challenge):
            raise _Refused("invalid_request", "code_challenge is not a base64url SHA-256 digest")
    elif app.auth_method_type == PUBLIC:
        raise _Refused("invalid_request", "code_challenge required: public clients must use PKCE (S256)")
    if "none" in values.get("prompt", "").split():
        raise _Refused("login_required", "no session: the user has to log in")
    return AuthRequest(
        id=store.new_id(), client_id=app.client_id, redirect_uri=values["redirect_uri"], scopes=scopes,
        state=values.get("state", ""), nonce=values.get("nonce", ""), code_challenge=challenge,
        code_challenge_method=method if challenge else "", created=store.now(),
    )  # fmt: skip


def _forget_stale(store: Store) -> None:
    """Drop logins never completed and codes past their lifetime, so abandoned ones do not pile up."""
    now, config = store.now(), store.config
    stale = [
        r.id
        for r in store.auth_requests.values()
        if (not r.code_hash and now - r.created > config.login_ttl_seconds)
        or (r.code_hash and now - r.code_issued > config.code_ttl_seconds)
    ]
    for request_id in stale:
        del store.auth_requests[request_id]


def _pending(store: Store, auth_request_id: str) -> tuple[AuthRequest, OidcApp] | None:
    """The auth request waiting for its login, with its app; None when unknown, expired or done."""
    with store.read() as state:
        request = store.auth_requests.get(auth_request_id)
        if request is None or request.code_hash:
            return None
        if store.now() - request.created > store.config.login_ttl_seconds:
            del store.auth_requests[auth_request_id]
            return None
        app = find_client(state, request.client_id)
        return (request, app) if app is not None else None


def _expired() -> Response:
    return pages.error_page("login_expired", "This login is unknown, expired or already completed.")


def login_endpoint(store: Store) -> Endpoint:
    async def login(request: Request) -> Response:
        values = await params(request)
        pending = _pending(store, values.get("authRequestID", ""))
        if pending is None:
            return _expired()
        auth_request, app = pending
        if request.method == "GET":
            return pages.login_form(auth_request.id, app.name)
        name, password = values.get("loginName", "").strip(), values.get("password", "")
        with store.read() as state:
            user = find_login_user(state, name)
        if user is None:
            return pages.login_form(auth_request.id, app.name, name, "User could not be found")
        if not password_matches(user, password):
            return pages.login_form(auth_request.id, app.name, name, "Password is invalid")
        code = secrets.token_urlsafe(32)
        with store.read():
            if auth_request.code_hash:  # a second submit of the same form
                return _expired()
            auth_request.user_id, auth_request.auth_time = user.id, store.now()
            auth_request.session_id = store.new_id()
            auth_request.code_hash, auth_request.code_issued = token_hash(code), store.now()
        return redirect(auth_request.redirect_uri, {"code": code, "state": auth_request.state})

    return login


def find_login_user(state: State, name: str) -> User | None:
    """A human user by username or full login name (``username@org-domain``), case-insensitively."""
    wanted = name.casefold()
    if not wanted:
        return None
    for user in state.users.values():
        if user.machine:
            continue
        if wanted in (user.username.casefold(), login_name(user, state).casefold()):
            return user
    return None
