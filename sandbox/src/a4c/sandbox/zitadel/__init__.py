"""A faithful local Zitadel API: organizations, users, grants, invitations, PAT and JWT-profile auth.

Start with :func:`create_app` (see :mod:`a4c.sandbox.zitadel.app`); tests use
:mod:`a4c.devstack.emulators.zitadel` to run it on a free loopback port.
"""

from a4c.sandbox.zitadel.app import ZitadelEmulator, create_app
from a4c.sandbox.zitadel.config import Behaviour, ZitadelConfig

__all__ = ["Behaviour", "ZitadelConfig", "ZitadelEmulator", "create_app"]
