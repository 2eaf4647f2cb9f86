"""The codec endpoint, run as operators run it (`python -m a4c.workflows.codec_server`)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from a4c.workflows.codec import EncryptionCodec, PayloadKeys

KEYS = PayloadKeys.generate("k1")
TOKEN = "codec-test-token-0123456789"
UI_ORIGIN = "http://127.0.0.1:8233"
SECRET = b'{"admin_email":"ada@lovelace.example"}'


@dataclass
class CodecServer:
    url: str
    process: subprocess.Popen[str]


def server_env(**overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "A4C_PAYLOAD_KEYS": KEYS,
        "A4C_CODEC_AUTH_TOKENS": TOKEN,
        "A4C_CODEC_HOST": "127.0.0.1",
        "A4C_CODEC_PORT": "0",
        "A4C_CODEC_CORS_ORIGINS": UI_ORIGIN,
        **overrides,
    }


@contextlib.contextmanager
def running_codec_server() -> Iterator[CodecServer]:
    process = subprocess.Popen(
        [sys.executable, "-m", "a4c.workflows.codec_server"],
        env=server_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the ready line, printed once it serves
    assert line.startswith("codec server listening on "), line
    yield CodecServer(line.rsplit(" ", 1)[1].strip(), process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def codec_server() -> Iterator[CodecServer]:
    with running_codec_server() as server:
        yield server


@pytest.fixture
async def http(codec_server: CodecServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=codec_server.url) as client:
        yield client


def body(*payloads: Payload) -> dict[str, object]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


async def sealed() -> Payload:
    (payload,) = await EncryptionCodec(PayloadKeys.parse(KEYS)).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=SECRET)]
    )
    return payload


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_an_authorized_caller_gets_the_payloads_decrypted(http: httpx.AsyncClient) -> None:
    reply = await http.post("/decode", json=body(await sealed()), headers=BEARER)
    assert reply.status_code == 200
    (payload,) = reply.json()["payloads"]
    assert base64.b64decode(payload["data"]) == SECRET
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"


async def test_encode_then_decode_round_trips(http: httpx.AsyncClient) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    encoded = (await http.post("/encode", json=body(plain), headers=BEARER)).json()
    assert base64.b64decode(encoded["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
    decoded = (await http.post("/decode", json=encoded, headers=BEARER)).json()
    assert decoded == body(plain)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}],
    ids=["none", "wrong", "not-bearer"],
)
async def test_callers_without_the_token_are_refused(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/decode", "/encode"):
        reply = await http.post(path, json=body(await sealed()), headers=headers)
        assert reply.status_code == 401
        assert "ada@" not in reply.text


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"payloads": "x"}',
        b'{"payloads": [{"data": 5}]}',
        b'{"payloads": [{"size": 1}]}',
        b"[1, 2]",
    ],
    ids=["text", "wrong-shape", "data-not-bytes", "unknown-field", "array"],
)
async def test_malformed_input_is_a_400(http: httpx.AsyncClient, content: bytes) -> None:
    reply = await http.post(
        "/decode", content=content, headers={**BEARER, "Content-Type": "application/json"}
    )
    assert reply.status_code == 400


async def test_a_payload_under_an_unknown_key_is_a_400_naming_the_key_id(http: httpx.AsyncClient) -> None:
    (other,) = await EncryptionCodec(PayloadKeys.parse(PayloadKeys.generate("k9"))).encode(
        [Payload(data=b"x")]
    )
    reply = await http.post("/decode", json=body(other), headers=BEARER)
    assert reply.status_code == 400
    assert "k9" in reply.json()["message"]


async def test_the_ui_origin_passes_the_cors_preflight_and_others_do_not(http: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await http.options("/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = await http.options("/decode", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    reply = await http.post("/decode", json=body(await sealed()), headers={"Origin": UI_ORIGIN, **BEARER})
    assert reply.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_nothing_about_payloads_reaches_its_output(
    codec_server: CodecServer, http: httpx.AsyncClient
) -> None:
    await http.post("/decode", json=body(await sealed()), headers=BEARER)
    await http.post("/decode", content=b"garbage " + SECRET, headers=BEARER)
    codec_server.process.terminate()
    output, _ = await asyncio.to_thread(codec_server.process.communicate, timeout=10)
    assert "ada@" not in output
    assert TOKEN not in output


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"A4C_CODEC_AUTH_TOKENS": ""}, "A4C_CODEC_AUTH_TOKENS"),
        ({"A4C_CODEC_AUTH_TOKENS": "short"}, "A4C_CODEC_AUTH_TOKENS"),
        ({"A4C_PAYLOAD_KEYS": ""}, "A4C_PAYLOAD_KEYS"),
    ],
)
def test_it_will_not_start_without_tokens_or_keys(overrides: dict[str, str], key: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "a4c.workflows.codec_server"],
        env=server_env(**overrides),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"config error: {key}:" in done.stderr
