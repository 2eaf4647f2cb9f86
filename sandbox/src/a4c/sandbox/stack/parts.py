"""What each part runs with: its command line and its environment on the stack's ports.

Children inherit the caller's environment, so any documented setting of a part (A4C_LOG_LEVEL,
SANDBOX_LATENCY_PROFILE, ZITADEL_INVITE_URL_TEMPLATE, ...) reaches it; the stack's own defaults
(fast DNS verification, a visible propagation delay) apply only where the caller set nothing, and the
addresses and ports that wire the parts together always come from the stack.
"""

from __future__ import annotations

import sys

from a4c.sandbox.cloudflare.app import BASE_PATH, DEFAULT_TOKEN
from a4c.sandbox.stack.config import HOST, StackSettings
from a4c.sandbox.zitadel.config import ZitadelConfig
from a4c.worker.devserver import dev_server_args, temporal_binary

ZONE = "firstovertheline.com"
ENVIRONMENT = "development"

# Demo-friendly settings a caller may override: the subdomain is checked every second or so, after
# a propagation delay long enough to watch it go from verifying to active.
DEFAULTS: dict[str, dict[str, str]] = {
    "sandbox": {"SANDBOX_PROPAGATION_DELAY_SECONDS": "3"},
    "provisioning": {
        "A4C_VERIFY_FIRST_CHECK_SECONDS": "1",
        "A4C_VERIFY_INITIAL_INTERVAL_SECONDS": "1",
        "A4C_VERIFY_BACKOFF": "1.5",
        "A4C_VERIFY_MAX_INTERVAL_SECONDS": "5",
        "A4C_VERIFY_DEADLINE_SECONDS": "300",
    },
}


class Wiring:
    """Addresses of every part (local or external) and the environment each local part gets."""

    def __init__(self, settings: StackSettings, token: str, database_url: str) -> None:
        self.settings = settings
        self.token = token
        self.database_url = database_url

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
    def service_token(self) -> str:
        return self.settings.env.get("A4C_SERVICE_TOKEN") or self.token

    @property
    def provisioning_token(self) -> str:
        return self.settings.env.get("A4C_PROVISIONING_TOKEN") or self.token

    @property
    def zitadel_url(self) -> str:
        return f"http://{self.settings.address('sandbox-zitadel')}"

    # -- command lines -----------------------------------------------------------------------------

    def temporal_argv(self) -> list[str]:
        ports = self.settings.ports
        argv = [temporal_binary(), "server", "start-dev", "--ip", HOST, "--port", str(ports["temporal"])]
        argv += ["--db-filename", str(self.settings.state_dir / "temporal.db"), "--log-level", "warn"]
        argv += ["--ui-port", str(ports["temporal-ui"])] if self.settings.temporal_ui else ["--headless"]
        return argv + dev_server_args()

    @staticmethod
    def migrate_argv() -> list[str]:
        # The URL goes in the environment: a password in it must not reach `ps` or the log's header.
        return [sys.executable, "-m", "a4c.eventstore", "migrate"]

    @staticmethod
    def module_argv(module: str) -> list[str]:
        return [sys.executable, "-m", module]

    # -- environments ------------------------------------------------------------------------------

    def env(self, part: str) -> dict[str, str]:
        builder = {
            "migrate": self._migrate,
            "sandbox": self._sandbox,
            "temporal": lambda: {},
            "dns": self._dns,
            "identity": self._identity,
            "provisioning": self._provisioning,
            "worker": self._worker,
        }[part]
        return {**DEFAULTS.get(part, {}), **self._inherited(part), **builder()}

    def _inherited(self, part: str) -> dict[str, str]:
        """The caller's environment, minus a real upstream's settings when the sandbox stands in."""
        dropped: tuple[str, ...] = ()
        if part == "dns" and not self.settings.real_cloudflare:
            dropped = ("CLOUDFLARE_",)  # e.g. a stray CLOUDFLARE_ZONE_ID of a real zone
        if part == "identity" and not self.settings.real_zitadel:
            dropped = ("ZITADEL_",)  # e.g. ZITADEL_KEY_FILE next to the sandbox's PAT
        return {k: v for k, v in self.settings.env.items() if not k.startswith(dropped)}

    def _migrate(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "A4C_ENVIRONMENT": self.settings.env.get("A4C_ENVIRONMENT") or ENVIRONMENT,
        }

    def _sandbox(self) -> dict[str, str]:
        ports = self.settings.ports
        return {
            "SANDBOX_HOST": HOST,
            "SANDBOX_CLOUDFLARE_PORT": str(ports["sandbox-cloudflare"]),
            "SANDBOX_ZITADEL_PORT": str(ports["sandbox-zitadel"]),
            "SANDBOX_DNS_PORT": str(ports["sandbox-dns"]),
            "SANDBOX_STATE_DIR": str(self.settings.state_dir / "sandbox"),
        }

    def _service(self, port_name: str) -> dict[str, str]:
        return {
            "A4C_GRPC_HOST": HOST,
            "A4C_GRPC_PORT": str(self.settings.ports[port_name]),
            "A4C_AUTH_TOKENS": self.token,
            "A4C_ENVIRONMENT": self.settings.env.get("A4C_ENVIRONMENT") or ENVIRONMENT,
            # A local stop should not wait the production grace period.
            "A4C_SHUTDOWN_GRACE_SECONDS": "2",
        }

    def _dns(self) -> dict[str, str]:
        env = self._service("dns")
        if self.settings.real_cloudflare:
            return env
        return {
            **env,
            "CLOUDFLARE_API_TOKEN": self.settings.env.get("SANDBOX_CLOUDFLARE_TOKEN") or DEFAULT_TOKEN,
            "CLOUDFLARE_BASE_URL": f"http://{self.settings.address('sandbox-cloudflare')}{BASE_PATH}",
            "CLOUDFLARE_ZONE_NAME": ZONE,
            "A4C_DNS_NAMESERVERS": self.settings.address("sandbox-dns"),
        }

    def _identity(self) -> dict[str, str]:
        env = self._service("identity")
        if self.settings.real_zitadel:
            return env
        sandbox = ZitadelConfig.from_env(self.settings.env)
        return {
            **env,
            "ZITADEL_URL": self.zitadel_url,
            "ZITADEL_PAT": sandbox.pat,
            "ZITADEL_PROJECT_ID": sandbox.project_id,
        }

    def _provisioning(self) -> dict[str, str]:
        return {
            **self._service("provisioning"),
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
        }

    def _worker(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "A4C_DNS_SERVICE_ADDRESS": self.dns_address,
            "A4C_IDENTITY_SERVICE_ADDRESS": self.identity_address,
            "A4C_SERVICE_TOKEN": self.service_token,
            "A4C_HEALTH_HOST": "127.0.0.1",  # a developer's machine: loopback only
            "A4C_HEALTH_PORT": str(self.settings.ports["worker-health"]),
            "A4C_SHUTDOWN_GRACE_SECONDS": "2",
        }
