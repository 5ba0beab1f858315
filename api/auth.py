"""Who is calling: ``Authorization: Bearer <token>`` — a member's personal token or a partner app's key.

A route says what it needs with ``@requires(...)``: any caller, or a partner key with a given scope, or a person
(partner keys refused). The decorator also writes the security requirement and the 401/403/429 answers into the
OpenAPI document.

Guessing tokens is throttled per address: a bearer token of the right form (``tb_m_…``/``tb_p_…``) that names no
live token counts as a failure (in the database, for every worker: timebank/web/throttle.py, kind "bearer"). After
``FAILED_TOKENS_PER_ADDRESS`` failures within the window, every bearer request from that address is answered 429
with Retry-After, without looking at the token, until the oldest failure leaves the window: a right token too, or
the answer would tell a guesser when it has guessed right. Malformed tokens can never be right and are refused at
once without counting; session cookies (the web front) are not affected.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request, session
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from api.problems import problem
from timebank import credentials
from timebank.credentials import Caller

REFUSAL_RESPONSES = {
    "401": {"$ref": "#/components/responses/UNAUTHORIZED"},
    "403": {"$ref": "#/components/responses/FORBIDDEN"},
    "429": {"$ref": "#/components/responses/TOO_MANY_REQUESTS"},
}
THROTTLE_EXTENSION = "timebank_api_token_throttle"
SECURITY_SCHEME = {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "tb_m_… or tb_p_… token"}}


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"
# Where the web front keeps the signed-in person in its (signed) session cookie.
SESSION_USER_KEY = "user_id"
# Set by the web front at login: the session ends when the password changes (credentials.authenticate_session_user).
SESSION_PASSWORD_KEY = "password_fingerprint"


def current_caller() -> Caller | None:
    """The caller of this request, authenticated once and remembered: a bearer token, or else the web front's
    session cookie (a write then needs the session's CSRF token in the X-CSRF-Token header)."""
    if "caller" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        database = current_app.extensions["timebank"].database
        caller = None
        if scheme.lower() == "bearer" and token.strip():
            caller = _bearer_caller(token.strip())
        elif not header and session.get(SESSION_USER_KEY) is not None and _csrf_satisfied():
            caller = database.read(
                credentials.authenticate_session_user,
                user_id=session[SESSION_USER_KEY],
                password_fingerprint=session.get(SESSION_PASSWORD_KEY),
            )
        g.caller = caller
    return g.caller


def token_throttle():
    """The app's count of wrong tokens per address, a ``LoginThrottle`` (made on first use; a test may put its own
    in place)."""
    # Imported here: the web front's package imports this module.
    from timebank.web.throttle import LoginThrottle

    extensions = current_app.extensions
    if THROTTLE_EXTENSION not in extensions:
        extensions[THROTTLE_EXTENSION] = LoginThrottle(extensions["timebank"].database)
    return extensions[THROTTLE_EXTENSION]


def _bearer_caller(token: str) -> Caller | None:
    from timebank.web.throttle import BEARER

    throttle, address = token_throttle(), request.remote_addr or "unknown"

    def check(*, session) -> tuple[int | None, Caller | None]:
        """The address's wait, or the token's caller: one read (one connection and transaction) for both."""
        wait = throttle.wait_seconds_in(session=session, kind=BEARER, key=address)
        if wait is not None:
            return wait, None
        return None, credentials.authenticate_bearer(session=session, token=token)

    g.token_wait_seconds, caller = current_app.extensions["timebank"].database.read(check)
    if g.token_wait_seconds is not None:
        return None
    if caller is None and credentials.is_well_formed(token):
        throttle.record(BEARER, address)
    return caller


def _csrf_satisfied() -> bool:
    if request.method in SAFE_METHODS:
        return True
    try:
        validate_csrf(request.headers.get(CSRF_HEADER, ""))
    except ValidationError:
        return False
    return True


def _refusal(caller: Caller | None, *, scope: str | None, people_only: bool):
    wait = g.get("token_wait_seconds")
    if caller is None and wait is not None:
        return problem(
            429,
            "too_many_requests",
            f"too many wrong tokens from your address; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
            retry_after_seconds=wait,
        )
    if caller is None:
        return problem(
            401,
            "unauthenticated",
            "send a valid token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="timebank"'},
        )
    if caller.scopes is None:
        return None
    if people_only:
        return problem(403, "not_allowed", "this operation is for members' personal tokens, not partner keys")
    if scope is not None and scope not in caller.scopes:
        return problem(403, "insufficient_scope", f"this partner key lacks the scope {scope}", required_scope=scope)
    if scope is None:
        return problem(403, "not_allowed", "partner keys cannot use this operation")
    return None


def requires(*, scope: str | None = None, people_only: bool = False):
    """Authenticate the caller; a partner key needs ``scope`` (and is refused where ``people_only``)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            refusal = _refusal(current_caller(), scope=scope, people_only=people_only)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        apidoc = getattr(wrapper, "_apidoc", {})
        manual = apidoc.get("manual_doc", {})
        responses = {**REFUSAL_RESPONSES, **manual.get("responses", {})}
        wrapper._apidoc = {
            **apidoc,
            "manual_doc": {**manual, "security": [{"bearerAuth": []}], "responses": responses},
        }
        wrapper._required_scope = scope
        wrapper._people_only = people_only
        return wrapper

    return decorate


def actor():
    """The acting ``timebank.access.Actor`` of this request (after ``requires``)."""
    return current_caller().actor
