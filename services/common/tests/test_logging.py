"""Logs are JSON lines and never contain a configured secret or a bearer token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.config import ServerSettings
from a4c.common.logging import REDACTED, configure_logging
from a4c.common.server import create_server

from .conftest import PRINCIPALS, TOKEN, all_bindings

SECRET = "cf-api-token-s3cr3t-value-42"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", secrets=[SECRET, TOKEN], stream=stream)
    yield stream
    # Leave logging as pytest set it up, so later tests and interpreter shutdown see no stale handler.
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secret_values_are_redacted_everywhere_in_a_record(captured: io.StringIO) -> None:
    log = logging.getLogger("a4c.test")
    log.info("calling with %s", SECRET, extra={"header": f"Bearer {SECRET}", "url": f"https://x/?t={SECRET}"})
    try:
        raise RuntimeError(f"upstream said token {SECRET} is bad")
    except RuntimeError:
        log.exception("failed")

    text = captured.getvalue()
    assert SECRET not in text
    first, second = lines(captured)
    assert first["msg"] == f"calling with {REDACTED}"
    assert first["header"] == f"Bearer {REDACTED}"
    assert REDACTED in str(second["exc"])


def test_any_bearer_token_is_redacted_even_if_not_configured(captured: io.StringIO) -> None:
    logging.getLogger("a4c.test").warning("authorization: Bearer some-unknown-token-value")
    assert "some-unknown-token-value" not in captured.getvalue()
    assert lines(captured)[0]["level"] == "warning"


async def test_access_log_names_method_and_code_but_never_the_token(captured: io.StringIO) -> None:
    running = create_server(ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS), all_bindings())
    await running.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = dns_pb2_grpc.DnsServiceStub(channel)
            await stub.GetRecord(
                dns_pb2.GetRecordRequest(id="r1"), metadata=(("authorization", f"Bearer {TOKEN}"),)
            )
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetRecord(
                    dns_pb2.GetRecordRequest(id="r1"), metadata=(("authorization", "Bearer nope"),)
                )
    finally:
        await running.stop(0)

    assert TOKEN not in captured.getvalue()
    access = [e for e in lines(captured) if e["logger"] == "a4c.access"]
    assert [(e["grpc_method"], e["grpc_code"]) for e in access] == [
        ("/a4c.api.dns.v1.DnsService/GetRecord", "OK"),
        ("/a4c.api.dns.v1.DnsService/GetRecord", "UNAUTHENTICATED"),
    ]
