"""Temporal worker: workflows and activities."""
