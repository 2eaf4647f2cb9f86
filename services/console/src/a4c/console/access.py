"""Who may see and do what: signed in to read; the operate role and the CSRF token to post.

A refusal is an exception the app turns into a page (:mod:`a4c.console.app`), so no endpoint can
forget to stop after one.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from a4c.console.session import Session
from a4c.console.web import session_of

CSRF_FIELD = "csrf"


class SignInFirst(Exception):
    """Not signed in: a page redirects to the login, an event stream answers 401."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.login_url = f"/login?next={quote(next_path, safe='/')}"


class Refused(Exception):
    """403 with a reason an operator can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reader(request: Request) -> Session:
    session = session_of(request)
    if not session.signed_in:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(path if request.method == "GET" else "/")
    return session


async def actor(request: Request) -> tuple[Session, dict[str, str]]:
    """The session of an operator who may act, after the form's CSRF token matched; and the form."""
    session = reader(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not session.csrf_matches(fields.get(CSRF_FIELD)):
        raise Refused("the form's security token is missing or stale: reload the page and try again")
    if not session.role.may_act:
        raise Refused("your role is read-only: ask for the operate role to do this")
    return session, fields


async def poster(request: Request) -> dict[str, str]:
    """A POST any signed-in operator may make (sign out): the CSRF token must match."""
    session = session_of(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not session.csrf_matches(fields.get(CSRF_FIELD)):
        raise Refused("the form's security token is missing or stale: reload the page and try again")
    return fields
