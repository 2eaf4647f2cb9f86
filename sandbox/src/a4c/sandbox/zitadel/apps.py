"""OIDC applications of a project (v1 management, in the project owner's ``x-zitadel-orgid`` org).

AddOIDCApp (``POST /management/v1/projects/{projectId}/apps/oidc``) answers ``{appId, details,
clientId, clientSecret?}``: the client id is a fresh numeric id (Zitadel's ``SetNewClientID``), a
secret is generated only for the ``BASIC`` and ``POST`` auth methods and shown once (the emulator
keeps its hash); an app's name is unique in its project (409). ListApps (``…/apps/_search``, by
name) and UpdateOIDCAppConfig (``PUT …/apps/{appId}/oidc_config``) let a seeding script find and
correct an app it made before.
Only the authorization code flow is served, so other response and grant types, and JWT access
tokens, are refused as not emulated rather than accepted and ignored.
"""

from __future__ import annotations

import secrets
from typing import Any

from a4c.sandbox.zitadel.api import Call, Rest
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import OidcApp
from a4c.sandbox.zitadel.project_admin import project_in_context
from a4c.sandbox.zitadel.store import State, token_hash
from a4c.sandbox.zitadel.wire import (
    change_details,
    details,
    flag,
    list_details,
    obj,
    text,
    text_matches,
    texts,
)

CODE = "OIDC_RESPONSE_TYPE_CODE"
AUTHORIZATION_CODE = "OIDC_GRANT_TYPE_AUTHORIZATION_CODE"
APP_TYPES = ("OIDC_APP_TYPE_WEB", "OIDC_APP_TYPE_USER_AGENT", "OIDC_APP_TYPE_NATIVE")
AUTH_METHODS = (
    "OIDC_AUTH_METHOD_TYPE_BASIC",
    "OIDC_AUTH_METHOD_TYPE_POST",
    "OIDC_AUTH_METHOD_TYPE_NONE",
    "OIDC_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT",
)
SECRET_METHODS = ("OIDC_AUTH_METHOD_TYPE_BASIC", "OIDC_AUTH_METHOD_TYPE_POST")


def _config(body: dict[str, Any]) -> dict[str, Any]:
    """The OIDC settings of an AddOIDCApp / UpdateOIDCAppConfig body, validated."""
    response_types = texts(body, "responseTypes") or [CODE]
    grant_types = texts(body, "grantTypes") or [AUTHORIZATION_CODE]
    app_type = text(body, "appType") or "OIDC_APP_TYPE_WEB"
    method = text(body, "authMethodType") or "OIDC_AUTH_METHOD_TYPE_BASIC"
    if app_type not in APP_TYPES or method not in AUTH_METHODS:
        raise ApiError("invalid_argument", "Errors.Project.App.Invalid", "PROJECT-1n8df")
    if method == "OIDC_AUTH_METHOD_TYPE_PRIVATE_KEY_JWT":
        raise ApiError("unimplemented", "private_key_jwt clients are not emulated", "SANDBOX-ap501")
    if response_types != [CODE] or grant_types != [AUTHORIZATION_CODE]:
        raise ApiError("unimplemented", "only the authorization code flow is emulated", "SANDBOX-ap502")
    if text(body, "accessTokenType") not in ("", "OIDC_TOKEN_TYPE_BEARER"):
        raise ApiError("unimplemented", "JWT access tokens are not emulated", "SANDBOX-ap503")
    redirect_uris = texts(body, "redirectUris")
    if not redirect_uris:
        # ContainsRequiredGrantTypes passes, but a code flow needs somewhere to send the code.
        raise ApiError("invalid_argument", "Errors.Project.App.OIDCConfigInvalid", "V2-sLpW1")
    return {
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": texts(body, "postLogoutRedirectUris"),
        "response_types": response_types,
        "grant_types": grant_types,
        "app_type": app_type,
        "auth_method_type": method,
        "dev_mode": flag(body, "devMode"),
        "access_token_role_assertion": flag(body, "accessTokenRoleAssertion"),
        "id_token_role_assertion": flag(body, "idTokenRoleAssertion"),
        "id_token_userinfo_assertion": flag(body, "idTokenUserinfoAssertion"),
    }


def add_oidc_app(call: Call) -> dict[str, Any]:
    name = text(call.body, "name")
    if not name:
        raise ApiError("invalid_argument", "Errors.Project.App.Invalid", "PROJECT-1n8df")
    config = _config(call.body)
    secret = secrets.token_urlsafe(48) if config["auth_method_type"] in SECRET_METHODS else ""
    store = call.store
    with store.write() as state:
        project = project_in_context(state, call)
        if any(a.project_id == project.id and a.name == name for a in state.apps.values()):
            # Zitadel's unique constraint on an app's name within its project.
            raise ApiError("already_exists", "Errors.Project.App.AlreadyExists", "SANDBOX-ap409")
        now = store.now()
        app = OidcApp(
            id=store.new_id(), project_id=project.id, org_id=project.org_id, name=name,
            client_id=store.new_id(), created=now, changed=now, sequence=store.next_sequence(),
            client_secret_hash=token_hash(secret) if secret else "", **config,
        )  # fmt: skip
        state.apps[app.id] = app
    answer = {"appId": app.id, "details": change_details(app.sequence, now, app.org_id)}
    return {**answer, "clientId": app.client_id, "clientSecret": secret}


def app_view(app: OidcApp) -> dict[str, Any]:
    """zitadel.app.v1.App with its oidcConfig."""
    return {
        "id": app.id,
        "details": details(app.sequence, app.created, app.changed, app.org_id),
        "state": "APP_STATE_ACTIVE",
        "name": app.name,
        "oidcConfig": {
            "redirectUris": app.redirect_uris,
            "responseTypes": app.response_types,
            "grantTypes": app.grant_types,
            "appType": app.app_type,
            "clientId": app.client_id,
            "authMethodType": app.auth_method_type,
            "postLogoutRedirectUris": app.post_logout_redirect_uris,
            "version": "OIDC_VERSION_1_0",
            "devMode": app.dev_mode,
            "accessTokenType": "OIDC_TOKEN_TYPE_BEARER",
            "accessTokenRoleAssertion": app.access_token_role_assertion,
            "idTokenRoleAssertion": app.id_token_role_assertion,
            "idTokenUserinfoAssertion": app.id_token_userinfo_assertion,
        },
    }


def list_apps(call: Call) -> dict[str, Any]:
    queries = [q for q in call.body.get("queries") or [] if isinstance(q, dict)]
    with call.store.read() as state:
        project = project_in_context(state, call)
        visible = call.store.searchable(list(state.apps.values()), OidcApp)
        chosen = [a for a in visible if a.project_id == project.id and all(_matches(a, q) for q in queries)]
        result = [app_view(a) for a in chosen]
        return {"details": list_details(len(result), state.sequence, call.store.now()), "result": result}


def _matches(app: OidcApp, query: dict[str, Any]) -> bool:
    if "nameQuery" in query:
        q = obj(query, "nameQuery")
        return text_matches(app.name, text(q, "name"), text(q, "method"))
    unknown = ", ".join(sorted(query)) or "empty query"
    raise ApiError("unimplemented", f"app query {unknown} is not emulated", "SANDBOX-aq501")


def update_oidc_app_config(call: Call) -> dict[str, Any]:
    config = _config(call.body)
    store = call.store
    with store.write() as state:
        app = _app_in_project(state, call)
        if config["auth_method_type"] != app.auth_method_type:
            # Changing it would need a new secret (ChangeOIDCAppSecret), which is not emulated.
            raise ApiError("unimplemented", "changing authMethodType is not emulated", "SANDBOX-ap504")
        if all(getattr(app, k) == v for k, v in config.items()):
            raise ApiError("failed_precondition", "Errors.NoChangesFound", "COMMAND-1m88i")
        for key, value in config.items():
            setattr(app, key, value)
        app.changed, app.sequence = store.now(), store.next_sequence()
    return {"details": change_details(app.sequence, app.changed, app.org_id)}


def _app_in_project(state: State, call: Call) -> OidcApp:
    project = project_in_context(state, call)
    app = state.apps.get(text(call.body, "appId"))
    if app is None or app.project_id != project.id:
        raise ApiError("not_found", "Errors.Project.App.NotExisting", "COMMAND-2n8uU")
    return app


def find_client(state: State, client_id: str) -> OidcApp | None:
    """The app a client id belongs to (the OIDC endpoints' lookup)."""
    return next((a for a in state.apps.values() if a.client_id == client_id), None)


REST = [
    Rest("POST", "/management/v1/projects/{projectId}/apps/oidc", add_oidc_app),
    Rest("POST", "/management/v1/projects/{projectId}/apps/_search", list_apps),
    Rest("PUT", "/management/v1/projects/{projectId}/apps/{appId}/oidc_config", update_oidc_app_config),
]
