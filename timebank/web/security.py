"""What every answer carries for safety: security headers, CSRF on every form, no-store on personal pages."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import CSRFProtect

from api.auth import SESSION_USER_KEY

API_PATH = "/api/"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
# Environments served over plain http on one's own machine, where HSTS and Secure cookies would get in the way.
PLAIN_HTTP_ENVIRONMENTS = ("development", "testing")

csrf = CSRFProtect()


def init_security(app: Flask) -> None:
    """Cookies, CSRF and headers for the whole app; the API keeps its own CSRF rule for cookie calls."""
    app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] != "development"
    # Checked below for the pages only: under /api/ a bearer token is no cookie, and cookie calls carry the
    # token in X-CSRF-Token, which api.auth checks itself.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A token lives as long as the session it belongs to (renewed at login, revoked at logout), so a slow
    # typist's form does not expire after an hour.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf.init_app(app)
    app.before_request(_protect_forms)
    app.after_request(_add_headers)


def is_api_request() -> bool:
    """Whether this request is for the JSON API, which answers its own errors and checks its own CSRF."""
    return request.path.startswith(API_PATH)


def _protect_forms() -> None:
    if not is_api_request():
        csrf.protect()


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["ENV"] not in PLAIN_HTTP_ENVIRONMENTS:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if is_api_request():
        return response  # the API's reference page styles itself inline; JSON needs no CSP
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    # A signed-in person's page, or any page with a form token (the language switch puts one on every page): a
    # token belongs to one browser's session, so no cache may hand the page to another browser.
    if session.get(SESSION_USER_KEY) is not None or current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g:
        response.headers["Cache-Control"] = "no-store"
    return response
