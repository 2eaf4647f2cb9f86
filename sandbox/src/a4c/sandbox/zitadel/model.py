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
    # The password as a salted scrypt hash (never the password itself); empty: no password set.
    password_hash: str = ""


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
    # Assert the user's roles of this project in userinfo (and, with the app's
    # idTokenRoleAssertion, in ID tokens) without the client asking for them by scope.
    project_role_assertion: bool = False


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
    # Set for tokens from the authorization code flow: what userinfo answers depends on them.
    client_id: str = ""
    scopes: list[str] = field(default_factory=list)
    session_id: str = ""


@dataclass
class OidcApp:
    """An OIDC application of a project (Zitadel's AddOIDCApp); the client secret only as a hash."""

    id: str
    project_id: str
    org_id: str
    name: str
    client_id: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    response_types: list[str]
    grant_types: list[str]
    app_type: str
    auth_method_type: str
    created: float
    changed: float
    sequence: int
    client_secret_hash: str = ""
    dev_mode: bool = False
    access_token_role_assertion: bool = False
    id_token_role_assertion: bool = False
    id_token_userinfo_assertion: bool = False


@dataclass
class SigningKey:
    """The instance's key for ID tokens; its public half is published at /oauth/v2/keys."""

    key_id: str
    private_key_pem: str
    created: float


@dataclass
class AuthRequest:
    """One authorization request, from /oauth/v2/authorize through the login to the code exchange.

    Held in memory only (a restart forgets pending logins, as their short lifetime allows).
    """

    id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    created: float
    user_id: str = ""
    auth_time: float = 0.0
    session_id: str = ""
    code_hash: str = ""
    code_issued: float = 0.0
    # Set when the code was exchanged: a second exchange is refused and revokes this token.
    exchanged_token_hash: str = ""
