"""Read side: find an organization by id or slug, list organizations, page through its events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from a4c.common.errors import InvalidFields
from a4c.common.paging import PageTokens
from a4c.eventstore import (
    BootstrapState,
    EventStore,
    LifecycleStatus,
    Organization,
    OrganizationCursor,
    StoredEvent,
    SubdomainStatus,
)
from a4c.eventstore import NotFound as StoreNotFound
from a4c.provisioning import retry
from a4c.provisioning.errors import NotFound

ORGANIZATIONS_PAGE = (50, 500)  # default, maximum
EVENTS_PAGE = (100, 1000)
QUERY_MAX = 100


@dataclass(frozen=True)
class OrganizationsPage:
    items: list[Organization]
    next_page_token: str


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_page_token: str


def page_size(requested: int, limits: tuple[int, int]) -> int:
    default, maximum = limits
    if requested == 0:
        return default
    if not 1 <= requested <= maximum:
        raise InvalidFields.one("page_size", f"must be 1-{maximum} (0 means {default})")
    return requested


async def find(store: EventStore, ref: UUID | str) -> Organization:
    """The organization's read model by id (UUID) or slug (str); NotFound names what was asked for."""
    try:
        if isinstance(ref, UUID):
            return await retry.idempotent(lambda: store.get_organization(ref))
        return await retry.idempotent(lambda: store.get_organization_by_slug(ref))
    except StoreNotFound:
        what = f"organization {ref}" if isinstance(ref, UUID) else f"organization with slug {ref!r}"
        raise NotFound(f"no {what}") from None


async def list_organizations(
    store: EventStore,
    *,
    subdomain_status: SubdomainStatus | None,
    bootstrap_status: BootstrapState | None,
    size: int,
    token: str,
    tokens: PageTokens,
    query: str = "",
    lifecycle_status: LifecycleStatus | None = None,
) -> OrganizationsPage:
    """Newest first; the token holds the last row's keyset and is bound to the filters."""
    size = page_size(size, ORGANIZATIONS_PAGE)
    query = query.strip()
    if len(query) > QUERY_MAX or not query.isprintable():
        raise InvalidFields.one("query", f"must be at most {QUERY_MAX} printable characters")
    filters: tuple[object, ...] = (subdomain_status, bootstrap_status, *((query,) if query else ()))
    # The lifecycle filter joins the binding only when set (tokens issued before it keep working),
    # named so that it never reads as a query.
    if lifecycle_status is not None:
        filters = (*filters, f"lifecycle={lifecycle_status.value}")
    after = tokens.decode(token, filters, _cursor) if token else None
    page = await retry.idempotent(
        lambda: store.list_organizations(
            subdomain_status=subdomain_status,
            bootstrap_status=bootstrap_status,
            page_size=size,
            after=after,
            query=query or None,
            lifecycle_status=lifecycle_status,
        )
    )
    last = page.next_after
    position = {"c": last.created_at.isoformat(), "i": str(last.id)} if last else None
    return OrganizationsPage(list(page.items), tokens.encode(position, filters) if position else "")


async def list_events(
    store: EventStore, organization_id: UUID, *, size: int, token: str, tokens: PageTokens
) -> EventPage:
    """The stream in version order; the token holds the last version and is bound to the organization."""
    size = page_size(size, EVENTS_PAGE)
    stream = (organization_id,)
    after = tokens.decode(token, stream, _version) if token else 0
    events = await retry.idempotent(
        lambda: store.read_stream(organization_id, after_version=after, limit=size + 1)
    )
    page = events[:size]
    more = len(events) > size
    return EventPage(page, tokens.encode({"a": page[-1].stream_version}, stream) if more else "")


def _cursor(position: Mapping[str, Any]) -> OrganizationCursor:
    return OrganizationCursor(datetime.fromisoformat(position["c"]), UUID(position["i"]))


def _version(position: Mapping[str, Any]) -> int:
    after = position["a"]
    if not isinstance(after, int) or after < 0:
        raise ValueError("version")
    return after
