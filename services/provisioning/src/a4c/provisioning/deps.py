"""What the use cases work with, built once in `server.build` (or by a test) and passed in."""

from __future__ import annotations

from dataclasses import dataclass

from a4c.eventstore import EventStore, SlugClaims
from a4c.provisioning.config import Settings
from a4c.provisioning.metrics import ProvisioningMetrics
from a4c.provisioning.temporal import Workflows
from a4c.workflows.models import SubdomainInput


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    store: EventStore
    claims: SlugClaims
    workflows: Workflows
    base_domain: str
    metrics: ProvisioningMetrics | None = None  # None: metrics off

    def subdomain_fqdn(self, slug: str) -> str:
        return f"{slug}.{self.base_domain}"

    def subdomain_input(self, organization_id: str, fqdn: str, *, actor: str) -> SubdomainInput:
        """The subdomain workflow's input, from settings: the same for a bootstrap and a retry
        (``actor``: the principal that asked, for the events' metadata)."""
        settings = self.settings
        return SubdomainInput(
            organization_id=organization_id,
            zone=self.base_domain,
            fqdn=fqdn,
            record_type="CNAME",
            target=settings.target_for(self.base_domain),
            proxied=settings.subdomain_proxied,
            verification=settings.verification,
            timeouts=settings.step_timeouts,
            actor=actor,
        )
