"""The menu of a community's pages, and the small helpers every template may use."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from timebank.web.pages import Here

MEMBER_MENU = (
    ("member.home", _l("Home")),
    ("member.listings", _l("Requests and offers")),
    ("exchange_pages.index", _l("My exchanges")),
    ("exchange_pages.pay", _l("Pay or claim")),
    ("exchange_pages.statement", _l("My statement")),
    ("profile.profile", _l("My profile")),
)
COORDINATOR_MENU = (("coord.index", _l("Coordinator")),)
OFFICER_MENU = (("coord_reports.safeguarding", _l("Safeguarding")),)


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def community_menu(place: Here) -> list[tuple[str, str]]:
    """The community menu's links for the person on this page: the member's pages, and a coordinator's."""
    entries = list(MEMBER_MENU) if place.membership is not None else []
    if place.is_coordinator:
        entries += COORDINATOR_MENU
    if place.is_safeguarding_officer or place.actor.is_administrator:
        entries += OFFICER_MENU
    return [(endpoint, str(label)) for endpoint, label in entries if has_endpoint(endpoint)]
