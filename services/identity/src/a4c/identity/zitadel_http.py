"""The transport under the Zitadel client: auth header, org context, and what an answer means.

Each call runs under the caller's :class:`Deadline`, passed down unchanged; the kit's retry loop
(:mod:`a4c.common.upstream`) bounds every attempt and every wait by it. This module only classifies:
429 (honouring retry-after), 503, 409 Aborted and failures to connect are retried with jittered
backoff; answers that may have been applied before they were lost (timeouts, dropped connections,
500/502/504) are retried only for calls marked safe to repeat, and the error then records
``after_uncertain_attempt`` so callers can tell "it was us" from "it was there before". A 401 on a
cached JWT-profile token drops it and tries once more, at once, with a fresh one.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from a4c.common.deadline import Clock, Deadline
from a4c.common.metrics import Metrics
from a4c.common.retry import RetryPolicy
from a4c.common.upstream import DeadlineExceeded, Failure, RetryLoop, Sleep
from a4c.identity.credentials import Credentials
from a4c.identity.zitadel_errors import (
    Unauthenticated,
    Unavailable,
    UnexpectedResponse,
    ZitadelError,
    parse_error,
)

# Transport errors raised before the request left: repeating them can never act twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Statuses that say the request was refused before anything was done.
_REFUSED = {429, 503}
TOKEN_PATH = "/oauth/v2/token"


# Zitadel answers fast or not at all: more, shorter retries; a long retry-after goes back to the caller.
ZITADEL_RETRY = RetryPolicy(max_attempts=5, base_delay=0.2, max_delay=5.0, max_retry_after=30.0)


class ZitadelTransport:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        credentials: Credentials,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._retry = RetryLoop(
            "zitadel", retry or ZITADEL_RETRY, httpx.TransportError, sleep, rng, metrics=metrics
        )
        self.clock = clock  # for the deadline of a call made without one

    def __repr__(self) -> str:
        return f"ZitadelTransport(base_url={self._base!r}, credentials={self._credentials!r})"

    async def call(
        self,
        method: str,
        path: str,
        *,
        deadline: Deadline,
        json: Any = None,
        org_id: str | None = None,
        repeatable: bool = True,
    ) -> dict[str, Any]:
        """One API call; ``repeatable`` says a lost answer may be retried (the call is idempotent or a
        duplicate is detected as 409), ``org_id`` sets x-zitadel-orgid for v1 management calls."""

        async def send() -> httpx.Response:
            header = await self._credentials.authorization(self._token_request, deadline)
            headers = {"authorization": header, "accept": "application/json"}
            if org_id:
                headers["x-zitadel-orgid"] = org_id
            response = await self._send(method, path, deadline, json=json, headers=headers)
            if response.status_code == 401:
                self._credentials.rejected(header)
            return response

        refresh = self._credentials.refreshable

        def classify(outcome: httpx.Response | Exception) -> dict[str, Any] | Failure:
            nonlocal refresh
            verdict = _classify(method, path, outcome)
            if isinstance(verdict, Failure) and isinstance(verdict.error, Unauthenticated) and refresh:
                refresh = False  # a cached token may have been revoked: once more with a fresh one
                return Failure(verdict.error, retry=True, at_once=True)
            return verdict

        return await self._retry.run(
            f"{method} {path}", send, classify, deadline=deadline, repeatable=repeatable
        )

    async def _token_request(self, form: dict[str, str], deadline: Deadline) -> dict[str, Any]:
        """POST /oauth/v2/token for the JWT profile; OAuth errors become Unauthenticated."""

        async def send() -> httpx.Response:
            return await self._send("POST", TOKEN_PATH, deadline, data=form)

        def classify(outcome: httpx.Response | Exception) -> dict[str, Any] | Failure:
            return _classify("POST", TOKEN_PATH, outcome)

        try:
            return await self._retry.run(f"POST {TOKEN_PATH}", send, classify, deadline=deadline)
        except ZitadelError as exc:
            if exc.status not in (400, 401):
                raise
            refused = f"zitadel token exchange refused: {exc.zitadel_message or exc.status}"
            raise Unauthenticated(refused, status=exc.status, error_id=exc.error_id) from None

    async def _send(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> httpx.Response:
        if deadline.expired:  # e.g. the token exchange before it used the time up
            raise DeadlineExceeded(f"zitadel {method} {path}: deadline exceeded before sending")
        timeout = httpx.Timeout(deadline.remaining())
        return await self._http.request(method, self._base + path, timeout=timeout, **kwargs)


def _classify(method: str, path: str, outcome: httpx.Response | Exception) -> dict[str, Any] | Failure:
    """What one attempt's answer means: the JSON object, or the failure with its retry hints."""
    if isinstance(outcome, DeadlineExceeded):
        return Failure(Unavailable(f"zitadel {method} {path}: deadline exceeded before sending"))
    if isinstance(outcome, Exception):
        # The exception text can hold the URL, never the headers; keep just its kind.
        lost = Unavailable(f"zitadel {method} {path}: {type(outcome).__name__}")
        return Failure.of(lost, maybe_applied=not isinstance(outcome, _NOT_SENT))
    if outcome.is_success:
        try:
            body = outcome.json() if outcome.content.strip() else {}
        except ValueError:
            return Failure(UnexpectedResponse(f"zitadel {method} {path}: answer is not JSON"))
        if not isinstance(body, dict):
            return Failure(UnexpectedResponse(f"zitadel {method} {path}: answer is not a JSON object"))
        return body
    maybe_applied = outcome.status_code >= 500 and outcome.status_code not in _REFUSED
    return Failure.of(parse_error(method, path, outcome), maybe_applied=maybe_applied)
