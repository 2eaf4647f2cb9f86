"""Cloudflare API v4 emulator: ``create_app(CloudflareSettings(...))`` returns the ASGI app with its
store (zones, records) and fault injection; serve it with :mod:`a4c.sandbox.http`."""

from a4c.sandbox.cloudflare.app import (
    BASE_PATH,
    DEFAULT_TOKEN,
    DEFAULT_ZONES,
    CloudflareEmulator,
    CloudflareSettings,
    create_app,
)
from a4c.sandbox.cloudflare.store import CloudflareStore, Record, Zone, ZoneSnapshot

__all__ = [
    "BASE_PATH",
    "DEFAULT_TOKEN",
    "DEFAULT_ZONES",
    "CloudflareEmulator",
    "CloudflareSettings",
    "CloudflareStore",
    "Record",
    "Zone",
    "ZoneSnapshot",
    "create_app",
]
