"""The drift reconciler's settings (declared once; the worker's SETTINGS include them)."""

from __future__ import annotations

from dataclasses import dataclass

from a4c.common.env import EnvReader
from a4c.common.settings import Bool, Float, Int
from a4c.workflows.reconcile import DEFAULT_BATCHES_PER_RUN, MAX_BATCHES_PER_RUN

RECONCILE_INTERVAL = Float(
    "A4C_RECONCILE_INTERVAL_SECONDS",
    "how often the drift reconciler runs (the worker creates or updates its Temporal Schedule at "
    "start); 0: the worker leaves the schedule alone",
    600.0,
    min=0,
    max=7 * 86400,
)
RECONCILE_AUTO_REPAIR = Bool(
    "A4C_RECONCILE_AUTO_REPAIR",
    "restore a tenant's missing or changed DNS record (false: report it as drift only)",
    True,
)
RECONCILE_DELETE_ORPHANS = Bool(
    "A4C_RECONCILE_DELETE_ORPHANS",
    "delete owned DNS records and marked identity organizations that have no live organization "
    "(false: report them only)",
    False,
)
RECONCILE_BATCH_SIZE = Int(
    "A4C_RECONCILE_BATCH_SIZE", "organizations the reconciler compares per activity", 500, min=1, max=5000
)
RECONCILE_BATCHES_PER_RUN = Int(
    "A4C_RECONCILE_BATCHES_PER_RUN",
    "batches before the reconciler's workflow continues as new (bounds its history)",
    DEFAULT_BATCHES_PER_RUN,
    min=1,
    max=MAX_BATCHES_PER_RUN,
)
RECONCILE_ORPHAN_MIN_AGE = Float(
    "A4C_RECONCILE_ORPHAN_MIN_AGE_SECONDS",
    "age below which an owned record or marked identity organization is never an orphan (a "
    "bootstrap creates them just before its first event)",
    3600.0,
    min=0,
    max=30 * 86400,
)
RECONCILE_SETTINGS = (
    RECONCILE_INTERVAL,
    RECONCILE_AUTO_REPAIR,
    RECONCILE_DELETE_ORPHANS,
    RECONCILE_BATCH_SIZE,
    RECONCILE_BATCHES_PER_RUN,
    RECONCILE_ORPHAN_MIN_AGE,
)


@dataclass(frozen=True)
class ReconcileSettings:
    interval_seconds: float = RECONCILE_INTERVAL.default
    auto_repair: bool = RECONCILE_AUTO_REPAIR.default
    delete_orphans: bool = RECONCILE_DELETE_ORPHANS.default
    batch_size: int = RECONCILE_BATCH_SIZE.default
    batches_per_run: int = RECONCILE_BATCHES_PER_RUN.default
    orphan_min_age_seconds: float = RECONCILE_ORPHAN_MIN_AGE.default

    @classmethod
    def read(cls, reader: EnvReader) -> ReconcileSettings:
        return cls(
            interval_seconds=RECONCILE_INTERVAL.read(reader),
            auto_repair=RECONCILE_AUTO_REPAIR.read(reader),
            delete_orphans=RECONCILE_DELETE_ORPHANS.read(reader),
            batch_size=RECONCILE_BATCH_SIZE.read(reader),
            batches_per_run=RECONCILE_BATCHES_PER_RUN.read(reader),
            orphan_min_age_seconds=RECONCILE_ORPHAN_MIN_AGE.read(reader),
        )
