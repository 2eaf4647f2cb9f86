"""The emulator's records: what one Zitadel instance holds for tenant onboarding.

Plain dataclasses, so the whole state can be written to and read from JSON (SANDBOX_STATE_DIR).
Times are epoch seconds (float); ``sequence`` is the instance's event sequence at the last change.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Org:
    id: str
    name: str
    primary_domain: str
    created: float
    changed: float
    sequence: int
    state: str = "ACTIVE"


@dataclass
class Invite:
    code: str
    created: float
    # A code handed back to the caller (returnCode) cannot be re-sent by Zitadel.
    returned: bool = False


@dataclass
class User:
    id: str
    org_id: str
    username: str
    created: float
    changed: float
    sequence: int
    machine: bool = False
    given_name: str = ""
    family_name: str = ""
    display_name: str = ""
    email: str = ""
    email_verified: bool = False
    # Set once the user has a login method (password, passkey, IdP); invitations then fail.
    initialized: bool = False
    # Instance-level roles (IAM_OWNER for the sandbox's service account); empty for tenants.
    instance_roles: list[str] = field(default_factory=list)
    invite: Invite | None = None


@dataclass
class Metadatum:
    """One user metadata entry; ``value`` is the base64 text the API carries (bytes in Zitadel)."""

    user_id: str
    org_id: str
    key: str
    value: str
    created: float
    changed: float
    sequence: int


@dataclass
class OrgMetadatum:
    """One organization metadata entry (base64 ``value``, as for users)."""

    org_id: str
    key: str
    value: str
    created: float
    changed: float
    sequence: int


@dataclass
class Member:
    org_id: str
    user_id: str
    roles: list[str]


@dataclass
class Project:
    id: str
    org_id: str
    name: str
    role_keys: list[str]
    created: float
    changed: float
    sequence: int


@dataclass
class ProjectGrant:
    id: str
    project_id: str
    granted_org_id: str
    role_keys: list[str]
    created: float
    changed: float
    sequence: int


@dataclass
class UserGrant:
    id: str
    user_id: str
    org_id: str
    project_id: str
    project_grant_id: str
    role_keys: list[str]
    created: float
    changed: float
    sequence: int


@dataclass
class Email:
    """A message Zitadel would have sent; readable at GET /_sandbox/emails."""

    id: str
    kind: str  # "invite_code" or "email_verification"
    to: str
    user_id: str
    org_id: str
    subject: str
    code: str
    link: str
    application_name: str
    sent: float


@dataclass
class ServiceKey:
    """A service account's public key for the JWT-profile grant; the private half is handed out once."""

    key_id: str
    user_id: str
    public_key_pem: str
    created: float
    expires: float


@dataclass
class AccessToken:
    user_id: str
    expires: float
