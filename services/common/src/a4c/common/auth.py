"""Principals and scopes: who a credential is, and what each method needs.

A credential maps to one named principal holding scopes (``A4C_AUTH_PRINCIPALS``, the format in
:func:`parse_principals`). Each service declares, per method, the one scope a caller needs
(:class:`MethodScopes`); the server refuses to start when a method has none (fail closed) or when
a configured principal names a scope no method of the service uses (a typo would otherwise grant
nothing, or worse, be "fixed" by widening another principal).

Only SHA-256 digests of the tokens are kept, so the configuration may hold digests instead of the
tokens themselves (``sha256=<hex>``): a leaked config map then grants nothing. The principal of the
current call is in a context variable the auth interceptor sets (:func:`current_principal`): each
gRPC call runs in its own task, so it never leaks between calls.

**On behalf of**: a principal trusted to act for people (the console, ``A4C_AUTH_DELEGATES``) may
name the person in the ``a4c-on-behalf-of`` call metadata; :func:`current_actor` is then
``"<person> via <principal>"``, the actor a service records in events. Any other principal sending
that header is refused, and the name must pass :data:`ON_BEHALF_OF_NAME`, so nobody can slip free
text (or another principal's name alone) into the audit trail.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from a4c.common.env import SettingsError

MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_DIGEST = re.compile(r"^sha256=([0-9a-f]{64})$")
# A person's login name as an identity platform issues it (``alice``, ``alice@acme.example``): no
# spaces, quotes or control characters, bounded.
ON_BEHALF_OF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
ON_BEHALF_OF_HEADER = "a4c-on-behalf-of"


@dataclass(frozen=True)
class Principal:
    """A named caller and the scopes it holds."""

    name: str
    scopes: frozenset[str]
    # May name a person it acts for (the ``a4c-on-behalf-of`` header); A4C_AUTH_DELEGATES.
    delegates: bool = False

    def holds(self, scope: str) -> bool:
        return scope in self.scopes


# The principal of every call when authentication is off (local use only): it holds no scopes,
# and scope checks are skipped with authentication.
ANONYMOUS = Principal("anonymous", frozenset())

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("a4c_principal", default=None)
_on_behalf_of: contextvars.ContextVar[str | None] = contextvars.ContextVar("a4c_on_behalf_of", default=None)


def current_principal() -> Principal:
    """The principal of the call being served (ANONYMOUS with auth off or outside a call)."""
    return _current.get() or ANONYMOUS


def logged_name() -> str:
    """The current principal's name for the access log; "-" before authentication succeeded."""
    principal = _current.get()
    return principal.name if principal else "-"


def set_current_principal(principal: Principal, on_behalf_of: str | None = None) -> None:
    _current.set(principal)
    _on_behalf_of.set(on_behalf_of)


def current_actor() -> str:
    """Who caused the call, for the events it leads to: the principal's name, or ``"<person> via
    <principal>"`` when a delegating principal named the person it acts for."""
    principal = current_principal()
    person = _on_behalf_of.get()
    return f"{person} via {principal.name}" if person else principal.name


def on_behalf_of_problem(principal: Principal, name: str) -> str | None:
    """Why ``principal`` may not name ``name`` as the person it acts for; None when it may."""
    if not principal.delegates:
        return f"principal {principal.name!r} may not act on behalf of anyone"
    if not ON_BEHALF_OF_NAME.fullmatch(name):
        return f"{ON_BEHALF_OF_HEADER} must be a login name (letters, digits, . _ @ + -; at most 128)"
    return None


def with_delegates(
    credentials: Sequence[Credential], names: Iterable[str], setting: str
) -> tuple[Credential, ...]:
    """``credentials`` with the principals named in ``names`` marked as delegating; a name no
    credential has is a SettingsError (a typo would otherwise silently refuse the console)."""
    wanted = set(names)
    unknown = sorted(wanted - {c.principal.name for c in credentials})
    if unknown:
        raise SettingsError(setting, f"no principal named {', '.join(unknown)}")
    return tuple(
        Credential(replace(c.principal, delegates=True), c.digest) if c.principal.name in wanted else c
        for c in credentials
    )


def digest_of(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Credential:
    """One accepted bearer token (as its SHA-256) and the principal it stands for."""

    principal: Principal
    digest: bytes

    def __repr__(self) -> str:  # never the digest, even in a crash dump
        return f"Credential({self.principal.name}, scopes={sorted(self.principal.scopes)})"

    @classmethod
    def of(cls, name: str, scopes: Iterable[str], token: str) -> Credential:
        return cls(Principal(name, frozenset(scopes)), digest_of(token))


def parse_principals(text: str, setting: str) -> tuple[tuple[Credential, ...], tuple[str, ...]]:
    """Credentials from ``name:scope+scope:secret`` entries, separated by commas or new lines.

    ``secret`` is the bearer token itself (at least 16 characters) or ``sha256=<64 hex>`` of it;
    ``#`` starts a comment line (in a mounted file). Returns the credentials and the plain tokens
    (for log redaction). A bad entry is a SettingsError naming ``setting`` and the entry's position,
    never its secret.
    """
    credentials: list[Credential] = []
    tokens: list[str] = []
    entries = [
        e.strip() for line in text.splitlines() if not line.lstrip().startswith("#") for e in line.split(",")
    ]
    for position, entry in enumerate((e for e in entries if e), start=1):
        name, sep1, rest = entry.partition(":")
        scope_text, sep2, secret = rest.partition(":")
        where = f"entry {position}"
        if not (sep1 and sep2):
            raise SettingsError(setting, f"{where}: expected name:scope+scope:token")
        if not _NAME.match(name):
            raise SettingsError(setting, f"{where}: bad principal name (lowercase letters, digits, . _ -)")
        where = f"principal {name!r}"
        scopes = frozenset(s for s in scope_text.split("+") if s)
        bad = sorted(s for s in scopes if not _SCOPE.match(s))
        if not scopes or bad:
            raise SettingsError(setting, f"{where}: needs one or more scopes joined by '+'")
        matched = _DIGEST.match(secret)
        if matched:
            digest = bytes.fromhex(matched.group(1))
        elif len(secret) >= MIN_TOKEN_LENGTH and secret.isprintable() and " " not in secret:
            digest = digest_of(secret)
            tokens.append(secret)
        else:
            raise SettingsError(
                setting, f"{where}: token must be at least {MIN_TOKEN_LENGTH} characters or sha256=<hex>"
            )
        if any(c.principal.name == name for c in credentials):
            raise SettingsError(setting, f"{where} is listed twice")
        if any(hmac.compare_digest(c.digest, digest) for c in credentials):
            raise SettingsError(setting, f"{where} shares its token with another principal")
        credentials.append(Credential(Principal(name, scopes), digest))
    return tuple(credentials), tuple(tokens)


class Credentials:
    """Looks a presented token up among the configured credentials in constant time."""

    def __init__(self, credentials: Sequence[Credential]) -> None:
        self._credentials = tuple(credentials)

    def principal_of(self, token: str) -> Principal | None:
        presented = digest_of(token)
        found = None
        # Compare against every credential so the time taken does not reveal which one matched.
        for credential in self._credentials:
            if hmac.compare_digest(presented, credential.digest):
                found = credential.principal
        return found


class MethodScopes:
    """The scope each method of a service needs: ``MethodScopes({"GetRecord": "read", ...})``."""

    def __init__(self, scopes: Mapping[str, str]) -> None:
        self.by_method = dict(scopes)

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.by_method.values())


def check_configuration(
    credentials: Sequence[Credential],
    declared: Mapping[str, MethodScopes],
    methods: Mapping[str, Sequence[str]],
    setting: str,
) -> dict[str, str]:
    """The scope of every full method name (``/pkg.Service/Method``), after the start-up checks:
    each method of each service (``methods``: service -> its method names) has a declared scope,
    and every configured scope is one a method of this server needs."""
    needed: dict[str, str] = {}
    for service, names in methods.items():
        scopes = declared.get(service, MethodScopes({})).by_method
        missing = [n for n in names if n not in scopes]
        if missing:
            raise SettingsError(
                setting, f"{service}: no scope declared for {', '.join(missing)} (fail closed)"
            )
        needed |= {f"/{service}/{n}": scopes[n] for n in names}
    known = set(needed.values())
    for credential in credentials:
        unknown = sorted(credential.principal.scopes - known)
        if unknown:
            raise SettingsError(
                setting,
                f"principal {credential.principal.name!r}: unknown scope {', '.join(unknown)} "
                f"(this service's scopes: {', '.join(sorted(known))})",
            )
    return needed
