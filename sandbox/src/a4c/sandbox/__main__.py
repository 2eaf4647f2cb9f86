"""``python -m a4c.sandbox``: the local stand-ins for Cloudflare's API, its authoritative DNS and
Zitadel's API, on loopback, until SIGTERM/SIGINT. ``--help`` lists the settings.

When everything listens, one JSON line goes to stdout (``{"ready": true, ...}`` with the bound
addresses, useful with port 0); logs go to stderr. A bad setting exits 2 naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a4c.sandbox.cloudflare import CloudflareSettings, create_app
from a4c.sandbox.cloudflare.app import BASE_PATH, DEFAULT_TOKEN, DEFAULT_ZONES
from a4c.sandbox.cloudflare.plans import DEFAULT_PLAN, PLANS
from a4c.sandbox.cloudflare.validation import is_hostname
from a4c.sandbox.dns_server import PublishedZones, SandboxDnsServer
from a4c.sandbox.faults import RateLimit
from a4c.sandbox.http import AsgiServer
from a4c.sandbox.zitadel import config as zitadel_config
from a4c.sandbox.zitadel.app import create_app as create_zitadel_app

log = logging.getLogger("a4c.sandbox")

DESCRIPTION = (
    "Local stand-ins for the Cloudflare API v4, Cloudflare's authoritative DNS for the sandbox zones "
    "and the Zitadel API, on loopback. Prints one JSON line with the bound addresses once ready; "
    "runs until SIGTERM/SIGINT."
)

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("SANDBOX_HOST", "interface every emulator binds (default 127.0.0.1)"),
    ("SANDBOX_CLOUDFLARE_PORT", "port of the Cloudflare API emulator (default 8787; 0 picks a free one)"),
    ("SANDBOX_DNS_PORT", "UDP and TCP port of the authoritative DNS server (default 5353)"),
    ("SANDBOX_ZONES", f"comma-separated zones (default {','.join(DEFAULT_ZONES)})"),
    ("SANDBOX_CLOUDFLARE_TOKEN", f"the API token the Cloudflare emulator accepts (default {DEFAULT_TOKEN})"),
    (
        "SANDBOX_CLOUDFLARE_RATE_LIMIT",
        "requests/seconds per token, then blocked as long (default 1200/300; off)",
    ),
    (
        "SANDBOX_CLOUDFLARE_IP_RATE_LIMIT",
        "requests/seconds per client IP, whatever the token (default 200/1; off)",
    ),
    ("SANDBOX_CLOUDFLARE_PLAN", f"the zones' plan: {', '.join(PLANS)} (default {DEFAULT_PLAN})"),
    (
        "SANDBOX_CLOUDFLARE_ZONE_CREATED_ON",
        "when the zones were created, YYYY-MM-DD (default today; a Free zone from before 2024-09-01 "
        "holds 1,000 records, a newer one 200)",
    ),
    (
        "SANDBOX_CLOUDFLARE_RECORD_QUOTA",
        "records per zone, as Cloudflare sets on request, instead of the plan's (default: the plan's)",
    ),
    (
        "SANDBOX_PROPAGATION_DELAY_SECONDS",
        "how long a record change takes to reach the DNS server (default 0)",
    ),
    ("SANDBOX_STATE_DIR", "when set, every emulator's state persists there as JSON across restarts"),
)


class ConfigError(ValueError):
    """A bad setting; the message starts with the variable's name."""


@dataclass(frozen=True)
class SandboxSettings:
    host: str = "127.0.0.1"
    cloudflare_port: int = 8787
    dns_port: int = 5353
    zitadel_port: int = 8788
    cloudflare: CloudflareSettings = field(default_factory=CloudflareSettings)
    propagation_delay: float = 0.0
    state_dir: Path | None = None
    # The Zitadel emulator's own settings (SANDBOX_ZITADEL_*, SANDBOX_STATE_DIR), read by its module.
    zitadel: zitadel_config.ZitadelConfig = field(default_factory=zitadel_config.ZitadelConfig)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SandboxSettings:
        def text(key: str, default: str) -> str:
            return (env.get(key) or "").strip() or default

        raw_zones = text("SANDBOX_ZONES", "").split(",")
        zones = tuple(z.strip().lower().rstrip(".") for z in raw_zones if z.strip())
        bad = [z for z in zones if not is_hostname(z)]
        if bad:
            raise ConfigError(f"SANDBOX_ZONES: not DNS zone names: {', '.join(bad)}")
        state_dir = text("SANDBOX_STATE_DIR", "")
        plan = text("SANDBOX_CLOUDFLARE_PLAN", DEFAULT_PLAN).lower()
        if plan not in PLANS:
            raise ConfigError(f"SANDBOX_CLOUDFLARE_PLAN: must be one of {', '.join(PLANS)}, not {plan!r}")
        cloudflare = CloudflareSettings(
            zones=zones or DEFAULT_ZONES,
            tokens=(text("SANDBOX_CLOUDFLARE_TOKEN", DEFAULT_TOKEN),),
            rate_limit=_rate_limit(
                "SANDBOX_CLOUDFLARE_RATE_LIMIT", text("SANDBOX_CLOUDFLARE_RATE_LIMIT", "")
            ),
            ip_rate_limit=_rate_limit(
                "SANDBOX_CLOUDFLARE_IP_RATE_LIMIT", text("SANDBOX_CLOUDFLARE_IP_RATE_LIMIT", "")
            ),
            plan=plan,
            zone_created_on=_day(env, "SANDBOX_CLOUDFLARE_ZONE_CREATED_ON"),
            record_quota=_count(env, "SANDBOX_CLOUDFLARE_RECORD_QUOTA"),
        )
        return cls(
            host=text("SANDBOX_HOST", "127.0.0.1"),
            cloudflare_port=_port(env, "SANDBOX_CLOUDFLARE_PORT", 8787),
            dns_port=_port(env, "SANDBOX_DNS_PORT", 5353),
            zitadel_port=_port(env, "SANDBOX_ZITADEL_PORT", 8788),
            cloudflare=cloudflare,
            propagation_delay=_seconds(env, "SANDBOX_PROPAGATION_DELAY_SECONDS"),
            state_dir=Path(state_dir) if state_dir else None,
            zitadel=zitadel_config.ZitadelConfig.from_env(env),
        )


@dataclass
class RunningSandbox:
    cloudflare: AsgiServer
    dns: SandboxDnsServer
    zitadel: AsgiServer

    def addresses(self) -> dict[str, Any]:
        return {
            "ready": True,
            "cloudflare_api": self.cloudflare.url + BASE_PATH,
            "dns": self.dns.address,
            "zitadel_api": self.zitadel.url,
            "faults": {
                "cloudflare": f"{self.cloudflare.url}/_sandbox/faults",
                "zitadel": f"{self.zitadel.url}/_sandbox/faults",
            },
        }


@contextlib.asynccontextmanager
async def running_sandbox(settings: SandboxSettings) -> AsyncIterator[RunningSandbox]:
    """Start the emulators; stop them in reverse order on exit."""
    emulator = create_app(settings.cloudflare)
    if settings.state_dir is not None:
        emulator.store.persist_to(settings.state_dir / "cloudflare.json")
    published = PublishedZones(settings.propagation_delay).attach(emulator.store)
    async with contextlib.AsyncExitStack() as stack:
        dns = SandboxDnsServer(published, host=settings.host, port=settings.dns_port)
        dns.start()
        stack.callback(dns.stop)
        host = settings.host
        cloudflare = AsgiServer(emulator.app, host=host, port=settings.cloudflare_port, name="cloudflare")
        await stack.enter_async_context(cloudflare)
        # The Zitadel API emulator: a4c.sandbox.zitadel (persists itself under SANDBOX_STATE_DIR).
        zitadel_app = create_zitadel_app(settings.zitadel)
        zitadel = AsgiServer(zitadel_app, host=host, port=settings.zitadel_port, name="zitadel")
        await stack.enter_async_context(zitadel)
        yield RunningSandbox(cloudflare, dns, zitadel)


def _configure(env: Mapping[str, str]) -> SandboxSettings:
    try:
        return SandboxSettings.from_env(env)
    except (ConfigError, zitadel_config.ConfigError) as exc:
        print(f"python -m a4c.sandbox: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _serve(settings: SandboxSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_sandbox(settings) as sandbox:
            print(json.dumps(sandbox.addresses()), flush=True)
            await stop.wait()
            log.info("stopping")
    except OSError as exc:  # a port in use, most likely
        log.error("cannot start the sandbox: %s", exc)
        raise SystemExit(1) from None


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    described: dict[str, str] = {}
    for name, text in [*ENV_HELP, *zitadel_config.ENV_HELP]:
        described.setdefault(name, text)  # SANDBOX_STATE_DIR is described by both: keep ours
    rows = list(described.items())
    width = max(len(name) for name, _ in rows)
    description = "\n".join(
        [DESCRIPTION, "", "Settings (environment variables):"]
        + [f"  {name.ljust(width)}  {text}" for name, text in rows]
    )
    parser = argparse.ArgumentParser(
        prog="python -m a4c.sandbox",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    environment = dict(os.environ if env is None else env)
    settings = _configure(environment)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(_serve(settings))


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    raw = (env.get(key) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"{key}: not a port number (0-65535): {raw!r}")
    return int(raw)


def _seconds(env: Mapping[str, str], key: str) -> float:
    raw = (env.get(key) or "").strip() or "0"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}: not a number of seconds: {raw!r}") from None
    if not 0 <= value < 86400:
        raise ConfigError(f"{key}: must be between 0 and 86400 seconds")
    return value


def _day(env: Mapping[str, str], key: str) -> str | None:
    """``YYYY-MM-DD`` as the RFC 3339 moment Cloudflare reports (midnight UTC); None when unset."""
    raw = (env.get(key) or "").strip()
    if not raw:
        return None
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{key}: not a date (YYYY-MM-DD): {raw!r}") from None
    return f"{day.isoformat()}T00:00:00.000000Z"


def _count(env: Mapping[str, str], key: str) -> int | None:
    raw = (env.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{key}: not a positive whole number: {raw!r}")
    return int(raw)


def _rate_limit(key: str, raw: str) -> RateLimit | None:
    """``requests/seconds``; the per-token limit then blocks as long (Cloudflare: 5 minutes), the
    per-IP one only refuses until its window frees a slot."""
    if raw.lower() == "off":
        return None
    default = CloudflareSettings()
    per_ip = key == "SANDBOX_CLOUDFLARE_IP_RATE_LIMIT"
    if not raw:
        return default.ip_rate_limit if per_ip else default.rate_limit
    limit, _, window = raw.partition("/")
    if not limit.isdigit() or int(limit) < 1 or not window.isdigit() or int(window) < 1:
        example = "200/1" if per_ip else "1200/300"
        raise ConfigError(f"{key}: expected requests/seconds like {example}, not {raw!r}")
    return RateLimit(int(limit), float(window), 0.0 if per_ip else float(window))


if __name__ == "__main__":
    main()
