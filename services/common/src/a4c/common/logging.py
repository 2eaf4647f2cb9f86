"""Structured JSON logs on stdout, with secrets redacted from every line.

Redaction happens on the final text of each record (message, arguments, extra fields and
tracebacks alike), so a secret that reaches a log call by any route is still replaced.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

from a4c.common.tracing import current_ids

REDACTED = "[REDACTED]"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces configured secret values and any `Bearer <token>` with a placeholder."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            # Very short values would redact ordinary words; settings reject such secrets anyway.
            if secret and len(secret) >= 4 and secret not in self._secrets:
                self._secrets.append(secret)
                escaped = json.dumps(secret)[1:-1]
                if escaped != secret:
                    self._secrets.append(escaped)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _BEARER.sub(rf"\g<1>{REDACTED}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, extra fields, exception."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # The active span's ids (a4c.common.tracing), so a line leads to its trace.
        entry.update(current_ids())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._redact(json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> Redactor:
    """Send all logging to `stream` (stdout) as redacted JSON lines; returns the redactor in use."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Library chatter at INFO (httpx request lines carry URLs with ids) is noise in service logs.
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor
