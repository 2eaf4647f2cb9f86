"""`python -m a4c.workflows.codec_server`: the remote codec the Temporal UI and CLI decrypt through.

    temporal workflow show -w org-bootstrap-<id> --codec-endpoint https://codec.example \\
        --codec-auth "Bearer $TOKEN"

It speaks Temporal's remote codec protocol: POST /encode and /decode with a JSON `Payloads`
message (`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`), answering the same shape.
Callers need one of the configured bearer tokens (401 otherwise); a body that is not such a message
is a 400. It is a process of its own, not a port on the worker: it is reached from operators'
browsers, so it holds only the payload keys and its tokens (no database or service credentials)
and the worker keeps no inbound port besides its health probe. It never logs payloads or requests.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from a4c.workflows.codec import CodecError, EncryptionCodec
from a4c.workflows.connection import TemporalSettingsError, payload_keys

MAX_BODY_BYTES = 8 * 1024 * 1024  # above Temporal's own 4 MiB message limit
MIN_TOKEN_LENGTH = 16
# What the Temporal UI sends: its codec auth header, JSON, and the namespace it is showing.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Namespace"]

ENV_HELP: tuple[tuple[str, str], ...] = (
    ("A4C_PAYLOAD_KEYS", "secret: id:base64key,... (the first seals; all open); or A4C_PAYLOAD_KEYS_FILE"),
    ("A4C_PAYLOAD_KEYS_FILE", "file holding the same list (a mounted secret)"),
    ("A4C_CODEC_AUTH_TOKENS", "secret: comma-separated bearer tokens callers must present (required)"),
    ("A4C_CODEC_HOST", "interface to bind (default 0.0.0.0)"),
    ("A4C_CODEC_PORT", "port to bind (default 8090; 0 picks one)"),
    ("A4C_CODEC_CORS_ORIGINS", "comma-separated origins of the Temporal UI allowed to call (default none)"),
    ("A4C_CODEC_TLS_CERT_FILE", "certificate (PEM); with A4C_CODEC_TLS_KEY_FILE serves HTTPS"),
    ("A4C_CODEC_TLS_KEY_FILE", "private key (PEM)"),
)

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


@dataclass(frozen=True)
class CodecServerSettings:
    codec: EncryptionCodec = field(repr=False)
    tokens: tuple[str, ...] = field(repr=False)
    host: str = "0.0.0.0"
    port: int = 8090
    cors_origins: tuple[str, ...] = ()
    tls_cert_file: str | None = None
    tls_key_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CodecServerSettings:
        keys = payload_keys(env, required=True, reason="the codec server has nothing to decrypt with")
        assert keys is not None
        tokens = _list(env, "A4C_CODEC_AUTH_TOKENS")
        if not tokens:
            raise TemporalSettingsError(
                "A4C_CODEC_AUTH_TOKENS", "is required: the endpoint reveals personal data"
            )
        if any(len(token) < MIN_TOKEN_LENGTH for token in tokens):
            raise TemporalSettingsError(
                "A4C_CODEC_AUTH_TOKENS", f"every token must be at least {MIN_TOKEN_LENGTH} characters"
            )
        raw_port = env.get("A4C_CODEC_PORT", "").strip() or "8090"
        if not raw_port.isdigit() or int(raw_port) > 65535:
            raise TemporalSettingsError("A4C_CODEC_PORT", f"not a port: {raw_port!r}")
        cert = env.get("A4C_CODEC_TLS_CERT_FILE", "").strip() or None
        key = env.get("A4C_CODEC_TLS_KEY_FILE", "").strip() or None
        if (cert is None) != (key is None):
            raise TemporalSettingsError(
                "A4C_CODEC_TLS_CERT_FILE", "HTTPS needs both the certificate and the key"
            )
        return cls(
            codec=EncryptionCodec(keys),
            tokens=tokens,
            host=env.get("A4C_CODEC_HOST", "").strip() or "0.0.0.0",
            port=int(raw_port),
            cors_origins=_list(env, "A4C_CODEC_CORS_ORIGINS"),
            tls_cert_file=cert,
            tls_key_file=key,
        )


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(key, "").split(",") if part.strip())


def create_app(codec: EncryptionCodec, tokens: Sequence[str], cors_origins: Sequence[str] = ()) -> Starlette:
    expected = [f"Bearer {token}".encode() for token in tokens]

    def authorized(request: Request) -> bool:
        presented = request.headers.get("authorization", "").encode()
        # Compare with every token, in constant time, so timing says nothing about which is close.
        return any([hmac.compare_digest(presented, token) for token in expected])

    def endpoint(transform: Transform) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"message": "unauthorized"}, 401, {"WWW-Authenticate": "Bearer"})
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"message": "body too large"}, 413)
            try:
                payloads = json_format.Parse(body, Payloads())
            except (json_format.ParseError, UnicodeDecodeError, ValueError):
                return JSONResponse({"message": "body is not a JSON Payloads message"}, 400)
            try:
                result = await transform(payloads.payloads)
            except CodecError as error:  # says which key id; never the payload
                return JSONResponse({"message": str(error)}, 400)
            return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in result]})

        return handle

    return Starlette(
        routes=[
            Route("/encode", endpoint(codec.encode), methods=["POST"]),
            Route("/decode", endpoint(codec.decode), methods=["POST"]),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["POST"],
                allow_headers=ALLOWED_HEADERS,
                allow_credentials=True,
            )
        ],
    )


async def serve(settings: CodecServerSettings, ready: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM/SIGINT; `ready` gets the URL once the port is bound and serving."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    app = create_app(settings.codec, settings.tokens, settings.cors_origins)
    options: dict[str, Any] = {}
    if settings.tls_cert_file:
        options = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_config=None, log_level="warning", **options
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    await server.startup(sockets=[sock])
    scheme = "https" if settings.tls_cert_file else "http"
    host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    ready(f"codec server listening on {scheme}://{host}:{sock.getsockname()[1]}")
    try:
        await server.main_loop()
    finally:
        await server.shutdown(sockets=[sock])


def main(argv: Sequence[str] | None = None) -> None:
    epilog = "environment:\n" + "\n".join(f"  {key:26} {text}" for key, text in ENV_HELP)
    parser = argparse.ArgumentParser(
        prog="python -m a4c.workflows.codec_server",
        description="Temporal remote codec: decrypts workflow payloads for the Temporal UI and CLI.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        settings = CodecServerSettings.from_env(os.environ)
    except TemporalSettingsError as error:
        print(f"python -m a4c.workflows.codec_server: config error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(serve(settings, ready=lambda line: print(line, flush=True)))


if __name__ == "__main__":
    main()
