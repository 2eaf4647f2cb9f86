"""Headless Chromium through Selenium with the distribution's chromium and chromedriver (never a
downloaded one: the Service names the driver, so Selenium Manager has nothing to fetch).

Selenium blocks; the console, provisioning and the emulators run on the test's event loop. Scenarios
are therefore plain functions of a `Browser` run in a thread (`await in_thread(scenario, ...)`), so
the loop keeps serving the pages the browser asks for.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WAIT_SECONDS = 30
# Set to a folder (docs/console) to write the screenshots there; otherwise they go to a temporary one,
# so a normal test run leaves the work tree as it was.
SCREENSHOTS = "A4C_CONSOLE_SCREENSHOTS"


@dataclass
class Browser:
    driver: webdriver.Chrome
    base_url: str
    screenshots: Path

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait(self, condition: object, seconds: float = WAIT_SECONDS) -> object:
        # A live update replaces the status panel: an element found a moment ago may be gone.
        wait = WebDriverWait(self.driver, seconds, ignored_exceptions=(StaleElementReferenceException,))
        return wait.until(condition)  # type: ignore[arg-type]

    def find(self, css: str) -> WebElement:
        found = self.wait(ec.presence_of_element_located((By.CSS_SELECTOR, css)))
        assert isinstance(found, WebElement)
        return found

    def click(self, css: str) -> None:
        """Click the element, finding it again if a live update replaced it in between."""

        def clicked(driver: webdriver.Chrome) -> bool:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return True

        self.wait(clicked)

    def text_is(self, css: str, text: str, seconds: float = WAIT_SECONDS) -> None:
        """Wait until the element's text is exactly ``text`` (re-finding it: live updates replace it)."""

        def matches(driver: webdriver.Chrome) -> bool:
            elements = driver.find_elements(By.CSS_SELECTOR, css)
            return bool(elements) and elements[0].text.strip() == text

        self.wait(matches, seconds)

    def sign_in(self, login_name: str, password: str) -> None:
        """Through the sandbox Zitadel's hosted login page, back to the console's list."""
        self.open("/")
        self.find("#loginName").send_keys(login_name)
        self.find("#password").send_keys(password)
        self.find("#submit-button").click()
        self.find("#operator")

    def screenshot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@contextlib.contextmanager
def chromium(base_url: str, width: int = 1280, height: int = 900) -> Iterator[Browser]:
    with tempfile.TemporaryDirectory(prefix="a4c-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            shots = os.environ.get(SCREENSHOTS)
            folder = Path(shots) if shots else Path(profile) / "screenshots"
            folder.mkdir(parents=True, exist_ok=True)
            yield Browser(driver, base_url, folder)
        finally:
            driver.quit()
