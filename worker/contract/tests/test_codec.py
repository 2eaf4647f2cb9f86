"""The payload codec: sealed payloads hide what they carry, open under any known key, refuse the rest."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from a4c.workflows.codec import (
    ENCODING,
    KEY_ID,
    CodecError,
    EncryptionCodec,
    KeySpecError,
    PayloadKeys,
    data_converter,
)
from a4c.workflows.models import BootstrapInput, SubdomainInput, VerificationPolicy

OLD, NEW = PayloadKeys.generate("k1"), PayloadKeys.generate("k2")


def secret_input() -> BootstrapInput:
    org = "8a3e9d0c-0000-4000-8000-000000000001"
    return BootstrapInput(
        organization_id=org,
        name="Lovelace Clinic",
        slug="lovelace",
        admin_email="ada@lovelace.example",
        admin_given_name="Ada",
        admin_family_name="Byron",
        subdomain=SubdomainInput(
            organization_id=org,
            zone="firstovertheline.com",
            fqdn="lovelace.firstovertheline.com",
            target="app.firstovertheline.com",
            proxied=True,
            verification=VerificationPolicy(),
        ),
    )


async def test_a_sealed_payload_hides_its_content_and_opens_to_the_same_value() -> None:
    converter = data_converter(PayloadKeys.parse(NEW))
    value = secret_input()
    (sealed,) = await converter.encode([value])
    for clear in (b"ada@lovelace.example", b"Lovelace Clinic", b"Byron", b"json/plain"):
        assert clear not in sealed.SerializeToString()
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k2"
    assert await converter.decode([sealed], [BootstrapInput]) == [value]


async def test_every_seal_uses_a_fresh_nonce() -> None:
    converter = data_converter(PayloadKeys.parse(NEW))
    first, second = await converter.encode(["same"]), await converter.encode(["same"])
    assert first[0].data[:12] != second[0].data[:12]
    assert first[0].data != second[0].data


async def test_rotation_opens_old_payloads_and_seals_with_the_new_key() -> None:
    (old,) = await data_converter(PayloadKeys.parse(OLD)).encode(["kept"])
    rotated = data_converter(PayloadKeys.parse(f"{NEW},{OLD}"))
    assert await rotated.decode([old], [str]) == ["kept"]
    (new,) = await rotated.encode(["fresh"])
    assert new.metadata[KEY_ID] == b"k2"


async def test_an_unknown_key_id_is_a_clear_error() -> None:
    (sealed,) = await data_converter(PayloadKeys.parse(OLD)).encode(["x"])
    with pytest.raises(CodecError, match="unknown key id 'k1'"):
        await EncryptionCodec(PayloadKeys.parse(NEW)).decode([sealed])


async def test_tampered_data_or_a_swapped_key_id_fails_authentication() -> None:
    keys = PayloadKeys.parse(f"{NEW},{OLD}")
    codec = EncryptionCodec(keys)
    (sealed,) = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    swapped = Payload()
    swapped.CopyFrom(sealed)
    swapped.metadata[KEY_ID] = b"k1"
    for bad in (flipped, swapped):
        with pytest.raises(CodecError, match="fails authentication"):
            await codec.decode([bad])
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:20])
    with pytest.raises(CodecError, match="truncated"):
        await codec.decode([truncated])


async def test_payloads_that_were_never_encrypted_decode_as_they_are() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"old"')
    assert await EncryptionCodec(PayloadKeys.parse(NEW)).decode([plain]) == [plain]


async def test_failure_messages_are_sealed_too() -> None:
    converter = data_converter(PayloadKeys.parse(NEW))
    failure = Failure()
    await converter.encode_failure(ApplicationError("organization Lovelace Clinic exists"), failure)
    assert b"Lovelace" not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert "Lovelace Clinic" in str(decoded)


def test_without_keys_the_default_converter_is_used() -> None:
    from temporalio.converter import DataConverter

    assert data_converter(None) is DataConverter.default


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no keys"),
        ("k1", "is not `id:base64key`"),
        ("bad id:" + base64.b64encode(b"x" * 32).decode(), "is not `id:base64key`"),
        ("k1:not base64!", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
        (f"{NEW},{NEW}", "appears twice"),
    ],
)
def test_malformed_key_lists_are_refused_without_quoting_key_material(spec: str, problem: str) -> None:
    with pytest.raises(KeySpecError, match=problem) as caught:
        PayloadKeys.parse(spec)
    for part in spec.split(","):
        material = part.partition(":")[2]
        if material:
            assert material not in str(caught.value)


def test_the_first_key_is_current_and_keys_stay_out_of_repr() -> None:
    keys = PayloadKeys.parse(f"{NEW},{OLD}")
    assert keys.current == "k2"
    assert set(keys.keys) == {"k1", "k2"}
    assert NEW.partition(":")[2] not in repr(keys)
    assert dataclasses.replace(keys).current == "k2"
