"""Idempotent database operations are repeated while the database is briefly unavailable, only then."""

from __future__ import annotations

import pytest

from a4c.eventstore import DatabaseUnavailable, NotFound
from a4c.provisioning.retry import idempotent


class Flaky:
    """Fails with ``error`` ``failures`` times, then answers "done"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.calls = 0
        self._failures = failures
        self._error = error

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self._failures:
            raise self._error
        return "done"


async def test_a_briefly_unavailable_database_is_ridden_out() -> None:
    operation = Flaky(2, DatabaseUnavailable("restarting"))

    assert await idempotent(lambda: operation()) == "done"
    assert operation.calls == 3


async def test_the_attempts_are_bounded() -> None:
    operation = Flaky(3, DatabaseUnavailable("down"))

    with pytest.raises(DatabaseUnavailable):
        await idempotent(lambda: operation())
    assert operation.calls == 3


async def test_other_errors_are_raised_at_once() -> None:
    operation = Flaky(1, NotFound("no such organization"))

    with pytest.raises(NotFound):
        await idempotent(lambda: operation())
    assert operation.calls == 1
