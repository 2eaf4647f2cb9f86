"""Downstream calls get the caller's remaining time less a margin, bounded by the default."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from a4c.common.deadline import downstream_timeout


@dataclass
class Context:
    remaining: float | None

    def time_remaining(self) -> float | None:
        return self.remaining


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, 10.0), (30.0, 10.0), (5.0, 4.75), (0.2, 0.05), (-1.0, 0.05)],
)
def test_downstream_timeout(remaining: float | None, expected: float) -> None:
    assert downstream_timeout(Context(remaining), default=10.0) == pytest.approx(expected)
