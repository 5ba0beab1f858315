"""The pages for everyone in real Chromium: accessible (axe-core), no sideways scrolling at 360 px, and no
script needed to log in."""

from __future__ import annotations

import pytest

from tests.web.browser.conftest import log_in_as
from tests.world import PASSWORD


def test_the_pages_for_everyone_pass_axe_and_fit_a_phone(new_browser, look_at):
    page = new_browser()
    for path in ("/", "/login", "/no-such-page"):
        page.goto(path)
        look_at(page)
    assert len(look_at.checked) == 3


def test_logging_in_and_out_works_in_a_browser(new_browser, look_at, world):
    page = new_browser()
    log_in_as(page, world.ans.user.email, PASSWORD)
    look_at(page)
    assert page.get_by_text(f"Ingelogd als {world.ans.user.email}").is_visible()
    page.get_by_role("button", name="Uitloggen").click()
    assert page.get_by_role("link", name="Inloggen").first.is_visible()


def test_the_checks_catch_a_page_with_faults(new_browser, look_at):
    """The checks themselves can fail: an image without a text and a too-wide element are both caught."""
    page = new_browser()
    page.goto("/")
    page.set_content('<html lang="en"><title>t</title><main><img src="/static/none.png"></main></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        look_at(page)
    page.set_content('<html lang="en"><title>t</title><main><h1>Wide</h1><pre>' + "x" * 400 + "</pre></main></html>")
    with pytest.raises(AssertionError, match="scrolls sideways"):
        look_at(page)
