"""Console settings, from an explicit environment mapping (`python -m a4c.console --help`).

The console is an OIDC relying party of the identity platform (Zitadel) and a client of the provisioning
service under its own principal; it holds no database and no Temporal connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from a4c.common.config import ENVIRONMENT, LOG_LEVEL, TEMPORAL_NAMESPACE, EnvReader, SettingsError
from a4c.common.settings import Bool, Int, Optional, Required, Text

HOST = Text("A4C_CONSOLE_HOST", "interface the web server binds", "0.0.0.0")
PORT = Int("A4C_CONSOLE_PORT", "HTTP port (0 picks a free port)", 8080, min=0, max=65535)
PUBLIC_URL = Required(
    "A4C_CONSOLE_PUBLIC_URL",
    "the console's URL as browsers reach it, e.g. https://console.example; the OIDC redirect URI is "
    "<this>/auth/callback",
)
OIDC_ISSUER = Required(
    "A4C_CONSOLE_OIDC_ISSUER", "OIDC issuer (the Zitadel instance URL); its discovery document is read"
)
OIDC_CLIENT_ID = Required("A4C_CONSOLE_OIDC_CLIENT_ID", "client id of the console's OIDC application")
OIDC_CLIENT_SECRET = Optional(
    "A4C_CONSOLE_OIDC_CLIENT_SECRET",
    "client secret, for a confidential application (PKCE is used either way)",
    secret=True,
    shown_default="none: a public client (PKCE only)",
)
OIDC_PROJECT_ID = Required(
    "A4C_CONSOLE_OIDC_PROJECT_ID", "Zitadel project holding the operator roles (asked for as the audience)"
)
ROLE_OPERATE = Text(
    "A4C_CONSOLE_ROLE_OPERATE",
    "project role key of operators who may act (bootstrap, cancel, retry)",
    "console.operate",
)
ROLE_READ = Text("A4C_CONSOLE_ROLE_READ", "project role key of read-only operators", "console.read")
PROVISIONING_ADDRESS = Text("A4C_PROVISIONING_ADDRESS", "provisioning service host:port", "localhost:50051")
PROVISIONING_TOKEN = Required(
    "A4C_PROVISIONING_TOKEN",
    "the console principal's bearer token at provisioning (a delegate there: A4C_AUTH_DELEGATES)",
    secret=True,
)
PROVISIONING_TLS_CA = Optional(
    "A4C_PROVISIONING_TLS_CA_FILE",
    "CA bundle of provisioning's certificate; turns TLS on",
    shown_default="none: plaintext",
)
SESSION_KEY = Required(
    "A4C_CONSOLE_SESSION_KEY",
    "key signing the session cookie, at least 32 characters; replicas must share it",
    secret=True,
)
SESSION_MINUTES = Int("A4C_CONSOLE_SESSION_MINUTES", "how long a login lasts", 480, min=5, max=7 * 24 * 60)
SECURE_COOKIES = Bool(
    "A4C_CONSOLE_SECURE_COOKIES",
    "mark cookies Secure (HTTPS only); false only for a local http:// console, refused in production",
    True,
)
TEMPORAL_UI_URL = Optional(
    "A4C_CONSOLE_TEMPORAL_UI_URL",
    "base URL of the Temporal Web UI, for the links to each workflow",
    shown_default="none: no links",
)
SETTINGS = (
    HOST,
    PORT,
    PUBLIC_URL,
    OIDC_ISSUER,
    OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET,
    OIDC_PROJECT_ID,
    ROLE_OPERATE,
    ROLE_READ,
    PROVISIONING_ADDRESS,
    PROVISIONING_TOKEN,
    PROVISIONING_TLS_CA,
    SESSION_KEY,
    SESSION_MINUTES,
    SECURE_COOKIES,
    TEMPORAL_UI_URL,
    TEMPORAL_NAMESPACE,
    LOG_LEVEL,
    ENVIRONMENT,
)


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    project_id: str
    client_secret: str | None = field(default=None, repr=False)
    role_operate: str = ROLE_OPERATE.default
    role_read: str = ROLE_READ.default


@dataclass(frozen=True)
class Settings:
    public_url: str
    oidc: OidcSettings
    provisioning_token: str = field(repr=False)
    session_key: str = field(repr=False)
    host: str = HOST.default
    port: int = PORT.default
    provisioning_address: str = PROVISIONING_ADDRESS.default
    provisioning_tls_ca: str | None = None
    session_minutes: int = SESSION_MINUTES.default
    secure_cookies: bool = SECURE_COOKIES.default
    temporal_ui_url: str | None = None
    temporal_namespace: str = TEMPORAL_NAMESPACE.default
    log_level: str = LOG_LEVEL.default
    environment: str = ENVIRONMENT.default
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/auth/callback"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = EnvReader(env)
        environment = ENVIRONMENT.read(reader)
        secure = SECURE_COOKIES.read(reader)
        if environment == "production" and not secure:
            raise SettingsError(SECURE_COOKIES.name, "must be true in production")
        key = SESSION_KEY.read(reader)
        if len(key) < 32:
            raise SettingsError(SESSION_KEY.name, "must be at least 32 characters")
        oidc = OidcSettings(
            issuer=_url(OIDC_ISSUER.read(reader), OIDC_ISSUER.name),
            client_id=OIDC_CLIENT_ID.read(reader),
            project_id=OIDC_PROJECT_ID.read(reader),
            client_secret=OIDC_CLIENT_SECRET.read(reader),
            role_operate=ROLE_OPERATE.read(reader),
            role_read=ROLE_READ.read(reader),
        )
        ui = TEMPORAL_UI_URL.read(reader)
        return cls(
            public_url=_url(PUBLIC_URL.read(reader), PUBLIC_URL.name),
            oidc=oidc,
            provisioning_token=PROVISIONING_TOKEN.read(reader),
            session_key=key,
            host=HOST.read(reader),
            port=PORT.read(reader),
            provisioning_address=PROVISIONING_ADDRESS.read(reader),
            provisioning_tls_ca=PROVISIONING_TLS_CA.read(reader),
            session_minutes=SESSION_MINUTES.read(reader),
            secure_cookies=secure,
            temporal_ui_url=_url(ui, TEMPORAL_UI_URL.name) if ui else None,
            temporal_namespace=TEMPORAL_NAMESPACE.read(reader),
            log_level=LOG_LEVEL.read(reader),
            environment=environment,
            secrets=tuple(reader.secrets),
        )


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(name, f"not an http(s) base URL: {value!r}")
    return value.rstrip("/")
