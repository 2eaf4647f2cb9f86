"""Settings declared once: each variable's name, type, default, bounds, secrecy and help in one value.

A part lists its `Setting`s in a tuple (its spec); `read()` takes them from an `EnvReader` (so a bad
value still names the variable), `help_text()` renders them for `--help`, and `a4c.common.settings_doc`
renders the same specs into README.md. A default therefore lives in one place: the settings
dataclasses take theirs from the spec too (`port: int = GRPC_PORT.default`).

Hand-written rather than pydantic-settings: the reads are a thin layer over `EnvReader`, whose
messages (`A4C_GRPC_PORT: not an integer: 'x'`) operators and tests rely on, and the cross-field
rules (TLS pairs, PAT xor key file) stay plain code in each config module either way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from a4c.common.env import EnvReader, SettingsError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

T = TypeVar("T")
S = TypeVar("S", bound="Setting[Any]")


@dataclass(frozen=True)
class Setting(ABC, Generic[T]):
    """One environment variable: `Int("A4C_GRPC_PORT", "port to bind", 50051, min=0, max=65535)`.

    Name, help and (where there is one) the default are positional; `secret` registers the value for
    log redaction and marks it in help and docs; `shown_default` replaces the literal default there.
    """

    name: str
    help: str
    secret: bool = field(default=False, kw_only=True)
    shown_default: str | None = field(default=None, kw_only=True)

    @property
    @abstractmethod
    def default(self) -> T: ...

    @abstractmethod
    def read(self, reader: EnvReader) -> T: ...

    def _literal(self) -> str:
        return str(self.default)

    @property
    def required(self) -> bool:
        return False

    def default_text(self) -> str:
        """The default as help and docs show it: "required", the literal, or `shown_default`."""
        if self.required:
            return "required"
        if self.shown_default is not None:
            return self.shown_default
        return self._literal()

    def bounds_text(self) -> str:
        """The accepted range ("1 to 1200", "at least 0.1"), or "" when any value of the type goes."""
        return ""

    def but(self: S, **changes: Any) -> S:
        """The same variable with another default or help, for a part that uses it differently."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Required(Setting[str]):
    """A text value that must be set."""

    @property
    def default(self) -> str:
        return ""

    @property
    def required(self) -> bool:
        return True

    def read(self, reader: EnvReader) -> str:
        return reader.required_secret(self.name) if self.secret else reader.required(self.name)


@dataclass(frozen=True)
class Optional(Setting["str | None"]):
    """A text value that may be unset (None)."""

    @property
    def default(self) -> str | None:
        return None

    def _literal(self) -> str:
        return "none"

    def read(self, reader: EnvReader) -> str | None:
        return reader.secret(self.name) if self.secret else reader.str(self.name)


@dataclass(frozen=True)
class Text(Setting[str]):
    """A text value with a default (an empty or blank value means the default)."""

    value: str

    @property
    def default(self) -> str:
        return self.value

    def _literal(self) -> str:
        return self.value or "empty"

    def read(self, reader: EnvReader) -> str:
        read = reader.secret(self.name) if self.secret else reader.str(self.name)
        return read or self.value


@dataclass(frozen=True)
class Int(Setting[int]):
    value: int
    min: int | None = field(default=None, kw_only=True)
    max: int | None = field(default=None, kw_only=True)

    @property
    def default(self) -> int:
        return self.value

    def read(self, reader: EnvReader) -> int:
        return reader.int(self.name, self.value, min=self.min, max=self.max)

    def bounds_text(self) -> str:
        return _bounds(self.min, self.max)


@dataclass(frozen=True)
class OptionalInt(Setting["int | None"]):
    """A whole number that may be unset (None), e.g. a port only some deployments open."""

    min: int | None = field(default=None, kw_only=True)
    max: int | None = field(default=None, kw_only=True)

    @property
    def default(self) -> int | None:
        return None

    def _literal(self) -> str:
        return "none"

    def read(self, reader: EnvReader) -> int | None:
        if reader.str(self.name) is None:
            return None
        return reader.int(self.name, 0, min=self.min, max=self.max)

    def bounds_text(self) -> str:
        return _bounds(self.min, self.max)


@dataclass(frozen=True)
class Float(Setting[float]):
    value: float
    min: float | None = field(default=None, kw_only=True)
    max: float | None = field(default=None, kw_only=True)

    @property
    def default(self) -> float:
        return self.value

    def _literal(self) -> str:
        return f"{self.value:g}"

    def read(self, reader: EnvReader) -> float:
        return reader.float(self.name, self.value, min=self.min, max=self.max)

    def bounds_text(self) -> str:
        return _bounds(self.min, self.max)


@dataclass(frozen=True)
class Bool(Setting[bool]):
    value: bool

    @property
    def default(self) -> bool:
        return self.value

    def _literal(self) -> str:
        return "true" if self.value else "false"

    def read(self, reader: EnvReader) -> bool:
        return reader.bool(self.name, self.value)


@dataclass(frozen=True)
class List(Setting[tuple[str, ...]]):
    """Comma-separated values; blank items are dropped."""

    value: tuple[str, ...] = ()

    @property
    def default(self) -> tuple[str, ...]:
        return self.value

    def _literal(self) -> str:
        return ",".join(self.value) or "none"

    def read(self, reader: EnvReader) -> tuple[str, ...]:
        values = reader.list(self.name, self.value)
        if self.secret:
            reader.secrets.extend(values)
        return values


@dataclass(frozen=True)
class Choice(Setting[str]):
    value: str
    choices: tuple[str, ...]
    upper: bool = field(default=False, kw_only=True)  # compare as upper case (log levels)

    @property
    def default(self) -> str:
        return self.value

    def read(self, reader: EnvReader) -> str:
        value = reader.str(self.name) or self.value
        value = value.upper() if self.upper else value
        if value not in self.choices:
            raise SettingsError(self.name, f"must be one of {', '.join(self.choices)}, not {value!r}")
        return value


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None:
        return f"at least {low:g}"
    return "" if high is None else f"at most {high:g}"


def describe(setting: Setting[Any]) -> str:
    """One line of help: "secret: " first when it is one, the default (or what stands for it) last."""
    prefix = "secret: " if setting.secret else ""
    default = setting.default_text()
    literal = not setting.required and setting.shown_default is None
    bounds = setting.bounds_text()
    extra = f"; {bounds}" if bounds else ""
    return f"{prefix}{setting.help} ({'default ' + default if literal else default}{extra})"


def help_text(description: str, spec: Sequence[Setting[Any]]) -> str:
    """`--help` text: the description, then every environment variable of the spec."""
    width = max(len(s.name) for s in spec)
    lines = [description, "", "Settings (environment variables):"]
    lines += [f"  {s.name.ljust(width)}  {describe(s)}" for s in spec]
    return "\n".join(lines)
