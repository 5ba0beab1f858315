"""The home page, logging in and out, and the health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from timebank import members
from timebank.schema import database_status
from timebank.web import sessions
from timebank.web.forms import LoginForm, LogoutForm

blueprint = Blueprint("web", __name__)


@blueprint.get("/")
def home() -> str:
    """What this service is, in plain words."""
    return render_template("home.html")


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
    g.pop("signed_in_person", None)
    return redirect(url_for("web.home"))


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
