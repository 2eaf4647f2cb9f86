"""Zitadel's errors as the API sends them, in both URL styles.

Every failure inside the emulator is an :class:`ApiError` with a gRPC code name, a message and a
Zitadel error id (e.g. ``V3-DKcYh``). The REST (grpc-gateway) paths answer a google.rpc.Status in
JSON with a ``zitadel.v1.ErrorDetail``; the Connect paths answer ``{"code": "already_exists", ...}``
with the detail packed as Connect does (type, base64 protobuf value, and a JSON ``debug`` copy).
HTTP statuses follow Zitadel, notably FailedPrecondition → 400 (not 412).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

Style = Literal["rest", "connect"]


@dataclass(frozen=True)
class _Code:
    number: int
    http: int


CODES: dict[str, _Code] = {
    "invalid_argument": _Code(3, 400),
    "failed_precondition": _Code(9, 400),
    "out_of_range": _Code(11, 400),
    "unauthenticated": _Code(16, 401),
    "permission_denied": _Code(7, 403),
    "not_found": _Code(5, 404),
    "already_exists": _Code(6, 409),
    "aborted": _Code(10, 409),
    "resource_exhausted": _Code(8, 429),
    "unimplemented": _Code(12, 501),
    "internal": _Code(13, 500),
    "unknown": _Code(2, 500),
    "unavailable": _Code(14, 503),
    "deadline_exceeded": _Code(4, 504),
}


class ApiError(Exception):
    """A Zitadel API error: ``code`` is the lower-case gRPC code name, ``error_id`` Zitadel's id."""

    def __init__(self, code: str, message: str, error_id: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{message} ({error_id})")
        self.code = code
        self.message = message
        self.error_id = error_id

    @property
    def http_status(self) -> int:
        return CODES[self.code].http


def body_of(error: ApiError, style: Style) -> dict[str, Any]:
    """The JSON body Zitadel sends for ``error`` on a path of the given style."""
    text = f"{error.message} ({error.error_id})"
    if style == "connect":
        detail = {
            "type": "zitadel.v1.ErrorDetail",
            "value": base64.b64encode(_error_detail_proto(error.error_id, error.message)).decode(),
            "debug": {"id": error.error_id, "message": error.message},
        }
        return {"code": error.code, "message": text, "details": [detail]}
    rest_detail = {
        "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
        "id": error.error_id,
        "message": error.message,
    }
    return {"code": CODES[error.code].number, "message": text, "details": [rest_detail]}


def fault_error(status: int) -> ApiError:
    """The error an injected fault answers with (429 from the rate limiter, or a 5xx)."""
    if status == 429:
        return ApiError("resource_exhausted", "Too many requests", "QUOTA-8n3Kr")
    if status == 504:
        return ApiError("deadline_exceeded", "Upstream timed out", "SANDBOX-t1meo")
    if status in (502, 503):
        return ApiError("unavailable", "Service temporarily unavailable", "SANDBOX-unav1")
    return ApiError("internal", "Internal error", "SANDBOX-1ntrn")


def _error_detail_proto(error_id: str, message: str) -> bytes:
    """zitadel.v1.ErrorDetail {string id = 1; string message = 2;} in protobuf wire format."""
    return _string_field(1, error_id) + _string_field(2, message)


def _string_field(number: int, value: str) -> bytes:
    data = value.encode()
    return bytes([number << 3 | 2]) + _varint(len(data)) + data


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)
