"""The home page, logging in and out, the language switch and the health checks (/healthz, /readyz)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from timebank import members
from timebank.access import Actor
from timebank.messages import LANGUAGES
from timebank.schema import database_status
from timebank.web import sessions
from timebank.web.forms import LanguageForm, LoginForm, LogoutForm
from timebank.web.i18n import SESSION_LANGUAGE_KEY
from timebank.web.people import forget_signed_in_person, signed_in_person

blueprint = Blueprint("web", __name__)


@blueprint.get("/")
def home() -> str:
    """What this service is, in plain words; for a signed-in person, their communities."""
    return render_template("home.html")


@blueprint.post("/language")
def language() -> Response:
    """The language switch: for this visit, and as the signed-in person's setting."""
    chosen = request.form.get("language")
    if LanguageForm().validate_on_submit() and chosen in LANGUAGES:
        session[SESSION_LANGUAGE_KEY] = chosen
        if signed_in_person() is not None:
            actor = Actor.for_user(signed_in_person().user)
            current_app.extensions["timebank"].database.run(
                members.update_user_settings, actor=actor, preferred_language=chosen
            )
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to, or None: never another site (no scheme, no host, no "//")."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """Log in with email and password; throttled per email and per address, whether or not the account exists."""
    form = LoginForm()
    if not form.validate_on_submit():
        return _login_page(form, 200)
    email = form.email.data.strip().lower()
    address = request.remote_addr or "unknown"
    throttle = current_app.extensions["timebank_web"].login_throttle
    wait_seconds = throttle.retry_after_seconds(email=email, address=address)
    if wait_seconds is not None:
        response = _login_page(form, 429, too_many_attempts=True)
        response.headers["Retry-After"] = str(wait_seconds)
        return response
    database = current_app.extensions["timebank"].database
    user = database.run(members.authenticate, email=email, password=form.password.data)
    if user is None:
        throttle.record_failure(email=email, address=address)
        form.form_errors.append(_("The email address or the password is not right."))
        return _login_page(form, 200)
    throttle.forget_email(email)
    sessions.start_session(user_id=user.id, revoked=current_app.extensions["timebank_web"].revoked_sessions)
    forget_signed_in_person()
    return redirect(safe_next(request.args.get("next")) or _first_page(signed_in_person()))


def _first_page(person) -> str:
    """After logging in: the community's home for a member of one community, else the list of communities."""
    active = [b for b in person.memberships if b.membership.status == "active"]
    if len(active) == 1 and "member.home" in current_app.view_functions:
        return url_for("member.home", slug=active[0].community.slug)
    return url_for("web.home")


def _login_page(form: LoginForm, status: int, *, too_many_attempts: bool = False) -> Response:
    page = render_template("login.html", form=form, too_many_attempts=too_many_attempts)
    # The page holds the email typed and a CSRF token: no cache keeps it.
    return make_response(page, status, {"Cache-Control": "no-store"})


@blueprint.post("/logout")
def logout() -> Response:
    """Log out: the session ends here, and a copy of its cookie no longer signs anyone in."""
    if LogoutForm().validate_on_submit():
        sessions.end_session(revoked=current_app.extensions["timebank_web"].revoked_sessions)
    return redirect(url_for("web.home"))


@blueprint.get("/healthz")
def health() -> tuple[Response, int]:
    """Whether this instance can serve: the database answers and its schema is up to date (200), or not (503)."""
    status = database_status(current_app.extensions["timebank"].engine)
    body = {
        "status": "ok" if status.healthy else "degraded",
        "database": {"reachable": status.reachable, "schema": status.schema or "unknown"},
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if status.healthy else 503


READINESS_PROBLEMS = {
    "unreachable": "the database cannot be reached",
    "empty": "the database has no schema: run `timebank db upgrade`",
    "outdated": "the database's schema is older than the code: run `timebank db upgrade`",
    "ahead": "the database's schema is newer than the code: deploy the newer code",
}


@blueprint.get("/readyz")
def ready() -> tuple[Response, int]:
    """Whether a load balancer may send this instance requests: the database answers and its schema is the one the
    code expects (200), or not (503, saying which)."""
    status = database_status(current_app.extensions["timebank"].engine)
    database = {"reachable": status.reachable, "schema": status.schema or "unknown"}
    if status.healthy:
        body = {"status": "ready", "database": database}
    else:
        reason = "unreachable" if not status.reachable else str(status.schema)
        body = {"status": "not_ready", "reason": reason, "detail": READINESS_PROBLEMS[reason], "database": database}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if status.healthy else 503
