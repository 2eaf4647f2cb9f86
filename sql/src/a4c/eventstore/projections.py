"""Reads of the organizations projection and the configuration functions (all by key or keyset)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from ._rows import ORGANIZATION_COLUMNS, bootstrap_status_from_row, organization_from_row, step_from_row
from .errors import InvalidArgument, NotFound, translate_errors
from .models import (
    BootstrapState,
    BootstrapStatus,
    BootstrapStepRecord,
    LifecycleStatus,
    Organization,
    OrganizationCursor,
    OrganizationPage,
    SubdomainStatus,
)

MAX_PAGE_SIZE = 500

# Column lists are module constants; every value travels as a bind parameter.
_BY_ID = f"SELECT {ORGANIZATION_COLUMNS} FROM organizations_projection WHERE id = $1"  # noqa: S608
# A slug can name several organizations once it was released and bootstrapped again (0007): the
# one that holds it, else the newest (the others stay readable by id).
_BY_SLUG = f"""SELECT {ORGANIZATION_COLUMNS} FROM organizations_projection WHERE slug = $1
    ORDER BY (slug_released_at IS NULL) DESC, created_at DESC, id DESC LIMIT 1"""  # noqa: S608
_PAGE = f"""
    SELECT {ORGANIZATION_COLUMNS} FROM organizations_projection
     WHERE ($1::subdomain_status IS NULL OR subdomain_status = $1::subdomain_status)
       AND ($2::bootstrap_status IS NULL OR bootstrap_status = $2::bootstrap_status)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       AND ($6::text IS NULL OR starts_with(slug, lower($6::text))
            OR strpos(lower(name), lower($6::text)) > 0)
       AND ($7::lifecycle_status IS NULL OR lifecycle_status = $7::lifecycle_status)
     ORDER BY created_at DESC, id DESC
     LIMIT $5"""  # noqa: S608


async def get_organization(pool: asyncpg.Pool[asyncpg.Record], organization_id: UUID) -> Organization:
    with translate_errors():
        row = await pool.fetchrow(_BY_ID, organization_id)
    if row is None:
        raise NotFound(f"no organization {organization_id}")
    return organization_from_row(row)


async def get_organization_by_slug(pool: asyncpg.Pool[asyncpg.Record], slug: str) -> Organization:
    with translate_errors():
        row = await pool.fetchrow(_BY_SLUG, slug)
    if row is None:
        raise NotFound(f"no organization with slug {slug!r}")
    return organization_from_row(row)


async def list_organizations(
    pool: asyncpg.Pool[asyncpg.Record],
    *,
    subdomain_status: SubdomainStatus | None = None,
    bootstrap_status: BootstrapState | None = None,
    page_size: int = 50,
    after: OrganizationCursor | None = None,
    query: str | None = None,
    lifecycle_status: LifecycleStatus | None = None,
) -> OrganizationPage:
    """Newest first, keyset-paged on (created_at, id): stable while rows are added or change status.
    ``query``: only slugs starting with it or names containing it, ignoring case (plain text, no
    wildcards: strpos, not LIKE)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size must be 1..{MAX_PAGE_SIZE}, not {page_size}")
    filters = [
        None if subdomain_status is None else SubdomainStatus(subdomain_status).value,
        None if bootstrap_status is None else BootstrapState(bootstrap_status).value,
    ]
    keyset = (after.created_at, after.id) if after else (None, None)
    with translate_errors():
        lifecycle = None if lifecycle_status is None else LifecycleStatus(lifecycle_status).value
        rows = await pool.fetch(_PAGE, *filters, *keyset, page_size + 1, query or None, lifecycle)
    items = [organization_from_row(row) for row in rows[:page_size]]
    last = OrganizationCursor(items[-1].created_at, items[-1].id) if len(rows) > page_size else None
    return OrganizationPage(items=items, next_after=last)


# The metrics gauge's one aggregate: a group-by over two low-cardinality enums. "Stuck": not final
# (bootstrap initiated/running, or subdomain short of active/failed/removed) and unchanged for $1 s.
_STATUS_COUNTS = """
    SELECT bootstrap_status::text AS bootstrap_status, subdomain_status::text AS subdomain_status,
           count(*) AS organizations,
           count(*) FILTER (
               WHERE updated_at < now() - make_interval(secs => $1)
                 AND (bootstrap_status IN ('initiated', 'running')
                      OR subdomain_status IN ('pending', 'dns_record_created', 'verifying'))
           ) AS stuck
      FROM organizations_projection
     GROUP BY 1, 2"""


async def count_by_status(
    pool: asyncpg.Pool[asyncpg.Record], stuck_after_seconds: float
) -> list[tuple[BootstrapState, SubdomainStatus, int, int]]:
    """(bootstrap, subdomain, organizations, of them stuck) for every pair of statuses present."""
    with translate_errors():
        rows = await pool.fetch(_STATUS_COUNTS, float(stuck_after_seconds))
    return [
        (
            BootstrapState(r["bootstrap_status"]),
            SubdomainStatus(r["subdomain_status"]),
            int(r["organizations"]),
            int(r["stuck"]),
        )
        for r in rows
    ]


async def get_bootstrap_status(pool: asyncpg.Pool[asyncpg.Record], organization_id: UUID) -> BootstrapStatus:
    with translate_errors():
        row = await pool.fetchrow("SELECT * FROM get_bootstrap_status($1)", organization_id)
    if row is None:
        raise NotFound(f"no organization {organization_id}")
    return bootstrap_status_from_row(row)


async def get_bootstrap_steps(
    pool: asyncpg.Pool[asyncpg.Record], organization_id: UUID
) -> list[BootstrapStepRecord]:
    with translate_errors():
        rows = await pool.fetch("SELECT * FROM get_bootstrap_steps($1)", organization_id)
    return [step_from_row(row) for row in rows]


async def get_base_domain(pool: asyncpg.Pool[asyncpg.Record], environment: str | None = None) -> str:
    with translate_errors():
        domain = await pool.fetchval("SELECT get_base_domain($1)", environment)
    return str(domain)


async def rebuild(pool: asyncpg.Pool[asyncpg.Record], time_limit: float | None) -> int:
    with translate_errors():
        replayed = await pool.fetchval("SELECT rebuild_organizations_projection()", timeout=time_limit)
    return int(replayed)
