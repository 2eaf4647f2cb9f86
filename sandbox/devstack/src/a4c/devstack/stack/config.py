"""Settings of the local stack: where its state lives, its ports, and which parts are external.

Every part runs locally unless its address is given: DATABASE_URL (PostgreSQL), TEMPORAL_ADDRESS
(a Temporal frontend whose search attributes are registered), CLOUDFLARE_API_TOKEN (the real
Cloudflare API instead of the sandbox's, with CLOUDFLARE_BASE_URL/CLOUDFLARE_ZONE_NAME), ZITADEL_URL
(a real Zitadel, with ZITADEL_PAT or ZITADEL_KEY_FILE and ZITADEL_PROJECT_ID), A4C_DNS_SERVICE_ADDRESS,
A4C_IDENTITY_SERVICE_ADDRESS and A4C_PROVISIONING_ADDRESS (running services; A4C_SERVICE_TOKEN and
A4C_PROVISIONING_TOKEN authenticate to them, else the local worker and operator tokens).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a4c.common.env import EnvReader, SettingsError
from a4c.common.settings import Bool, Optional, OptionalInt, Text
from a4c.devstack.stack.ports import SPAN, layout
from a4c.devstack.wiring import sandbox_credentials
from a4c.sandbox.zitadel.config import ConfigError

HOST = "127.0.0.1"
TOKEN_FILE = "local-token"  # the operator's: provisioning's caller (the demo, the CLI, grpcurl)
WORKER_TOKEN_FILE = "worker-token"  # the worker's: the only caller of dns and identity

STATE_DIR = Text("A4C_STACK_STATE_DIR", "where state and logs live (--state-dir)", ".state")
PORT_BASE = OptionalInt(
    "A4C_STACK_PORT_BASE",
    "put every part at base + offset instead of the default ports (--port-base)",
    min=1024,
    max=65535 - SPAN,
    shown_default="none: the default ports",
)
EXIT_AFTER_DEMO = Bool("A4C_STACK_EXIT_AFTER_DEMO", "stop once the demo tenant is active (--once)", False)
TEMPORAL_UI = Bool("A4C_STACK_TEMPORAL_UI", "start Temporal with its Web UI", True)
DEMO = Bool("A4C_STACK_DEMO", "bootstrap the demo tenant once the stack is up", True)
TRACES = Bool(
    "A4C_STACK_TRACES",
    "every part appends its spans to <state dir>/traces.jsonl (an A4C_TRACES of your own, e.g. otlp "
    "with OTEL_EXPORTER_OTLP_ENDPOINT, wins)",
    True,
)
# Other parts' settings: set, each makes the stack use that part instead of starting its own.
DATABASE_URL = Optional(
    "DATABASE_URL", "use this PostgreSQL instead of the embedded one (migrations are applied)", secret=True
)
TEMPORAL_ADDRESS = Optional("TEMPORAL_ADDRESS", "use this Temporal frontend instead of the dev server")
CLOUDFLARE_API_TOKEN = Optional(
    "CLOUDFLARE_API_TOKEN", "the DNS service talks to the real Cloudflare API (+ CLOUDFLARE_*)", secret=True
)
ZITADEL_URL = Optional(
    "ZITADEL_URL", "the identity service talks to this Zitadel (+ ZITADEL_PAT, ZITADEL_PROJECT_ID)"
)
DNS_ADDRESS = Optional("A4C_DNS_SERVICE_ADDRESS", "use a running DNS service instead of starting one")
IDENTITY_ADDRESS = Optional(
    "A4C_IDENTITY_SERVICE_ADDRESS", "use a running identity service instead of starting one"
)
SERVICE_TOKEN = Optional(
    "A4C_SERVICE_TOKEN", "token for those two services", secret=True, shown_default="the local worker token"
)
PROVISIONING_ADDRESS = Optional(
    "A4C_PROVISIONING_ADDRESS", "bootstrap the demo on a running provisioning service"
)
PROVISIONING_TOKEN = Optional(
    "A4C_PROVISIONING_TOKEN", "token for it", secret=True, shown_default="the local token"
)
# The sandbox's own settings the stack passes through (python -m a4c.sandbox --help lists them all).
PROPAGATION_DELAY = Optional(
    "SANDBOX_PROPAGATION_DELAY_SECONDS", "delay before a DNS change is visible", shown_default="3 here"
)
LATENCY_PROFILE = Optional(
    "SANDBOX_LATENCY_PROFILE",
    "seed: realistic Zitadel latency (5-10 s creation, 2 s grant, 2 s invite)",
    shown_default="none",
)
SETTINGS = (
    STATE_DIR,
    PORT_BASE,
    EXIT_AFTER_DEMO,
    TEMPORAL_UI,
    DEMO,
    TRACES,
    DATABASE_URL,
    TEMPORAL_ADDRESS,
    CLOUDFLARE_API_TOKEN,
    ZITADEL_URL,
    DNS_ADDRESS,
    IDENTITY_ADDRESS,
    SERVICE_TOKEN,
    PROVISIONING_ADDRESS,
    PROVISIONING_TOKEN,
    PROPAGATION_DELAY,
    LATENCY_PROFILE,
)


class StackConfigError(ValueError):
    """A bad setting; the message starts with the variable's or option's name."""


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path
    ports: dict[str, int]
    once: bool = False
    temporal_ui: bool = True
    demo: bool = True
    traces: bool = True
    # Parts given by address (None: the stack runs its own).
    database_url: str | None = field(default=None, repr=False)
    temporal_address: str | None = None
    dns_address: str | None = None
    identity_address: str | None = None
    provisioning_address: str | None = None
    real_cloudflare: bool = False
    real_zitadel: bool = False
    # What the sandbox accepts, read from its SANDBOX_* settings (a4c.devstack.wiring.sandbox_credentials).
    sandbox_credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def traces_file(self) -> Path | None:
        """Where the parts append spans; None when off or when A4C_TRACES says otherwise (otlp)."""
        if not self.traces or (self.env.get("A4C_TRACES") or "").strip():
            return None
        return self.state_dir / "traces.jsonl"

    def address(self, part: str) -> str:
        return f"{HOST}:{self.ports[part]}"

    @property
    def runs_sandbox(self) -> bool:
        return not (self.real_cloudflare and self.real_zitadel)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        state_dir: str | None = None,
        port_base: int | None = None,
        once: bool = False,
    ) -> StackSettings:
        reader = EnvReader(env)
        try:
            credentials = sandbox_credentials(env)
            base = port_base if port_base is not None else PORT_BASE.read(reader)
            return cls(
                state_dir=Path(state_dir or STATE_DIR.read(reader)).absolute(),
                ports=layout(base),
                once=once or EXIT_AFTER_DEMO.read(reader),
                temporal_ui=TEMPORAL_UI.read(reader),
                demo=DEMO.read(reader),
                traces=TRACES.read(reader),
                database_url=DATABASE_URL.read(reader),
                temporal_address=TEMPORAL_ADDRESS.read(reader),
                dns_address=DNS_ADDRESS.read(reader),
                identity_address=IDENTITY_ADDRESS.read(reader),
                provisioning_address=PROVISIONING_ADDRESS.read(reader),
                real_cloudflare=CLOUDFLARE_API_TOKEN.read(reader) is not None,
                real_zitadel=ZITADEL_URL.read(reader) is not None,
                sandbox_credentials=credentials,
                env=dict(env),
            )
        except (ConfigError, SettingsError) as exc:
            raise StackConfigError(str(exc)) from None


def check_port_base(value: int, name: str = "--port-base") -> int:
    if not 1024 <= value <= 65535 - SPAN:
        raise StackConfigError(f"{name}: must be between 1024 and {65535 - SPAN}, not {value}")
    return value


def local_token(state_dir: Path, name: str = TOKEN_FILE) -> str:
    """One of the stack's bearer tokens (`name`: TOKEN_FILE or WORKER_TOKEN_FILE): generated once,
    kept in the state dir (0600) so restarts reuse it; one per caller, so each is its own principal."""
    path = state_dir / name
    if path.exists():
        token = path.read_text().strip()
        if len(token) >= 16:
            return token
    state_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token
