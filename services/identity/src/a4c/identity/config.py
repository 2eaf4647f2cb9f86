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
from a4c.identity.credentials import KeyFileError, ServiceAccountKey
from a4c.identity.validation import ID_PATTERN, ROLE_KEY_PATTERN, check_url_template

DEFAULT_ADMIN_ROLE_KEYS = ("provider_admin",)

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("ZITADEL_URL", "the Zitadel instance, e.g. https://<instance>.zitadel.cloud (required)"),
    ("ZITADEL_PAT", "secret: the service account's personal access token (or ZITADEL_KEY_FILE)"),
    ("ZITADEL_KEY_FILE", "path to the service account's JSON key, for the JWT profile (or ZITADEL_PAT)"),
    ("ZITADEL_PROJECT_ID", "id of the project whose roles GrantRole grants (required)"),
    ("ZITADEL_ADMIN_ROLE_KEYS", "roles GrantRole grants when a request names none (default provider_admin)"),
    ("ZITADEL_INVITE_URL_TEMPLATE", "invitation link, {{.UserID}} {{.Code}} {{.OrgID}} (default: Zitadel's)"),
    ("ZITADEL_APPLICATION_NAME", "application name shown in invitation emails (default A4C)"),
    ("ZITADEL_TIMEOUT_SECONDS", "time one call may take when the caller set no deadline (default 30)"),
    ("ZITADEL_CONSISTENCY_WAIT_SECONDS", "how long a just-created org or user may be unreadable (default 5)"),
    ("ZITADEL_MAX_ATTEMPTS", "attempts per Zitadel request, retries included (default 5)"),
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    zitadel_url: str
    project_id: str
    zitadel_pat: str | None = field(default=None, repr=False)
    key_file: str | None = None
    service_account_key: ServiceAccountKey | None = field(default=None, repr=False)
    admin_role_keys: tuple[str, ...] = DEFAULT_ADMIN_ROLE_KEYS
    invite_url_template: str = ""
    application_name: str = "A4C"
    timeout_seconds: float = 30.0
    consistency_wait_seconds: float = 5.0
    max_attempts: int = 5
    # Every secret read (the PAT or the key), for log redaction.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        server = ServerSettings.from_env(reader)
        url = _zitadel_url(reader.required("ZITADEL_URL"), server.environment)
        pat, key_file = reader.secret("ZITADEL_PAT"), reader.str("ZITADEL_KEY_FILE")
        if pat and key_file:
            raise SettingsError("ZITADEL_KEY_FILE", "set ZITADEL_PAT or ZITADEL_KEY_FILE, not both")
        if not pat and not key_file:
            raise SettingsError("ZITADEL_PAT", "is required unless ZITADEL_KEY_FILE is set")
        key = _load_key(key_file) if key_file else None
        secrets = [*reader.secrets, *([key.private_key_pem] if key else [])]
        project_id = reader.required("ZITADEL_PROJECT_ID")
        if not ID_PATTERN.match(project_id):
            raise SettingsError("ZITADEL_PROJECT_ID", f"not a Zitadel id: {project_id!r}")
        return cls(
            server=server,
            zitadel_url=url,
            project_id=project_id,
            zitadel_pat=pat,
            key_file=key_file,
            service_account_key=key,
            admin_role_keys=_role_keys(reader.list("ZITADEL_ADMIN_ROLE_KEYS", DEFAULT_ADMIN_ROLE_KEYS)),
            invite_url_template=_template(reader.str("ZITADEL_INVITE_URL_TEMPLATE", "") or ""),
            application_name=_application(reader.str("ZITADEL_APPLICATION_NAME", "A4C") or "A4C"),
            timeout_seconds=reader.float("ZITADEL_TIMEOUT_SECONDS", 30.0, min=0.1, max=600),
            consistency_wait_seconds=reader.float("ZITADEL_CONSISTENCY_WAIT_SECONDS", 5.0, min=0, max=120),
            max_attempts=reader.int("ZITADEL_MAX_ATTEMPTS", 5, min=1, max=20),
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
    if problem:
        raise SettingsError("ZITADEL_INVITE_URL_TEMPLATE", problem)
    return template


def _application(name: str) -> str:
    if len(name) > 200:
        raise SettingsError("ZITADEL_APPLICATION_NAME", "must be at most 200 characters")
    return name
