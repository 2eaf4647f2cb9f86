"""`a4c`: the operator's command line for the provisioning service (gRPC).

    a4c bootstrap --name "Acme Health" --slug acme --admin-email ada@acme.example \\
                  --admin-given-name Ada --admin-family-name Lovelace --watch
    a4c status acme | a4c watch acme | a4c orgs --subdomain-status failed | a4c events acme
    a4c cancel acme --reason "wrong slug" | a4c retry-subdomain acme
    a4c offboard acme --reason "contract ended" | a4c cancel-offboarding acme --reason "renewed"
    a4c reconcile --dry-run

Exit codes: 0 success; 1 the service refused or failed the request (one line on stderr says why,
naming the offending flag) or a watched bootstrap/subdomain did not succeed; 2 usage errors;
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

import grpc

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.errors import details_of
from a4c.provisioning.cli_commands import BOOTSTRAP_CHOICES, LIFECYCLE_CHOICES, SUBDOMAIN_CHOICES, Commands

ENV_ADDRESS = "A4C_PROVISIONING_ADDRESS"
ENV_TOKEN = "A4C_PROVISIONING_TOKEN"
ENV_TLS_CA = "A4C_PROVISIONING_TLS_CA_FILE"
ENV_TLS_CERT = "A4C_PROVISIONING_TLS_CERT_FILE"
ENV_TLS_KEY = "A4C_PROVISIONING_TLS_KEY_FILE"
DEFAULT_ADDRESS = "localhost:50051"

# Request fields → the flags that set them, so an error names what the operator typed.
FLAGS = {
    "name": "--name",
    "slug": "--slug",
    "admin": "--admin-email/--admin-given-name/--admin-family-name",
    "admin.email": "--admin-email",
    "admin.given_name": "--admin-given-name",
    "admin.family_name": "--admin-family-name",
    "request_id": "--request-id",
    "reason": "--reason",
    "page_size": "--page-size",
}
# Commands that name the organization with the positional argument.
POSITIONAL = {"slug": "SLUG", "organization_id": "SLUG", "reason": "--reason", "after_sequence": "--after"}


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="a4c",
        description="Onboard and inspect tenant organizations through the A4C provisioning service.",
        epilog=f"Environment: {ENV_ADDRESS} (default {DEFAULT_ADDRESS}), {ENV_TOKEN} (bearer token), "
        f"{ENV_TLS_CA} (CA bundle; enables TLS), {ENV_TLS_CERT} and {ENV_TLS_KEY} (client certificate "
        "and key, when the service requires mTLS).",
    )
    parser.add_argument(
        "--address", default=env.get(ENV_ADDRESS) or DEFAULT_ADDRESS, help="service host:port"
    )
    parser.add_argument("--token", default=env.get(ENV_TOKEN), help=f"bearer token (prefer {ENV_TOKEN})")
    parser.add_argument("--tls-ca-file", default=env.get(ENV_TLS_CA), help="CA bundle to verify the service")
    parser.add_argument("--tls-cert-file", default=env.get(ENV_TLS_CERT), help="client certificate (mTLS)")
    parser.add_argument("--tls-key-file", default=env.get(ENV_TLS_KEY), help="client certificate's key")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call (default 30)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    boot = commands.add_parser("bootstrap", help="start onboarding an organization")
    boot.add_argument("--name", required=True, help="display name")
    boot.add_argument("--slug", required=True, help="subdomain label, e.g. acme")
    boot.add_argument("--admin-email", required=True)
    boot.add_argument("--admin-given-name", required=True)
    boot.add_argument("--admin-family-name", required=True)
    boot.add_argument("--request-id", help="idempotency key (default: a new one per invocation)")
    boot.add_argument(
        "--watch", action="store_true", help="show progress until the subdomain is active or failed"
    )

    for name, text in (
        ("status", "show a bootstrap's status and steps"),
        ("watch", "follow a bootstrap's events live"),
        ("events", "list an organization's events (audit trail)"),
        ("cancel", "cancel a running bootstrap (compensation runs)"),
        ("retry-subdomain", "provision a failed or removed subdomain again"),
        (
            "offboard",
            "offboard an organization (DNS removed, identity deactivated, deleted after a grace period)",
        ),
        ("cancel-offboarding", "cancel an offboarding during its grace period (the tenant is restored)"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("organization", metavar="SLUG", help="slug or organization id")
        if name == "watch":
            sub.add_argument("--after", type=int, default=0, help="only events after this sequence")
        if name in ("cancel", "cancel-offboarding"):
            sub.add_argument("--reason", default="", help="recorded with the cancellation")
        if name == "offboard":
            sub.add_argument("--reason", required=True, help="why (required), recorded with the offboarding")

    orgs = commands.add_parser("orgs", help="list organizations")
    orgs.add_argument("--subdomain-status", choices=SUBDOMAIN_CHOICES)
    orgs.add_argument("--bootstrap-status", choices=BOOTSTRAP_CHOICES)
    orgs.add_argument("--lifecycle-status", choices=LIFECYCLE_CHOICES)
    orgs.add_argument("--page-size", type=int, default=100, help="organizations per request (1-500)")
    orgs.add_argument("--limit", type=int, default=0, help="stop after this many (default: all)")

    drift = commands.add_parser(
        "reconcile", help="show the drift the reconciler would act on (it runs on its own schedule)"
    )
    drift.add_argument(
        "--dry-run", action="store_true", help="compare every active tenant and change nothing (required)"
    )
    return parser


def describe_error(error: grpc.aio.AioRpcError, flags: Mapping[str, str] = FLAGS) -> str:
    """One line: the status, and each bad field with the flag that set it."""
    details = details_of(error)
    status = details.code.name.lower().replace("_", " ")
    if not details.field_violations:
        return f"{status}: {details.message}"
    problems = "; ".join(
        f"{flags[v.field]} ({v.field}): {v.description}"
        if v.field in flags
        else f"{v.field}: {v.description}"
        for v in details.field_violations
    )
    return f"{status}: {problems}"


async def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    channel = open_channel(
        args.address,
        token=args.token,
        tls_ca_file=args.tls_ca_file,
        tls_cert_file=args.tls_cert_file,
        tls_key_file=args.tls_key_file,
    )
    try:
        commands = Commands(provisioning_pb2_grpc.ProvisioningServiceStub(channel), out, args)
        handler = getattr(commands, args.command.replace("-", "_"))
        code: int = await handler(args)
        return code
    except grpc.aio.AioRpcError as error:
        flags = FLAGS if args.command == "bootstrap" else POSITIONAL
        err.write(f"a4c: {describe_error(error, flags)}\n")
        return 1
    finally:
        await channel.close()


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    parser = build_parser(os.environ if env is None else env)
    args = parser.parse_args(argv)
    if (args.tls_cert_file is None) != (args.tls_key_file is None):
        parser.error("--tls-cert-file and --tls-key-file go together (mTLS)")
    if args.tls_cert_file and not args.tls_ca_file:
        parser.error("--tls-cert-file needs --tls-ca-file (mTLS is TLS with a client certificate)")
    if args.command == "reconcile" and not args.dry_run:
        parser.error("reconcile needs --dry-run: the reconciler acts only on its schedule (the worker's)")
    try:
        code = asyncio.run(run(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


if __name__ == "__main__":
    main()
