"""What the terminal shows: one line per part as it becomes ready, then where to look."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from a4c.devstack.stack.config import StackSettings
from a4c.devstack.stack.demo import DemoOutcome, DemoTenant
from a4c.devstack.stack.parts import Parts
from a4c.devstack.stack.ports import METRICS_PARTS

GRPC_SERVICES = {
    "provisioning": "a4c.api.provisioning.v1.ProvisioningService",
    "dns": "a4c.api.dns.v1.DnsService",
    "identity": "a4c.api.identity.v1.IdentityService",
}


class View:
    """Progress on `out`; what went wrong on `err`."""

    def __init__(self, out: TextIO, err: TextIO, settings: StackSettings) -> None:
        self.out = out
        self.err = err
        self.settings = settings

    def line(self, text: str = "") -> None:
        _write(self.out, text)

    def error(self, text: str) -> None:
        _write(self.err, text)

    def ready(self, part: str, address: str, seconds: float) -> None:
        log = _short(self.settings.logs_dir / f"{part}.log")
        log = "" if part == "migrations" else f"  log {log}"
        self.line(f"  ✓ {part:<13} {address:<26} {seconds:5.1f} s{log}")

    def where_to_look(self, parts: Parts, outcome: DemoOutcome | None, tenant: DemoTenant) -> None:
        s = self.settings
        rows: list[tuple[str, str]] = []
        if s.temporal_address is None and s.temporal_ui:
            rows.append(("Temporal UI", f"http://{s.address('temporal-ui')}/namespaces/default/workflows"))
        if s.runs_sandbox:
            mailbox = f"http://{s.address('sandbox-zitadel')}/_sandbox/emails?to={quote(tenant.admin_email)}"
            rows.append(("mailbox", mailbox))
        if outcome is not None and s.runs_sandbox:
            dns_host, _, dns_port = s.address("sandbox-dns").partition(":")
            rows.append(("dig", f"dig @{dns_host} -p {dns_port} {outcome.fqdn}"))
        addresses = {
            "provisioning": parts.provisioning_address,
            "dns": parts.dns_address,
            "identity": parts.identity_address,
        }
        for name, service in GRPC_SERVICES.items():
            header = f'"authorization: Bearer {self._token(parts, name)}"'
            rows.append(
                (f"grpcurl {name}", f"grpcurl -plaintext -H {header} {addresses[name]} list {service}")
            )
        exports = f"A4C_PROVISIONING_ADDRESS={parts.provisioning_address}"
        exports += f" A4C_PROVISIONING_TOKEN={self._token(parts, 'provisioning')}"
        rows.append(("a4c CLI", f"export {exports}"))
        for command in (f"status {tenant.slug}", "orgs", f"events {tenant.slug}", f"watch {tenant.slug}"):
            rows.append(("", f".venv/bin/a4c {command}"))
        for part in METRICS_PARTS:
            rows.append((f"metrics {part}", f"curl -s http://{s.address(f'{part}-metrics')}/metrics"))
        if parts.runs_console:
            rows.append(("console", parts.console_url))
            if parts.console_login is not None:  # the sandbox's operators (local development credentials)
                rows += parts.console_login.guide_rows()
        rows.append(("logs", f"{_short(s.logs_dir)}/<part>.log"))
        if s.traces_file is not None:
            # One trace per bootstrap: its trace_id is in each event's metadata and log line.
            rows.append(
                ("traces", f"{_short(s.traces_file)} (one JSON span per line; trace_id as in events)")
            )
        width = max(len(label) for label, _ in rows)
        self.line("\nWhere to look:")
        for label, text in rows:
            self.line(f"  {label:<{width}}  {text}")

    def _token(self, parts: Parts, service: str) -> str:
        """The local token of the service's caller (the operator's for provisioning, the worker's for
        dns and identity: each accepts only its own); a token given for an external service stays a $VAR."""
        key = "A4C_PROVISIONING_TOKEN" if service == "provisioning" else "A4C_SERVICE_TOKEN"
        if self.settings.env.get(key):
            return f"${key}"
        return parts.token if service == "provisioning" else parts.worker_token


def _write(stream: TextIO, text: str) -> None:
    # A closed terminal or pipe (`make run | head`) must not keep the stack from stopping its parts.
    if stream.closed:
        return
    try:
        stream.write(text + "\n")
        stream.flush()
    except OSError:
        with contextlib.suppress(OSError):
            stream.close()


def _short(path: Path) -> str:
    """A path relative to the working directory when it is under it (shorter, and copy-pastable)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
