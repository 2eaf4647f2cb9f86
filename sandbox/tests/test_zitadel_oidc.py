"""Zitadel emulator as an OpenID Connect provider: the code flow with PKCE, end to end with httpx.

authorize → the hosted login page → login form POST → redirect with code and state → token
exchange → ID token verified against the JWKS (issuer, audience, nonce) → userinfo; then each
refusal a client must be able to rely on. The console's login is seeded through the management
API by :func:`a4c.devstack.console_login.seed`, as the dev stack does.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from a4c.devstack.console_login import ROLE_OPERATE, ROLE_READ, ConsoleLogin, Operator, seed
from a4c.devstack.emulators import RunningZitadel
from a4c.devstack.timing import ManualClock
from a4c.sandbox.zitadel import ZitadelConfig, create_app
from a4c.sandbox.zitadel.oidc import keys

REDIRECT = "http://127.0.0.1:8080/auth/callback"
LOGGED_OUT = "http://127.0.0.1:8080/"
ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


@pytest.fixture
async def login(zitadel: RunningZitadel) -> ConsoleLogin:
    return await seed(zitadel.url, REDIRECT, post_logout_redirect_uris=[LOGGED_OUT])


@pytest.fixture
async def browser(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client that does not follow redirects: each hop is checked."""
    async with httpx.AsyncClient(base_url=zitadel.url, follow_redirects=False) as client:
        yield client


def authorize_params(login: ConsoleLogin, pkce: Pkce, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": login.client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": login.scopes,
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    return {k: v for k, v in {**params, **overrides}.items() if v}


def query_of(response: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def start_login(browser: httpx.AsyncClient, params: dict[str, str]) -> str:
    """GET /oauth/v2/authorize → the login page's authRequestID."""
    answer = await browser.get("/oauth/v2/authorize", params=params)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert location.path == "/ui/login/login"
    return parse_qs(location.query)["authRequestID"][0]


async def submit(
    browser: httpx.AsyncClient, auth_request_id: str, name: str, password: str
) -> httpx.Response:
    form = {"authRequestID": auth_request_id, "loginName": name, "password": password}
    return await browser.post("/ui/login/login", data=form)


async def code_for(
    browser: httpx.AsyncClient, login: ConsoleLogin, operator: Operator, pkce: Pkce, **overrides: str
) -> tuple[str, dict[str, str]]:
    params = authorize_params(login, pkce, **overrides)
    answer = await submit(browser, await start_login(browser, params), operator.login_name, operator.password)
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(params["redirect_uri"] + "?")
    return query_of(answer)["code"], params


async def exchange(
    browser: httpx.AsyncClient, login: ConsoleLogin, code: str, verifier: str, **overrides: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": login.client_id,
        "code_verifier": verifier,
        **overrides,
    }
    return await browser.post("/oauth/v2/token", data={k: v for k, v in form.items() if v})


async def verified_id_token(
    browser: httpx.AsyncClient, login: ConsoleLogin, token: str, nonce: str
) -> dict[str, Any]:
    discovery = (await browser.get("/.well-known/openid-configuration")).json()
    jwks = jwt.PyJWKSet.from_dict((await browser.get(urlsplit(discovery["jwks_uri"]).path)).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=login.client_id,
        issuer=discovery["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]},
    )
    assert claims["nonce"] == nonce
    return claims


async def test_discovery_names_the_oidc_endpoints_on_zitadels_paths(
    browser: httpx.AsyncClient, zitadel: RunningZitadel
) -> None:
    config = (await browser.get("/.well-known/openid-configuration")).json()
    assert config["issuer"] == zitadel.url
    assert config["authorization_endpoint"] == f"{zitadel.url}/oauth/v2/authorize"
    assert config["token_endpoint"] == f"{zitadel.url}/oauth/v2/token"
    assert config["jwks_uri"] == f"{zitadel.url}/oauth/v2/keys"
    assert config["userinfo_endpoint"] == f"{zitadel.url}/oidc/v1/userinfo"
    assert config["end_session_endpoint"] == f"{zitadel.url}/oidc/v1/end_session"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in config["grant_types_supported"]


async def test_the_code_flow_with_pkce_logs_an_operator_in_with_the_project_role(
    browser: httpx.AsyncClient, login: ConsoleLogin, zitadel: RunningZitadel
) -> None:
    pkce = Pkce.new()
    params = authorize_params(login, pkce)
    auth_request_id = await start_login(browser, params)

    page = await browser.get("/ui/login/login", params={"authRequestID": auth_request_id})
    assert page.status_code == 200
    assert 'id="loginName"' in page.text
    assert 'id="password"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert not re.search(r"<(script|link)\b", page.text)  # self-contained: no scripts, no external assets

    answer = await submit(browser, auth_request_id, login.operate.login_name, login.operate.password)
    assert answer.status_code == 302
    back = query_of(answer)
    assert answer.headers["location"].startswith(REDIRECT + "?")
    assert back["state"] == params["state"]

    tokens = await exchange(browser, login, back["code"], pkce.verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert tokens.headers["cache-control"] == "no-store"

    claims = await verified_id_token(browser, login, body["id_token"], params["nonce"])
    with zitadel.store.read() as state:
        platform = state.orgs[zitadel.config.platform_org_id]
    assert claims["sub"] == login.operate.user_id
    assert claims["aud"] == [login.client_id, login.project_id]
    assert claims["azp"] == login.client_id
    assert claims["preferred_username"] == f"{login.operate.login_name}@{platform.primary_domain}"
    assert claims["name"] == login.operate.display_name
    assert claims[ROLES_CLAIM] == {ROLE_OPERATE: {platform.id: platform.primary_domain}}
    assert claims[f"urn:zitadel:iam:org:project:{login.project_id}:roles"] == claims[ROLES_CLAIM]

    info = await browser.get("/oidc/v1/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json()["sub"] == login.operate.user_id
    assert info.json()[ROLES_CLAIM] == {ROLE_OPERATE: {platform.id: platform.primary_domain}}
    assert info.json()["email"] == f"{login.operate.login_name}@console.sandbox.localhost"


async def test_the_reader_holds_only_the_read_role(browser: httpx.AsyncClient, login: ConsoleLogin) -> None:
    pkce = Pkce.new()
    code, params = await code_for(browser, login, login.read, pkce)
    body = (await exchange(browser, login, code, pkce.verifier)).json()
    claims = await verified_id_token(browser, login, body["id_token"], params["nonce"])
    assert list(claims[ROLES_CLAIM]) == [ROLE_READ]


async def test_a_user_without_a_project_role_gets_no_role_claim(
    browser: httpx.AsyncClient, login: ConsoleLogin, zitadel: RunningZitadel
) -> None:
    async with zitadel.client() as api:
        human = {
            "username": "no-roles",
            "profile": {"givenName": "No", "familyName": "Roles"},
            "email": {"email": "no-roles@example.test", "isVerified": True},
            "password": {"password": "Plain-0ld-pass"},
        }
        assert (await api.post("/v2/users/human", json=human)).status_code == 201
    pkce = Pkce.new()
    nobody = Operator("no-roles", "Plain-0ld-pass", "", "", "")
    code, params = await code_for(browser, login, nobody, pkce)
    body = (await exchange(browser, login, code, pkce.verifier)).json()
    claims = await verified_id_token(browser, login, body["id_token"], params["nonce"])
    info = (
        await browser.get("/oidc/v1/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    ).json()
    assert not [k for k in {**claims, **info} if k.startswith("urn:zitadel:iam:org:project")]
    assert info["preferred_username"].startswith("no-roles@")


async def test_a_wrong_code_verifier_is_refused(browser: httpx.AsyncClient, login: ConsoleLogin) -> None:
    pkce = Pkce.new()
    code, _ = await code_for(browser, login, login.operate, pkce)
    wrong = await exchange(browser, login, code, Pkce.new().verifier)
    missing = await exchange(browser, login, code, "")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert wrong.json()["error_description"] == "invalid code_verifier"
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


async def test_a_code_works_once_and_its_replay_revokes_the_token_it_bought(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    pkce = Pkce.new()
    code, _ = await code_for(browser, login, login.operate, pkce)
    first = await exchange(browser, login, code, pkce.verifier)
    assert first.status_code == 200
    again = await exchange(browser, login, code, pkce.verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    headers = {"authorization": f"Bearer {first.json()['access_token']}"}
    info = await browser.get("/oidc/v1/userinfo", headers=headers)
    assert (info.status_code, info.json()["error"]) == (401, "access_denied")


async def test_a_code_expires_after_its_short_lifetime(
    browser: httpx.AsyncClient, login: ConsoleLogin, zitadel: RunningZitadel, zitadel_clock: ManualClock
) -> None:
    pkce = Pkce.new()
    code, _ = await code_for(browser, login, login.operate, pkce)
    zitadel_clock.advance(zitadel.config.code_ttl_seconds + 1)
    late = await exchange(browser, login, code, pkce.verifier)
    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")


async def test_the_redirect_uri_must_match_exactly_at_authorize_and_at_the_token_endpoint(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    pkce = Pkce.new()
    for wrong in (REDIRECT + "/", REDIRECT.replace("8080", "8081"), "https://evil.example/cb"):
        answer = await browser.get(
            "/oauth/v2/authorize", params=authorize_params(login, pkce, redirect_uri=wrong)
        )
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "redirect_uri" in answer.text
    code, _ = await code_for(browser, login, login.operate, pkce)
    mismatch = await exchange(browser, login, code, pkce.verifier, redirect_uri=REDIRECT + "?x=1")
    assert (mismatch.status_code, mismatch.json()["error"]) == (400, "invalid_grant")
    assert mismatch.json()["error_description"] == "redirect_uri does not correspond"


async def test_an_unknown_client_is_refused_without_a_redirect_and_at_the_token_endpoint(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    pkce = Pkce.new()
    answer = await browser.get("/oauth/v2/authorize", params=authorize_params(login, pkce, client_id="999"))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    code, _ = await code_for(browser, login, login.operate, pkce)
    unknown = await exchange(browser, login, code, pkce.verifier, client_id="999")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")


async def test_a_bad_password_shows_an_error_on_the_login_page_and_no_code(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    auth_request_id = await start_login(browser, authorize_params(login, Pkce.new()))
    wrong = await submit(browser, auth_request_id, login.operate.login_name, login.operate.password + "x")
    assert wrong.status_code == 200
    assert "location" not in wrong.headers
    assert 'role="alert">Password is invalid' in wrong.text
    assert f'value="{login.operate.login_name}"' in wrong.text  # the login name is kept
    nobody = await submit(browser, auth_request_id, "nobody", "whatever")
    assert "User could not be found" in nobody.text
    # The same login still completes with the right password.
    right = await submit(browser, auth_request_id, login.operate.login_name, login.operate.password)
    assert right.status_code == 302
    assert "code" in query_of(right)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),  # absent means plain
        (
            {"code_challenge": "", "code_challenge_method": ""},
            "invalid_request",
        ),  # public client: PKCE required
        ({"scope": "profile email"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_mode": "form_post"}, "invalid_request"),  # discovery lists query only
        ({"prompt": "none"}, "login_required"),
    ],
)
async def test_other_authorize_errors_go_back_to_the_client_with_the_state(
    browser: httpx.AsyncClient, login: ConsoleLogin, overrides: dict[str, str], error: str
) -> None:
    params = authorize_params(login, Pkce.new(), **overrides)
    answer = await browser.get("/oauth/v2/authorize", params=params)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(REDIRECT + "?")
    back = query_of(answer)
    assert back["error"] == error
    assert back["state"] == params["state"]
    assert "code" not in back


async def test_end_session_revokes_the_login_and_returns_to_a_registered_uri_only(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    pkce = Pkce.new()
    code, _ = await code_for(browser, login, login.operate, pkce)
    body = (await exchange(browser, login, code, pkce.verifier)).json()
    hint = body["id_token"]
    bad = await browser.get(
        "/oidc/v1/end_session",
        params={"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert bad.status_code == 400
    assert "location" not in bad.headers
    params = {"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT, "state": "bye"}
    out = await browser.get("/oidc/v1/end_session", params=params)
    assert out.status_code == 302
    assert out.headers["location"] == LOGGED_OUT + "?state=bye"
    info = await browser.get("/oidc/v1/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 401


async def test_a_confidential_app_authenticates_with_its_secret_at_the_token_endpoint(
    browser: httpx.AsyncClient, login: ConsoleLogin, zitadel: RunningZitadel
) -> None:
    async with zitadel.client(headers={"x-zitadel-orgid": zitadel.config.platform_org_id}) as api:
        app = await api.post(
            f"/management/v1/projects/{login.project_id}/apps/oidc",
            json={
                "name": "backend",
                "redirectUris": [REDIRECT],
                "authMethodType": "OIDC_AUTH_METHOD_TYPE_BASIC",
            },
        )
    assert app.status_code == 200, app.text
    client_id, secret = app.json()["clientId"], app.json()["clientSecret"]
    assert client_id.isdigit()
    assert secret
    confidential = ConsoleLogin(
        login.issuer, client_id, login.project_id, REDIRECT, "", "", login.operate, login.read
    )
    # No PKCE: a confidential client may do without it.
    params = authorize_params(confidential, Pkce.new(), code_challenge="", code_challenge_method="")
    answer = await submit(
        browser, await start_login(browser, params), login.operate.login_name, login.operate.password
    )
    code = query_of(answer)["code"]
    wrong = await exchange(browser, confidential, code, "", client_secret="nope")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    basic = httpx.BasicAuth(client_id, secret)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    right = await browser.post("/oauth/v2/token", data=form, auth=basic)
    assert right.status_code == 200, right.text
    # This app does not assert roles in its ID tokens: they are only in userinfo.
    claims = jwt.decode(right.json()["id_token"], options={"verify_signature": False})
    assert ROLES_CLAIM not in claims
    assert "name" not in claims


async def test_the_management_api_refuses_weak_passwords_and_duplicate_roles_and_app_names(
    login: ConsoleLogin, zitadel: RunningZitadel
) -> None:
    async with zitadel.client(headers={"x-zitadel-orgid": zitadel.config.platform_org_id}) as api:
        user = f"/v2/users/{login.read.user_id}/password"
        for weak, error_id in [
            ("Sh0rt!", "DOMAIN-HuJf6"),
            ("NOLOWER-123", "DOMAIN-co3Xw"),
            ("nosymbol1A", "DOMAIN-ZDLwA"),
        ]:
            answer = await api.post(user, json={"newPassword": {"password": weak}})
            assert answer.status_code == 400
            assert answer.json()["details"][0]["id"] == error_id
        v1 = await api.post(
            f"/management/v1/users/{login.read.user_id}/password", json={"password": "V1-set-pass"}
        )
        assert v1.status_code == 200
        missing = await api.post(
            "/v2/users/404404/password", json={"newPassword": {"password": "Fine-pass-1"}}
        )
        assert missing.status_code == 404
        role = await api.post(
            f"/management/v1/projects/{login.project_id}/roles", json={"roleKey": ROLE_READ}
        )
        assert role.status_code == 409
        app = await api.post(
            f"/management/v1/projects/{login.project_id}/apps/oidc",
            json={"name": "a4c-console", "redirectUris": [REDIRECT]},
        )
        assert app.status_code == 409
        implicit = await api.post(
            f"/management/v1/projects/{login.project_id}/apps/oidc",
            json={"name": "spa", "redirectUris": [REDIRECT], "grantTypes": ["OIDC_GRANT_TYPE_IMPLICIT"]},
        )
        assert implicit.status_code == 501  # not emulated: refused, not silently treated as a code flow
        found = await api.post(
            "/management/v1/projects/_search",
            json={
                "queries": [
                    {"nameQuery": {"name": "a4c console", "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}}
                ]
            },
        )
        assert [p["id"] for p in found.json()["result"]] == [login.project_id]
    reader = Operator(login.read.login_name, "V1-set-pass", "", "", "")
    async with httpx.AsyncClient(base_url=zitadel.url) as browser:
        code, _ = await code_for(browser, login, reader, Pkce.new())
        assert code


async def test_an_operators_access_token_buys_nothing_at_the_management_api(
    browser: httpx.AsyncClient, login: ConsoleLogin
) -> None:
    pkce = Pkce.new()
    code, _ = await code_for(browser, login, login.operate, pkce)
    access = (await exchange(browser, login, code, pkce.verifier)).json()["access_token"]
    answer = await browser.post("/v2/users", json={}, headers={"authorization": f"Bearer {access}"})
    assert answer.status_code == 403


async def test_abandoned_logins_and_spent_codes_are_forgotten(
    browser: httpx.AsyncClient, login: ConsoleLogin, zitadel: RunningZitadel, zitadel_clock: ManualClock
) -> None:
    abandoned = await start_login(browser, authorize_params(login, Pkce.new()))
    zitadel_clock.advance(zitadel.config.login_ttl_seconds + 1)
    page = await browser.get("/ui/login/login", params={"authRequestID": abandoned})
    assert page.status_code == 400
    await start_login(browser, authorize_params(login, Pkce.new()))
    assert abandoned not in zitadel.store.auth_requests
    assert len(zitadel.store.auth_requests) == 1


def test_the_signing_key_survives_a_restart_so_earlier_id_tokens_still_verify(tmp_path: Path) -> None:
    config = ZitadelConfig(state_file=tmp_path / "zitadel.json")
    first = create_app(config)
    token = keys.sign(first.store, {"sub": "someone"})
    again = create_app(config)
    assert keys.public_keys(again.store) == keys.public_keys(first.store)
    assert keys.verify_own(again.store, token) == {"sub": "someone"}
