"""Settings of the Zitadel emulator: the instance it pretends to be and how it misbehaves.

``ZitadelConfig.from_env`` reads the SANDBOX_* variables used by ``python -m a4c.sandbox``; tests
build a ``ZitadelConfig`` directly. The misbehaviour knobs (lag, the zitadel/zitadel#10330 quirk) can also be
changed while running, through ``Store.behaviour`` or ``PUT /_sandbox/zitadel/behaviour``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LATENCY_PROFILES = ("none", "seed")

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("SANDBOX_ZITADEL_PORT", "port of the Zitadel API emulator (default 8788)"),
    ("SANDBOX_ZITADEL_PAT", "the personal access token it accepts (default sandbox-zitadel-pat)"),
    ("SANDBOX_ZITADEL_PROJECT_ID", "id of the project that defines the roles (default 300000000000000001)"),
    (
        "SANDBOX_ZITADEL_ROLE_KEYS",
        "comma-separated role keys of that project (default provider_admin,provider_user)",
    ),
    (
        "SANDBOX_ZITADEL_KEY_FILE",
        "when set, a service-account key JSON (JWT profile) is written there at start",
    ),
    ("SANDBOX_ZITADEL_SEARCH_LAG_SECONDS", "searches miss records younger than this (default 0)"),
    ("SANDBOX_ZITADEL_TOKEN_TTL_SECONDS", "lifetime of access tokens from /oauth/v2/token (default 43200)"),
    (
        "SANDBOX_ZITADEL_DUPLICATE_ORG_ID_QUIRK",
        "true: a duplicate custom org id 'succeeds' without creating (#10330)",
    ),
    ("SANDBOX_LATENCY_PROFILE", "none, or seed: org/user creation 5-10 s, role grant 2 s, invitation 2 s"),
    ("SANDBOX_STATE_DIR", "when set, state persists in <dir>/zitadel.json across restarts"),
)


class ConfigError(ValueError):
    """A bad setting; the message starts with the variable's name."""


@dataclass
class Behaviour:
    """Misbehaviour that tests switch on and off while the emulator runs."""

    # Searches (ListOrganizations, ListUsers, grant searches) miss records younger than this and
    # still show records deleted less than this ago: Zitadel's projections are eventually consistent.
    # This is the only place its consistency shows: commands check their preconditions in the event
    # store and reads by id are fresh, so neither ever lags behind a write.
    search_lag_seconds: float = 0.0
    # AddOrganization with an organization id already in use answers success and creates nothing
    # (zitadel/zitadel#10330); off means the fixed behaviour, 409.
    duplicate_org_id_quirk: bool = False


@dataclass(frozen=True)
class ZitadelConfig:
    pat: str = "sandbox-zitadel-pat"
    project_id: str = "300000000000000001"
    project_name: str = "A4C"
    role_keys: tuple[str, ...] = ("provider_admin", "provider_user")
    # The instance's default organization: it owns the project and the service account.
    platform_org_id: str = "200000000000000001"
    platform_org_name: str = "A4C Platform"
    service_user_id: str = "200000000000000002"
    service_username: str = "a4c-identity"
    instance_domain: str = "zitadel.localhost"
    access_token_ttl_seconds: int = 43200
    # The OIDC login: an authorization code is good this long (and once); an ID token 12 h as
    # Zitadel's default; a login page left open this long has to start again from the app.
    code_ttl_seconds: float = 60.0
    id_token_ttl_seconds: int = 43200
    login_ttl_seconds: float = 1800.0
    search_lag_seconds: float = 0.0
    duplicate_org_id_quirk: bool = False
    latency_profile: str = "none"
    state_file: Path | None = None
    key_file: Path | None = None

    def __repr__(self) -> str:
        return f"ZitadelConfig(project_id={self.project_id!r}, pat=<hidden>, state_file={self.state_file})"

    def behaviour(self) -> Behaviour:
        return Behaviour(self.search_lag_seconds, self.duplicate_org_id_quirk)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ZitadelConfig:
        def text(key: str, default: str) -> str:
            return (env.get(key) or "").strip() or default

        role_keys = tuple(k.strip() for k in text("SANDBOX_ZITADEL_ROLE_KEYS", "").split(",") if k.strip())
        state_dir = text("SANDBOX_STATE_DIR", "")
        key_file = text("SANDBOX_ZITADEL_KEY_FILE", "")
        profile = text("SANDBOX_LATENCY_PROFILE", "none")
        if profile not in LATENCY_PROFILES:
            raise ConfigError(f"SANDBOX_LATENCY_PROFILE: must be one of {', '.join(LATENCY_PROFILES)}")
        return cls(
            pat=text("SANDBOX_ZITADEL_PAT", cls.pat),
            project_id=text("SANDBOX_ZITADEL_PROJECT_ID", cls.project_id),
            role_keys=role_keys or cls.role_keys,
            access_token_ttl_seconds=int(_number(env, "SANDBOX_ZITADEL_TOKEN_TTL_SECONDS", 43200, 1)),
            search_lag_seconds=_number(env, "SANDBOX_ZITADEL_SEARCH_LAG_SECONDS", 0.0),
            duplicate_org_id_quirk=_flag(env, "SANDBOX_ZITADEL_DUPLICATE_ORG_ID_QUIRK"),
            latency_profile=profile,
            state_file=Path(state_dir) / "zitadel.json" if state_dir else None,
            key_file=Path(key_file) if key_file else None,
        )


def _number(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    raw = (env.get(key) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}: not a number: {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{key}: must be a number >= {minimum:g}")
    return value


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{key}: not a boolean (true/false): {raw!r}")
