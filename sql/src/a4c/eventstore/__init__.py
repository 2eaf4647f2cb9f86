"""Event store access module: the only code that writes SQL against the event store.

    store = await EventStore.connect(os.environ["DATABASE_URL"])
    stored = await store.append(NewEvent(id=event_id(workflow_id, "create_record"), stream_id=org_id,
                                         event_type=EventType.CREATED, data={...}))

Migrations: `python -m a4c.eventstore migrate` or `a4c.eventstore.migrate.migrate(dsn)`.
The schema (migrations/), the event contract and the ordering guarantees are described in sql/README.md.
"""

from .errors import (
    ConcurrencyError,
    DatabaseUnavailable,
    EventIdConflict,
    EventStoreError,
    InvalidArgument,
    InvalidEvent,
    MigrationError,
    NotFound,
    SchemaMismatch,
)
from .events import EVENT_ID_NAMESPACE, NOTIFY_CHANNEL, ORGANIZATION_STREAM, EventType, event_id
from .models import (
    BootstrapState,
    BootstrapStatus,
    BootstrapStepRecord,
    IdentityStatus,
    LifecycleStatus,
    NewEvent,
    Organization,
    OrganizationCursor,
    OrganizationPage,
    StepState,
    StoredEvent,
    SubdomainStatus,
)
from .reservations import SlugClaim, SlugClaims
from .store import EventStore
from .subscribe import Subscription

__all__ = [
    "EVENT_ID_NAMESPACE",
    "NOTIFY_CHANNEL",
    "ORGANIZATION_STREAM",
    "BootstrapState",
    "BootstrapStatus",
    "BootstrapStepRecord",
    "ConcurrencyError",
    "DatabaseUnavailable",
    "EventIdConflict",
    "EventStore",
    "EventStoreError",
    "EventType",
    "IdentityStatus",
    "InvalidArgument",
    "InvalidEvent",
    "LifecycleStatus",
    "MigrationError",
    "NewEvent",
    "NotFound",
    "Organization",
    "OrganizationCursor",
    "OrganizationPage",
    "SchemaMismatch",
    "SlugClaim",
    "SlugClaims",
    "StepState",
    "StoredEvent",
    "SubdomainStatus",
    "Subscription",
    "event_id",
]
