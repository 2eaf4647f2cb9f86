"""Request parameters and redirects shared by the OIDC endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def params(request: Request) -> dict[str, str]:
    """Query parameters, plus the urlencoded form of a POST (the form wins).

    Parsed here rather than with Starlette's form parser, which needs python-multipart.
    """
    values = dict(request.query_params)
    if request.method == "POST":
        body = (await request.body()).decode(errors="replace")
        values.update(dict(parse_qsl(body, keep_blank_values=True)))
    return values


def issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def with_query(uri: str, values: dict[str, str]) -> str:
    """``uri`` with ``values`` added to its query (an empty value is left out), fragment dropped."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in values.items() if v]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def redirect(uri: str, values: dict[str, str]) -> RedirectResponse:
    return RedirectResponse(with_query(uri, values), status_code=302, headers={"cache-control": "no-store"})


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """RFC 6749 §5.2's error body, never cached."""
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store", "pragma": "no-cache"})
