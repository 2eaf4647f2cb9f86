"""The transport under the Zitadel client: auth header, org context, deadline, retries.

Each call runs under a deadline (a ``clock()`` value, normally from the caller's gRPC deadline) that
bounds every attempt and every wait. 429 (honouring retry-after), 503, 409 Aborted and failures to
connect are retried with jittered backoff; answers that may have been applied before they were
lost (timeouts, dropped connections, 500/502/504) are retried only for calls marked safe to repeat,
and the error then records ``after_uncertain_attempt`` so callers can tell "it was us" from "it was
there before". A 401 on a cached JWT-profile token drops it and tries once more with a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from a4c.common.retry import RetryPolicy
from a4c.identity.credentials import Credentials
from a4c.identity.zitadel_errors import (
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnexpectedResponse,
    ZitadelError,
    parse_error,
)

log = logging.getLogger(__name__)

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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._retry = retry or ZITADEL_RETRY
        self.clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography

    def __repr__(self) -> str:
        return f"ZitadelTransport(base_url={self._base!r}, credentials={self._credentials!r})"

    async def call(
        self,
        method: str,
        path: str,
        *,
        deadline: float,
        json: Any = None,
        org_id: str | None = None,
        repeatable: bool = True,
    ) -> dict[str, Any]:
        """One API call; ``repeatable`` says a lost answer may be retried (the call is idempotent or a
        duplicate is detected as 409), ``org_id`` sets x-zitadel-orgid for v1 management calls."""

        async def attempt() -> httpx.Response:
            header = await self._credentials.authorization(self._token_request, deadline)
            headers = {"authorization": header, "accept": "application/json"}
            if org_id:
                headers["x-zitadel-orgid"] = org_id
            response = await self._send(method, path, deadline, json=json, headers=headers)
            if response.status_code == 401:
                self._credentials.rejected(header)
            return response

        return await self._with_retries(method, path, deadline, attempt, repeatable)

    async def _token_request(self, form: dict[str, str], deadline: float) -> dict[str, Any]:
        """POST /oauth/v2/token for the JWT profile; OAuth errors become Unauthenticated."""

        async def attempt() -> httpx.Response:
            return await self._send("POST", TOKEN_PATH, deadline, data=form)

        try:
            return await self._with_retries("POST", TOKEN_PATH, deadline, attempt, True)
        except ZitadelError as exc:
            if exc.status not in (400, 401):
                raise
            refused = f"zitadel token exchange refused: {exc.zitadel_message or exc.status}"
            raise Unauthenticated(refused, status=exc.status, error_id=exc.error_id) from None

    async def _send(self, method: str, path: str, deadline: float, **kwargs: Any) -> httpx.Response:
        remaining = deadline - self.clock()
        if remaining <= 0:
            raise Unavailable(f"zitadel {method} {path}: deadline exceeded before sending")
        return await self._http.request(method, self._base + path, timeout=httpx.Timeout(remaining), **kwargs)

    async def _with_retries(
        self,
        method: str,
        path: str,
        deadline: float,
        attempt: Callable[[], Awaitable[httpx.Response]],
        repeatable: bool,
    ) -> dict[str, Any]:
        uncertain = False  # has an earlier attempt maybe been applied?
        refresh = self._credentials.refreshable and path != TOKEN_PATH
        number = 0
        while True:
            number += 1
            answer, maybe_applied = await self._outcome(method, path, attempt)
            if isinstance(answer, dict):
                return answer
            error = answer
            error.after_uncertain_attempt = uncertain
            if isinstance(error, Unauthenticated) and refresh:
                refresh = False  # a cached token may have been revoked: once more with a fresh one
                continue
            delay = self._delay(error, number, maybe_applied and not repeatable)
            if delay is None or self.clock() + delay >= deadline:
                raise error
            log.warning(
                "zitadel %s %s failed (%s); retry %d/%d in %.2fs",
                method,
                path,
                type(error).__name__,
                number,
                self._retry.max_attempts - 1,
                delay,
            )
            uncertain = uncertain or maybe_applied
            await self._sleep(delay)

    async def _outcome(
        self, method: str, path: str, attempt: Callable[[], Awaitable[httpx.Response]]
    ) -> tuple[dict[str, Any], bool] | tuple[ZitadelError, bool]:
        """(JSON answer or error, whether a failed attempt may have been applied)."""
        try:
            response = await attempt()
        except httpx.TransportError as exc:
            # The exception text can hold the URL, never the headers; keep just its kind.
            return Unavailable(f"zitadel {method} {path}: {type(exc).__name__}"), not isinstance(
                exc, _NOT_SENT
            )
        if response.is_success:
            try:
                body = response.json() if response.content.strip() else {}
            except ValueError:
                return UnexpectedResponse(f"zitadel {method} {path}: answer is not JSON"), False
            if not isinstance(body, dict):
                return UnexpectedResponse(f"zitadel {method} {path}: answer is not a JSON object"), False
            return body, False
        error = parse_error(method, path, response)
        return error, response.status_code >= 500 and response.status_code not in _REFUSED

    def _delay(self, error: ZitadelError, attempt: int, unsafe: bool) -> float | None:
        if not error.retryable or unsafe or attempt >= self._retry.max_attempts:
            return None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self._retry.max_retry_after else None
        return self._retry.backoff(attempt, self._rng)
