"""Temporal worker: workflows and activities (filled by the worker issue)."""
