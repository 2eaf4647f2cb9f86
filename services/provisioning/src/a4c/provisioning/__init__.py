"""Provisioning service: workflow control API and the a4c CLI."""
