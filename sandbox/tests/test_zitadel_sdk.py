"""The official ``zitadel-client`` SDK against the emulator, unchanged: PAT and private-key auth.

The SDK is synchronous (urllib3/requests), so the emulator runs on a thread of its own.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from authlib.deprecate import AuthlibDeprecationWarning

from a4c.devstack.emulators import RunningZitadel, run_zitadel_in_thread

with warnings.catch_warnings():
    # The SDK imports authlib.jose, which announces its own deprecation; not ours to fix.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    import zitadel_client
    from zitadel_client import models as m
    from zitadel_client.exceptions import ApiError


@pytest.fixture(scope="module")
def server() -> Iterator[RunningZitadel]:
    with run_zitadel_in_thread() as running:
        yield running


@pytest.fixture
def zitadel(server: RunningZitadel) -> RunningZitadel:
    return server.reset()


def new_human(org_id: str, email: str) -> m.UserServiceAddHumanUserRequest:
    return m.UserServiceAddHumanUserRequest(
        organization=m.UserServiceOrganization(orgId=org_id),
        profile=m.UserServiceSetHumanProfile(givenName="Sam", familyName="Dev"),
        email=m.UserServiceSetHumanEmail(email=email, isVerified=True),
    )


def test_sdk_with_a_pat_creates_an_organization_and_a_user(zitadel: RunningZitadel) -> None:
    sdk = zitadel_client.Zitadel.with_access_token(zitadel.url, zitadel.pat)

    org = sdk.organizations.add_organization(
        m.OrganizationServiceAddOrganizationRequest(name="SDK Org", organizationId="sdk-org")
    )
    user = sdk.users.add_human_user(new_human("sdk-org", "sam@sdk.test"))
    read = sdk.users.get_user_by_id(m.UserServiceGetUserByIDRequest(userId=user.user_id))
    listed = sdk.organizations.list_organizations(
        m.OrganizationServiceListOrganizationsRequest(
            queries=[
                m.OrganizationServiceSearchQuery(
                    idQuery=m.OrganizationServiceOrganizationIDQuery(id="sdk-org")
                )
            ]
        )
    )

    assert org.organization_id == "sdk-org"
    assert read.user is not None
    assert read.user.details is not None
    assert read.user.details.resource_owner == "sdk-org"
    assert [o.name for o in listed.result or []] == ["SDK Org"]


def test_sdk_sees_zitadel_errors(zitadel: RunningZitadel) -> None:
    sdk = zitadel_client.Zitadel.with_access_token(zitadel.url, zitadel.pat)
    request = m.OrganizationServiceAddOrganizationRequest(name="Twice")
    sdk.organizations.add_organization(request)

    with pytest.raises(ApiError) as caught:
        sdk.organizations.add_organization(request)

    assert caught.value.code == 409
    assert caught.value.response_body["code"] == "already_exists"


def test_sdk_with_a_private_key_file_grants_an_authorization(zitadel: RunningZitadel, tmp_path: Path) -> None:
    key_file = zitadel.write_key_file(tmp_path / "key.json")
    sdk = zitadel_client.Zitadel.with_private_key(zitadel.url, str(key_file))

    sdk.organizations.add_organization(
        m.OrganizationServiceAddOrganizationRequest(name="Keyed", organizationId="keyed")
    )
    user = sdk.users.add_human_user(new_human("keyed", "kay@keyed.test"))
    sdk.projects.create_project_grant(
        m.ProjectServiceCreateProjectGrantRequest(
            projectId=zitadel.config.project_id, grantedOrganizationId="keyed", roleKeys=["provider_admin"]
        )
    )
    granted = sdk.authorizations.create_authorization(
        m.AuthorizationServiceCreateAuthorizationRequest(
            userId=user.user_id,
            projectId=zitadel.config.project_id,
            organizationId="keyed",
            roleKeys=["provider_admin"],
        )
    )

    assert granted.id
    assert zitadel.store.token_grants >= 1


def _failed_precondition(caught: pytest.ExceptionInfo[ApiError]) -> str:
    """Zitadel's FailedPrecondition as the SDK sees it (Connect paths: HTTP 400); its error id."""
    assert caught.value.code == 400
    body = caught.value.response_body
    assert body["code"] == "failed_precondition"
    return str(body["details"][0]["debug"]["id"])


def test_sdk_sees_failed_precondition_for_commands_on_missing_or_existing_objects(
    zitadel: RunningZitadel,
) -> None:
    sdk = zitadel_client.Zitadel.with_access_token(zitadel.url, zitadel.pat)
    sdk.organizations.add_organization(
        m.OrganizationServiceAddOrganizationRequest(name="Precondition Org", organizationId="pre-org")
    )
    first = new_human("pre-org", "first@pre.test")
    first.user_id = "pre-user"
    sdk.users.add_human_user(first)

    with pytest.raises(ApiError) as invite_missing:
        sdk.users.create_invite_code(
            m.UserServiceCreateInviteCodeRequest(userId="no-such-user", returnCode={})
        )
    again = new_human("pre-org", "again@pre.test")
    again.user_id = "pre-user"
    with pytest.raises(ApiError) as existing_id:
        sdk.users.add_human_user(again)
    with pytest.raises(ApiError) as unknown_org:
        sdk.users.add_human_user(new_human("no-such-org", "lost@pre.test"))

    assert _failed_precondition(invite_missing) == "COMMAND-Wgvn4"
    assert _failed_precondition(existing_id) == "COMMAND-7yiox1isql"
    assert _failed_precondition(unknown_org) == "COMMAND-QXPGs"


def test_sdk_invites_a_user_the_moment_it_exists_while_searches_still_lag(zitadel: RunningZitadel) -> None:
    zitadel.store.behaviour.search_lag_seconds = 60.0
    sdk = zitadel_client.Zitadel.with_access_token(zitadel.url, zitadel.pat)
    user = sdk.users.add_human_user(new_human(zitadel.config.platform_org_id, "fresh@sdk.test"))

    invited = sdk.users.create_invite_code(
        m.UserServiceCreateInviteCodeRequest(userId=user.user_id, returnCode={})
    )
    read = sdk.users.get_user_by_id(m.UserServiceGetUserByIDRequest(userId=user.user_id))
    searched = sdk.users.list_users(
        m.UserServiceListUsersRequest(
            queries=[
                m.UserServiceSearchQuery(inUserIdsQuery=m.UserServiceInUserIDQuery(userIds=[user.user_id]))
            ]
        )
    )

    assert invited.invite_code
    assert read.user is not None
    assert read.user.user_id == user.user_id
    assert not searched.result


def test_sdk_sets_and_lists_user_metadata_by_key_and_a_missing_user_is_a_failed_precondition(
    zitadel: RunningZitadel,
) -> None:
    sdk = zitadel_client.Zitadel.with_access_token(zitadel.url, zitadel.pat)
    user = sdk.users.add_human_user(new_human(zitadel.config.platform_org_id, "meta@sdk.test"))
    value = base64.b64encode(b"served").decode()

    def by_key(key: str) -> list[m.UserServiceMetadata]:
        key_filter = m.UserServiceMetadataKeyFilter(key=key, method="TEXT_FILTER_METHOD_EQUALS")
        listed = sdk.users.list_user_metadata(
            m.UserServiceListUserMetadataRequest(
                userId=user.user_id, filters=[m.UserServiceMetadataSearchFilter(keyFilter=key_filter)]
            )
        )
        return listed.metadata or []

    before = by_key("a4c.invitation.r1")
    answer = sdk.users.set_user_metadata(
        m.UserServiceSetUserMetadataRequest(
            userId=user.user_id,
            metadata=[
                m.UserServiceMetadata(key="a4c.invitation.r1", value=value),
                m.UserServiceMetadata(key="other", value=value),
            ],
        )
    )
    after = by_key("a4c.invitation.r1")
    with pytest.raises(ApiError) as missing:
        sdk.users.set_user_metadata(
            m.UserServiceSetUserMetadataRequest(
                userId="no-such-user", metadata=[m.UserServiceMetadata(key="k", value=value)]
            )
        )

    assert before == []
    assert answer.set_date is not None
    assert [(e.key, e.value) for e in after] == [("a4c.invitation.r1", value)]  # base64 on the wire
    assert _failed_precondition(missing) == "COMMAND-uXHNj"
