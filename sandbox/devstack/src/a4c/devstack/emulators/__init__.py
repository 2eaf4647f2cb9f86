"""The sandbox's emulators started in process on free loopback ports, for tests.

``CloudflareSandbox`` is the Cloudflare API with its authoritative DNS server; ``run_zitadel`` (and
``run_zitadel_in_thread`` for blocking clients) the Zitadel API. Point a service at them with
``a4c.devstack.wiring.Wiring.for_emulators``.
"""

from a4c.devstack.emulators.cloudflare import CloudflareSandbox
from a4c.devstack.emulators.zitadel import RunningZitadel, run_zitadel, run_zitadel_in_thread

__all__ = ["CloudflareSandbox", "RunningZitadel", "run_zitadel", "run_zitadel_in_thread"]
