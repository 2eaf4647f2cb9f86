"""Read side: find an organization by id or slug, list organizations, page through its events."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from a4c.common.errors import FieldViolation
from a4c.eventstore import (
    BootstrapState,
    EventStore,
    Organization,
    OrganizationPage,
    StoredEvent,
    SubdomainStatus,
)
from a4c.eventstore import InvalidArgument as StoreInvalidArgument
from a4c.eventstore import NotFound as StoreNotFound
from a4c.provisioning import retry
from a4c.provisioning.errors import InvalidRequest, NotFound

ORGANIZATIONS_PAGE = (50, 500)  # default, maximum
EVENTS_PAGE = (100, 1000)
_TOKEN_VERSION = 1


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_page_token: str


def page_size(requested: int, limits: tuple[int, int]) -> int:
    default, maximum = limits
    if requested == 0:
        return default
    if not 1 <= requested <= maximum:
        raise InvalidRequest([FieldViolation("page_size", f"must be 1-{maximum} (0 means {default})")])
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
) -> OrganizationPage:
    size = page_size(size, ORGANIZATIONS_PAGE)
    try:
        return await retry.idempotent(
            lambda: store.list_organizations(
                subdomain_status=subdomain_status,
                bootstrap_status=bootstrap_status,
                page_size=size,
                page_token=token or None,
            )
        )
    except StoreInvalidArgument as error:  # a malformed token, or one issued for other filters
        raise InvalidRequest([FieldViolation("page_token", str(error))]) from None


async def list_events(store: EventStore, organization_id: UUID, *, size: int, token: str) -> EventPage:
    """The stream in version order; the token holds the last version and is bound to the organization."""
    size = page_size(size, EVENTS_PAGE)
    after = _decode(token, organization_id) if token else 0
    events = await retry.idempotent(
        lambda: store.read_stream(organization_id, after_version=after, limit=size + 1)
    )
    page = events[:size]
    more = len(events) > size
    return EventPage(page, _encode(organization_id, page[-1].stream_version) if more else "")


def _encode(organization_id: UUID, version: int) -> str:
    payload = {"v": _TOKEN_VERSION, "o": str(organization_id), "a": version}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str, organization_id: UUID) -> int:
    try:
        raw: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if raw["v"] != _TOKEN_VERSION:
            raise ValueError("version")
        owner, after = UUID(raw["o"]), int(raw["a"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidRequest([FieldViolation("page_token", "malformed page token")]) from None
    if owner != organization_id or after < 0:
        raise InvalidRequest([FieldViolation("page_token", "page token was issued for another organization")])
    return after
