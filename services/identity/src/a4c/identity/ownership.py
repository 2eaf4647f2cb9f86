"""Which organizations are A4C's: the ones it created, marked in Zitadel org metadata (issue 14).

The identity service reads, deletes and grants roles only in organizations A4C created; the
instance's own organization and any other tenant of Zitadel are someone else's, and the service
answers for them exactly as for an id that does not exist (NOT_FOUND: it does not reveal them).

The mark is the org metadata entry ``managed-by = a4c`` (SetOrgMetadata, v1 management in the org
itself), written right after AddOrganization. Zitadel documents org metadata as the place for
an application's own data about an org, it survives renames and domain changes (a name or domain
convention would not) and it is removed with the org; a recorded id set would be a second store to
keep in step. Reading it back is fresh (GetOrgMetadataByKey triggers its projection first).

The org and its mark are two writes, so a crash between them leaves an unmarked org of ours. It is
recognised on the next attempt of the same CreateOrganization by its first admin: that user's id is
derived from the org id (operations.admin_user_id) and only A4C's AddOrganization creates it.
"""

from __future__ import annotations

from a4c.common.deadline import Deadline
from a4c.identity.zitadel import ZitadelClient

MARK_KEY = "managed-by"
MARK_VALUE = b"a4c"


async def is_marked(client: ZitadelClient, org_id: str, deadline: Deadline) -> bool:
    return await client.get_org_metadata(org_id, MARK_KEY, deadline=deadline) == MARK_VALUE


async def mark(client: ZitadelClient, org_id: str, deadline: Deadline) -> None:
    await client.set_org_metadata(org_id, MARK_KEY, MARK_VALUE, deadline=deadline)
