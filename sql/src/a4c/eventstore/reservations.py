"""Slug claims (migration 0004): who may start the bootstrap for a slug, decided once, durably.

    claims = SlugClaims(store.pool)
    claim = await claims.claim("acme", org_id, request_id="r-1", fingerprint=digest)
    if claim.organization_id == org_id: start the workflow, then `await claims.confirm("acme", org_id)`

The rules (why claims exist, when one may be released) are in migrations/0004_slug_claims.sql.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from .errors import EventStoreError, translate_errors

_ATTEMPTS = 3


@dataclass(frozen=True, kw_only=True)
class SlugClaim:
    """A slug's holder: `created` when this call took the slug; `confirmed` once its workflow started.

    `slug` differs from the requested one when the organization already holds another slug.
    `request_id` and `fingerprint` are None for an organization recorded without a claim.
    """

    slug: str
    organization_id: UUID
    request_id: str | None
    fingerprint: str | None
    confirmed: bool
    age_seconds: float
    created: bool


class SlugClaims:
    """Claim, confirm and release slugs over the event store's pool."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    async def claim(
        self,
        slug: str,
        organization_id: UUID,
        *,
        request_id: str | None,
        fingerprint: str,
        quarantine_seconds: float = 0.0,
    ) -> SlugClaim:
        """Take `slug` for `organization_id`, or return whoever holds it (see SlugClaim).

        A slug released by its organization (migration 0007: offboarded `quarantine_seconds` ago, or
        its bootstrap compensated) is taken over: the new organization gets it, the old keeps its row.
        """
        for _ in range(_ATTEMPTS):
            with translate_errors():
                row = await self._pool.fetchrow(
                    "SELECT * FROM claim_slug($1, $2, $3, $4, $5)",
                    slug,
                    organization_id,
                    request_id,
                    fingerprint,
                    float(quarantine_seconds),
                )
            if row is not None:  # None: a concurrent release emptied the slot between insert and read
                return SlugClaim(**dict(row))
        raise EventStoreError(f"slug {slug!r}: claim kept racing with releases")

    async def holder(self, slug: str) -> UUID | None:
        """The organization that holds `slug` now, None when nobody does (slug_holder, migration 0007)."""
        with translate_errors():
            found = await self._pool.fetchval("SELECT slug_holder($1)", slug)
        return found if isinstance(found, UUID) else None

    async def confirm(self, slug: str, organization_id: UUID) -> bool:
        """Mark the claim as backed by a started workflow; False when there is no such claim."""
        with translate_errors():
            return bool(await self._pool.fetchval("SELECT confirm_slug_claim($1, $2)", slug, organization_id))

    async def release_stale(self, slug: str, organization_id: UUID, *, older_than: float) -> bool:
        """Delete the unconfirmed claim if it is older than `older_than` seconds; True if it was."""
        with translate_errors():
            released = await self._pool.fetchval(
                "SELECT release_slug_claim($1, $2, $3)", slug, organization_id, older_than
            )
        return bool(released)
