"""Service-account credentials: key files for the JWT profile and the token endpoint.

The emulator issues keys as Zitadel does: a JSON document ``{type: serviceaccount, keyId, key (PEM),
expirationDate, userId}`` whose private key it does not keep. A client signs an RS256 assertion
(kid = keyId, iss = sub = userId, aud = the instance URL) and exchanges it at ``/oauth/v2/token``
(grant ``urn:ietf:params:oauth:grant-type:jwt-bearer``) for an opaque access token with an expiry.
Failures answer the OAuth error shape ``{"error", "error_description"}`` with 400, as Zitadel does.
The same endpoint serves the authorization code grant of the OIDC login (:mod:`.oidc.tokens`).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from a4c.sandbox.zitadel.model import AccessToken, ServiceKey
from a4c.sandbox.zitadel.oidc.params import JWT_BEARER as JWT_BEARER
from a4c.sandbox.zitadel.oidc.tokens import AUTHORIZATION_CODE, code_exchange
from a4c.sandbox.zitadel.store import Store, token_hash
from a4c.sandbox.zitadel.wire import ts

KEY_LIFETIME_SECONDS = 365 * 24 * 3600
# Zitadel accepts assertions whose clocks are slightly off; so does the sandbox.
LEEWAY_SECONDS = 60


class KeyIssueError(ValueError):
    """A key cannot be issued (unknown or non-machine user)."""


def create_service_key(store: Store, user_id: str | None = None) -> dict[str, Any]:
    """Issue a key for a machine user (the sandbox's service account by default) as Zitadel's JSON."""
    user_id = user_id or store.config.service_user_id
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with store.write() as state:
        user = state.users.get(user_id)
        if user is None or not user.machine:
            raise KeyIssueError(f"no machine user {user_id}")
        now = store.now()
        key = ServiceKey(store.new_id(), user_id, public_pem, now, now + KEY_LIFETIME_SECONDS)
        state.keys[key.key_id] = key
    return {
        "type": "serviceaccount",
        "keyId": key.key_id,
        "key": private_pem,
        "expirationDate": ts(key.expires),
        "userId": user_id,
    }


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _token_endpoint(store: Store) -> Any:
    async def token(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart for a one-line job.
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        grant_type, assertion = form.get("grant_type", ""), form.get("assertion", "")
        if grant_type == AUTHORIZATION_CODE:
            return await code_exchange(store, request, form)
        if grant_type != JWT_BEARER:
            return _oauth_error(
                "unsupported_grant_type", f"grant_type {grant_type or '(none)'} is not supported"
            )
        if not assertion:
            return _oauth_error("invalid_request", "assertion is missing")
        user_id = _verify_assertion(store, assertion, _issuer(request))
        if isinstance(user_id, JSONResponse):
            return user_id
        access = secrets.token_urlsafe(48)
        ttl = store.config.access_token_ttl_seconds
        with store.write() as state:
            state.tokens[token_hash(access)] = AccessToken(user_id, store.now() + ttl)
            store.token_grants += 1
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
        return JSONResponse({**answer, "scope": form.get("scope", "openid")})

    return token


def _verify_assertion(store: Store, assertion: str, issuer: str) -> str | JSONResponse:
    """The user id the assertion authenticates, or the OAuth error to answer."""
    try:
        key_id = jwt.get_unverified_header(assertion).get("kid")
    except jwt.InvalidTokenError:
        return _oauth_error("invalid_request", "assertion is not a JWT")
    with store.read() as state:
        key = state.keys.get(str(key_id))
    if key is None or key.expires <= store.now():
        return _oauth_error("invalid_grant", "key not found or expired")
    try:
        claims = jwt.decode(
            assertion,
            key.public_key_pem,
            algorithms=["RS256"],
            audience=[issuer, issuer + "/"],
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidAudienceError:
        return _oauth_error("invalid_grant", f"audience must contain the issuer {issuer}")
    except jwt.InvalidTokenError as exc:
        return _oauth_error("invalid_grant", f"assertion invalid: {exc}")
    if claims["iat"] > store.now() + LEEWAY_SECONDS:
        return _oauth_error("invalid_grant", "assertion issued in the future")
    if claims["iss"] != key.user_id or claims["sub"] != key.user_id:
        return _oauth_error("invalid_grant", "iss and sub must be the key's user id")
    return key.user_id


def _keys_endpoint(store: Store) -> Any:
    async def keys(request: Request) -> JSONResponse:
        raw = await request.body()
        body = await request.json() if raw.strip() else {}
        user_id = body.get("userId") if isinstance(body, dict) else None
        try:
            return JSONResponse(
                create_service_key(store, user_id if isinstance(user_id, str) else None), status_code=201
            )
        except KeyIssueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    return keys


def routes(store: Store) -> list[BaseRoute]:
    return [
        Route("/oauth/v2/token", _token_endpoint(store), methods=["POST"]),
        Route("/_sandbox/zitadel/keys", _keys_endpoint(store), methods=["POST"]),
    ]
