"""Retry-After in both RFC 9110 forms: delta-seconds and an HTTP-date (against an injected wall clock)."""

from __future__ import annotations

import email.utils

import pytest

from a4c.common.retry import parse_retry_after

NOW = 1_800_000_000.0  # a fixed wall-clock instant


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@pytest.mark.parametrize(("header", "seconds"), [("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0)])
def test_delta_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=lambda: NOW) == seconds


def test_an_http_date_is_the_seconds_until_it() -> None:
    assert parse_retry_after(http_date(NOW + 30), now=lambda: NOW) == pytest.approx(30.0)


def test_an_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(http_date(NOW - 30), now=lambda: NOW) == 0.0


def test_an_obsolete_date_without_zone_is_read_as_gmt() -> None:
    header = http_date(NOW + 60).replace("GMT", "-0000")

    assert parse_retry_after(header, now=lambda: NOW) == pytest.approx(60.0)


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "nan", "inf", "Someday, 99 Foo"])
def test_absent_or_unreadable_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=lambda: NOW) is None
