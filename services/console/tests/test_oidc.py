"""The OIDC client refuses every ID token that is not for this console, from this issuer, for this
login: a provider on httpx's MockTransport signs what each case needs (the sandbox Zitadel, used by the
browser tests, only ever signs valid ones)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from a4c.console.config import OidcSettings
from a4c.console.oidc import ROLES_CLAIM, LoginError, OidcClient, PendingLogin
from a4c.console.roles import Role

ISSUER = "http://login.test"
SETTINGS = OidcSettings(issuer=ISSUER, client_id="console", project_id="42")
PENDING = PendingLogin(state="s", nonce="n-123", verifier="v" * 43)


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.claims: dict[str, Any] = {}
        self.sign_with = self.key
        self.userinfo: dict[str, Any] = {}
        self.token_forms: list[dict[str, str]] = []

    def valid_claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": ["console", "42"],
            "sub": "u1",
            "exp": now + 300,
            "iat": now,
            "nonce": PENDING.nonce,
            "preferred_username": "ada@ops.example",
            "name": "Ada Ops",
            ROLES_CLAIM: {"console.operate": {"o1": "ops.example"}},
        }
        return {k: v for k, v in {**claims, **changes}.items() if v is not None}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/oauth/v2/authorize",
                "token_endpoint": f"{ISSUER}/oauth/v2/token",
                "jwks_uri": f"{ISSUER}/oauth/v2/keys",
                "userinfo_endpoint": f"{ISSUER}/oidc/v1/userinfo",
                "end_session_endpoint": f"{ISSUER}/oidc/v1/end_session",
            })  # fmt: skip
        if path == "/oauth/v2/keys":
            return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))
        if path == "/oauth/v2/token":
            self.token_forms.append(dict(httpx.QueryParams(request.content.decode())))
            header = {"alg": "RS256", "kid": self.sign_with.kid}
            token = jwt.encode(header, self.claims, self.sign_with)
            return httpx.Response(200, json={"id_token": token, "access_token": "at", "token_type": "Bearer"})
        if path == "/oidc/v1/userinfo":
            return httpx.Response(200, json=self.userinfo)
        return httpx.Response(404)


@pytest.fixture
def provider() -> Provider:
    return Provider()


async def finish(provider: Provider) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http:
        client = OidcClient(SETTINGS, "http://console.test/auth/callback", http)
        return await client.finish("code-1", PENDING)


async def test_a_valid_id_token_signs_in_with_the_role_and_the_pkce_verifier_is_sent(
    provider: Provider,
) -> None:
    provider.claims = provider.valid_claims()
    identity = await finish(provider)
    assert (identity.login, identity.display_name, identity.role) == (
        "ada@ops.example",
        "Ada Ops",
        Role.OPERATE,
    )
    form = provider.token_forms[0]
    assert form["code_verifier"] == PENDING.verifier
    assert form["grant_type"] == "authorization_code"


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.valid_claims(nonce="replayed"),
        lambda p: p.valid_claims(nonce=None),
        lambda p: p.valid_claims(aud=["another-app"]),
        lambda p: p.valid_claims(iss="http://evil.test"),
        lambda p: p.valid_claims(exp=int(time.time()) - 3600),
        lambda p: p.valid_claims(sub=None),
    ],
    ids=["wrong-nonce", "no-nonce", "other-audience", "other-issuer", "expired", "no-subject"],
)
async def test_an_id_token_not_for_this_login_is_refused(
    provider: Provider, change: Callable[[Provider], dict[str, Any]]
) -> None:
    provider.claims = change(provider)
    with pytest.raises(LoginError):
        await finish(provider)


async def test_a_token_signed_by_another_key_is_refused(provider: Provider) -> None:
    provider.claims = provider.valid_claims()
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    with pytest.raises(LoginError, match="signature"):
        await finish(provider)


async def test_a_rotated_key_is_fetched_again_once(provider: Provider) -> None:
    provider.claims = provider.valid_claims()
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http:
        client = OidcClient(SETTINGS, "http://console.test/auth/callback", http)
        assert (await client.finish("c", PENDING)).role is Role.OPERATE
        provider.key = provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k2"})
        assert (await client.finish("c", PENDING)).role is Role.OPERATE


async def test_roles_missing_from_the_id_token_come_from_userinfo(provider: Provider) -> None:
    provider.claims = provider.valid_claims(**{ROLES_CLAIM: None})
    provider.userinfo = {"urn:zitadel:iam:org:project:42:roles": {"console.read": {"o1": "ops.example"}}}
    assert (await finish(provider)).role is Role.READ
    provider.userinfo = {}
    assert (await finish(provider)).role is Role.NONE
