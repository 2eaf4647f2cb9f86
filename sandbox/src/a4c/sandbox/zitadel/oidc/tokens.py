"""The code exchange at ``/oauth/v2/token`` and ``/oidc/v1/userinfo``.

Code exchange, in Zitadel's order (internal/api/oidc/token.go, zitadel/oidc ``op``): authenticate
the client (unknown client or wrong secret: 401 ``invalid_client``), find the code (unknown,
expired or another client's: ``invalid_grant``; a second use also revokes the access token the
first one bought, RFC 6749 §4.1.2), check PKCE (``code_verifier required`` is ``invalid_request``,
a wrong one ``invalid_grant``), then the redirect URI (``redirect_uri does not correspond``).
The answer holds an opaque access token and an RS256 ID token (iss, sub, aud = [client id, its
project, projects of aud scopes], azp, exp, iat, auth_time, amr, nonce, at_hash, sid), with the
role claims when the app asserts roles in ID tokens and the profile when it asserts userinfo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from a4c.sandbox.zitadel.apps import SECRET_METHODS, find_client
from a4c.sandbox.zitadel.model import AccessToken, AuthRequest, OidcApp
from a4c.sandbox.zitadel.oidc import claims, keys
from a4c.sandbox.zitadel.oidc.authorize import PUBLIC
from a4c.sandbox.zitadel.oidc.params import Endpoint, issuer, oauth_error
from a4c.sandbox.zitadel.store import State, Store, token_hash

AUTHORIZATION_CODE = "authorization_code"


class _TokenError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


async def code_exchange(store: Store, request: Request, form: dict[str, str]) -> Response:
    try:
        app = _client(store, request, form)
        auth_request = _redeem(store, app, form)
        body = _issue(store, app, auth_request, issuer(request))
    except _TokenError as failed:
        return oauth_error(failed.error, failed.description, failed.status)
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


def _client(store: Store, request: Request, form: dict[str, str]) -> OidcApp:
    """The app the request authenticates as (HTTP Basic, form secret, or a public client's id)."""
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            raise _TokenError("invalid_client", "malformed basic auth header", 401) from None
        basic_id, _, basic_secret = pair.partition(":")
        client_id, secret = unquote(basic_id), unquote(basic_secret)  # RFC 6749 §2.3.1
    with store.read() as state:
        app = find_client(state, client_id)
    if app is None:
        raise _TokenError("invalid_client", "no active client not found", 401)
    known = bool(secret) and hmac.compare_digest(token_hash(secret), app.client_secret_hash)
    if app.auth_method_type in SECRET_METHODS and not known:
        raise _TokenError("invalid_client", "invalid client_id / client_secret", 401)
    return app


def _redeem(store: Store, app: OidcApp, form: dict[str, str]) -> AuthRequest:
    code = form.get("code", "")
    digest = token_hash(code) if code else ""
    with store.write() as state:
        found = next((r for r in store.auth_requests.values() if digest and r.code_hash == digest), None)
        if found is None or store.now() - found.code_issued > store.config.code_ttl_seconds:
            if found is not None:
                del store.auth_requests[found.id]
            raise _TokenError("invalid_grant", "invalid code")
        if found.exchanged_token_hash:
            state.tokens.pop(found.exchanged_token_hash, None)  # a replayed code: revoke what it bought
            del store.auth_requests[found.id]
            raise _TokenError("invalid_grant", "code has already been used")
        if found.client_id != app.client_id:
            raise _TokenError("invalid_grant", "code was issued to another client")
        _check_pkce(found, app, form.get("code_verifier", ""))
        if form.get("redirect_uri", "") != found.redirect_uri:
            raise _TokenError("invalid_grant", "redirect_uri does not correspond")
        found.exchanged_token_hash = "pending"  # claimed under the lock: a racing second use fails
        return found


def _check_pkce(auth_request: AuthRequest, app: OidcApp, verifier: str) -> None:
    """zitadel/oidc ``AuthorizeCodeChallenge``, run when a challenge was sent or the client is public."""
    if not auth_request.code_challenge and app.auth_method_type != PUBLIC:
        return
    if not auth_request.code_challenge:
        if verifier:
            raise _TokenError("invalid_request", "code_verifier unexpectedly provided")
        return
    if not verifier:
        raise _TokenError("invalid_request", "code_verifier required")
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(digest, auth_request.code_challenge):
        raise _TokenError("invalid_grant", "invalid code_verifier")


def _issue(store: Store, app: OidcApp, auth_request: AuthRequest, iss: str) -> dict[str, Any]:
    access = secrets.token_urlsafe(48)
    ttl, now = store.config.access_token_ttl_seconds, store.now()
    with store.write() as state:
        state.tokens[token_hash(access)] = AccessToken(
            auth_request.user_id, now + ttl, app.client_id, auth_request.scopes, auth_request.session_id
        )
        auth_request.exchanged_token_hash = token_hash(access)
        id_claims = _id_token_claims(state, store, app, auth_request, iss, access)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "id_token": keys.sign(store, id_claims),
    }


def _id_token_claims(
    state: State, store: Store, app: OidcApp, auth_request: AuthRequest, iss: str, access: str
) -> dict[str, Any]:
    now = int(store.now())
    scopes = auth_request.scopes
    audience = [app.client_id, app.project_id]
    audience += [p for p in claims.audience_projects(scopes) if p not in audience]
    digest = hashlib.sha256(access.encode()).digest()
    id_claims: dict[str, Any] = {
        "iss": iss,
        "sub": auth_request.user_id,
        "aud": audience,
        "azp": app.client_id,
        "client_id": app.client_id,
        "exp": now + store.config.id_token_ttl_seconds,
        "iat": now,
        "auth_time": int(auth_request.auth_time),
        "amr": ["pwd"],
        "sid": auth_request.session_id,
        "at_hash": base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode(),
    }
    if auth_request.nonce:
        id_claims["nonce"] = auth_request.nonce
    user = state.users.get(auth_request.user_id)
    if user is not None and app.id_token_userinfo_assertion:
        id_claims.update(claims.profile_claims(state, user, scopes))
    if app.id_token_role_assertion:
        project = state.projects.get(app.project_id)
        assertion = project.project_role_assertion if project else False
        id_claims.update(claims.role_claims(state, auth_request.user_id, app.project_id, scopes, assertion))
    return id_claims


def userinfo_endpoint(store: Store) -> Endpoint:
    async def userinfo(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with store.read() as state:
            issued = state.tokens.get(token_hash(token.strip())) if scheme.lower() == "bearer" else None
            if issued is None or issued.expires <= store.now():
                return oauth_error("access_denied", "access token invalid", 401)
            user = state.users.get(issued.user_id)
            if user is None:
                return oauth_error("access_denied", "no active user", 401)
            body: dict[str, Any] = {"sub": user.id, **claims.profile_claims(state, user, issued.scopes)}
            app = find_client(state, issued.client_id) if issued.client_id else None
            if app is not None:
                project = state.projects.get(app.project_id)
                assertion = project.project_role_assertion if project else False
                body.update(claims.role_claims(state, user.id, app.project_id, issued.scopes, assertion))
        return JSONResponse(body, headers={"cache-control": "no-store"})

    return userinfo
