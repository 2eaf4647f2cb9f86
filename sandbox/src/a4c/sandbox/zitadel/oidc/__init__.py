"""The emulated instance as an OpenID Connect provider, on Zitadel's paths.

Discovery at ``/.well-known/openid-configuration``; ``/oauth/v2/authorize`` with the hosted login
at ``/ui/login/login``; the code exchange at ``/oauth/v2/token`` (beside the JWT-bearer grant of
:mod:`a4c.sandbox.zitadel.auth`); ``/oauth/v2/keys`` (JWKS); ``/oidc/v1/userinfo``;
``/oidc/v1/end_session``. Clients are the OIDC apps made through the management API
(:mod:`a4c.sandbox.zitadel.apps`); users log in with the password set through it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from a4c.sandbox.zitadel.oidc import keys
from a4c.sandbox.zitadel.oidc.authorize import authorize_endpoint, login_endpoint
from a4c.sandbox.zitadel.oidc.end_session import end_session_endpoint
from a4c.sandbox.zitadel.oidc.params import JWT_BEARER, issuer
from a4c.sandbox.zitadel.oidc.tokens import userinfo_endpoint
from a4c.sandbox.zitadel.store import Store


def discovery(request: Request) -> dict[str, Any]:
    """What the emulator serves, in the shape of Zitadel's discovery document (no more than served)."""
    iss = issuer(request)
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/oauth/v2/authorize",
        "token_endpoint": f"{iss}/oauth/v2/token",
        "userinfo_endpoint": f"{iss}/oidc/v1/userinfo",
        "end_session_endpoint": f"{iss}/oidc/v1/end_session",
        "jwks_uri": f"{iss}/oauth/v2/keys",
        "scopes_supported": ["openid", "profile", "email"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", JWT_BEARER],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys.ALGORITHM],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "at_hash", "azp", "sid",
            "name", "given_name", "family_name", "preferred_username", "updated_at", "email",
            "email_verified",
        ],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }  # fmt: skip


async def _discovery(request: Request) -> JSONResponse:
    return JSONResponse(discovery(request))


def routes(store: Store) -> list[BaseRoute]:
    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(keys.public_keys(store), headers={"cache-control": "max-age=300"})

    return [
        Route("/.well-known/openid-configuration", _discovery, methods=["GET"]),
        Route("/oauth/v2/authorize", authorize_endpoint(store), methods=["GET", "POST"]),
        Route("/ui/login/login", login_endpoint(store), methods=["GET", "POST"]),
        Route("/oauth/v2/keys", jwks, methods=["GET"]),
        Route("/oidc/v1/userinfo", userinfo_endpoint(store), methods=["GET", "POST"]),
        Route("/oidc/v1/end_session", end_session_endpoint(store), methods=["GET", "POST"]),
    ]
