"""A person's own account and profile: what others see, language, password, their data, erasure.

``/c/<slug>/profile`` is the profile in one community (and the way to leave it); ``/account`` holds what is the
same in every community: language, emails, password, the list of time banks, the data download and erasure.
"""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from timebank import balances, communities, exchanges, members, passwords, privacy
from timebank.access import Actor
from timebank.models import Membership, MembershipStatus
from timebank.web import sessions
from timebank.web.forms import new_password_fields
from timebank.web.i18n import current_language, hours
from timebank.web.pages import REFUSALS, done, here, login_required, member_page, read, refuse, run
from timebank.web.people import forget_signed_in_person, signed_in_person
from timebank.web.refusals import refusal_text

blueprint = Blueprint("profile", __name__)

NOTES_PER_PAGE = 20
LANGUAGES_MAX_LENGTH = 1000  # what the use case takes: 20 languages of at most 40 characters, with commas
DAYS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
PARTS_OF_DAY = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
# One label per profile field, used by the form and by the choice of what others may see.
PROFILE_LABELS = {
    "likes_to_do": _l("What you like to do"),
    "availability": _l("When you are usually free"),
    "languages": _l("Languages you speak"),
    "interests": _l("What you like to help with"),
    "thank_you_notes": _l("Thank-you notes you received"),
}
STATUS_WORDS = {
    MembershipStatus.ACTIVE.value: _l("Member"),
    MembershipStatus.APPLICANT.value: _l("Waiting for approval"),
    MembershipStatus.SUSPENDED.value: _l("Suspended"),
    MembershipStatus.LEFT.value: _l("You left"),
    MembershipStatus.DECLINED.value: _l("Not admitted"),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (rendered by ``profile/_checkboxes.html``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label, **options):
        options.setdefault("invalid_choice_message", _l("Choose from the list."))
        super().__init__(label, **options)


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class ProfileForm(FlaskForm):
    display_name = StringField(
        _l("Your name"),
        validators=[
            InputRequired(message=_l("Fill in your name.")),
            Length(max=80, message=_l("A name is at most 80 characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    neighbourhood = StringField(
        _l("Your neighbourhood"), validators=[Length(max=80, message=_l("A neighbourhood is at most 80 characters."))]
    )
    likes_to_do = TextAreaField(
        PROFILE_LABELS["likes_to_do"],
        validators=[Length(max=1000, message=_l("At most 1000 characters."))],
        render_kw={"rows": 4},
    )
    interests = CheckboxesField(PROFILE_LABELS["interests"], choices=[])
    availability = CheckboxesField(
        PROFILE_LABELS["availability"], choices=choices((slot, slot) for slot in members.AVAILABILITY_SLOTS)
    )
    languages = StringField(
        PROFILE_LABELS["languages"],
        validators=[Length(max=LANGUAGES_MAX_LENGTH, message=_l("At most 1000 characters."))],
    )
    shown = CheckboxesField(
        _l("What other members may see, besides your first name and neighbourhood"),
        choices=choices((name, PROFILE_LABELS[name]) for name in members.VISIBILITY_FIELDS),
    )


class SettingsForm(FlaskForm):
    preferred_language = RadioField(
        _l("Language"),
        choices=choices([("nl", "Nederlands"), ("en", "English")]),
        invalid_choice_message=_l("Choose from the list."),
        validators=[InputRequired(message=_l("Choose a language."))],
    )
    notification_mode = RadioField(
        _l("Emails from the time bank"),
        choices=choices(
            [
                ("immediate", _l("Straight away: one email each time something happens")),
                ("weekly", _l("Once a week: one email with everything, on Monday morning")),
            ]
        ),
        invalid_choice_message=_l("Choose from the list."),
        validators=[InputRequired(message=_l("Choose how often you get emails."))],
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Your current password"),
        validators=[InputRequired(message=_l("Fill in your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, new_password_again = new_password_fields(
        "new_password",
        again_label=_l("New password again"),
        missing=_l("Fill in a new password."),
        missing_again=_l("Fill in the new password a second time."),
        not_the_same=_l("The two new passwords are not the same."),
    )


class ErasureForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[
            InputRequired(message=_l("Type your password to confirm.")),
            Length(max=passwords.MAX_LENGTH, message=_l("A password is at most 1024 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class LeaveForm(FlaskForm):
    """Only the CSRF token: the button on the confirmation page is the confirmation."""


# --- the profile in one community ---------------------------------------------------------------------------------


@blueprint.route("/c/<slug>/profile", methods=["GET", "POST"])
@member_page
def profile() -> Response | str:
    """My profile in this community, what other members see of it, and the thank-you notes I received."""
    membership = _own_membership()
    categories = read(communities.categories, community_id=here().community.id, with_actor=False)
    form = ProfileForm(data=_profile_data(membership))
    form.interests.choices = _interest_choices(categories, membership.interests)
    if form.validate_on_submit():
        try:
            run(members.update_profile, membership_id=membership.id, **_profile_changes(form))
        except REFUSALS as error:
            refuse(form, error, fields={"visibility": "shown"})
        else:
            return done(_("Your profile is saved."), "profile.profile", slug=here().community.slug)
    preview = read(members.view_own_profile_as_others_see_it, membership_id=membership.id)
    notes = read(
        exchanges.thank_you_notes_for,
        membership_id=membership.id,
        limit=NOTES_PER_PAGE,
        before=request.args.get("before", type=int),
    )
    return render_template(
        "profile/profile.html",
        form=form,
        membership=membership,
        preview=preview,
        preview_availability=_availability_by_day(preview.shown.get("availability", [])),
        preview_interests=[c.label for c in form.interests.choices if c.value in preview.shown.get("interests", [])],
        notes=notes,
        days=DAYS,
        parts_of_day=PARTS_OF_DAY,
    )


def _own_membership() -> Membership:
    """The signed-in person's membership of this community (an administrator who is no member has no profile)."""
    membership = here().membership
    if membership is None:
        abort(404)
    return membership


def _profile_data(membership: Membership) -> dict:
    return {
        "display_name": membership.display_name,
        "neighbourhood": membership.neighbourhood,
        "likes_to_do": membership.likes_to_do,
        "interests": list(membership.interests),
        "availability": list(membership.availability),
        "languages": ", ".join(membership.languages),
        "shown": [name for name in members.VISIBILITY_FIELDS if membership.visibility.get(name)],
    }


def _profile_changes(form: ProfileForm) -> dict:
    return {
        "display_name": form.display_name.data,
        "neighbourhood": form.neighbourhood.data or "",
        "likes_to_do": form.likes_to_do.data or "",
        "interests": form.interests.data or [],
        "availability": form.availability.data or [],
        "languages": [part.strip() for part in (form.languages.data or "").split(",") if part.strip()],
        "visibility": {name: name in (form.shown.data or []) for name in members.VISIBILITY_FIELDS},
    }


def _interest_choices(categories, interests: list[str]) -> list[SelectChoice]:
    """The community's categories by name in this language, and any interest the member has that is no longer one."""
    dutch = current_language() == "nl"
    known = {category.slug for category in categories}
    return choices(
        [(category.slug, category.name_nl if dutch else category.name_en) for category in categories]
        + [(slug, slug) for slug in interests if slug not in known]
    )


def _availability_by_day(slots: list[str]) -> list[tuple[str, list[str]]]:
    """``["mon-morning", "mon-evening"]`` → ``[("Monday", ["Morning", "Evening"])]``, in the order of the week."""
    chosen = set(slots)
    grouped = []
    for day, day_label in DAYS.items():
        parts = [str(label) for part, label in PARTS_OF_DAY.items() if f"{day}-{part}" in chosen]
        if parts:
            grouped.append((str(day_label), parts))
    return grouped


@blueprint.route("/c/<slug>/leave", methods=["GET", "POST"])
@member_page
def leave() -> Response | str:
    """Leave this community: a page that says what it means, and a button to confirm."""
    membership = _own_membership()
    form = LeaveForm()
    if form.validate_on_submit():
        try:
            run(members.leave_community, membership_id=membership.id)
        except REFUSALS as error:
            form.form_errors.append(_leaving_refusal(error))
        else:
            return done(_("You left %(community)s.", community=here().community.name), "profile.account")
    figures = read(balances.member_balance, membership_id=membership.id).figures
    return render_template("profile/leave.html", form=form, figures=figures)


def _leaving_refusal(error) -> str:
    if error.code == "balance_not_settled" and "balance_minutes" in error.details:
        return _(
            "You still have %(balance)s on your account. You can leave when it is 0: give what is left to the "
            "community pot, or ask a coordinator to settle it.",
            balance=hours(error.details["balance_minutes"]),
        )
    if error.code == "conflict" and "account_id" in error.details:
        return _("Some of your exchanges are still waiting for confirmation. Finish them first, then you can leave.")
    return refusal_text(error)


# --- the account, the same in every community ---------------------------------------------------------------------


@blueprint.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Response | str:
    """My language, my emails, my password, and my time banks."""
    user = signed_in_person().user
    part = request.form.get("form") if request.method == "POST" else None
    settings = SettingsForm(
        **_bound(part == "settings"),
        data={"preferred_language": user.preferred_language, "notification_mode": user.notification_mode},
    )
    password = PasswordForm(**_bound(part == "password"))
    if part == "settings" and settings.validate_on_submit():
        try:
            _as_person(
                members.update_user_settings,
                preferred_language=settings.preferred_language.data,
                notification_mode=settings.notification_mode.data,
            )
        except REFUSALS as error:
            refuse(settings, error)
        else:
            forget_signed_in_person()
            refresh()  # the note below is in the language just chosen
            return done(_("Your settings are saved."), "profile.account")
    if part == "password" and password.validate_on_submit() and _changed_password(password, user):
        sessions.start_session(user_id=user.id, revoked=_web_state().revoked_sessions)
        return done(_("Your password is changed."), "profile.account")
    return render_template(
        "profile/account.html",
        settings=settings,
        password=password,
        memberships=signed_in_person().memberships,
        status_words=STATUS_WORDS,
        minimum_password_length=passwords.MIN_LENGTH,
    )


def _bound(submitted: bool) -> dict:
    """Two forms share the page: only the one that was sent reads the request's form data."""
    return {} if submitted else {"formdata": None}


def _changed_password(form: PasswordForm, user) -> bool:
    """Change the password; a wrong current password counts as a failed login (an open session cannot be used
    to guess it), and too many of them are refused for a while."""
    throttle, address = _web_state().login_throttle, request.remote_addr or "unknown"
    if throttle.retry_after_seconds(email=user.email, address=address) is not None:
        form.form_errors.append(_("Too many wrong passwords. Wait a quarter of an hour and try again."))
        return False
    try:
        _as_person(
            members.change_password, current_password=form.current_password.data, new_password=form.new_password.data
        )
    except REFUSALS as error:
        if error.details.get("field") == "current_password":
            throttle.record_failure(email=user.email, address=address)
        refuse(form, error, fields={"password": "new_password"})
        return False
    return True


@blueprint.get("/account/data.json")
@login_required
def download_data() -> Response:
    """Everything the time bank holds about me, as one JSON file."""
    person = signed_in_person()
    data = _as_person(privacy.export_user_data, write=False, user_id=person.user.id)
    filename = f"timebank-my-data-{date.today().isoformat()}.json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@blueprint.route("/account/erase", methods=["GET", "POST"])
@login_required
def erase() -> Response | str:
    """Ask to be erased: what it means, then the password to confirm. Afterwards the session ends."""
    person = signed_in_person()
    form = ErasureForm()
    if form.validate_on_submit():
        try:
            _as_person(privacy.erase_own_data, password=form.password.data)
        except REFUSALS as error:
            if error.details.get("field"):
                refuse(form, error)
            else:
                form.form_errors.append(_erasure_refusal(error))
        else:
            goodbye = _("Your personal data is erased and your account is closed. Goodbye!")  # in their language
            sessions.end_session(revoked=_web_state().revoked_sessions)
            forget_signed_in_person()
            return done(goodbye, "web.home")
    accounts = [
        (belonging.community, _as_person(balances.member_balance, write=False, membership_id=belonging.membership.id))
        for belonging in person.memberships
        if belonging.membership.status in (MembershipStatus.ACTIVE.value, MembershipStatus.SUSPENDED.value)
    ]
    return render_template("profile/erase.html", form=form, accounts=accounts)


def _erasure_refusal(error) -> str:
    if error.code == "conflict" and "exchange_id" in error.details:
        return _("One of your exchanges is disputed. A coordinator must settle it first; then you can ask again.")
    return refusal_text(error)


def _as_person(use_case, /, *, write: bool = True, **arguments):
    """Run a use case as the signed-in person, on a page that belongs to no community."""
    actor = Actor.for_user(signed_in_person().user)
    return (run if write else read)(use_case, with_actor=False, actor=actor, **arguments)


def _web_state():
    return current_app.extensions["timebank_web"]
