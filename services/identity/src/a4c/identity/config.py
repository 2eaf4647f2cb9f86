"""Settings of the identity service, read once from an explicit environment mapping and validated.

A bad value stops the process before it binds, naming the variable (``ZITADEL_KEY_FILE: ... lacks
keyId``). Credentials are exactly one of a personal access token (ZITADEL_PAT, a secret) or a
service-account key file for the JWT profile (ZITADEL_KEY_FILE, loaded and checked here); both are
registered for log redaction and left out of every repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from a4c.common.config import EnvReader, ServerSettings, SettingsError
from a4c.common.names import has_invisible, text_problem
from a4c.common.settings import Float, Int, List, Optional, Required, Text
from a4c.identity.credentials import KeyFileError, ServiceAccountKey
from a4c.identity.validation import ID_PATTERN, ROLE_KEY_PATTERN, check_url_template

URL = Required(
    "ZITADEL_URL", "the Zitadel instance, e.g. https://example.zitadel.cloud (https in production)"
)
PAT = Optional(
    "ZITADEL_PAT",
    "the service account's personal access token (or ZITADEL_KEY_FILE)",
    secret=True,
    shown_default="exactly one of ZITADEL_PAT and ZITADEL_KEY_FILE",
)
KEY_FILE = Optional(
    "ZITADEL_KEY_FILE",
    "path to the service account's JSON key, for the JWT profile (or ZITADEL_PAT)",
    shown_default="exactly one of ZITADEL_PAT and ZITADEL_KEY_FILE",
)
PROJECT_ID = Required("ZITADEL_PROJECT_ID", "id of the project whose roles GrantRole grants")
# The role/invite policy is this service's alone (it distrusts its callers): requests cannot override it.
ADMIN_ROLE_KEYS = List(
    "ZITADEL_ADMIN_ROLE_KEYS", "comma-separated roles GrantRole grants", ("provider_admin",)
)
INVITE_URL_TEMPLATE = Text(
    "ZITADEL_INVITE_URL_TEMPLATE",
    "invitation link: http(s), must hold {{.Code}}; may use {{.UserID}} {{.OrgID}} {{.LoginName}}",
    "",
    shown_default="Zitadel's login UI",
)
APPLICATION_NAME = Text("ZITADEL_APPLICATION_NAME", "application name shown in invitation emails", "A4C")
TIMEOUT = Float(
    "ZITADEL_TIMEOUT_SECONDS",
    "time a call may take without a caller deadline",
    30.0,
    min=0.1,
    max=600,
)
CONSISTENCY_WAIT = Float(
    "ZITADEL_CONSISTENCY_WAIT_SECONDS",
    "how long a new org or user may be unreadable",
    5.0,
    min=0,
    max=120,
)
MAX_ATTEMPTS = Int("ZITADEL_MAX_ATTEMPTS", "attempts per Zitadel request, retries included", 5, min=1, max=20)
SETTINGS = (
    URL,
    PAT,
    KEY_FILE,
    PROJECT_ID,
    ADMIN_ROLE_KEYS,
    INVITE_URL_TEMPLATE,
    APPLICATION_NAME,
    TIMEOUT,
    CONSISTENCY_WAIT,
    MAX_ATTEMPTS,
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    zitadel_url: str
    project_id: str
    zitadel_pat: str | None = field(default=None, repr=False)
    key_file: str | None = None
    service_account_key: ServiceAccountKey | None = field(default=None, repr=False)
    admin_role_keys: tuple[str, ...] = ADMIN_ROLE_KEYS.default
    invite_url_template: str = INVITE_URL_TEMPLATE.default
    application_name: str = APPLICATION_NAME.default
    timeout_seconds: float = TIMEOUT.default
    consistency_wait_seconds: float = CONSISTENCY_WAIT.default
    max_attempts: int = MAX_ATTEMPTS.default
    # Every secret read (the PAT or the key), for log redaction.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        server = ServerSettings.from_env(reader)
        url = _zitadel_url(URL.read(reader), server.environment)
        pat, key_file = PAT.read(reader), KEY_FILE.read(reader)
        if pat and key_file:
            raise SettingsError("ZITADEL_KEY_FILE", "set ZITADEL_PAT or ZITADEL_KEY_FILE, not both")
        if not pat and not key_file:
            raise SettingsError("ZITADEL_PAT", "is required unless ZITADEL_KEY_FILE is set")
        key = _load_key(key_file) if key_file else None
        secrets = [*reader.secrets, *([key.private_key_pem] if key else [])]
        project_id = PROJECT_ID.read(reader)
        if not ID_PATTERN.match(project_id):
            raise SettingsError("ZITADEL_PROJECT_ID", f"not a Zitadel id: {project_id!r}")
        return cls(
            server=server,
            zitadel_url=url,
            project_id=project_id,
            zitadel_pat=pat,
            key_file=key_file,
            service_account_key=key,
            admin_role_keys=_role_keys(ADMIN_ROLE_KEYS.read(reader)),
            invite_url_template=_template(INVITE_URL_TEMPLATE.read(reader)),
            application_name=_application(APPLICATION_NAME.read(reader)),
            timeout_seconds=TIMEOUT.read(reader),
            consistency_wait_seconds=CONSISTENCY_WAIT.read(reader),
            max_attempts=MAX_ATTEMPTS.read(reader),
            secrets=tuple(secrets),
        )


def _zitadel_url(raw: str, environment: str) -> str:
    url = raw.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError("ZITADEL_URL", f"not an http(s) URL: {raw!r}")
    if parts.query or parts.fragment:
        raise SettingsError("ZITADEL_URL", "must be the instance URL, without query or fragment")
    if environment == "production" and parts.scheme != "https":
        raise SettingsError("ZITADEL_URL", "must use https in production (credentials travel with it)")
    return url


def _load_key(path: str) -> ServiceAccountKey:
    try:
        return ServiceAccountKey.from_file(path)
    except KeyFileError as exc:
        raise SettingsError("ZITADEL_KEY_FILE", str(exc)) from None


def _role_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys:
        raise SettingsError("ZITADEL_ADMIN_ROLE_KEYS", "needs at least one role key")
    bad = [k for k in keys if not ROLE_KEY_PATTERN.match(k)]
    if bad:
        raise SettingsError("ZITADEL_ADMIN_ROLE_KEYS", f"not a role key: {bad[0]!r}")
    return keys


def _template(template: str) -> str:
    problem = check_url_template(template) if template else None
    if has_invisible(template):
        problem = "must not contain control or invisible characters"
    if problem:
        raise SettingsError("ZITADEL_INVITE_URL_TEMPLATE", problem)
    return template


def _application(name: str) -> str:
    # The name goes into the invitation email: CR/LF or other control characters would inject.
    problem = text_problem(name)
    if problem:
        raise SettingsError("ZITADEL_APPLICATION_NAME", problem)
    return name
