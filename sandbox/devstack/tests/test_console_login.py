"""Seeding the console's login: what `seed` makes, that seeding again finds it, and that it logs in."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

from a4c.devstack.console_login import (
    OPERATE_LOGIN,
    READ_LOGIN,
    ROLE_OPERATE,
    ROLE_READ,
    ConsoleLogin,
    Operator,
    seed,
)
from a4c.devstack.emulators import run_zitadel

REDIRECT = "http://127.0.0.1:8090/auth/callback"


async def logs_in(url: str, login: ConsoleLogin, operator: Operator) -> bool:
    """Whether the operator's login name and password get a code for the console's client."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": login.client_id,
        "redirect_uri": login.redirect_uri,
        "response_type": "code",
        "scope": login.scopes,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient(base_url=url) as browser:
        start = await browser.get("/oauth/v2/authorize", params=params)
        auth_request_id = parse_qs(urlsplit(start.headers["location"]).query)["authRequestID"][0]
        form = {
            "authRequestID": auth_request_id,
            "loginName": operator.login_name,
            "password": operator.password,
        }
        answer = await browser.post("/ui/login/login", data=form)
        if answer.status_code != 302:
            return False
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        token = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": login.redirect_uri,
            "client_id": login.client_id,
            "code_verifier": verifier,
        }
        return (await browser.post("/oauth/v2/token", data=token)).status_code == 200


async def test_seed_gives_the_console_its_settings_and_two_operators_who_can_log_in() -> None:
    async with run_zitadel() as zitadel:
        login = await seed(zitadel.url, REDIRECT)
        assert login.env() == {
            "A4C_CONSOLE_OIDC_ISSUER": zitadel.url,
            "A4C_CONSOLE_OIDC_CLIENT_ID": login.client_id,
            "A4C_CONSOLE_OIDC_PROJECT_ID": login.project_id,
            "A4C_CONSOLE_ROLE_OPERATE": ROLE_OPERATE,
            "A4C_CONSOLE_ROLE_READ": ROLE_READ,
        }
        assert (login.operate.login_name, login.operate.role) == (OPERATE_LOGIN, ROLE_OPERATE)
        assert (login.read.login_name, login.read.role) == (READ_LOGIN, ROLE_READ)
        assert login.operate.password not in repr(login)  # printed only on purpose, never by accident
        rows = dict(login.guide_rows())
        assert rows["console operator"].startswith(f"{OPERATE_LOGIN} / {login.operate.password} ")
        assert rows["console read-only"].endswith(f"({ROLE_READ})")
        assert await logs_in(zitadel.url, login, login.operate)
        assert await logs_in(zitadel.url, login, login.read)
        with zitadel.store.read() as state:
            grants = {g.user_id: g.role_keys for g in state.user_grants.values()}
        assert grants == {login.operate.user_id: [ROLE_OPERATE], login.read.user_id: [ROLE_READ]}


async def test_seeding_again_finds_everything_changes_the_passwords_and_follows_the_redirect_uri() -> None:
    # Searches lag behind writes here, as Zitadel's projections may: seeding must still not duplicate.
    async with run_zitadel(search_lag_seconds=2) as zitadel:
        first = await seed(zitadel.url, REDIRECT)
        moved = REDIRECT.replace("8090", "8091")
        second = await seed(zitadel.url, moved, passwords={OPERATE_LOGIN: "Chosen-pass-1"})
        assert (second.client_id, second.project_id) == (first.client_id, first.project_id)
        assert (second.operate.user_id, second.read.user_id) == (first.operate.user_id, first.read.user_id)
        assert second.operate.password == "Chosen-pass-1"
        assert second.read.password != first.read.password
        assert not await logs_in(zitadel.url, second, first.read)  # the old password is gone
        assert await logs_in(zitadel.url, second, second.read)
        with zitadel.store.read() as state:
            assert len(state.apps) == 1
            assert next(iter(state.apps.values())).redirect_uris == [moved]
            assert len([p for p in state.projects.values() if p.name == "A4C Console"]) == 1
