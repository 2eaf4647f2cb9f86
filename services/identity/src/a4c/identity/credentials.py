"""How the identity service proves itself to Zitadel: a personal access token, or the JWT profile.

JWT profile: the service account's key file (``{type: serviceaccount, keyId, key, userId}``, as
Zitadel's console downloads it) signs a short RS256 assertion (kid = keyId, iss = sub = userId,
aud = the instance URL) that ``/oauth/v2/token`` exchanges for an access token. The token is cached
until shortly before it expires and dropped early when Zitadel rejects it. Neither the PAT, the key
nor a token ever appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from a4c.common.deadline import Deadline
from a4c.identity.zitadel_errors import UnexpectedResponse

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "openid urn:zitadel:iam:org:project:id:zitadel:aud"
ASSERTION_LIFETIME = 300  # seconds: the assertion is used once, right away
REFRESH_MARGIN = 60.0  # refresh this long before expiry (at most 10% of the token's lifetime)

# Posts the token-endpoint form within the caller's deadline and returns the JSON answer.
TokenRequest = Callable[[dict[str, str], Deadline], Awaitable[dict[str, Any]]]


class Credentials(Protocol):
    # Values to redact from logs; whether a rejected credential can be replaced by a fresh one.
    secrets: tuple[str, ...]
    refreshable: bool

    async def authorization(self, request_token: TokenRequest, deadline: Deadline) -> str:
        """The Authorization header value for the next call."""
        ...

    def rejected(self, header: str) -> None:
        """Zitadel answered 401 to ``header``: forget it if it was a cached token."""
        ...


class PersonalAccessToken:
    refreshable = False

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"
        self.secrets: tuple[str, ...] = (token,)

    def __repr__(self) -> str:
        return "PersonalAccessToken(<hidden>)"

    async def authorization(self, request_token: TokenRequest, deadline: Deadline) -> str:
        return self._header

    def rejected(self, header: str) -> None:
        return None  # a PAT cannot be refreshed; the 401 stands


class KeyFileError(ValueError):
    """The key file is missing or not a Zitadel service-account key; never quotes the key."""


@dataclass(frozen=True)
class ServiceAccountKey:
    key_id: str
    user_id: str
    private_key_pem: str = field(repr=False)

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccountKey:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
        except ValueError:
            raise KeyFileError(f"{path} is not JSON") from None
        if not isinstance(data, dict) or data.get("type") != "serviceaccount":
            raise KeyFileError(f"{path} is not a service-account key (type must be serviceaccount)")
        missing = [k for k in ("keyId", "key", "userId") if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            raise KeyFileError(f"{path} lacks {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(data["key"].encode(), password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path}: key is not a PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFileError(f"{path}: key is not an RSA key")
        return cls(data["keyId"], data["userId"], data["key"])


class JwtProfile:
    """Access tokens from a service-account key, cached per process (safe with several replicas)."""

    refreshable = True

    def __init__(
        self, key: ServiceAccountKey, audience: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._key = key
        self._audience = audience.rstrip("/")
        self._clock = clock
        self._header: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.secrets: tuple[str, ...] = (key.private_key_pem,)

    def __repr__(self) -> str:
        return f"JwtProfile(key_id={self._key.key_id!r}, user_id={self._key.user_id!r})"

    async def authorization(self, request_token: TokenRequest, deadline: Deadline) -> str:
        if self._header is not None and self._clock() < self._refresh_at:
            return self._header
        async with self._lock:  # concurrent calls share one exchange
            if self._header is None or self._clock() >= self._refresh_at:
                await self._exchange(request_token, deadline)
            assert self._header is not None
            return self._header

    def rejected(self, header: str) -> None:
        if header == self._header:
            self._header = None

    async def _exchange(self, request_token: TokenRequest, deadline: Deadline) -> None:
        form = {"grant_type": JWT_BEARER, "assertion": self._assertion(), "scope": SCOPE}
        answer = await request_token(form, deadline)
        token, lifetime = answer.get("access_token"), answer.get("expires_in", 3600)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            raise UnexpectedResponse("zitadel /oauth/v2/token: answer without access_token or expires_in")
        self._header = f"Bearer {token}"
        self._refresh_at = self._clock() + lifetime - min(REFRESH_MARGIN, lifetime * 0.1)

    def _assertion(self) -> str:
        now = int(time.time())  # JWT claims are wall-clock; the cache above uses the monotonic clock
        claims = {
            "iss": self._key.user_id,
            "sub": self._key.user_id,
            "aud": self._audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        return jwt.encode(
            claims, self._key.private_key_pem, algorithm="RS256", headers={"kid": self._key.key_id}
        )
