"""The layout every page shares: language, skip link, header and nav, one small stylesheet of our own."""

from __future__ import annotations

from tests.web.conftest import log_in

STYLESHEET_MAX_BYTES = 8 * 1024


def test_every_page_has_a_viewport_a_skip_link_to_the_content_and_one_stylesheet(client):
    for path in ("/", "/login"):
        page = client.get(path).get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert page.index('class="skip-link" href="#content"') < page.index("<header")
        assert 'id="content"' in page and "<main>" in page
        assert page.count('rel="stylesheet"') == 1 and 'href="/static/style.css"' in page


def test_a_visitor_sees_log_in_and_a_member_sees_log_out(client, world):
    visitor = client.get("/").get_data(as_text=True)
    assert '<nav aria-label="Account">' in visitor and 'href="/login">Inloggen<' in visitor
    assert "Uitloggen" not in visitor
    log_in(client, world.ans.user.email)
    member = client.get("/").get_data(as_text=True)
    assert 'action="/logout"' in member and "Uitloggen" in member and 'href="/login"' not in member


def test_the_stylesheet_is_small_has_visible_focus_and_no_imports(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    stylesheet = response.get_data(as_text=True)
    response.close()
    assert len(stylesheet.encode()) <= STYLESHEET_MAX_BYTES
    assert ":focus-visible" in stylesheet and "outline:" in stylesheet
    assert "@import" not in stylesheet and "url(" not in stylesheet
