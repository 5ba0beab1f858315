"""Languages: Dutch and English catalogs (Flask-Babel), chosen per request, and hours as people read them."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale

from timebank.messages import LANGUAGES, hours_and_minutes
from timebank.web.people import signed_in_person

DEFAULT_LANGUAGE = "nl"

babel = Babel()


def init_i18n(app: Flask) -> None:
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_language)
    app.add_template_filter(hours)
    app.context_processor(lambda: {"current_language": current_language()})


def select_language() -> str:
    """The signed-in person's language, else the browser's best match of ours, else Dutch."""
    person = signed_in_person()
    if person is not None and person.user.preferred_language in LANGUAGES:
        return person.user.preferred_language
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """This request's language: "nl" or "en"."""
    return get_locale().language


def hours(minutes: int) -> str:
    """Whole minutes in this request's language: 150 → "2 u 30 min" (nl) or "2 h 30 min" (en)."""
    return hours_and_minutes(minutes, current_language())
