"""``python -m a4c.dns``: the DNS service (``--help`` lists every setting)."""

from __future__ import annotations

from a4c.common.config import SERVER_SETTINGS
from a4c.common.main import run_service
from a4c.dns.config import SETTINGS
from a4c.dns.server import build

DESCRIPTION = (
    "A4C DNS service: creates, reads and deletes the DNS records A4C owns in Cloudflare "
    "(gRPC a4c.api.dns.v1.DnsService) and checks their propagation on the zone's "
    "authoritative nameservers."
)


def main() -> None:
    run_service("python -m a4c.dns", DESCRIPTION, (*SETTINGS, *SERVER_SETTINGS), build)


if __name__ == "__main__":
    main()
