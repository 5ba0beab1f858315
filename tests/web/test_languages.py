"""Dutch and English: chosen from the person's setting, else the browser, else Dutch; catalogs complete and
compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import render_template_string

from tests.web.conftest import log_in
from timebank import members

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "timebank" / "translations"
LANGUAGES = ("nl", "en")


def _lang(response) -> str:
    page = response.get_data(as_text=True)
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        (None, "nl"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("fr, de", "nl"),
    ],
)
def test_a_visitor_gets_the_browsers_language_else_dutch(client, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    assert _lang(client.get("/", headers=headers)) == expected


def test_the_home_page_says_what_the_service_is_in_both_languages(client):
    dutch = client.get("/", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Een tijdbank waar buren elkaar helpen en betalen in tijd." in dutch and 'href="/login">Inloggen<' in dutch
    assert "A time bank where neighbours exchange help paid in time." in english and 'href="/login">Log in<' in english


def test_a_logged_in_person_gets_their_own_language_whatever_the_browser_says(client, world):
    world.db.run(members.update_user_settings, actor=world.bert.actor, preferred_language="en")
    log_in(client, world.bert.user.email, headers={"Accept-Language": "nl"})
    page = client.get("/", headers={"Accept-Language": "nl"})
    assert _lang(page) == "en" and f"Logged in as {world.bert.user.email}" in page.get_data(as_text=True)
    log_in(client, world.ans.user.email, headers={"Accept-Language": "en"})  # Ans keeps the default, Dutch
    assert _lang(client.get("/", headers={"Accept-Language": "en"})) == "nl"


@pytest.mark.parametrize(
    ("accept_language", "minutes", "shown"),
    [("nl", 150, "2 u 30 min"), ("en", 150, "2 h 30 min"), ("nl", 45, "45 min"), ("en", -75, "-1 h 15 min")],
)
def test_hours_are_shown_in_hours_and_minutes_in_the_pages_language(web_app, accept_language, minutes, shown):
    with web_app.test_request_context("/", headers={"Accept-Language": accept_language}):
        assert render_template_string("{{ minutes | hours }}", minutes=minutes) == shown


def _catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=language)


def _source_message_ids() -> set[str]:
    with open(ROOT / "babel.cfg") as file:
        method_map, options_map = parse_mapping_cfg(file)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2), "_n": (1, 2)}
    found = extract_from_dir(ROOT, method_map, options_map, keywords=keywords)
    # A plural's id is its singular form, as in the catalogs.
    return {message[0] if isinstance(message, tuple) else message for _, _, message, _, _ in found}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_of_the_pages_is_translated(language):
    catalog = _catalog(language)
    ids = {_singular(message.id) for message in catalog if message.id}
    from_sources = _source_message_ids()
    assert {"Log in", "Email address", "The form was not accepted"} <= from_sources, "the extraction finds the texts"
    missing_from_catalog = from_sources - ids
    assert not missing_from_catalog, f"run the pybabel commands in babel.cfg; not in {language}: {missing_from_catalog}"
    untranslated = [
        message.id for message in catalog if message.id and (not all(_forms(message.string)) or message.fuzzy)
    ]
    assert not untranslated, f"untranslated or fuzzy in {language}: {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_agrees_with_its_source(language):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as file:
        compiled = {_hashable(message.id): _hashable(message.string) for message in read_mo(file) if message.id}
    source = {_hashable(message.id): _hashable(message.string) for message in _catalog(language) if message.id}
    assert compiled == source, "run: .venv/bin/pybabel compile -d timebank/translations"


def _hashable(text):
    """A plural entry's id and translations are lists (singular and plural forms): compare them as tuples."""
    return tuple(text) if isinstance(text, list | tuple) else text


def _singular(message_id):
    return message_id[0] if isinstance(message_id, list | tuple) else message_id


def _forms(translation) -> tuple:
    """A translation's forms: one, or one per plural form (each must be filled in)."""
    return tuple(translation) if isinstance(translation, list | tuple) else (translation,)
