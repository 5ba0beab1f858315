"""Languages: Dutch and English catalogs (Flask-Babel), chosen per request; hours as people read them; times in
the community's time zone."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, g, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale

from timebank.messages import LANGUAGES, hours_and_minutes
from timebank.web.people import signed_in_person

DEFAULT_LANGUAGE = "nl"
DEFAULT_TIME_ZONE = "Europe/Amsterdam"
# A visitor's choice from the language switch, kept in their session.
SESSION_LANGUAGE_KEY = "language"

babel = Babel()


def init_i18n(app: Flask) -> None:
    babel.init_app(
        app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language, timezone_selector=select_time_zone
    )
    app.add_template_filter(hours)
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_global(period)
    app.context_processor(lambda: {"current_language": current_language()})


def select_language() -> str:
    """The signed-in person's language, else the one chosen with the switch, else the browser's, else Dutch."""
    person = signed_in_person()
    if person is not None and person.user.preferred_language in LANGUAGES:
        return person.user.preferred_language
    if session.get(SESSION_LANGUAGE_KEY) in LANGUAGES:
        return session[SESSION_LANGUAGE_KEY]
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_time_zone() -> str:
    """The time zone of the community the page is about, else the signed-in person's first community's."""
    place = g.get("here")
    if place is not None:
        return place.community.time_zone
    person = signed_in_person()
    if person is not None and person.memberships:
        return person.memberships[0].community.time_zone
    return DEFAULT_TIME_ZONE


def current_language() -> str:
    """This request's language: "nl" or "en"."""
    return get_locale().language


def hours(minutes: int) -> str:
    """Whole minutes in this request's language: 150 → "2 u 30 min" (nl) or "2 h 30 min" (en)."""
    return hours_and_minutes(minutes, current_language())


def when(moment: datetime | None) -> str:
    """A moment in the community's time zone, in the page's language: "27 nov 2026 14:05"."""
    return "" if moment is None else format_datetime(moment, "d MMM yyyy HH:mm")


def day(value: date | datetime | None) -> str:
    """A date in the page's language: "27 nov 2026" (a moment is first put in the community's time zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "d MMM yyyy")
    return format_date(value, "d MMM yyyy")


def period(start: datetime, end: datetime) -> str:
    """From one moment to another, the day said once when both fall on the same day (in the community's time
    zone): "29 nov 2026 18:00–21:00", else "29 nov 2026 18:00 – 30 nov 2026 09:00"."""
    if format_datetime(start, "yyyy-MM-dd") == format_datetime(end, "yyyy-MM-dd"):
        return f"{when(start)}–{format_datetime(end, 'HH:mm')}"
    return f"{when(start)} – {when(end)}"
