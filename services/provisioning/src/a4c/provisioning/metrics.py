"""The provisioning service's own metrics: appends, live watch streams, hub overflows, tenants by status.

The tenants gauge is read from the organizations projection at scrape time (one group-by over two
enums), so "N tenants stuck verifying for more than 10 minutes" is one alert on
``a4c_organizations_stuck{subdomain_status="verifying"} > 0``. Every label is an enum value.
"""

from __future__ import annotations

from a4c.common.metrics import Metrics
from a4c.eventstore import BootstrapState, EventStore, EventType, SubdomainStatus

# Not final and unchanged for this long: worth a look (the subdomain's verification polls far faster).
STUCK_AFTER_SECONDS = 600.0


class ProvisioningMetrics:
    def __init__(self, metrics: Metrics, store: EventStore, *, stuck_after: float = STUCK_AFTER_SECONDS):
        self._store = store
        self._stuck_after = stuck_after
        self._appended = metrics.counter(
            "a4c_events_appended", "Events this part appended to the event store", ("event_type",)
        )
        self.watch_streams = metrics.gauge("a4c_watch_streams", "WatchBootstrap streams open now")
        self.hub_overflows = metrics.counter(
            "a4c_event_hub_overflows", "Watchers that fell behind the live feed and re-read the database"
        )
        labels = ("bootstrap_status", "subdomain_status")
        self._organizations = metrics.gauge(
            "a4c_organizations", "Organizations by bootstrap and subdomain status (the projection)", labels
        )
        self._stuck = metrics.gauge(
            "a4c_organizations_stuck",
            f"Organizations not final and unchanged for more than {int(stuck_after)} s",
            labels,
        )
        metrics.on_scrape(self.refresh)

    def appended(self, event_type: EventType) -> None:
        self._appended.labels(event_type.value).inc()

    async def refresh(self) -> None:
        counts = {(b, s): (0, 0) for b in BootstrapState for s in SubdomainStatus}
        for bootstrap, subdomain, total, stuck in await self._store.count_by_status(self._stuck_after):
            counts[bootstrap, subdomain] = (total, stuck)
        # Every pair, zeros included: an alert's series must not vanish when the last tenant recovers.
        for (bootstrap, subdomain), (total, stuck) in counts.items():
            self._organizations.labels(bootstrap.value, subdomain.value).set(total)
            self._stuck.labels(bootstrap.value, subdomain.value).set(stuck)
