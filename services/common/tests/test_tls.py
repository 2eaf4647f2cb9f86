"""TLS from settings: clients that trust the CA get through; plaintext clients do not."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings
from a4c.common.server import create_server

from .conftest import TOKEN, all_bindings


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost that is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_tls_server_serves_clients_that_trust_its_certificate(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    settings = ServerSettings(
        host="127.0.0.1",
        port=0,
        auth_tokens=(TOKEN,),
        tls_cert_file=str(cert_file),
        tls_key_file=str(key_file),
    )
    server = create_server(settings, all_bindings())
    await server.start()
    try:
        async with open_channel(
            f"localhost:{server.port}", token=TOKEN, tls_ca_file=str(cert_file)
        ) as channel:
            reply = await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(dns_pb2.GetRecordRequest(id="r1"))
            assert reply.record.id == "r1"
        async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await dns_pb2_grpc.DnsServiceStub(plaintext).GetRecord(
                    dns_pb2.GetRecordRequest(id="r1"), timeout=5
                )
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)
