"""The naming rules every boundary applies: tenant slugs, the reserved list, display names, emails.

One source of truth (issue 14): the provisioning service checks a request with these rules, the
worker re-checks its workflow input with them, the DNS service checks the label of every name it
is asked to write and the identity service every organization and person name and address. They
live in the kit because it is the one member all of those already import and it pulls in nothing
(the workflow contract would drag temporalio into the DNS and identity services).

Each ``*_problem`` function returns why a value is refused, phrased for an operator, or None.
Values are judged as given (no lowercasing or trimming): a slug becomes a DNS name and a URL, so a
silent rewrite would surprise the caller; callers that normalize (trim a name, lowercase an email
domain) do so before asking.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_MIN, SLUG_MAX = 3, 63
NAME_MAX = 200
PERSON_NAME_MAX = 200
EMAIL_MAX, EMAIL_LOCAL_MAX = 254, 64

# Labels no tenant may take, whatever a deployment configures (configuration may add, never remove).
# Each group is a class of name whose owner a user, a mail client or a certificate authority trusts
# more than a tenant's: taking one would let a tenant phish, receive mail or get certificates for
# the platform.
RESERVED_SLUGS: frozenset[str] = frozenset(
    {
        # the platform's own hosts: the application (every tenant's CNAME target), its API, status
        "www", "app", "api", "admin", "a4c", "api-a4c", "status", "support", "help", "docs", "console",
        "dashboard", "portal", "billing", "blog", "about",
        # mail and its discovery: clients and MTAs trust these names (autodiscover, autoconfig,
        # mta-sts policies, webmail logins)
        "mail", "email", "smtp", "imap", "pop", "pop3", "webmail", "mx", "autodiscover", "autoconfig",
        "mta-sts", "postmaster", "hostmaster", "abuse", "noreply", "no-reply",
        # name servers and other infrastructure
        "ns", "ns1", "ns2", "ns3", "ns4", "dns", "ftp", "sftp", "ssh", "vpn", "proxy", "gateway",
        "cdn", "static", "assets", "media", "files", "download", "downloads", "upload", "uploads",
        "img", "images", "internal", "intranet", "localhost", "root", "system",
        # identity: login pages are the phishing target issue 14 names
        "login", "logout", "signin", "signup", "register", "sso", "auth", "oauth", "oidc", "saml",
        "id", "idp", "identity", "account", "accounts", "password", "secure", "security", "zitadel",
        # environments and tooling: a tenant named like one would be mistaken for ours
        "dev", "development", "stage", "staging", "prod", "production", "test", "testing", "qa",
        "uat", "sandbox", "preview", "beta", "alpha", "canary", "local", "ci", "git",
        "grafana", "prometheus", "metrics", "monitoring", "temporal", "webhook", "webhooks",
    }
)  # fmt: skip

_SLUG_CHARS = re.compile(r"^[a-z0-9-]+$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_DOMAIN = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned code points, and
# line/paragraph separators: invisible or layout-changing characters have no place in a display name
# (CR/LF in one would inject headers into the invitation email).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def slug_problem(slug: str, reserved: frozenset[str] = RESERVED_SLUGS) -> str | None:
    """Why ``slug`` cannot be a tenant's subdomain label, or None when it can.

    ``reserved`` is the full list to refuse (callers pass ``RESERVED_SLUGS | configured``); an
    empty set checks the shape only, for looking up tenants that already exist.
    """
    if not slug:
        return "is required"
    if not slug.isascii():
        return "must contain only a-z, 0-9 and '-' (no accented, look-alike or other non-ASCII letters)"
    if slug != slug.lower():
        return "must be lowercase"
    if not _SLUG_CHARS.fullmatch(slug):
        return "must contain only a-z, 0-9 and '-'"
    if len(slug) < SLUG_MIN or len(slug) > SLUG_MAX:
        return f"must be {SLUG_MIN}-{SLUG_MAX} characters long, not {len(slug)}"
    if not slug[0].isalpha():
        return "must start with a letter"
    if slug.endswith("-"):
        return "must not end with '-'"
    if slug[2:4] == "--":
        return "must not have '--' at positions 3-4 (reserved for punycode names like xn--)"
    if slug in reserved:
        return "is reserved"
    return None


def has_invisible(value: str) -> bool:
    """Whether ``value`` holds a control, format or other invisible code point."""
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value)


def text_problem(value: str, limit: int = NAME_MAX) -> str | None:
    """Why ``value`` cannot be a display name (organization, given or family name), or None."""
    if not value:
        return "is required"
    if len(value) > limit:
        return f"must be at most {limit} characters, not {len(value)}"
    if has_invisible(value):
        return "must not contain control or invisible characters"
    return None


def email_problem(email: str) -> str | None:
    """Why ``email`` cannot be an admin's address, or None (ASCII local@domain.tld only)."""
    if not email:
        return "is required"
    if len(email) > EMAIL_MAX:
        return f"must be at most {EMAIL_MAX} characters"
    if not email.isascii():
        return "must be an ASCII address (local@domain.tld)"
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "must look like local@domain.tld"
    if len(local) > EMAIL_LOCAL_MAX:
        return f"local part must be at most {EMAIL_LOCAL_MAX} characters"
    if not _EMAIL_LOCAL.fullmatch(local):
        return "has an invalid local part (before the @)"
    if not _EMAIL_DOMAIN.fullmatch(domain):
        return "has an invalid domain (after the @)"
    return None


# A fully qualified host name: labels of 1-63 letters, digits and inner hyphens, a letters-only top
# label, 253 characters at most (RFC 1035 with RFC 1123's leading digits).
_HOST_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def host_name(value: str) -> str | None:
    """`value` as a lower-case host name without its trailing dot, or None when it is not one."""
    name = value.lower().rstrip(".")
    return name if _HOST_NAME.fullmatch(name) else None
