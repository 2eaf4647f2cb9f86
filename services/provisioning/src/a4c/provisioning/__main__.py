"""`python -m a4c.provisioning`: serve the provisioning control API until SIGTERM."""

from __future__ import annotations

from a4c.common.config import SERVER_SETTINGS
from a4c.common.main import run_service
from a4c.provisioning.config import SETTINGS
from a4c.provisioning.server import build

DESCRIPTION = (
    "A4C provisioning service: starts, watches, cancels and retries organization bootstraps (Temporal) "
    "and serves the organization read models (PostgreSQL event store) over gRPC."
)


def main() -> None:
    run_service("python -m a4c.provisioning", DESCRIPTION, (*SETTINGS, *SERVER_SETTINGS), build)


if __name__ == "__main__":
    main()
