"""What each part runs with: its command line, and its environment from the wiring table.

Children inherit the caller's environment, so any documented setting of a part (A4C_LOG_LEVEL,
SANDBOX_LATENCY_PROFILE, ZITADEL_INVITE_URL_TEMPLATE, ...) reaches it; the stack's profile (fast DNS
verification, a visible propagation delay) applies only where the caller set nothing, and the
addresses and ports that wire the parts together always come from the stack (a4c.devstack.wiring).
"""

from __future__ import annotations

import sys

from a4c.devstack.console_login import ConsoleLogin
from a4c.devstack.stack.config import HOST, WORKER_TOKEN_FILE, StackSettings, local_token
from a4c.devstack.temporal import dev_server_args, temporal_binary
from a4c.devstack.wiring import STACK, Wiring


class Parts:
    """Addresses of every part (local or external), and the command line and environment of each local one."""

    def __init__(self, settings: StackSettings, token: str, database_url: str) -> None:
        self.settings = settings
        self.token = token  # the operator's (provisioning)
        self.worker_token = local_token(settings.state_dir, WORKER_TOKEN_FILE)  # dns and identity's caller
        self.database_url = database_url  # known once the embedded PostgreSQL is up
        # The console's OIDC app and operators at the sandbox Zitadel, once seeded (supervisor).
        self.console_login: ConsoleLogin | None = None

    # -- addresses ---------------------------------------------------------------------------------

    @property
    def temporal_address(self) -> str:
        return self.settings.temporal_address or self.settings.address("temporal")

    @property
    def dns_address(self) -> str:
        return self.settings.dns_address or self.settings.address("dns")

    @property
    def identity_address(self) -> str:
        return self.settings.identity_address or self.settings.address("identity")

    @property
    def provisioning_address(self) -> str:
        return self.settings.provisioning_address or self.settings.address("provisioning")

    @property
    def console_url(self) -> str:
        return f"http://{self.settings.address('console')}"

    @property
    def runs_console(self) -> bool:
        """With the sandbox's Zitadel (seeded here), or a real one the caller configured the console for."""
        return not self.settings.real_zitadel or bool(self.settings.env.get("A4C_CONSOLE_OIDC_CLIENT_ID"))

    @property
    def provisioning_token(self) -> str:
        return self.settings.env.get("A4C_PROVISIONING_TOKEN") or self.token

    @property
    def wiring(self) -> Wiring:
        s = self.settings
        addresses = {name: s.address(name) for name in s.ports}
        addresses |= {
            "temporal": self.temporal_address,
            "dns": self.dns_address,
            "identity": self.identity_address,
            "provisioning": self.provisioning_address,
        }
        return Wiring(
            self.token,
            addresses,
            database_url=self.database_url,
            profile=STACK,
            real_cloudflare=s.real_cloudflare,
            real_zitadel=s.real_zitadel,
            service_token=s.env.get("A4C_SERVICE_TOKEN") or self.worker_token,
            sandbox_state_dir=s.state_dir / "sandbox",
            traces_file=s.traces_file,
            console_oidc=self.console_login.env() if self.console_login else {},
            **s.sandbox_credentials,
        )

    def env(self, part: str) -> dict[str, str]:
        return self.wiring.env(part, self.settings.env)

    # -- command lines -----------------------------------------------------------------------------

    def temporal_argv(self) -> list[str]:
        ports = self.settings.ports
        argv = [temporal_binary(), "server", "start-dev", "--ip", HOST, "--port", str(ports["temporal"])]
        argv += ["--db-filename", str(self.settings.state_dir / "temporal.db"), "--log-level", "warn"]
        argv += ["--ui-port", str(ports["temporal-ui"])] if self.settings.temporal_ui else ["--headless"]
        return argv + dev_server_args()

    @staticmethod
    def migrate_argv() -> list[str]:
        return [sys.executable, "-m", "a4c.eventstore", "migrate"]

    @staticmethod
    def module_argv(module: str) -> list[str]:
        return [sys.executable, "-m", module]
