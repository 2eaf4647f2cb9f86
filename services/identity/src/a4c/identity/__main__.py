"""``python -m a4c.identity``: the identity service (``--help`` lists every setting)."""

from __future__ import annotations

from a4c.common.config import SERVER_SETTINGS
from a4c.common.main import run_service
from a4c.identity.config import SETTINGS
from a4c.identity.server import build

DESCRIPTION = (
    "A4C identity service: creates tenant organizations with their first admin in Zitadel, grants "
    "project roles, sends invitations and deletes organizations (gRPC a4c.api.identity.v1.IdentityService). "
    "Every call is idempotent."
)


def main() -> None:
    run_service("python -m a4c.identity", DESCRIPTION, (*SETTINGS, *SERVER_SETTINGS), build)


if __name__ == "__main__":
    main()
