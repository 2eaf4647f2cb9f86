"""The admin console's login at the sandbox Zitadel: its project, roles, OIDC app and two operators.

    login = await seed("http://127.0.0.1:8788", "http://127.0.0.1:8080/auth/callback")
    login.env()          # A4C_CONSOLE_OIDC_ISSUER, _CLIENT_ID, _PROJECT_ID, A4C_CONSOLE_ROLE_OPERATE, _READ
    login.operate.login_name, login.operate.password   # holds console.operate
    login.read.login_name, login.read.password         # holds console.read

Everything goes through Zitadel's own management API, as a deployment script would against a real
instance (so the same steps document what production needs): in the instance's default
organization, the project ``A4C Console`` (project role assertion on) with the role keys
``ROLE_OPERATE`` and ``ROLE_READ``; a public OIDC web app (PKCE, auth method NONE, dev mode for
http redirect URIs) asserting roles and profile in ID tokens; two human users with a password each
and one user grant each. Seeding again finds what is there (by name) and corrects it: the app's
redirect URIs become exactly the ones given, each operator gets a new password (or the one given).

The passwords are local development credentials for the sandbox only (``make run`` prints them for
the person at the terminal); nothing here is meant for a real Zitadel's users.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from a4c.sandbox.zitadel.config import ZitadelConfig

# The console's operator roles: the one place their keys are spelled (the console is configured
# with them through A4C_CONSOLE_ROLE_OPERATE / A4C_CONSOLE_ROLE_READ, see ConsoleLogin.env).
ROLE_OPERATE = "console.operate"
ROLE_READ = "console.read"
PROJECT_NAME = "A4C Console"
APP_NAME = "a4c-console"
OPERATE_LOGIN = "console-operator"
READ_LOGIN = "console-reader"
# What the console asks for: its project's roles asserted (reserved scopes), profile for the name.
SCOPES_TEMPLATE = (
    "openid profile email urn:zitadel:iam:org:project:id:{project_id}:aud urn:zitadel:iam:org:projects:roles"
)
# Searches may lag behind a create (SANDBOX_ZITADEL_SEARCH_LAG_SECONDS): how long to look again.
_SEARCH_PATIENCE_SECONDS = 10.0


@dataclass(frozen=True)
class Operator:
    """A console operator: a Zitadel human user holding one console role."""

    login_name: str
    password: str = field(repr=False)
    role: str
    user_id: str
    display_name: str


@dataclass(frozen=True)
class ConsoleLogin:
    """Where and as whom the console logs its operators in."""

    issuer: str
    client_id: str
    project_id: str
    redirect_uri: str
    role_operate: str
    role_read: str
    operate: Operator
    read: Operator

    @property
    def scopes(self) -> str:
        return SCOPES_TEMPLATE.format(project_id=self.project_id)

    def guide_rows(self) -> list[tuple[str, str]]:
        """``make run``'s "Where to look" rows: each operator's login (local sandbox credentials)."""
        return [
            (
                "console operator",
                f"{self.operate.login_name} / {self.operate.password}  ({self.operate.role})",
            ),
            ("console read-only", f"{self.read.login_name} / {self.read.password}  ({self.read.role})"),
        ]

    def env(self) -> dict[str, str]:
        """The console's settings for this login (h-console declares them in its config)."""
        return {
            "A4C_CONSOLE_OIDC_ISSUER": self.issuer,
            "A4C_CONSOLE_OIDC_CLIENT_ID": self.client_id,
            "A4C_CONSOLE_OIDC_PROJECT_ID": self.project_id,
            "A4C_CONSOLE_ROLE_OPERATE": self.role_operate,
            "A4C_CONSOLE_ROLE_READ": self.role_read,
        }


class SeedError(RuntimeError):
    """Zitadel refused a seeding call; the message names the call and Zitadel's answer."""


async def seed(
    zitadel_base_url: str,
    console_redirect_uri: str,
    *,
    pat: str = ZitadelConfig.pat,
    post_logout_redirect_uris: Sequence[str] = (),
    passwords: Mapping[str, str] | None = None,
) -> ConsoleLogin:
    """Make (or find and correct) the console's project, app and operators; see the module doc.

    ``passwords`` maps a login name to the password to set (tests); others get a generated one.
    """
    headers = {"authorization": f"Bearer {pat}"}
    async with httpx.AsyncClient(base_url=zitadel_base_url.rstrip("/"), headers=headers, timeout=30) as api:
        issuer = str((await _call(api, "GET", "/.well-known/openid-configuration"))["issuer"])
        org_id = str((await _call(api, "GET", "/management/v1/orgs/me"))["org"]["id"])
        api.headers["x-zitadel-orgid"] = org_id
        project_id = await _project(api)
        client_id = await _app(api, project_id, [console_redirect_uri], list(post_logout_redirect_uris))
        chosen = passwords or {}
        # Side by side: with SANDBOX_LATENCY_PROFILE=seed each user creation takes 5-10 s.
        operate, read = await asyncio.gather(
            _operator(api, org_id, project_id, OPERATE_LOGIN, "Operator", ROLE_OPERATE, chosen),
            _operator(api, org_id, project_id, READ_LOGIN, "Reader", ROLE_READ, chosen),
        )
    return ConsoleLogin(
        issuer, client_id, project_id, console_redirect_uri, ROLE_OPERATE, ROLE_READ, operate, read
    )


async def _call(api: httpx.AsyncClient, method: str, path: str, body: Any = None) -> dict[str, Any]:
    answer = await api.request(method, path, json=body)
    if answer.status_code >= 400:
        raise SeedError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
    result: dict[str, Any] = answer.json()
    return result


async def _created_or_found(
    create: Callable[[], Awaitable[httpx.Response]], find: Callable[[], Awaitable[str | None]]
) -> str:
    """Find the record, else create it; a 409 means a lagging search missed it: look until found."""
    found = await find()
    if found is not None:
        return found
    answer = await create()
    if answer.status_code < 400:
        body = answer.json()
        return str(body.get("id") or body.get("userId") or body.get("userGrantId"))
    if answer.status_code != 409:
        raise SeedError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text[:300]}"
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SEARCH_PATIENCE_SECONDS
    while (found := await find()) is None:
        if loop.time() > deadline:
            raise SeedError(f"{answer.request.url.path}: exists (409) but no search finds it")
        await asyncio.sleep(0.2)
    return found


async def _project(api: httpx.AsyncClient) -> str:
    async def find() -> str | None:
        query = {"queries": [{"nameQuery": {"name": PROJECT_NAME, "method": "TEXT_QUERY_METHOD_EQUALS"}}]}
        result = (await _call(api, "POST", "/management/v1/projects/_search", query)).get("result", [])
        return str(result[0]["id"]) if result else None

    async def create() -> httpx.Response:
        return await api.post(
            "/management/v1/projects", json={"name": PROJECT_NAME, "projectRoleAssertion": True}
        )

    project_id = await _created_or_found(create, find)
    for key, name in ((ROLE_OPERATE, "Operate the console"), (ROLE_READ, "Read the console")):
        body = {"roleKey": key, "displayName": name}
        answer = await api.post(f"/management/v1/projects/{project_id}/roles", json=body)
        if answer.status_code not in (200, 409):  # 409: the role is there already
            raise SeedError(f"add role {key}: {answer.status_code} {answer.text[:300]}")
    return project_id


def _app_config(redirect_uris: list[str], post_logout: list[str]) -> dict[str, Any]:
    return {
        "redirectUris": redirect_uris,
        "postLogoutRedirectUris": post_logout,
        "responseTypes": ["OIDC_RESPONSE_TYPE_CODE"],
        "grantTypes": ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"],
        "appType": "OIDC_APP_TYPE_WEB",
        "authMethodType": "OIDC_AUTH_METHOD_TYPE_NONE",
        "devMode": True,  # http://127.0.0.1 redirect URIs
        "accessTokenType": "OIDC_TOKEN_TYPE_BEARER",
        "idTokenRoleAssertion": True,
        "idTokenUserinfoAssertion": True,
    }


async def _app(
    api: httpx.AsyncClient, project_id: str, redirect_uris: list[str], post_logout: list[str]
) -> str:
    config = _app_config(redirect_uris, post_logout)
    apps = f"/management/v1/projects/{project_id}/apps"
    found: dict[str, Any] = {}

    async def find() -> str | None:
        query = {"queries": [{"nameQuery": {"name": APP_NAME, "method": "TEXT_QUERY_METHOD_EQUALS"}}]}
        result = (await _call(api, "POST", f"{apps}/_search", query)).get("result", [])
        found.update(result[0] if result else {})
        return str(result[0]["id"]) if result else None

    async def create() -> httpx.Response:
        return await api.post(f"{apps}/oidc", json={"name": APP_NAME, **config})

    existing = await find()
    if existing is None:
        answer = await create()
        if answer.status_code < 400:
            return str(answer.json()["clientId"])
        await _created_or_found(lambda: _conflict(answer), find)  # 409: made meanwhile, search lags
    path = f"{apps}/{found['id']}/oidc_config"
    answer = await api.put(path, json=config)
    if answer.status_code >= 400 and "COMMAND-1m88i" not in answer.text:  # 1m88i: nothing to change
        raise SeedError(f"PUT {path}: {answer.status_code} {answer.text[:300]}")
    return str(found["oidcConfig"]["clientId"])


async def _conflict(answer: httpx.Response) -> httpx.Response:
    return answer


def _password() -> str:
    # Random, plus one character of each class Zitadel's default complexity policy asks for.
    return f"{secrets.token_urlsafe(15)}-Aa1"


async def _operator(
    api: httpx.AsyncClient,
    org_id: str,
    project_id: str,
    login: str,
    family_name: str,
    role: str,
    passwords: Mapping[str, str],
) -> Operator:
    display = f"Console {family_name}"

    async def find_user() -> str | None:
        query = {"queries": [
            {"userNameQuery": {"userName": login, "method": "TEXT_QUERY_METHOD_EQUALS"}},
            {"organizationIdQuery": {"organizationId": org_id}},
        ]}  # fmt: skip
        result = (await _call(api, "POST", "/v2/users", query)).get("result", [])
        return str(result[0]["userId"]) if result else None

    async def create_user() -> httpx.Response:
        human = {
            "organization": {"orgId": org_id},
            "username": login,
            "profile": {"givenName": "Console", "familyName": family_name, "displayName": display},
            "email": {"email": f"{login}@console.sandbox.localhost", "isVerified": True},
        }
        return await api.post("/v2/users/human", json=human)

    user_id = await _created_or_found(create_user, find_user)
    password = passwords.get(login) or _password()
    body = {"newPassword": {"password": password, "changeRequired": False}}
    await _call(api, "POST", f"/v2/users/{user_id}/password", body)
    await _grant(api, user_id, project_id, role)
    return Operator(login, password, role, user_id, display)


async def _grant(api: httpx.AsyncClient, user_id: str, project_id: str, role: str) -> None:
    query = {"queries": [{"userIdQuery": {"userId": user_id}}, {"projectIdQuery": {"projectId": project_id}}]}

    async def find() -> str | None:
        result = (await _call(api, "POST", "/management/v1/users/grants/_search", query)).get("result", [])
        return str(result[0]["id"]) if result else None

    async def create() -> httpx.Response:
        body = {"projectId": project_id, "roleKeys": [role]}
        return await api.post(f"/management/v1/users/{user_id}/grants", json=body)

    grant_id = await _created_or_found(create, find)
    result = (await _call(api, "POST", "/management/v1/users/grants/_search", query)).get("result", [])
    if result and result[0].get("roleKeys") != [role]:  # made earlier with other roles: exactly this one
        await _call(api, "PUT", f"/management/v1/users/{user_id}/grants/{grant_id}", {"roleKeys": [role]})
