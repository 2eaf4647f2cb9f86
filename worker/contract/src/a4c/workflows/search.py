"""Search attributes the workflows keep current, so `temporal workflow list --query` finds them.

They must be registered on the namespace (the dev server's `--search-attribute NAME=Keyword`,
`temporal operator search-attribute create` in a cluster); `REGISTRATION` lists them for both.

Search attributes are indexed in clear (the payload codec does not touch them), so they must never
hold personal data: an organization id (UUID), the slug (the tenant's public subdomain label) and
status values, nothing about people.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

ORGANIZATION_ID = SearchAttributeKey.for_keyword("OrganizationId")
ORG_SLUG = SearchAttributeKey.for_keyword("OrgSlug")
BOOTSTRAP_STATUS = SearchAttributeKey.for_keyword("BootstrapStatus")
SUBDOMAIN_STATUS = SearchAttributeKey.for_keyword("SubdomainStatus")

KEYS = (ORGANIZATION_ID, ORG_SLUG, BOOTSTRAP_STATUS, SUBDOMAIN_STATUS)
# name → type, as `temporal server start-dev --search-attribute NAME=TYPE` wants them.
REGISTRATION = {key.name: "Keyword" for key in KEYS}


def initial(organization_id: str, slug: str, status: str) -> TypedSearchAttributes:
    """A bootstrap's attributes at its start (`status` a BootstrapState value)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(ORGANIZATION_ID, organization_id),
            SearchAttributePair(ORG_SLUG, slug),
            SearchAttributePair(BOOTSTRAP_STATUS, status),
        ]
    )
