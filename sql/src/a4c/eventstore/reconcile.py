"""Reads the drift reconciler needs: live organizations in id order, and which owners are live.

"Reconcilable" is a finished bootstrap of an active tenant: an organization whose bootstrap is still
running belongs to its workflow (comparing it would race the workflow's own steps), a failed or
cancelled one was compensated, and one being offboarded lost its record and had its identity
organization deactivated on purpose (that is not drift). "Live" is anything not failed, cancelled or
offboarded: an owned record or a marked identity organization whose owner is live is not an orphan,
even while its bootstrap runs or its offboarding waits out the grace period.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from ._rows import ORGANIZATION_COLUMNS, organization_from_row
from .errors import InvalidArgument, translate_errors
from .models import Organization

MAX_BATCH = 5000

_BATCH = f"""
    SELECT {ORGANIZATION_COLUMNS} FROM organizations_projection
     WHERE bootstrap_status = 'completed' AND lifecycle_status = 'active'
       AND ($1::uuid IS NULL OR id > $1::uuid)
     ORDER BY id
     LIMIT $2"""  # noqa: S608
_LIVE = """
    SELECT id FROM organizations_projection
     WHERE id = ANY($1::uuid[]) AND bootstrap_status NOT IN ('failed', 'cancelled')
       AND lifecycle_status <> 'offboarded'"""


async def reconcilable_batch(
    pool: asyncpg.Pool[asyncpg.Record], after: UUID | None, limit: int
) -> list[Organization]:
    """Up to `limit` reconcilable organizations with ids above `after`, in id order (keyset paging
    that stays stable while organizations are added or change status between batches)."""
    if not 1 <= limit <= MAX_BATCH:
        raise InvalidArgument(f"batch size must be 1..{MAX_BATCH}, not {limit}")
    with translate_errors():
        rows = await pool.fetch(_BATCH, after, limit)
    return [organization_from_row(row) for row in rows]


async def live_organizations(pool: asyncpg.Pool[asyncpg.Record], ids: Sequence[UUID]) -> set[UUID]:
    """The ids among `ids` that have a live organization (not failed, not cancelled)."""
    if not ids:
        return set()
    with translate_errors():
        rows = await pool.fetch(_LIVE, list(ids))
    return {row["id"] for row in rows}
