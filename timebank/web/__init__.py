"""The web front for people: pages rendered on the server. Thin: each view calls one use case and renders it.

``init_web(app)`` binds it to the app: the pages, sessions that can be ended, CSRF on every form, security
headers, languages and the error pages it renders itself.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from timebank import notifications
from timebank.web.errors import init_error_pages
from timebank.web.i18n import init_i18n
from timebank.web.menu import community_menu, has_endpoint
from timebank.web.people import signed_in_person
from timebank.web.routes import blueprint
from timebank.web.security import init_security
from timebank.web.sessions import RevocableSessionInterface, RevokedSessions, raise_session_error
from timebank.web.throttle import LoginThrottle

EXTENSION_NAME = "timebank_web"
# The modules of pages, each with its ``blueprint``: for visitors, a member's, a coordinator's.
PAGE_MODULES = ("public", "profile", "member", "exchange_pages", "coordinator", "coordinator_reports")

__all__ = ["blueprint", "init_web"]


@dataclass(frozen=True)
class WebState:
    """The web front's shared state (``app.extensions["timebank_web"]``): both keep their rows in the database."""

    login_throttle: LoginThrottle
    revoked_sessions: RevokedSessions


def init_web(app: Flask) -> None:
    """Register the web front on ``app``."""
    lifetime = timedelta(minutes=app.config["SESSION_LIFETIME_MINUTES"])
    app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    database = app.extensions["timebank"].database
    revoked = RevokedSessions(database, lifetime_seconds=int(lifetime.total_seconds()))
    app.session_interface = RevocableSessionInterface(revoked)
    app.before_request_funcs.setdefault(None, []).insert(0, raise_session_error)
    app.extensions[EXTENSION_NAME] = WebState(login_throttle=LoginThrottle(database), revoked_sessions=revoked)
    init_security(app)
    init_i18n(app)
    init_error_pages(app)
    app.jinja_env.globals.update(
        signed_in_person=signed_in_person, community_menu=community_menu, has_endpoint=has_endpoint
    )
    app.register_blueprint(blueprint)
    for module in PAGE_MODULES:
        app.register_blueprint(importlib.import_module(f"timebank.web.{module}").blueprint)
    app.register_error_handler(CSRFError, _form_refused)
    if app.config["ENV"] == "development":
        _deliver_mail_at_once(app)


def _form_refused(error: CSRFError) -> tuple[str, int]:
    """A form without a valid CSRF token: nothing was changed; say so, and how to go on."""
    return render_template("form_refused.html"), 400


DEVELOPMENT_DELIVERY_ROUNDS = 50


def _deliver_mail_at_once(app: Flask) -> None:
    """In development there is no cron for `timebank tick`: after each form sent, the outbox is delivered at once
    (to the console, unless SMTP_HOST is set), so a forgotten-password link shows up while you wait."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    transport = notifications.transport_from_settings(app.config)

    @app.after_request
    def deliver(response):
        if request.method == "POST":
            database = app.extensions["timebank"].database
            for _ in range(DEVELOPMENT_DELIVERY_ROUNDS):  # everything due, older mail included (the demo's)
                if not notifications.deliver_due(database, now=None, transport=transport).emails_sent:
                    break
        return response
