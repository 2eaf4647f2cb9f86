"""Payload encryption: what the workflows carry (emails, names) is unreadable in Temporal history.

Every payload a client or worker sends is sealed with AES-256-GCM under the current key, with a
fresh random 96-bit nonce, and marked with the key's id; the key id is also the associated data, so
a payload cannot be passed off as sealed under another key. Decoding accepts every known key, so
rotation is: put the new key first, keep the old ones until no open history needs them.

    keys = PayloadKeys.parse("k2:<base64 32 bytes>,k1:<base64 32 bytes>")   # k2 seals, both open
    client = await Client.connect(..., data_converter=data_converter(keys))

Payloads that were never encrypted (histories from before encryption was turned on) decode as they
are. Failure messages and stack traces are moved into an encoded payload too
(`DefaultFailureConverterWithEncodedAttributes`), since they may quote what the input held.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

# The names the Temporal samples use, so other tools recognise an encrypted payload.
ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size
TAG_BYTES = 16
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecError(ValueError):
    """A payload cannot be decrypted (unknown key id, tampered or truncated data)."""


class KeySpecError(ValueError):
    """A key list is malformed; the message never contains key material."""


@dataclass(frozen=True)
class PayloadKeys:
    """Known keys by id; `current` seals new payloads. Key bytes never appear in repr."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, spec: str) -> PayloadKeys:
        """`id:base64key,id:base64key,...`, the first being the current key."""
        keys: dict[str, bytes] = {}
        for position, item in enumerate((part.strip() for part in spec.split(",")), start=1):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.fullmatch(key_id):
                raise KeySpecError(f"entry {position} is not `id:base64key` with an id of [A-Za-z0-9._-]")
            if key_id in keys:
                raise KeySpecError(f"key id {key_id!r} appears twice")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise KeySpecError(f"key {key_id!r} is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise KeySpecError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(key)}")
            keys[key_id] = key
        if not keys:
            raise KeySpecError("no keys given")
        return cls(next(iter(keys)), keys)

    @staticmethod
    def encode(key: bytes) -> str:
        return base64.b64encode(key).decode()

    @staticmethod
    def generate(key_id: str) -> str:
        """A new `id:base64key` entry (for tests and for operators: `python -c ...`)."""
        return f"{key_id}:{PayloadKeys.encode(AESGCM.generate_key(bit_length=256))}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: PayloadKeys) -> None:
        self._current = keys.current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id = self._current.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(f"payload sealed with unknown key id {key_id!r}")
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise CodecError(f"payload under key id {key_id!r} is truncated")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise CodecError(f"payload under key id {key_id!r} fails authentication") from None
        opened = Payload()
        opened.ParseFromString(plain)
        return opened


def data_converter(keys: PayloadKeys | None) -> DataConverter:
    """The converter every client and worker uses: encrypting with `keys`, the default without."""
    if keys is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
