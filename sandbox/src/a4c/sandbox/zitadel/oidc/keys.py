"""The instance's ID-token signing key and its JWKS (``GET /oauth/v2/keys``).

One RSA key, made on first use and kept in the state (so ID tokens from before a restart still
verify); tokens are signed RS256 with PyJWT, the key published with its ``kid`` as a JWK by PyJWT.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from a4c.sandbox.zitadel.model import SigningKey
from a4c.sandbox.zitadel.store import Store

ALGORITHM = "RS256"


def signing_key(store: Store) -> SigningKey:
    with store.read() as state:
        if state.signing_keys:
            return next(iter(state.signing_keys.values()))
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with store.write() as state:
        if not state.signing_keys:  # another request may have made one meanwhile
            key = SigningKey(store.new_id(), pem, store.now())
            state.signing_keys[key.key_id] = key
        return next(iter(state.signing_keys.values()))


def sign(store: Store, claims: dict[str, Any]) -> str:
    key = signing_key(store)
    return jwt.encode(claims, key.private_key_pem, algorithm=ALGORITHM, headers={"kid": key.key_id})


def public_keys(store: Store) -> dict[str, Any]:
    """The JWK Set: every signing key's public half, ``use: sig``, ``alg: RS256``."""
    signing_key(store)
    with store.read() as state:
        keys = list(state.signing_keys.values())
    jwks = []
    for key in keys:
        private = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            continue
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwks.append({**jwk, "use": "sig", "alg": ALGORITHM, "kid": key.key_id})
    return {"keys": jwks}


def verify_own(store: Store, token: str) -> dict[str, Any] | None:
    """The claims of an ID token this instance signed (expired ones too: an id_token_hint), or None."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    with store.read() as state:
        key = state.signing_keys.get(str(kid))
    if key is None:
        return None
    private = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            private.public_key(),
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.InvalidTokenError:
        return None
    return claims
