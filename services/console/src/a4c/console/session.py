"""The session cookie: signed (itsdangerous, the session key), time-limited, holding no token.

What it holds: the operator's login name, display name and role after login; a CSRF token; and,
between the redirect to the identity platform and the callback, the login's state, nonce and PKCE
verifier (their secrecy is what PKCE needs: the cookie is HttpOnly and never leaves this origin).
Signed, not encrypted: nothing in it is a credential for anything else.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from a4c.console.oidc import Identity, PendingLogin
from a4c.console.roles import Role

COOKIE = "a4c_console"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    login: str | None = None
    display_name: str | None = None
    role: Role = Role.NONE
    pending: PendingLogin | None = None

    @property
    def signed_in(self) -> bool:
        return self.login is not None and self.role.may_read

    def sign_in(self, identity: Identity) -> None:
        self.login = identity.login
        self.display_name = identity.display_name
        self.role = identity.role
        self.pending = None
        self.csrf = secrets.token_urlsafe(32)  # a new session: a token seen before login is void

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())

    def to_data(self) -> dict[str, Any]:
        return {
            "c": self.csrf,
            "l": self.login,
            "d": self.display_name,
            "r": self.role.value,
            "p": asdict(self.pending) if self.pending else None,
        }

    @classmethod
    def from_data(cls, data: Any) -> Session:
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return cls()
        pending = data.get("p")
        return cls(
            csrf=data["c"],
            login=data.get("l"),
            display_name=data.get("d"),
            role=Role(data.get("r", "none")),
            pending=PendingLogin(**pending) if isinstance(pending, dict) else None,
        )


class SessionCodec:
    def __init__(self, key: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="a4c-console-session")
        self.max_age = max_age_seconds

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps(session.to_data())

    def loads(self, cookie: str | None) -> Session:
        if not cookie:
            return Session()
        try:
            return Session.from_data(self._serializer.loads(cookie, max_age=self.max_age))
        except (BadSignature, ValueError, TypeError):
            return Session()
