"""What every page shares: the console's dependencies, the session on each request, rendering.

Endpoints read the session with :func:`session_of`, answer through :func:`render` or
:func:`redirect`, and those write the (re-signed) cookie back, HttpOnly, SameSite=Lax, Secure unless
configured for a local http:// console. Lax, not Strict: the identity platform's redirect back to
/auth/callback is a cross-site navigation that must carry the cookie holding the PKCE verifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from a4c.console import presentation
from a4c.console.config import Settings
from a4c.console.oidc import OidcClient
from a4c.console.provisioning import Provisioning
from a4c.console.session import COOKIE, Session, SessionCodec

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class Console:
    """The console's dependencies, built in ``__main__`` (or a test) and kept on ``app.state``."""

    settings: Settings
    provisioning: Provisioning
    oidc: OidcClient
    codec: SessionCodec
    templates: Jinja2Templates

    @classmethod
    def build(cls, settings: Settings, provisioning: Provisioning, oidc: OidcClient) -> Console:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
        templates = Jinja2Templates(env=env)
        env.globals.update(
            bootstrap_badge=presentation.bootstrap_badge,
            subdomain_badge=presentation.subdomain_badge,
            step_badge=presentation.step_badge,
            lifecycle_badge=presentation.lifecycle_badge,
            when=presentation.when,
            step_title=presentation.step_title,
        )
        codec = SessionCodec(settings.session_key, settings.session_minutes * 60)
        return cls(settings, provisioning, oidc, codec, templates)

    def workflow_url(self, workflow_id: str) -> str | None:
        if not self.settings.temporal_ui_url or not workflow_id:
            return None
        namespace = quote(self.settings.temporal_namespace, safe="")
        return (
            f"{self.settings.temporal_ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
        )


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def session_of(request: Request) -> Session:
    """The request's session, read once and kept on the request (so a handler and a helper agree)."""
    cached = request.scope.get("a4c.session")
    if isinstance(cached, Session):
        return cached
    session = console_of(request).codec.loads(request.cookies.get(COOKIE))
    request.scope["a4c.session"] = session
    return session


def save(request: Request, response: Response) -> Response:
    console = console_of(request)
    response.set_cookie(
        COOKIE,
        console.codec.dumps(session_of(request)),
        max_age=console.codec.max_age,
        httponly=True,
        secure=console.settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return response


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    session = session_of(request)
    values = {
        "session": session,
        "operator": session.display_name,
        "may_act": session.signed_in and session.role.may_act,
        "csrf": session.csrf,
        "banner": None,
        **(context or {}),
    }
    response: HTMLResponse = console_of(request).templates.TemplateResponse(
        request, template, values, status_code=status_code
    )
    return save(request, response)


def redirect(request: Request, url: str) -> Response:
    return save(request, RedirectResponse(url, status_code=303))


def safe_next(path: str | None) -> str:
    """Only a path on this console (never //host or a scheme): an open redirect otherwise."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
