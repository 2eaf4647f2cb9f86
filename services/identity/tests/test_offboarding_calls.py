"""DeactivateOrganization and ReactivateOrganization (offboarding) against the sandbox Zitadel."""

from __future__ import annotations

import uuid

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2 as pb
from a4c.api.identity.v1.identity_pb2_grpc import IdentityServiceStub
from a4c.devstack.emulators import RunningZitadel

from .test_service import created_org


def _state(zitadel: RunningZitadel, org_id: str) -> str:
    with zitadel.store.read() as state:
        return state.orgs[org_id].state


async def test_deactivate_then_reactivate_each_change_the_state_once(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org_id = (await created_org(identity, name=f"Leaving {uuid.uuid4().hex[:6]}")).organization.id

    first = await identity.DeactivateOrganization(pb.DeactivateOrganizationRequest(organization_id=org_id))
    second = await identity.DeactivateOrganization(pb.DeactivateOrganizationRequest(organization_id=org_id))
    read = await identity.GetOrganization(pb.GetOrganizationRequest(organization_id=org_id))
    assert (first.changed, second.changed) == (True, False)
    assert _state(zitadel, org_id) == "INACTIVE"
    assert read.organization.state == "INACTIVE"

    back = await identity.ReactivateOrganization(pb.ReactivateOrganizationRequest(organization_id=org_id))
    again = await identity.ReactivateOrganization(pb.ReactivateOrganizationRequest(organization_id=org_id))
    assert (back.changed, again.changed) == (True, False)
    assert _state(zitadel, org_id) == "ACTIVE"

    await identity.DeactivateOrganization(pb.DeactivateOrganizationRequest(organization_id=org_id))
    deleted = await identity.DeleteOrganization(pb.DeleteOrganizationRequest(organization_id=org_id))
    assert deleted.deleted, "an inactive organization can still be deleted"


async def test_an_organization_a4c_did_not_create_is_not_found(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await identity.DeactivateOrganization(
            pb.DeactivateOrganizationRequest(organization_id=str(uuid.uuid4()))
        )
    with pytest.raises(grpc.aio.AioRpcError) as platform:
        await identity.DeactivateOrganization(
            pb.DeactivateOrganizationRequest(organization_id=zitadel.config.platform_org_id)
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert platform.value.code() == grpc.StatusCode.NOT_FOUND
    assert _state(zitadel, zitadel.config.platform_org_id) == "ACTIVE"
