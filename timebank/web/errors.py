"""The web front's own error pages, in the page's language: not found, not allowed, refused, and our fault.

A refusal that a view did not catch (a listing that is closed, a page of someone else's exchange) becomes a page
with its translated text; nothing was changed. Unexpected errors are logged with their trace and shown as a short
apology without one.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, g, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from api.problems import WEB_ERROR_PAGES
from ledger import errors as ledger_errors
from timebank import errors as domain_errors
from timebank.web.refusals import refusal_text

logger = logging.getLogger("timebank.web")

STATUS_BY_REFUSAL = {"not_found": 404, "not_allowed": 403, "invalid_input": 400}


def init_error_pages(app: Flask) -> None:
    app.extensions[WEB_ERROR_PAGES] = error_page


def error_page(error: Exception):
    if isinstance(error, HTTPException):
        status = error.code or 500
        headers = {"Allow": ", ".join(error.valid_methods)} if status == 405 and error.valid_methods else {}
        return _page(status, None, headers)
    if isinstance(error, domain_errors.DomainError | ledger_errors.LedgerError):
        status = STATUS_BY_REFUSAL.get(error.code, 409)
        return _page(status, None if status in (403, 404) else refusal_text(error), {})
    if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
        return _page(503, None, {"Retry-After": "5"})
    logger.exception("unexpected error on %s %s", request.method, request.path)
    return _page(500, None, {})


def _texts(status: int) -> tuple[str, str]:
    if status == 404:
        return _("Page not found"), _("There is no page at this address, or it is not yours to see.")
    if status == 403:
        return _("Not for you"), _("This page is for coordinators or for the people it is about.")
    if status == 405:
        return _("This does not work like that"), _(
            "This address cannot be used like this. Go back and use the buttons on the page."
        )
    if status == 413:
        return _("Too much at once"), _("What you sent is too large. Send less at a time.")
    if status == 429:
        return _("Too many attempts"), _("Wait a little while and try again.")
    if status == 503:
        return _("Not available for a moment"), _(
            "The time bank cannot reach its records just now. Nothing was changed. Try again in a minute."
        )
    if status >= 500:
        return _("Something went wrong on our side"), _(
            "Nothing was changed. We have noted what happened; try again later."
        )
    return _("This could not be done"), _("Nothing was changed.")


def _page(status: int, refusal: str | None, headers: dict[str, str]):
    if status >= 500:
        g.setdefault("signed_in_person", None)  # the database may be the trouble: do not ask it who is signed in
    title, explanation = _texts(status)
    page = render_template("error.html", status=status, title=title, explanation=explanation, refusal=refusal)
    response = make_response(page, status)
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response
