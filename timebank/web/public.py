"""Pages for everyone: what a time bank is and how to join, applying, where an application stands, and a
forgotten password.

A visitor who applies gets an account and an application in one use case (both or neither) and is signed in;
a signed-in person just applies. A forgotten password is answered the same whether or not the address has an
account; for one that has, a link goes out through the outbox. The link is signed with the app's secret key,
lasts an hour and carries a fingerprint of the password it replaces, so it works once.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from timebank import communities, errors, members, passwords
from timebank.access import Actor
from timebank.models import Community, MembershipStatus
from timebank.web import sessions
from timebank.web.forms import email_field, new_password_fields
from timebank.web.i18n import current_language
from timebank.web.pages import REFUSALS, done, login_required, read, refuse, run
from timebank.web.people import forget_signed_in_person, signed_in_person

blueprint = Blueprint("public", __name__)

RESET_SALT = "timebank.password-reset"
RESET_LINK_SECONDS = 60 * 60
RESET_TOKEN_MAX_LENGTH = 400
NAME_MAX_LENGTH, NEIGHBOURHOOD_MAX_LENGTH, NOTE_MAX_LENGTH = 80, 80, 1000


@blueprint.context_processor
def _password_rules() -> dict:
    return {"min_password_length": passwords.MIN_LENGTH}


@blueprint.after_request
def _not_stored(response: Response) -> Response:
    # Every page here holds a CSRF token (the language switch at least), what was typed, or a password link.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- forms --------------------------------------------------------------------------------------------------


class ApplyForm(FlaskForm):
    """Applying to join, for a signed-in person: how they are called, where they live, what they like to do."""

    display_name = StringField(
        _l("Your name"),
        validators=[
            InputRequired(message=_l("Fill in your name.")),
            Length(max=NAME_MAX_LENGTH, message=_l("A name is at most 80 characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    neighbourhood = StringField(
        _l("Your neighbourhood"),
        validators=[Length(max=NEIGHBOURHOOD_MAX_LENGTH, message=_l("A neighbourhood is at most 80 characters."))],
    )
    note = TextAreaField(
        _l("What do you like to do?"),
        validators=[Length(max=NOTE_MAX_LENGTH, message=_l("Write at most 1000 characters here."))],
        render_kw={"rows": 4},
    )
    agree_rules = BooleanField(
        _l("I agree to the rules of this time bank."),
        validators=[DataRequired(message=_l("Tick the box to agree to the rules."))],
    )


class NewcomerForm(ApplyForm):
    """Applying to join for a visitor: also an email address and a password for the new account."""

    email = email_field()
    password, password_again = new_password_fields(label=_l("Choose a password"))


class ForgottenPasswordForm(FlaskForm):
    email = email_field()


class NewPasswordForm(FlaskForm):
    password, password_again = new_password_fields()


# --- joining ------------------------------------------------------------------------------------------------


@blueprint.get("/join")
def join() -> str:
    """What a time bank is, how joining works, and the time banks one can apply to."""
    search = request.args.get("search", "")[:120]
    try:
        open_communities = read(communities.communities_to_join, with_actor=False, search=search)
    except errors.InvalidInput:
        open_communities, search = [], ""
    person = signed_in_person()
    statuses = {}
    if person is not None:
        statuses = {b.community.slug: b.membership.status for b in person.memberships}
    return render_template(
        "public/join.html",
        communities=open_communities,
        statuses=statuses,
        search=search,
        maybe_more=len(open_communities) >= communities.MAX_OPEN_COMMUNITIES,
    )


@blueprint.route("/c/<slug>/apply", methods=["GET", "POST"])
def apply(slug: str) -> Response | str:
    """Apply to join a time bank: a visitor makes an account at the same time; a signed-in person just applies."""
    community = _community_or_404(slug)
    person = signed_in_person()
    belonging = person.in_community(slug) if person is not None else None
    declined = belonging is not None and belonging.membership.status == MembershipStatus.DECLINED.value
    if request.method == "GET" and belonging is not None and not declined:
        return redirect(url_for("public.membership_status", slug=slug))
    form = ApplyForm() if person is not None else NewcomerForm()
    if request.method == "GET" and person is not None:
        _fill_in_what_we_know(form, person, belonging)
    if not form.validate_on_submit():
        return _apply_page(form, community)
    details = {
        "community_id": community.id,
        "display_name": form.display_name.data,
        "neighbourhood": form.neighbourhood.data or "",
        "note": form.note.data or "",
    }
    try:
        if person is not None:
            membership = run(members.apply_to_join, with_actor=False, actor=Actor.for_user(person.user), **details)
        else:
            membership = run(
                members.register_and_apply,
                with_actor=False,
                email=form.email.data,
                password=form.password.data,
                preferred_language=current_language(),
                **details,
            )
    except errors.EmailTaken:
        form.email.errors = [*form.email.errors, _("There is already an account with this email address.")]
        return _apply_page(form, community, email_taken=True)
    except errors.AlreadyMember:
        return _apply_page(form, community, already_member=True)
    except REFUSALS as error:
        refuse(form, error)
        return _apply_page(form, community)
    if person is None:
        sessions.start_session(
            user_id=membership.user_id, revoked=current_app.extensions["timebank_web"].revoked_sessions
        )
        forget_signed_in_person()
    if membership.status == MembershipStatus.ACTIVE.value:
        return done(_("Welcome to %(community)s!", community=community.name), "member.home", slug=slug)
    return done(_("Your application was sent."), "public.membership_status", slug=slug)


def _community_or_404(slug: str) -> Community:
    try:
        return read(communities.community_by_slug, with_actor=False, slug=slug)
    except errors.NotFound:
        abort(404)


def _fill_in_what_we_know(form: ApplyForm, person, belonging) -> None:
    """A declined applicant's earlier answers, else the name they use in another time bank."""
    if belonging is not None:
        form.display_name.data = belonging.membership.display_name
        form.neighbourhood.data = belonging.membership.neighbourhood
        form.note.data = belonging.membership.application_note
    elif person.memberships:
        form.display_name.data = person.memberships[-1].membership.display_name


def _apply_page(form: ApplyForm, community: Community, **flags) -> str:
    newcomer = isinstance(form, NewcomerForm)
    return render_template("public/apply.html", form=form, community=community, newcomer=newcomer, **flags)


@blueprint.get("/c/<slug>/membership")
@login_required
def membership_status(slug: str) -> Response | str:
    """Where the signed-in person's membership of a time bank stands: waiting, suspended, ended or declined."""
    belonging = signed_in_person().in_community(slug)
    if belonging is None:
        _community_or_404(slug)
        return redirect(url_for("public.apply", slug=slug))
    if belonging.membership.status == MembershipStatus.ACTIVE.value:
        return redirect(url_for("member.home", slug=slug))
    return render_template(
        "public/membership_status.html", community=belonging.community, membership=belonging.membership
    )


# --- a forgotten password -------------------------------------------------------------------------------------


@blueprint.route("/password/forgotten", methods=["GET", "POST"])
def forgot_password() -> Response | str:
    """Ask for a link to set a new password. The answer is the same whether or not the address has an account;
    requests count against the login throttle, so nobody can flood a mailbox."""
    form = ForgottenPasswordForm()
    if not form.validate_on_submit():
        return render_template("public/forgot_password.html", form=form)
    email = form.email.data.strip().lower()
    address = request.remote_addr or "unknown"
    throttle = current_app.extensions["timebank_web"].login_throttle
    wait_seconds = throttle.retry_after_seconds(email=email, address=address)
    if wait_seconds is not None:
        page = render_template("public/forgot_password.html", form=form, too_many_attempts=True)
        return make_response(page, 429, {"Retry-After": str(wait_seconds)})
    throttle.record_failure(email=email, address=address)
    run(members.request_password_reset, with_actor=False, email=email, make_link=reset_link)
    return done(_("If this address belongs to an account, we sent a link to it."), "public.reset_link_sent")


@blueprint.get("/password/forgotten/sent")
def reset_link_sent() -> str:
    """What to do next after asking for a link: look in the mailbox, and how long the link works."""
    return render_template("public/reset_link_sent.html")


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str:
    """Choose a new password with the link from the mail: while it is less than an hour old and unused."""
    claim = read_reset_token(token)
    current = claim is not None and read(
        members.password_reset_is_current, with_actor=False, user_id=claim[0], fingerprint=claim[1]
    )
    if not current:
        return render_template("public/reset_link_dead.html")
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return render_template("public/reset_password.html", form=form)
    try:
        user = run(
            members.reset_password,
            with_actor=False,
            user_id=claim[0],
            fingerprint=claim[1],
            new_password=form.password.data,
        )
    except errors.NotAllowed:  # used or changed since the page was opened
        return render_template("public/reset_link_dead.html")
    except REFUSALS as error:
        refuse(form, error)
        return render_template("public/reset_password.html", form=form)
    web = current_app.extensions["timebank_web"]
    web.login_throttle.forget_email(user.email)
    # Whoever was signed in on this browser is signed out: next comes a login with the new password.
    sessions.end_session(revoked=web.revoked_sessions)
    forget_signed_in_person()
    return done(_("Your password is changed. Log in with your new password."), "web.login")


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=RESET_SALT)


def reset_link(user_id: int, fingerprint: str) -> str:
    """The link in the mail: signed, with the user and the fingerprint of their current password."""
    token = _reset_serializer().dumps({"user": user_id, "password": fingerprint})
    public_url = current_app.config.get("PUBLIC_URL")
    if public_url:
        return public_url.rstrip("/") + url_for("public.reset_password", token=token)
    return url_for("public.reset_password", token=token, _external=True)


def read_reset_token(token: str) -> tuple[int, str] | None:
    """The user and password fingerprint a link carries, or None: forged, malformed or older than an hour."""
    if len(token) > RESET_TOKEN_MAX_LENGTH:
        return None
    try:
        claim = _reset_serializer().loads(token, max_age=RESET_LINK_SECONDS)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(claim, dict) or type(claim.get("user")) is not int or not isinstance(claim.get("password"), str):
        return None
    return claim["user"], claim["password"]
