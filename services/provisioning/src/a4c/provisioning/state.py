"""An organization's bootstrap and subdomain status, folded from its events one at a time.

WatchBootstrap reports the status *after each event*, which the projection (the state after the
last event) cannot tell; this fold follows the projection's rules (sql/README.md, "Projection rules")
so that after the last event both agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from a4c.eventstore import BootstrapState, EventType, StoredEvent, SubdomainStatus

_STEP_EVENTS = {
    EventType.ZITADEL_CREATED,
    EventType.CREATED,
    EventType.USER_ROLE_ASSIGNED,
    EventType.USER_INVITATION_SENT,
}
_FINAL_OUTCOMES = {
    EventType.BOOTSTRAP_COMPLETED: BootstrapState.COMPLETED,
    EventType.BOOTSTRAP_FAILED: BootstrapState.FAILED,
    EventType.BOOTSTRAP_CANCELLED: BootstrapState.CANCELLED,
}
_SUBDOMAIN_FINAL = {SubdomainStatus.ACTIVE, SubdomainStatus.FAILED, SubdomainStatus.REMOVED}


@dataclass
class OrganizationState:
    bootstrap: BootstrapState = BootstrapState.INITIATED
    subdomain: SubdomainStatus = SubdomainStatus.PENDING
    dns_record_id: str | None = None

    def apply(self, event: StoredEvent) -> None:
        if event.processing_error:
            return  # the projection ignored it too (bad payload): stay in step with the read model
        kind = event.event_type
        if kind in _STEP_EVENTS and not self.bootstrap.is_final:
            self.bootstrap = BootstrapState.RUNNING
        elif kind in _FINAL_OUTCOMES and not self.bootstrap.is_final:
            self.bootstrap = _FINAL_OUTCOMES[EventType(kind)]
        else:
            self._apply_subdomain(event)

    def _apply_subdomain(self, event: StoredEvent) -> None:
        kind, removed = event.event_type, self.subdomain == SubdomainStatus.REMOVED
        if kind == EventType.SUBDOMAIN_DNS_RECORD_CREATED:
            self.subdomain = SubdomainStatus.DNS_RECORD_CREATED
            self.dns_record_id = str(event.data.get("dns_record_id") or "") or None
        elif kind == EventType.SUBDOMAIN_VERIFICATION_STARTED and not removed:
            self.subdomain = SubdomainStatus.VERIFYING
        elif kind == EventType.SUBDOMAIN_VERIFIED and not removed:
            self.subdomain = SubdomainStatus.ACTIVE
        elif kind == EventType.SUBDOMAIN_VERIFICATION_FAILED and not removed:
            self.subdomain = SubdomainStatus.FAILED
        elif kind == EventType.SUBDOMAIN_DNS_RECORD_DELETED:
            deleted = str(event.data.get("dns_record_id") or "")
            if self.dns_record_id is None or self.dns_record_id == deleted:
                self.subdomain, self.dns_record_id = SubdomainStatus.REMOVED, None

    @property
    def settled(self) -> bool:
        """Nothing more is expected: the bootstrap is final and so is the subdomain.

        A failed or cancelled bootstrap stopped its subdomain workflow during compensation, so its
        subdomain may stay pending for good; it counts as settled too.
        """
        if not self.bootstrap.is_final:
            return False
        return self.bootstrap != BootstrapState.COMPLETED or self.subdomain in _SUBDOMAIN_FINAL
