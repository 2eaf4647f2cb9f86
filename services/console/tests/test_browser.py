"""The console in a real browser: headless Chromium signs in through the sandbox Zitadel and operates.

Each scenario runs in a thread (Selenium blocks; the servers it talks to run on the test's loop).
Conditions are awaited with WebDriverWait (the page) and `eventually` (provisioning), never slept on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.system import RunningService
from a4c.devstack.timing import eventually

from .browser import Browser, chromium
from .conftest import Stack


async def in_thread(scenario: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(scenario, *args)


def slug_for(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def fill_new_bootstrap(browser: Browser, slug: str) -> None:
    browser.open("/organizations/new")
    values = {
        "name": f"Browser {slug}",
        "slug": slug,
        "admin_email": f"ada@{slug}.example",
        "admin_given_name": "Ada",
        "admin_family_name": "Lovelace",
    }
    for field, value in values.items():
        browser.find(f"#{field}").send_keys(value)


@pytest.fixture
async def operator_stub(stack: Stack) -> AsyncIterator[provisioning_pb2_grpc.ProvisioningServiceStub]:
    """Provisioning as the operator principal (the CLI's), to set scenes up and check outcomes."""
    async with open_channel(stack.provisioning.address, token=stack.system.wiring.token) as channel:
        yield provisioning_pb2_grpc.ProvisioningServiceStub(channel)


async def organization(stub: provisioning_pb2_grpc.ProvisioningServiceStub, slug: str) -> pb.Organization:
    reply = await stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))
    return reply.organization


async def test_a_bad_slug_shows_the_field_error_beside_the_field(stack: Stack) -> None:
    def scenario() -> None:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            fill_new_bootstrap(browser, "9-bad-slug")
            browser.find("#start").click()
            error = browser.find("#slug-error")
            assert "letter" in error.text
            field = error.find_element(By.XPATH, "..")
            assert field.find_element(By.CSS_SELECTOR, "input").get_attribute("id") == "slug"
            assert browser.find("#slug").get_attribute("aria-describedby") == "slug-error"
            assert browser.find("#slug").get_attribute("value") == "9-bad-slug"

    await in_thread(scenario)


async def test_a_good_slug_goes_verifying_then_active_on_the_page_without_a_reload(stack: Stack) -> None:
    slug = slug_for("live")
    # The sandbox DNS publishes the record late enough that "verifying" is on screen for a while.
    stack.system.cloudflare.published.delay = 6.0

    def scenario() -> None:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            fill_new_bootstrap(browser, slug)
            browser.find("#start").click()
            browser.wait(lambda d: "/organizations/" in d.current_url and "/new" not in d.current_url)
            page = browser.find("main")  # a reload would make this element stale
            browser.text_is("#subdomain-status", "verifying")
            rows_while_verifying = len(browser.driver.find_elements(By.CSS_SELECTOR, "#events tr"))
            browser.text_is("#subdomain-status", "active", seconds=60)
            browser.text_is("#bootstrap-status", "completed")
            try:
                assert page.is_displayed()
            except StaleElementReferenceException:
                pytest.fail("the page reloaded: the status must change live")
            assert len(browser.driver.find_elements(By.CSS_SELECTOR, "#events tr")) > rows_while_verifying
            assert browser.find("#fqdn").text == f"{slug}.firstovertheline.com"
            browser.screenshot("organization")

    try:
        await in_thread(scenario)
    finally:
        stack.system.cloudflare.reset()


async def test_an_operator_cancels_a_running_bootstrap(
    stack: Stack, operator_stub: provisioning_pb2_grpc.ProvisioningServiceStub
) -> None:
    slug = slug_for("cancel")
    # A slow role grant (8 s, within the console stack's 15 s attempts): the bootstrap runs long enough to
    # be cancelled from the page once its organization and subdomain exist, so the compensation has
    # something to undo, and before the invitation (the point of no return: a cancel then is refused).
    rules = [
        {
            "kind": "latency",
            "method": "POST",
            "path": "/management/v1/users/*/grants",
            "seconds": 8,
            "count": 1,
        }
    ]

    def scenario() -> None:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            stack.system.zitadel.faults.configure({"faults": rules})
            fill_new_bootstrap(browser, slug)
            browser.find("#start").click()
            # The subdomain has started (step 3): the bootstrap is in its slow grant or invitation now.
            browser.wait(lambda d: d.find_element(By.ID, "subdomain-status").text != "pending")
            browser.click("#cancel")
            browser.find("#reason").send_keys("tenant withdrew")
            browser.find("#confirm").click()
            browser.text_is("#bootstrap-status", "cancelled", seconds=60)
            assert "#cancel" not in browser.driver.page_source

    try:
        await in_thread(scenario)
    finally:
        stack.system.zitadel.faults.clear()
    found = await organization(operator_stub, slug)
    assert found.bootstrap_status == pb.BOOTSTRAP_STATUS_CANCELLED


async def test_an_operator_retries_a_failed_subdomain(
    stack: Stack, impatient: RunningService, operator_stub: provisioning_pb2_grpc.ProvisioningServiceStub
) -> None:
    slug = slug_for("retry")
    # Cloudflare refuses every record creation and the impatient worker gives up at once: the
    # subdomain fails, the bootstrap completes. Then the operator retries it from the console.
    stack.system.cloudflare.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 503, "method": "POST", "path": "*/dns_records", "count": 1000}
            ]
        }
    )
    try:
        async with open_channel(impatient.address, token=stack.system.wiring.token) as channel:
            hasty = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            admin = pb.Admin(email=f"ada@{slug}.example", given_name="Ada", family_name="Lovelace")
            started = await hasty.BootstrapOrganization(
                pb.BootstrapOrganizationRequest(name=f"Retry {slug}", slug=slug, admin=admin)
            )

            async def failed() -> bool:
                found = await organization(operator_stub, slug)
                return (found.bootstrap_status, found.subdomain_status) == (
                    pb.BOOTSTRAP_STATUS_COMPLETED,
                    pb.SUBDOMAIN_STATUS_FAILED,
                )

            await eventually(failed, within=60)
    finally:
        stack.system.cloudflare.reset()

    def scenario() -> None:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            browser.open(f"/organizations/{started.organization_id}")
            browser.text_is("#subdomain-status", "failed")
            browser.click("#retry-subdomain")
            browser.find("#confirm").click()
            browser.text_is("#subdomain-status", "active", seconds=60)

    await in_thread(scenario)
    assert (await organization(operator_stub, slug)).subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE


async def test_a_read_only_operator_sees_no_actions_and_a_forged_post_is_refused(
    stack: Stack, operator_stub: provisioning_pb2_grpc.ProvisioningServiceStub
) -> None:
    slug = slug_for("readonly")
    admin = pb.Admin(email=f"ada@{slug}.example", given_name="Ada", family_name="Lovelace")
    started = await operator_stub.BootstrapOrganization(
        pb.BootstrapOrganizationRequest(name=f"Read {slug}", slug=slug, admin=admin)
    )

    def scenario() -> str:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.read.login_name, stack.login.read.password)
            assert "read-only" in browser.find(".who").text
            assert not browser.driver.find_elements(By.CSS_SELECTOR, 'a[href="/organizations/new"]')
            browser.open(f"/organizations/{started.organization_id}")
            browser.find("#bootstrap-status")
            for action in ("#cancel", "#retry-subdomain", "#actions"):
                assert not browser.driver.find_elements(By.CSS_SELECTOR, action), action
            # A form the page never offered, with the reader's own valid CSRF token.
            browser.driver.execute_script(
                """const form = document.createElement("form");
                form.method = "post"; form.action = arguments[0];
                const token = document.querySelector('input[name="csrf"]').cloneNode();
                form.appendChild(token); document.body.appendChild(form); form.submit();""",
                f"/organizations/{started.organization_id}/cancel",
            )
            problem = browser.find("#problem")
            return str(problem.text)

    assert "read-only" in await in_thread(scenario)
    found = await organization(operator_stub, slug)
    assert found.bootstrap_status != pb.BOOTSTRAP_STATUS_CANCELLED


async def test_a_post_without_the_csrf_token_is_refused(
    stack: Stack, operator_stub: provisioning_pb2_grpc.ProvisioningServiceStub
) -> None:
    slug = slug_for("nocsrf")

    def scenario() -> str:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            fill_new_bootstrap(browser, slug)
            browser.driver.execute_script('document.querySelector("form.stacked input[name=csrf]").remove()')
            browser.find("#start").click()
            return str(browser.find("#problem").text)

    assert "security token" in await in_thread(scenario)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await organization(operator_stub, slug)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_every_status_reads_as_text_at_laptop_and_phone_width_then_sign_out(
    stack: Stack, operator_stub: provisioning_pb2_grpc.ProvisioningServiceStub
) -> None:
    slug = slug_for("listed")  # at least one row, whichever scenarios ran before
    admin = pb.Admin(email=f"ada@{slug}.example", given_name="Ada", family_name="Lovelace")
    await operator_stub.BootstrapOrganization(
        pb.BootstrapOrganizationRequest(name=f"Listed {slug}", slug=slug, admin=admin)
    )

    def scenario() -> None:
        with chromium(stack.console.url) as browser:
            browser.sign_in(stack.login.operate.login_name, stack.login.operate.password)
            rows = browser.driver.find_elements(By.CSS_SELECTOR, "#organizations tbody tr")
            assert rows, "the organizations are listed"
            for row in rows:
                badges = row.find_elements(By.CSS_SELECTOR, ".badge")
                assert len(badges) == 3  # bootstrap, subdomain, tenant lifecycle
                assert all(b.text.strip() for b in badges), "a status shown by colour alone"
            browser.screenshot("organizations")
            browser.open("/?subdomain=active")
            assert all(
                b.text == "active"
                for b in browser.driver.find_elements(By.CSS_SELECTOR, '[data-field="subdomain"]')
            )
            browser.driver.set_window_size(390, 844)
            browser.open("/")
            browser.screenshot("organizations-phone")
            # Signing out goes through the identity platform's end_session and back; the session is gone.
            browser.find(".who button").click()
            browser.find("#sign-in")
            browser.open("/")
            browser.find("#loginName")

    await in_thread(scenario)
