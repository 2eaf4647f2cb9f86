"""Rich gRPC errors: one place that builds `google.rpc.Status` details and reads them back.

Servicers translate their domain exceptions once: each service's errors.py says which status an
exception stands for (its mapping, a function to :class:`StatusDetails`), and :class:`ErrorTranslation`
turns that into the decorator its servicer methods wear. So every service speaks the same error
dialect: BadRequest field violations for bad input, ErrorInfo (reason, domain, metadata such as the
upstream error code) and RetryInfo for throttling; whatever no mapping claims is INTERNAL, logged.

RESOURCE_EXHAUSTED means two things, told apart by its details: with RetryInfo it is throttling (a
rate limit: try again after the delay); with a QuotaFailure and no RetryInfo it is a capacity quota
that no retry frees (e.g. a zone holding its plan's maximum of DNS records): callers do not retry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Self, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from a4c.common.upstream import UpstreamError

log = logging.getLogger(__name__)
Context = grpc.aio.ServicerContext[Any, Any]
S = TypeVar("S")
Q = TypeVar("Q")
R = TypeVar("R")


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: `field` is its path (e.g. "admin.email"), `description` says why."""

    field: str
    description: str


class InvalidFields(ValueError):
    """Bad input: one violation per bad field, all reported together; nothing has been done.

    The one exception every service raises for bad request fields; servicers end the call with
    `abort_invalid` (INVALID_ARGUMENT with a BadRequest detail), so every service answers alike.
    """

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in self.violations))

    @classmethod
    def one(cls, field: str, description: str) -> InvalidFields:
        return cls([FieldViolation(field, description)])


class Violations:
    """Collects field violations so a request reports all its problems in one answer."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, field: str, description: str) -> Self:
        self.violations.append(FieldViolation(field, description))
        return self

    def done(self) -> None:
        """Raise InvalidFields when anything was added."""
        if self.violations:
            raise InvalidFields(self.violations)


@dataclass(frozen=True)
class QuotaViolation:
    """One exhausted quota (google.rpc.QuotaFailure): `subject` what it applies to (e.g.
    "zone:example.com"), `description` how it was exceeded (e.g. "200 of 200 DNS records")."""

    subject: str
    description: str


@dataclass(frozen=True)
class StatusDetails:
    """The details of a rich error: what a service's mapping says an exception stands for (the
    domain then defaults to the service's), and what a client reads back."""

    code: grpc.StatusCode
    message: str
    field_violations: tuple[FieldViolation, ...] = ()
    reason: str | None = None
    domain: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    retry_delay: float | None = None
    # A capacity quota no retry frees (RESOURCE_EXHAUSTED without retry_delay): see the module doc.
    quota_violations: tuple[QuotaViolation, ...] = ()

    @property
    def fields(self) -> set[str]:
        return {v.field for v in self.field_violations}

    @property
    def quota_exhausted(self) -> bool:
        """RESOURCE_EXHAUSTED by a quota no retry frees (a QuotaFailure and no RetryInfo)."""
        return (
            self.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            and bool(self.quota_violations)
            and self.retry_delay is None
        )


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def rich_status(
    code: grpc.StatusCode,
    message: str,
    *,
    field_violations: Iterable[FieldViolation] = (),
    reason: str | None = None,
    domain: str = "a4c",
    metadata: Mapping[str, str] | None = None,
    retry_delay: float | None = None,
    quota_violations: Iterable[QuotaViolation] = (),
) -> grpc.Status:
    """Build a grpc.Status carrying google.rpc details in the `grpc-status-details-bin` trailer."""
    details: list[any_pb2.Any] = []
    violations = list(field_violations)
    if violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in violations
            ]
        )
        details.append(_pack(bad))
    if reason:
        info = error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=dict(metadata or {}))
        details.append(_pack(info))
    quotas = list(quota_violations)
    if quotas:
        failure = error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(subject=q.subject, description=q.description)
                for q in quotas
            ]
        )
        details.append(_pack(failure))
    if retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(max(retry_delay, 0.0) * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    result: grpc.Status = rpc_status.to_status(status)
    return result


async def abort(
    context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, message: str, **details: Any
) -> NoReturn:
    """End the call with ``rich_status(code, message, **details)``; never returns."""
    await context.abort_with_status(rich_status(code, message, **details))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - grpc always raises


class ErrorTranslation:
    """Decorators for servicer methods: an escaping exception ends the RPC with the rich status that
    ``status_of`` (the service's mapping) gives it, ErrorInfo in ``domain``; an exception it does
    not know (None) is a bug: logged with its traceback, answered INTERNAL without its text."""

    def __init__(self, status_of: Callable[[Exception], StatusDetails | None], *, domain: str) -> None:
        self._status_of = status_of
        self._domain = domain

    def unary(
        self, method: Callable[[S, Q, Context], Awaitable[R]]
    ) -> Callable[[S, Q, Context], Awaitable[R]]:
        @functools.wraps(method)
        async def wrapper(servicer: S, request: Q, context: Context) -> R:
            try:
                return await method(servicer, request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as error:
                await self.abort(context, error)

        return wrapper

    def stream(
        self, method: Callable[[S, Q, Context], AsyncIterator[R]]
    ) -> Callable[[S, Q, Context], AsyncIterator[R]]:
        """The same for a server-streaming method (an async generator)."""

        @functools.wraps(method)
        async def wrapper(servicer: S, request: Q, context: Context) -> AsyncIterator[R]:
            try:
                async for item in method(servicer, request, context):
                    yield item
            except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
                raise
            except Exception as error:
                await self.abort(context, error)

        return wrapper

    async def abort(self, context: Context, error: Exception) -> NoReturn:
        if isinstance(error, InvalidFields):  # bad fields read alike in every service
            await abort_invalid(context, error)
        status = self._status_of(error)
        if status is None:
            log.error("unexpected error", exc_info=error)
            status = StatusDetails(grpc.StatusCode.INTERNAL, "internal error")
        await abort(
            context,
            status.code,
            status.message,
            field_violations=status.field_violations,
            reason=status.reason,
            domain=status.domain or self._domain,
            metadata=status.metadata,
            retry_delay=status.retry_delay,
            quota_violations=status.quota_violations,
        )


# A service's error kinds -> (gRPC code, ErrorInfo reason): its mapping, as data.
StatusTable = Sequence[tuple[type[Exception], grpc.StatusCode, str]]
_WORTH_A_WARNING = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL)


def status_in(table: StatusTable, error: Exception, *, unexpected: str) -> tuple[grpc.StatusCode, str]:
    """The (code, reason) of the first row whose kind ``error`` is; INTERNAL with ``unexpected``
    when none is (a kind added to a hierarchy but not to its table)."""
    return next(
        ((c, r) for kind, c, r in table if isinstance(error, kind)), (grpc.StatusCode.INTERNAL, unexpected)
    )


def upstream_status(
    error: UpstreamError, table: StatusTable, *, unexpected: str, metadata: Mapping[str, str]
) -> StatusDetails:
    """The status an upstream client's error stands for: its row in ``table`` (else INTERNAL with the
    reason ``unexpected``), its HTTP status plus ``metadata`` (the upstream's public error code, never
    an id) in the ErrorInfo, its retry-after as RetryInfo.

    The caller gets a fixed message per kind (:func:`scrubbed_message`), never the upstream's own:
    that can hold its paths, ids and other owners' data. The log keeps the detail; rejected
    credentials loudly, since only an operator can fix them."""
    code, reason = status_in(table, error, unexpected=unexpected)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        log.error("the upstream rejected the service's credentials (%s): %s", reason, error)
    elif code in _WORTH_A_WARNING:
        log.warning("upstream call failed (%s): %s", reason, error)
    else:
        log.info("upstream refused the call (%s): %s", reason, error)
    info = {"http_status": str(error.status or 0), **metadata}
    return StatusDetails(
        code, scrubbed_message(reason), reason=reason, metadata=info, retry_delay=error.retry_after
    )


def scrubbed_message(reason: str) -> str:
    """The caller-facing message of an error kind: its reason in words ("zitadel not found")."""
    return reason.lower().replace("_", " ")


INVALID_REQUEST = "invalid request"


def invalid_argument(violations: Iterable[FieldViolation], message: str = INVALID_REQUEST) -> grpc.Status:
    """The status for a request with bad fields (one violation per field)."""
    return rich_status(grpc.StatusCode.INVALID_ARGUMENT, message, field_violations=violations)


async def abort_invalid(context: grpc.aio.ServicerContext[Any, Any], error: InvalidFields) -> NoReturn:
    """End the call as every service answers bad fields: INVALID_ARGUMENT with a BadRequest detail."""
    await abort(context, grpc.StatusCode.INVALID_ARGUMENT, INVALID_REQUEST, field_violations=error.violations)


_CODES_BY_NUMBER = {c.value[0]: c for c in grpc.StatusCode}


def details_of(error: grpc.aio.AioRpcError | grpc.RpcError) -> StatusDetails:
    """Read code, message and google.rpc details from a failed call (client side)."""
    code: grpc.StatusCode = error.code()
    message: str = error.details() or ""
    status = _status_from_error(error)
    if status is None:
        return StatusDetails(code=code, message=message)
    violations: list[FieldViolation] = []
    reason = domain = None
    metadata: dict[str, str] = {}
    retry_delay = None
    quotas: list[QuotaViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_delay = retry.retry_delay.ToNanoseconds() / 1e9
        elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            failure = error_details_pb2.QuotaFailure()
            detail.Unpack(failure)
            quotas += [QuotaViolation(v.subject, v.description) for v in failure.violations]
    return StatusDetails(
        code=_CODES_BY_NUMBER.get(status.code, code),
        message=status.message or message,
        field_violations=tuple(violations),
        reason=reason,
        domain=domain,
        metadata=metadata,
        retry_delay=retry_delay,
        quota_violations=tuple(quotas),
    )


def _status_from_error(error: grpc.RpcError) -> status_pb2.Status | None:
    # grpc_status.from_call wants the sync Call interface; aio errors carry the same trailers.
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None


# Re-exported so callers need not import google.rpc themselves to compare numeric codes.
OK = code_pb2.OK
