"""The console's pages over a real provisioning service: access, forms, actions, headers, errors."""

from __future__ import annotations

import re

import httpx
import pytest

from a4c.console.roles import Role
from a4c.devstack.timing import eventually

from .conftest import Stack
from .helpers import running_console

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self' http://"
)


def client(stack: Stack, role: Role = Role.OPERATE, login: str = "ada") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.console.url, cookies=stack.console.cookie(login, role), timeout=20
    )


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def form(**values: str) -> dict[str, str]:
    slug = values.get("slug", "acme")
    return {
        "name": f"Console {slug}",
        "slug": slug,
        "admin_email": f"ada@{slug}.example",
        "admin_given_name": "Ada",
        "admin_family_name": "Lovelace",
        **values,
    }


async def start(stack: Stack, http: httpx.AsyncClient, slug: str) -> str:
    page = await http.get("/organizations/new")
    reply = await http.post("/organizations", data={**form(slug=slug), "csrf": csrf(page.text)})
    assert reply.status_code == 303, reply.text
    location = reply.headers["location"]
    assert location.startswith("/organizations/")
    return location.rsplit("/", 1)[1]


async def test_a_visitor_is_sent_to_the_login_and_pages_carry_the_security_headers(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.console.url) as anonymous:
        reply = await anonymous.get("/?q=x")
        assert reply.status_code == 303
        assert reply.headers["location"] == "/login?next=/%3Fq%3Dx"
        assert reply.headers["content-security-policy"].startswith(CSP)
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["x-frame-options"] == "DENY"
        assert (await anonymous.get("/live/organizations?ids=")).status_code == 401


async def test_the_session_cookie_is_httponly_and_samesite(stack: Stack) -> None:
    async with client(stack) as http:
        reply = await http.get("/")
        assert reply.status_code == 200
        cookie = reply.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # this test console is local http://; production refuses that


async def test_a_bad_slug_comes_back_beside_its_field_and_nothing_starts(stack: Stack) -> None:
    async with client(stack) as http:
        page = await http.get("/organizations/new")
        reply = await http.post(
            "/organizations", data={**form(slug="9-bad", admin_email="nope"), "csrf": csrf(page.text)}
        )
        assert reply.status_code == 422
        assert re.search(r'id="slug-error">[^<]*letter', reply.text)
        assert 'id="admin_email-error"' in reply.text
        assert 'value="9-bad"' in reply.text  # what was typed stays


async def test_a_good_bootstrap_lands_on_its_page_and_records_the_operator_as_actor(stack: Stack) -> None:
    async with client(stack, login="ada@ops.example") as http:
        organization_id = await start(stack, http, "console-good")
        page = await http.get(f"/organizations/{organization_id}")
        assert page.status_code == 200
        assert "console-good.firstovertheline.com" in page.text
        assert f'data-live-events="/organizations/{organization_id}/live' in page.text

        seen: list[str] = []

        async def active() -> bool:
            seen.append((await http.get(f"/organizations/{organization_id}")).text)
            return re.search(r'id="subdomain-status">active<', seen[-1]) is not None

        await eventually(active, within=30)
        text = seen[-1]
        assert "ada@ops.example via console" in text  # the actor column of the audit trail
        listing = await http.get("/", params={"q": "console-go"})
        assert f'data-id="{organization_id}"' in listing.text
        assert (await http.get("/", params={"subdomain": "failed", "q": "console-go"})).text.count(
            "data-id="
        ) == 0


async def test_the_event_stream_resumes_after_the_last_event_id(stack: Stack) -> None:
    async with client(stack) as http:
        organization_id = await start(stack, http, "console-stream")
        ids = await read_stream(http, f"/organizations/{organization_id}/live", {})
        assert len(ids) > 3
        assert ids == sorted(ids)
        again = await read_stream(
            http, f"/organizations/{organization_id}/live", {"last-event-id": str(ids[2])}
        )
        assert again == ids[3:]


async def read_stream(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[int]:
    """The ids of every organization event until the stream's end event."""
    ids: list[int] = []
    async with http.stream("GET", url, headers=headers, timeout=60) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        async for line in reply.aiter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
            if line == "event: end":
                return ids
    raise AssertionError("the stream ended without its end event")


async def test_a_post_without_the_csrf_token_is_refused(stack: Stack) -> None:
    async with client(stack) as http:
        reply = await http.post("/organizations", data=form(slug="console-nocsrf"))
        assert reply.status_code == 403
        assert "security token" in reply.text
        reply = await http.post("/organizations", data={**form(slug="console-nocsrf"), "csrf": "forged"})
        assert reply.status_code == 403
    listing = await client(stack).get("/", params={"q": "console-nocsrf"})
    assert "data-id=" not in listing.text


async def test_a_read_only_operator_sees_no_actions_and_a_forged_post_is_refused(stack: Stack) -> None:
    async with client(stack) as operator:
        organization_id = await start(stack, operator, "console-readonly")
    async with client(stack, Role.READ, login="rita") as reader:
        page = await reader.get(f"/organizations/{organization_id}")
        assert page.status_code == 200
        for action in ('id="cancel"', 'id="retry-subdomain"', 'href="/organizations/new"'):
            assert action not in page.text
        assert (await reader.get("/organizations/new")).status_code == 403
        token = csrf(page.text)  # the reader's own, valid token: still not allowed
        for path, data in (
            ("/organizations", form(slug="console-forged")),
            (f"/organizations/{organization_id}/cancel", {}),
            (f"/organizations/{organization_id}/retry-subdomain", {}),
        ):
            reply = await reader.post(path, data={**data, "csrf": token})
            assert reply.status_code == 403, path
            assert "read-only" in reply.text


async def test_an_unreachable_provisioning_is_a_banner_not_a_trace(stack: Stack) -> None:
    values = {  # a console pointed at a closed port
        "A4C_CONSOLE_PORT": "0",
        "A4C_CONSOLE_PUBLIC_URL": "http://127.0.0.1:1",
        "A4C_CONSOLE_OIDC_ISSUER": stack.console.settings.oidc.issuer,
        "A4C_CONSOLE_OIDC_CLIENT_ID": "x",
        "A4C_CONSOLE_OIDC_PROJECT_ID": "1",
        "A4C_PROVISIONING_ADDRESS": "127.0.0.1:9",
        "A4C_PROVISIONING_TOKEN": "t" * 32,
        "A4C_CONSOLE_SESSION_KEY": stack.console.settings.session_key,
        "A4C_CONSOLE_SECURE_COOKIES": "false",
    }
    async with (
        running_console(values) as down,
        httpx.AsyncClient(base_url=down.url, cookies=down.cookie(), timeout=30) as http,
    ):
        reply = await http.get("/")
        assert reply.status_code == 503
        assert 'id="banner"' in reply.text
        assert "unreachable" in reply.text
        assert "Traceback" not in reply.text


async def test_the_login_redirect_asks_for_a_code_with_pkce_state_and_nonce(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.console.url) as anonymous:
        reply = await anonymous.get("/login", params={"next": "//evil.example/"})
        if reply.status_code == 502:
            pytest.fail("the sandbox Zitadel has no OIDC discovery yet: " + reply.text[:200])
        assert reply.status_code == 303
        location = httpx.URL(reply.headers["location"])
        query = dict(location.params)
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43
        assert query["state"]
        assert query["nonce"]
        assert query["redirect_uri"] == f"{stack.console.url}/auth/callback"
        # A callback whose state is not the one this browser was given is refused.
        wrong = await anonymous.get("/auth/callback", params={"code": "x", "state": "forged"})
        assert wrong.status_code == 400


async def test_an_operator_offboards_an_active_tenant_and_cancels_the_offboarding(stack: Stack) -> None:
    async with client(stack, login="olga") as http:
        organization_id = await start(stack, http, "console-offboard")
        page_url = f"/organizations/{organization_id}"

        async def offboardable() -> bool:
            return 'id="offboard"' in (await http.get(page_url)).text

        await eventually(offboardable, within=30)
        confirm = await http.get(f"{page_url}/offboard")
        assert confirm.status_code == 200
        assert 'id="reason"' in confirm.text
        done = await http.post(
            f"{page_url}/offboard", data={"csrf": csrf(confirm.text), "reason": "contract ended"}
        )
        assert (done.status_code, done.headers["location"]) == (303, page_url)
        pages: list[str] = []

        async def offboarding() -> bool:
            pages.append((await http.get(page_url)).text)
            return re.search(r'id="lifecycle-status">offboarding<', pages[-1]) is not None

        await eventually(offboarding, within=30)
        page = pages[-1]
        assert 'id="offboard"' not in page
        assert 'id="cancel-offboarding"' in page
        undo = await http.post(
            f"{page_url}/cancel-offboarding", data={"csrf": csrf(page), "reason": "signed again"}
        )
        assert undo.status_code == 303

        async def restored() -> bool:
            return re.search(r'id="lifecycle-status">active<', (await http.get(page_url)).text) is not None

        await eventually(restored, within=30)
        assert "olga via console" in (await http.get(page_url)).text
        listing = (await http.get("/", params={"q": "console-offboard"})).text
        assert 'data-field="lifecycle">active<' in listing
