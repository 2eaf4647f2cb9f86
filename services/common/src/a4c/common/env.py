"""Typed, validating reads from an explicit environment mapping: the engine under `a4c.common.settings`.

Every problem names the variable, so an operator sees `A4C_GRPC_PORT: not an integer` and the
process exits before it binds a port. Nothing here reads `os.environ` itself: callers pass the
mapping, which keeps tests free of global state.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TypeVar

# EnvReader names its methods after the types they return, which shadows the builtins inside the
# class body; these aliases keep the annotations unambiguous.
_Str = builtins.str
_Int = builtins.int
_Float = builtins.float
_Bool = builtins.bool
_N = TypeVar("_N", int, float)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting is missing or invalid; `key` names the environment variable."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class EnvReader:
    """Typed, validating reads from an environment mapping.

    Values read with `secret()` are collected in `secrets` so logging can redact them.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.secrets: builtins.list[_Str] = []

    def _raw(self, key: _Str) -> _Str | None:
        value = self._env.get(key)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def str(self, key: _Str, default: _Str | None = None) -> _Str | None:
        value = self._raw(key)
        return default if value is None else value

    def required(self, key: _Str) -> _Str:
        value = self._raw(key)
        if value is None:
            raise SettingsError(key, "is required but not set")
        return value

    def secret(self, key: _Str, default: _Str | None = None) -> _Str | None:
        value = self.str(key, default)
        if value:
            self.secrets.append(value)
        return value

    def required_secret(self, key: _Str) -> _Str:
        """A required value that must never be logged (tokens, database URLs with passwords)."""
        value = self.required(key)
        self.secrets.append(value)
        return value

    def int(self, key: _Str, default: _Int, min: _Int | None = None, max: _Int | None = None) -> _Int:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = builtins.int(raw)
        except ValueError:
            raise SettingsError(key, f"not an integer: {raw!r}") from None
        return self._bounded(key, value, min, max)

    def float(
        self, key: _Str, default: _Float, min: _Float | None = None, max: _Float | None = None
    ) -> _Float:
        raw = self._raw(key)
        if raw is None:
            return default
        try:
            value = builtins.float(raw)
        except ValueError:
            raise SettingsError(key, f"not a number: {raw!r}") from None
        return self._bounded(key, value, min, max)

    def bool(self, key: _Str, default: _Bool) -> _Bool:
        raw = self._raw(key)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise SettingsError(key, f"not a boolean (true/false): {raw!r}")

    def list(self, key: _Str, default: tuple[_Str, ...] = ()) -> tuple[_Str, ...]:
        raw = self._raw(key)
        if raw is None:
            return default
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    @staticmethod
    def _bounded(key: _Str, value: _N, low: _N | None, high: _N | None) -> _N:
        if low is not None and value < low:
            raise SettingsError(key, f"must be at least {low}, not {value}")
        if high is not None and value > high:
            raise SettingsError(key, f"must be at most {high}, not {value}")
        return value
