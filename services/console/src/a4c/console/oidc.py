"""The console as an OIDC relying party of Zitadel: authorization code flow with PKCE (RFC 7636).

Endpoints come from the issuer's discovery document (``/.well-known/openid-configuration``); the ID
token's signature is checked against the issuer's JWKS (refetched once for an unknown key id, so a key
rotation needs no restart), then its ``iss``, ``aud``, ``exp`` and ``nonce``. Operator roles are
Zitadel project roles, in the ``urn:zitadel:iam:org:project:roles`` claim (or the project-scoped
``urn:zitadel:iam:org:project:<id>:roles``) of the ID token, else of userinfo. Tokens are used here
and dropped: only the operator's name and role outlive the login (in the session cookie).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from a4c.console.config import OidcSettings
from a4c.console.roles import Role

ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"
ROLES_SCOPE = "urn:zitadel:iam:org:projects:roles"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]
TIMEOUT = 10.0
LEEWAY_SECONDS = 60  # clock skew between the console and the identity platform


class LoginError(Exception):
    """The login cannot complete; ``message`` is safe to show (never a token or the provider's text)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PendingLogin:
    """What the console keeps (in the session cookie) between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str
    next_path: str = "/"


@dataclass(frozen=True)
class Identity:
    """Who signed in: their login name (the actor in events), display name and console role."""

    subject: str
    login: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None

    @classmethod
    def parse(cls, document: Mapping[str, Any], issuer: str) -> Discovery:
        if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
            raise LoginError("the identity platform's discovery names another issuer")
        try:
            return cls(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
                userinfo_endpoint=document.get("userinfo_endpoint"),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        except KeyError as missing:
            raise LoginError(f"the identity platform's discovery lacks {missing}") from None


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One per process; ``http`` is its connection pool (built in ``__main__``, closed at stop)."""

    def __init__(self, settings: OidcSettings, redirect_uri: str, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._redirect_uri = redirect_uri
        self._http = http
        self._discovery: Discovery | None = None
        self._keys: KeySet | None = None

    @property
    def scopes(self) -> str:
        project = self._settings.project_id
        # Zitadel's reserved scopes: the project as an audience, and its roles asserted.
        return f"openid profile email urn:zitadel:iam:org:project:id:{project}:aud {ROLES_SCOPE}"

    async def discovery(self) -> Discovery:
        if self._discovery is None:
            url = f"{self._settings.issuer}/.well-known/openid-configuration"
            self._discovery = Discovery.parse(await self._get_json(url), self._settings.issuer)
        return self._discovery

    async def start(self, next_path: str) -> tuple[str, PendingLogin]:
        """The authorization URL to send the browser to, and what the callback must match."""
        found = await self.discovery()
        pending = PendingLogin(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=next_path,
        )
        query = {
            "response_type": "code",
            "client_id": self._settings.client_id,
            "redirect_uri": self._redirect_uri,
            "scope": self.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": _challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        return f"{found.authorization_endpoint}?{urlencode(query)}", pending

    async def finish(self, code: str, pending: PendingLogin) -> Identity:
        """Exchange the code (with the PKCE verifier), verify the ID token, read the role."""
        found = await self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "client_id": self._settings.client_id,
            "code_verifier": pending.verifier,
        }
        headers = {}
        if self._settings.client_secret:  # client_secret_basic (RFC 6749 2.3.1)
            pair = f"{quote(self._settings.client_id)}:{quote(self._settings.client_secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        try:
            reply = await self._http.post(found.token_endpoint, data=form, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError:
            raise LoginError("the identity platform is unreachable") from None
        if reply.status_code != 200:
            raise LoginError("the identity platform refused the login code")
        tokens = reply.json()
        claims = await self._verified_claims(str(tokens.get("id_token", "")), pending.nonce)
        roles = _roles(claims, self._settings.project_id)
        if roles is None and found.userinfo_endpoint and tokens.get("access_token"):
            roles = _roles(
                await self._userinfo(found.userinfo_endpoint, tokens["access_token"]),
                self._settings.project_id,
            )
        return Identity(
            subject=str(claims["sub"]),
            login=str(claims.get("preferred_username") or claims["sub"]),
            display_name=str(claims.get("name") or claims.get("preferred_username") or claims["sub"]),
            role=Role.of(roles or set(), self._settings),
        )

    async def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        found = await self.discovery()
        if not found.end_session_endpoint:
            return None
        query = {"client_id": self._settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        return f"{found.end_session_endpoint}?{urlencode(query)}"

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise LoginError("the identity platform returned no ID token")
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:  # an unknown key id: the platform may have rotated its keys
                self._keys = None
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            raise LoginError("the ID token's signature does not verify") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": (await self.discovery()).issuer},
            aud={"essential": True, "value": self._settings.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            raise LoginError(f"the ID token is not valid for this console ({error.error})") from None
        return dict(decoded.claims)

    async def _key_set(self) -> KeySet:
        if self._keys is None:
            self._keys = KeySet.import_key_set(await self._get_json((await self.discovery()).jwks_uri))
        return self._keys

    async def _userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        try:
            reply = await self._http.get(
                url, headers={"authorization": f"Bearer {access_token}"}, timeout=TIMEOUT
            )
        except httpx.HTTPError:
            raise LoginError("the identity platform is unreachable") from None
        return dict(reply.json()) if reply.status_code == 200 else {}

    async def _get_json(self, url: str) -> Any:
        try:
            reply = await self._http.get(url, timeout=TIMEOUT)
        except httpx.HTTPError:
            raise LoginError("the identity platform is unreachable") from None
        if reply.status_code != 200:
            raise LoginError(f"the identity platform answered {reply.status_code}")
        return reply.json()


def _roles(claims: Mapping[str, Any], project_id: str) -> set[str] | None:
    """Role keys of either roles claim; None when neither is present (then userinfo is asked)."""
    found: set[str] | None = None
    for name in (ROLES_CLAIM, f"urn:zitadel:iam:org:project:{project_id}:roles"):
        value = claims.get(name)
        if isinstance(value, Mapping):
            found = (found or set()) | {str(k) for k in value}
    return found
