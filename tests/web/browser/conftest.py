"""Browser tests: the app served on a port of its own, driven by Playwright in Debian's Chromium.

Chromium is never downloaded (no `playwright install`): the tests use /usr/bin/chromium (or
TIMEBANK_CHROMIUM). Without it, or without Playwright, they are skipped with the reason, so `make test` passes on
a fresh laptop; under CI=true a missing browser is a failure, since CI must run them (`.ci/run` installs it).

Every page a journey visits goes through ``look_at``: axe-core finds no violations, and at 360 px wide the page
does not scroll sideways.
"""

from __future__ import annotations

import importlib.util
import os
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("TIMEBANK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
NARROW = {"width": 360, "height": 740}
TIMEOUT_MS = 15_000


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None or importlib.util.find_spec("axe_playwright_python") is None:
        return "Playwright and axe-playwright-python are not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set TIMEBANK_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def chromium():
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(web_app):
    """The test's app on a free port of 127.0.0.1, served by threads, for as long as the test runs."""
    server = make_server("127.0.0.1", 0, web_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def new_browser(chromium, live_server):
    """Open a browser window of its own (own cookies) on the live server; closed after the test."""
    contexts = []

    def open_window(language: str = "nl"):
        context = chromium.new_context(base_url=live_server, locale=language, viewport=NARROW)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_window
    for context in contexts:
        context.close()


class PageChecks:
    """axe-core on every page, and no sideways scrolling at 360 px; counts what it checked."""

    def __init__(self):
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.checked: list[str] = []

    def __call__(self, page) -> None:
        page.wait_for_load_state("load")
        results = self.axe.run(page)
        assert results.violations_count == 0, f"axe on {page.url}:\n{results.generate_report()}"
        page.set_viewport_size(NARROW)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"], f"{page.url} is {width} px wide at 360 px: it scrolls sideways"
        self.checked.append(page.url)


@pytest.fixture
def look_at(chromium):
    return PageChecks()


def log_in_as(page, email: str, password: str) -> None:
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state("load")
