"""The web front's own error pages: in the page's language, with the layout, without a stack trace; the API's
paths keep answering problem+json."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import g, render_template_string

from tests.web.conftest import text
from timebank import errors as domain_errors


@pytest.mark.parametrize(("language", "title"), [("nl", "Pagina niet gevonden"), ("en", "Page not found")])
def test_an_unknown_page_gets_our_404_in_the_browsers_language(client, language, title):
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    assert response.status_code == 404 and response.mimetype == "text/html"
    page = text(response)
    assert f"<h1>{title}</h1>" in page and 'class="site-header"' in page and f'<html lang="{language}">' in page


def test_a_wrong_method_gets_our_405_with_allow(client):
    response = client.get("/logout", headers={"Accept-Language": "en"})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "<h1>This does not work like that</h1>" in text(response)


def test_the_api_keeps_its_problems(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


@pytest.fixture
def failing_app(make_app):
    web_app = make_app()  # an app of its own: it gets routes of its own

    def boom():
        raise RuntimeError("secret internals")

    def refuse():
        raise domain_errors.Conflict("this listing is closed", status="closed")

    def database_down():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    web_app.add_url_rule("/test-boom", view_func=boom)
    web_app.add_url_rule("/test-refuse", view_func=refuse)
    web_app.add_url_rule("/test-database-down", view_func=database_down)
    return web_app


def test_an_unexpected_error_gets_an_apology_without_a_trace(failing_app, caplog):
    response = failing_app.test_client().get("/test-boom", headers={"Accept-Language": "en"})
    page = text(response)
    assert response.status_code == 500 and "<h1>Something went wrong on our side</h1>" in page
    assert "secret internals" not in page and "Traceback" not in page
    assert "secret internals" in caplog.text, "the trace is logged for us"


def test_an_uncaught_refusal_gets_its_text_and_changes_nothing(failing_app):
    response = failing_app.test_client().get("/test-refuse", headers={"Accept-Language": "en"})
    assert response.status_code == 409 and "<h1>This could not be done</h1>" in text(response)
    assert "Nothing was changed." in text(response)


def test_an_unreachable_database_gets_503_with_retry_after(failing_app):
    response = failing_app.test_client().get("/test-database-down", headers={"Accept-Language": "en"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "<h1>Not available for a moment</h1>" in text(response)


@pytest.mark.parametrize(
    ("zone", "language", "shown"),
    [("Europe/Amsterdam", "nl", "1 jul 2026 14:30"), ("America/New_York", "en", "Jul 1, 2026")],
)
def test_times_are_shown_in_the_communitys_time_zone(web_app, zone, language, shown):
    moment = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    with web_app.test_request_context("/", headers={"Accept-Language": language}):
        g.here = SimpleNamespace(community=SimpleNamespace(time_zone=zone))
        rendered = render_template_string("{{ moment | when }}", moment=moment)
    if zone == "America/New_York":
        assert rendered.endswith("08:30") and "Jul" in rendered
    else:
        assert rendered == shown


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (
            datetime(2026, 11, 29, 17, 0, tzinfo=UTC),
            datetime(2026, 11, 29, 20, 0, tzinfo=UTC),
            "29 nov 2026 18:00–21:00",
        ),
        (
            datetime(2026, 11, 29, 22, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
            "29 nov 2026 23:00 – 30 nov 2026 09:00",
        ),
    ],
)
def test_a_period_names_its_day_once_when_it_fits_in_one_day(web_app, start, end, shown):
    with web_app.test_request_context("/", headers={"Accept-Language": "nl"}):
        g.here = SimpleNamespace(community=SimpleNamespace(time_zone="Europe/Amsterdam"))
        assert render_template_string("{{ period(start, end) }}", start=start, end=end) == shown
