"""What the identity service reads from and sends to Zitadel, parsed from its JSON once.

Zitadel omits zero values (protojson), so every field is read with a default; enum states are
kept without their prefix ("ACTIVE").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp as Zitadel writes it (up to nanoseconds, 'Z'), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    date, _, rest = text.partition(".")
    if rest:  # Python parses at most microseconds: cut nanoseconds down
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{date}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _state(value: Any, prefix: str) -> str:
    return str(value or "").removeprefix(prefix) or "UNSPECIFIED"


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    state: str
    created_at: dt.datetime | None
    primary_domain: str = ""

    @classmethod
    def from_v1(cls, org: dict[str, Any]) -> Organization:
        details = org.get("details") or {}
        return cls(
            id=str(org.get("id", "")),
            name=str(org.get("name", "")),
            state=_state(org.get("state"), "ORG_STATE_"),
            created_at=parse_time(details.get("creationDate")),
            primary_domain=str(org.get("primaryDomain", "")),
        )

    @classmethod
    def from_v2(cls, org: dict[str, Any]) -> Organization:
        """zitadel.org.v2.Organization (searches): the same fields, the state prefixed differently."""
        details = org.get("details") or {}
        return cls(
            id=str(org.get("id", "")),
            name=str(org.get("name", "")),
            state=_state(org.get("state"), "ORGANIZATION_STATE_"),
            created_at=parse_time(details.get("creationDate")),
            primary_domain=str(org.get("primaryDomain", "")),
        )


@dataclass(frozen=True)
class User:
    id: str
    org_id: str
    username: str
    email: str
    state: str

    @classmethod
    def from_v2(cls, user: dict[str, Any]) -> User:
        human = user.get("human") or {}
        return cls(
            id=str(user.get("userId", "")),
            org_id=str((user.get("details") or {}).get("resourceOwner", "")),
            username=str(user.get("username", "")),
            email=str((human.get("email") or {}).get("email", "")),
            state=_state(user.get("state"), "USER_STATE_"),
        )


@dataclass(frozen=True)
class NewAdmin:
    """The first admin of a new organization: a human with a verified email and our chosen id."""

    user_id: str
    email: str
    given_name: str
    family_name: str
    username: str = ""

    def to_api(self) -> dict[str, Any]:
        human: dict[str, Any] = {
            "userId": self.user_id,
            "profile": {"givenName": self.given_name, "familyName": self.family_name},
            "email": {"email": self.email, "isVerified": True},
        }
        if self.username:
            human["username"] = self.username
        return {"human": human, "roles": ["ORG_OWNER"]}


@dataclass(frozen=True)
class CreatedOrganization:
    org_id: str
    admin_user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    """A user grant (v1 ``id``) or a project grant to an org (v1 ``grantId``), with its role keys."""

    id: str
    role_keys: tuple[str, ...]

    @classmethod
    def user_grant(cls, grant: dict[str, Any]) -> Grant:
        return cls(str(grant.get("id", "")), tuple(grant.get("roleKeys") or ()))

    @classmethod
    def granted_project(cls, project: dict[str, Any]) -> Grant:
        return cls(str(project.get("grantId", "")), tuple(project.get("grantedRoleKeys") or ()))
