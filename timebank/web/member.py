"""A member's pages: home, listings (browse, search, post, edit, respond, invite).

Every page lives under ``/c/<slug>/`` and is a ``member_page``. Each action calls one use case; a refusal is shown
on the same page next to the field it is about, with what was typed kept; a write that worked goes on to the next
page (post/redirect/get). Times are typed and shown in the community's time zone; the use cases get UTC moments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import DateField, RadioField, SearchField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, Optional

from ledger.core import utc_now
from timebank import balances, communities, exchanges, listings, matching, validation
from timebank.access import Actor
from timebank.bookkeeping import AccountFigures
from timebank.members import first_name
from timebank.models import Listing, ListingKind, ListingStatus, Place
from timebank.web.forms import duration_field, select_choices
from timebank.web.i18n import current_language
from timebank.web.menu import has_endpoint
from timebank.web.pages import REFUSALS, Refusal, done, here, member_page, read, refuse, run
from timebank.web.refusals import refusal_text

blueprint = Blueprint("member", __name__)

# Ids in paths: a number that cannot name a row (PostgreSQL counts these in 32 bits) is simply not found.
LISTING_PATH = "/c/<slug>/listings/<int(min=1, max=2147483647):listing_id>"
INVITATION_PATH = LISTING_PATH + "/invitations/<int(min=1, max=2147483647):invitation_id>"
HOME_LIST_SIZE = 10
HOME_SUGGESTIONS = 5
HOME_THANK_YOU_NOTES = 3
SEARCH_PAGE_SIZE = 20
SEARCH_FILTERS = ("kind", "category", "neighbourhood", "text")
HELPER_SUGGESTIONS = 10
EXCHANGES_SHOWN = 50
# An invitation to one listing is looked for among the member's open invitations: far more than anyone has.
INVITATIONS_LOOKED_AT = 100
# The SVG gauge's drawing width (it scales to the page).
GAUGE_WIDTH = 300

KIND_LABELS = {ListingKind.REQUEST.value: _l("Request"), ListingKind.OFFER.value: _l("Offer")}
PLACE_LABELS = {
    Place.NEIGHBOURHOOD.value: _l("In the neighbourhood"),
    Place.AT_HOME.value: _l("At home"),
    Place.ONLINE.value: _l("Online or by phone"),
}
LISTING_STATUS_LABELS = {
    ListingStatus.OPEN.value: _l("Open"),
    ListingStatus.CLOSED.value: _l("Closed"),
    ListingStatus.EXPIRED.value: _l("Expired"),
}
EXCHANGE_STATUS_LABELS = {
    "proposed": _l("Waiting until both agree"),
    "agreed": _l("Agreed, no time recorded yet"),
    "recorded": _l("Time recorded, waiting for confirmation"),
    "disputed": _l("Disputed, a coordinator will settle it"),
    "confirmed": _l("Confirmed"),
    "voided": _l("Voided by a coordinator"),
    "cancelled": _l("Cancelled"),
}
# Why a member is suggested as a helper (on a request's page), and why a request is suggested to me (home).
HELPER_REASONS = {
    matching.WILLING_OFFER: _l("offers this kind of help"),
    matching.WILLING_INTEREST: _l("likes to help with this"),
    matching.AVAILABLE_USUALLY: _l("is usually free at this time"),
    matching.AVAILABLE_ANY_TIME: _l("the task can be done any time"),
    matching.ABLE_SAFEGUARDING: _l("has a current certificate of conduct"),
}
MY_REASONS = {
    matching.WILLING_OFFER: _l("you offer this kind of help"),
    matching.WILLING_INTEREST: _l("you like to help with this"),
    matching.AVAILABLE_USUALLY: _l("you are usually free at this time"),
    matching.AVAILABLE_ANY_TIME: _l("it can be done any time"),
    matching.ABLE_SAFEGUARDING: _l("you have a current certificate of conduct"),
}


# --- forms ----------------------------------------------------------------------------------------------------

CATEGORY_FROM_THE_LIST = _l("Choose a category from the list.")


def _message_field(label) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=500, message=_l("A message is at most 500 characters."))],
        render_kw={"rows": 3},
    )


class SearchForm(FlaskForm):
    """Browse and search: a GET form (it changes nothing, so it needs no CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Requests or offers"),
        choices=select_choices(("", _l("Both")), ("request", _l("Requests")), ("offer", _l("Offers"))),
        default="",
        invalid_choice_message=_l("Choose requests, offers or both."),
    )
    category = SelectField(_l("Category"), default="", invalid_choice_message=CATEGORY_FROM_THE_LIST)
    neighbourhood = StringField(
        _l("Neighbourhood"),
        validators=[Length(max=listings.MAX_NEIGHBOURHOOD_LENGTH, message=_l("At most 80 characters."))],
    )
    text = SearchField(
        _l("Words in the title or description"),
        validators=[Length(max=listings.MAX_SEARCH_TEXT_LENGTH, message=_l("At most 100 characters."))],
    )


class ListingForm(FlaskForm):
    """Post or edit a request or an offer: what, how long, when, where, until when it is shown."""

    kind = RadioField(
        _l("Is this a request or an offer?"),
        choices=select_choices(
            ("request", _l("A request: I would like some help")),
            ("offer", _l("An offer: I would like to help")),
        ),
        invalid_choice_message=_l("Choose request or offer."),
    )
    title = StringField(
        _l("Title"),
        validators=[
            InputRequired(message=_l("Fill in a title.")),
            Length(max=listings.MAX_TITLE_LENGTH, message=_l("A title is at most 120 characters.")),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[
            Optional(),
            Length(max=listings.MAX_DESCRIPTION_LENGTH, message=_l("A description is at most 2000 characters.")),
        ],
        render_kw={"rows": 5},
    )
    category = SelectField(
        _l("Category"),
        invalid_choice_message=CATEGORY_FROM_THE_LIST,
        validators=[InputRequired(message=_l("Choose a category."))],
    )
    estimated = duration_field(_l("How long will it take, about?"))
    start_date = DateField(_l("Day"), validators=[Optional()])
    start_time = TimeField(_l("From (time)"), validators=[Optional()])
    end_date = DateField(_l("Until day (if it is not the same day)"), validators=[Optional()])
    end_time = TimeField(_l("Until (time)"), validators=[Optional()])
    place = RadioField(
        _l("Where"),
        choices=select_choices(*PLACE_LABELS.items()),
        default=Place.NEIGHBOURHOOD.value,
        invalid_choice_message=_l("Choose where."),
    )
    neighbourhood = StringField(
        _l("Neighbourhood"),
        validators=[Length(max=listings.MAX_NEIGHBOURHOOD_LENGTH, message=_l("At most 80 characters."))],
    )
    expires_date = DateField(_l("Show until (day)"), validators=[Optional()])
    expires_time = TimeField(_l("Show until (time)"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        """Shape only: at most 12 hours; a time window needs its day and both times; an expiry its day and time."""
        valid = super().validate(extra_validators)
        if not self.estimated.errors and self.estimated.total_minutes() > validation.MAX_EXCHANGE_MINUTES:
            self.estimated.hours.errors = [*self.estimated.hours.errors, _("At most 12 hours: make it a smaller task.")]
            valid = False
        window = (self.start_date, self.start_time, self.end_date, self.end_time)
        if any(field.data for field in window) or any(field.errors for field in window):
            valid &= _require(self.start_date, _l("Fill in the day, or leave the whole time empty."))
            valid &= _require(self.start_time, _l("Fill in the time it starts."))
            valid &= _require(self.end_time, _l("Fill in the time it ends."))
        expiry = (self.expires_date, self.expires_time)
        if any(field.data for field in expiry) or any(field.errors for field in expiry):
            valid &= _require(self.expires_date, _l("Fill in the day, or leave both empty."))
            valid &= _require(self.expires_time, _l("Fill in the time, or leave both empty."))
        return valid


def _require(field, message) -> bool:
    if field.data is None and not field.errors:
        field.errors = [*field.errors, message]
    return not field.errors


class RespondForm(FlaskForm):
    response_message = _message_field(_l("A message for them (you may leave it empty)"))


class InviteForm(FlaskForm):
    membership_id = RadioField(
        _l("Whom would you like to ask?"),
        coerce=int,
        validate_choice=False,
        invalid_value_message=_l("Choose whom to ask."),
        validators=[InputRequired(message=_l("Choose whom to ask."))],
    )
    invitation_message = _message_field(_l("A personal message (you may leave it empty)"))


class AcceptForm(FlaskForm):
    answer_message = _message_field(_l("A message for them (you may leave it empty)"))


class ReopenForm(FlaskForm):
    reopen_date = DateField(_l("Show until (day)"), validators=[Optional()])
    reopen_time = TimeField(_l("Show until (time)"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        fields = (self.reopen_date, self.reopen_time)
        if any(field.data for field in fields) or any(field.errors for field in fields):
            valid &= _require(self.reopen_date, _l("Fill in the day, or leave both empty."))
            valid &= _require(self.reopen_time, _l("Fill in the time, or leave both empty."))
        return valid


class ButtonForm(FlaskForm):
    """A one-click action (close, decline): its CSRF token only."""


# --- times in the community's time zone ------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(here().community.time_zone)


def _moment(day, clock: time | None) -> datetime | None:
    """A day and a time typed in the community's time zone, as a UTC moment (None when no day was given)."""
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=_zone()).astimezone(UTC)


def _local(moment: datetime | None):
    return None if moment is None else moment.astimezone(_zone())


# --- small shared helpers -------------------------------------------------------------------------------------


def _category_names(*, include_retired: bool = True) -> dict[int, str]:
    """The community's categories by id, named in the page's language."""
    found = read(
        communities.categories,
        community_id=here().community.id,
        include_retired=include_retired,
        with_actor=False,
    )
    dutch = current_language() == "nl"
    names = {category.id: category.name_nl if dutch else category.name_en for category in found}
    return dict(sorted(names.items(), key=lambda item: item[1].casefold()))


def _exchange_url(exchange_id: int) -> str:
    """The page of an exchange (while that page does not exist yet: the home page)."""
    slug = here().community.slug
    if has_endpoint("exchange_pages.exchange"):
        return url_for("exchange_pages.exchange", slug=slug, exchange_id=exchange_id)
    return url_for("member.home", slug=slug)


def _listing_here(listing_id: int) -> listings.ListingView:
    """A listing of this page's community as the person may see it; any other is not found."""
    view = read(listings.view_listing, listing_id=listing_id)
    if view.listing.community_id != here().community.id:
        abort(404)
    return view


def _is_owner(listing: Listing) -> bool:
    membership = here().membership
    return membership is not None and membership.id == listing.membership_id


def _render(template: str, **context) -> str:
    return render_template(
        template,
        community=here().community,
        membership=here().membership,
        kind_labels=KIND_LABELS,
        place_labels=PLACE_LABELS,
        listing_status_labels=LISTING_STATUS_LABELS,
        exchange_status_labels=EXCHANGE_STATUS_LABELS,
        exchange_url=_exchange_url,
        **context,
    )


def _refused(error: Refusal) -> Refusal:
    """A refusal to show on the page; "not found" is a page of its own (nothing here for this person)."""
    if error.code == "not_found":
        raise error
    return error


# --- home -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gauge:
    """Where a balance stands between floor and ceiling, for the SVG bar: x positions within ``GAUGE_WIDTH``."""

    zero_x: float
    balance_x: float

    @property
    def bar_x(self) -> float:
        return min(self.zero_x, self.balance_x)

    @property
    def bar_width(self) -> float:
        return abs(self.balance_x - self.zero_x)


def gauge(figures: AccountFigures) -> Gauge | None:
    """The bar's positions, or None when the account has no floor or no ceiling (nothing to draw between)."""
    low, high = figures.floor_minutes, figures.ceiling_minutes
    if low is None or high is None or high <= low:
        return None

    def x(minutes: int) -> float:
        return round(min(max(minutes - low, 0), high - low) * GAUGE_WIDTH / (high - low), 1)

    return Gauge(zero_x=x(0), balance_x=x(figures.balance_minutes))


@dataclass(frozen=True)
class Home:
    figures: AccountFigures
    waiting: list
    in_progress: list
    names: dict[int, str]
    own_listings: list[Listing]
    invitations: list
    suggestions: list
    thank_you_notes: list


def _home(*, session: Session, actor: Actor, community_id: int, membership_id: int) -> Home:
    """What a member's home page shows, read in one snapshot (each part by its own use case)."""
    arguments = {"session": session, "actor": actor, "community_id": community_id}
    balance = balances.member_balance(session=session, actor=actor, membership_id=membership_id)
    waiting = exchanges.list_exchanges(**arguments, which="waiting_for_me", limit=HOME_LIST_SIZE).exchanges
    in_progress = exchanges.list_exchanges(**arguments, which="in_progress", limit=HOME_LIST_SIZE).exchanges
    waiting_ids = {exchange.id for exchange in waiting}
    in_progress = [exchange for exchange in in_progress if exchange.id not in waiting_ids]
    notes = exchanges.thank_you_notes_for(
        session=session, actor=actor, membership_id=membership_id, limit=HOME_THANK_YOU_NOTES
    )
    return Home(
        figures=balance.figures,
        waiting=waiting,
        in_progress=in_progress,
        names=exchanges.party_first_names(session=session, exchanges=[*waiting, *in_progress]),
        own_listings=listings.own_listings(**arguments, limit=HOME_LIST_SIZE),
        invitations=matching.list_invitations_for(**arguments, limit=HOME_LIST_SIZE).invitations,
        suggestions=matching.suggest_requests_for(**arguments, limit=HOME_SUGGESTIONS),
        thank_you_notes=notes.notes,
    )


@blueprint.get("/c/<slug>/")
@member_page
def home() -> str:
    """A member's home: balance between floor and ceiling, what waits for them, their listings, suggestions."""
    membership = here().membership
    if membership is None:
        return _render("member/home.html", home=None)
    found = read(_home, community_id=here().community.id, membership_id=membership.id)
    figures = found.figures
    return _render(
        "member/home.html",
        home=found,
        first_name=first_name(membership.display_name),
        gauge=gauge(figures),
        gauge_width=GAUGE_WIDTH,
        spend_room=None if figures.floor_minutes is None else max(0, figures.available_minutes - figures.floor_minutes),
        receive_room=None if figures.ceiling_minutes is None else max(0, figures.room_below_ceiling_minutes),
        category_names=_category_names(),
        reasons=MY_REASONS,
    )


# --- browsing and searching -----------------------------------------------------------------------------------


@blueprint.get("/c/<slug>/listings", endpoint="listings")
@member_page
def listings_page() -> str:
    """Browse and search the community's open requests and offers, newest first, a page at a time."""
    names = _category_names(include_retired=False)
    form = SearchForm(formdata=request.args)
    form.category.choices = select_choices(
        ("", _("All categories")), *((str(key), name) for key, name in names.items())
    )
    cursor = request.args.get("cursor") or None
    found = None
    if form.validate():
        try:
            found = read(
                listings.search_listings,
                community_id=here().community.id,
                kind=form.kind.data or None,
                category=int(form.category.data) if form.category.data else None,
                neighbourhood=form.neighbourhood.data or None,
                text=form.text.data or None,
                limit=SEARCH_PAGE_SIZE,
                cursor=cursor,
            )
        except REFUSALS as error:
            refuse(form, _refused(error))
    filters = {name: request.args[name] for name in SEARCH_FILTERS if request.args.get(name)}
    return _render(
        "member/listings.html",
        form=form,
        found=found,
        filters=filters,
        first_page=cursor is None,
        category_names=_category_names(),
    )


# --- one listing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingDetails:
    view: listings.ListingView
    exchanges: list
    names: dict[int, str]
    invitation: matching.OpenInvitation | None
    suggestions: list


def _listing_details(*, session: Session, actor: Actor, listing_id: int, membership_id: int | None) -> ListingDetails:
    """What a listing's page shows, read in one snapshot: the listing, the exchanges on it this person may see,
    an open invitation to them, and (for the requester of an open request) helpers to ask."""
    view = listings.view_listing(session=session, actor=actor, listing_id=listing_id)
    listing = view.listing
    on_it = exchanges.exchanges_on_listing(session=session, actor=actor, listing_id=listing_id, limit=EXCHANGES_SHOWN)
    invitation, suggestions = None, []
    if membership_id is not None and membership_id != listing.membership_id:
        page = matching.list_invitations_for(
            session=session, actor=actor, community_id=listing.community_id, limit=INVITATIONS_LOOKED_AT
        )
        invitation = next((item for item in page.invitations if item.listing.id == listing.id), None)
    open_request = listing.kind == ListingKind.REQUEST.value and listing.status == ListingStatus.OPEN.value
    if membership_id == listing.membership_id and open_request and listing.expires_at > utc_now():
        suggestions = matching.suggest_helpers(
            session=session, actor=actor, listing_id=listing_id, limit=HELPER_SUGGESTIONS
        )
    return ListingDetails(
        view=view,
        exchanges=on_it,
        names=exchanges.party_first_names(session=session, exchanges=on_it),
        invitation=invitation,
        suggestions=suggestions,
    )


def _helper_label(suggestion: matching.Suggestion) -> str:
    reasons = "; ".join(
        str(HELPER_REASONS[reason.code]) for reason in suggestion.reasons if reason.code in HELPER_REASONS
    )
    place = f" ({suggestion.neighbourhood})" if suggestion.neighbourhood else ""
    return f"{suggestion.first_name}{place}: {reasons}" if reasons else f"{suggestion.first_name}{place}"


def _listing_page(listing_id: int, **forms) -> str:
    """A listing's page, with the forms given (a refused one keeps what was typed and its messages)."""
    membership = here().membership
    details = read(_listing_details, listing_id=listing_id, membership_id=None if membership is None else membership.id)
    listing = details.view.listing
    if listing.community_id != here().community.id:
        abort(404)
    invite_form = forms.get("invite_form") or InviteForm(formdata=None)
    # Someone already talking with the requester about this request needs no invitation.
    talking = {
        exchange.helper_membership_id for exchange in details.exchanges if exchange.status in exchanges.OPEN_STATUSES
    }
    invite_form.membership_id.choices = select_choices(
        *(
            (item.membership_id, _helper_label(item))
            for item in details.suggestions
            if item.membership_id not in talking
        )
    )
    own = _is_owner(listing)
    mine = [
        exchange
        for exchange in details.exchanges
        if membership is not None and membership.id in (exchange.helper_membership_id, exchange.helped_membership_id)
    ]
    in_progress = next((exchange for exchange in mine if exchange.status in exchanges.OPEN_STATUSES), None)
    open_now = listing.status == ListingStatus.OPEN.value and listing.expires_at > utc_now()
    return _render(
        "member/listing.html",
        details=details,
        listing=listing,
        own=own,
        open_now=open_now,
        status=listing.status
        if open_now or listing.status != ListingStatus.OPEN.value
        else ListingStatus.EXPIRED.value,
        in_progress=in_progress,
        category_name=_category_names().get(listing.category_id, ""),
        window=(_local(listing.window_start), _local(listing.window_end)),
        respond_form=forms.get("respond_form") or RespondForm(formdata=None),
        invite_form=invite_form,
        accept_form=forms.get("accept_form") or AcceptForm(formdata=None),
        reopen_form=forms.get("reopen_form") or ReopenForm(formdata=None),
        button_form=forms.get("button_form") or ButtonForm(formdata=None),
    )


@blueprint.get(LISTING_PATH, endpoint="listing")
@member_page
def listing_page(listing_id: int) -> str:
    """One listing with what it says, who posted it, and what this person can do with it."""
    return _listing_page(listing_id)


@blueprint.post(LISTING_PATH + "/respond")
@member_page
def respond(listing_id: int) -> Response | str:
    """Respond to another member's listing: an exchange starts, which the listing's member agrees to in turn."""
    _listing_here(listing_id)
    form = RespondForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, respond_form=form)
    try:
        exchange = run(exchanges.respond_to_listing, listing_id=listing_id, message=form.response_message.data or "")
    except REFUSALS as error:
        refuse(form, _refused(error), fields={"message": "response_message"})
        return _listing_page(listing_id, respond_form=form)
    return _done_at(_("You responded. The other member was told; agree on the details together."), exchange.id)


def _done_at(message: str, exchange_id: int) -> Response:
    """``done``, going on to an exchange's page."""
    flash(message, "done")
    return redirect(_exchange_url(exchange_id))


@blueprint.post(LISTING_PATH + "/invite")
@member_page
def invite(listing_id: int) -> Response | str:
    """The requester asks one member personally to help."""
    _listing_here(listing_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, invite_form=form)
    try:
        run(
            matching.invite_member,
            listing_id=listing_id,
            membership_id=form.membership_id.data,
            message=form.invitation_message.data or "",
        )
    except REFUSALS as error:
        refuse(
            form,
            error,
            fields={"membership_id": "membership_id", "message": "invitation_message"},
        )
        return _listing_page(listing_id, invite_form=form)
    return done(_("Your invitation was sent."), "member.listing", slug=here().community.slug, listing_id=listing_id)


@blueprint.post(INVITATION_PATH + "/accept")
@member_page
def accept_invitation(listing_id: int, invitation_id: int) -> Response | str:
    """Say yes to a personal invitation: an exchange starts, with me as the helper."""
    _listing_here(listing_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, accept_form=form)
    try:
        exchange = run(exchanges.accept_invitation, invitation_id=invitation_id, message=form.answer_message.data or "")
    except REFUSALS as error:
        refuse(form, _refused(error), fields={"message": "answer_message"})
        return _listing_page(listing_id, accept_form=form)
    return _done_at(_("You said yes. The requester was told."), exchange.id)


@blueprint.post(INVITATION_PATH + "/decline")
@member_page
def decline_invitation(listing_id: int, invitation_id: int) -> Response | str:
    """Say no to a personal invitation."""
    _listing_here(listing_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, button_form=form)
    try:
        run(exchanges.decline_invitation, invitation_id=invitation_id)
    except REFUSALS as error:
        refuse(form, _refused(error))
        return _listing_page(listing_id, button_form=form)
    return done(
        _("You said no to this invitation. Thank you for answering."),
        "member.listing",
        slug=here().community.slug,
        listing_id=listing_id,
    )


@blueprint.post(LISTING_PATH + "/close")
@member_page
def close(listing_id: int) -> Response | str:
    """The member who posted a listing closes it: it no longer shows in searches."""
    _listing_here(listing_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, button_form=form)
    try:
        run(listings.close_listing, listing_id=listing_id)
    except REFUSALS as error:
        refuse(form, _refused(error))
        return _listing_page(listing_id, button_form=form)
    return done(_("The listing is closed."), "member.listing", slug=here().community.slug, listing_id=listing_id)


@blueprint.post(LISTING_PATH + "/reopen")
@member_page
def reopen(listing_id: int) -> Response | str:
    """The member who posted a closed or expired listing opens it again (with a new end date if needed)."""
    _listing_here(listing_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        return _listing_page(listing_id, reopen_form=form)
    try:
        run(
            listings.reopen_listing,
            listing_id=listing_id,
            expires_at=_moment(form.reopen_date.data, form.reopen_time.data),
        )
    except REFUSALS as error:
        refuse(form, _refused(error), fields={"expires_at": "reopen_date"})
        return _listing_page(listing_id, reopen_form=form)
    return done(_("The listing is open again."), "member.listing", slug=here().community.slug, listing_id=listing_id)


# --- posting and editing --------------------------------------------------------------------------------------

# The use case's names for the form's fields, for refusals.
LISTING_FIELDS = {
    "category_id": "category",
    "window_start": "start_date",
    "window_end": "end_date",
    "expires_at": "expires_date",
}


def _listing_form(listing: Listing | None = None) -> ListingForm:
    """The form, filled in from ``listing`` on a first visit; the member's neighbourhood for a new one."""
    form = ListingForm()
    in_use = _category_names(include_retired=False)
    choices = [("", _("Choose a category")), *((str(key), name) for key, name in in_use.items())]
    if listing is not None and listing.category_id not in in_use:
        # A category no longer in use stays this listing's until the member chooses another.
        choices.append((str(listing.category_id), _category_names().get(listing.category_id, "")))
    form.category.choices = select_choices(*choices)
    if request.method == "POST":
        return form
    if listing is None:
        form.neighbourhood.data = here().membership.neighbourhood
        return form
    _fill(form, listing)
    return form


def _fill(form: ListingForm, listing: Listing) -> None:
    form.title.data = listing.title
    form.description.data = listing.description
    form.category.data = str(listing.category_id)
    form.estimated.hours.data, form.estimated.minutes.data = divmod(listing.estimated_minutes, 60)
    start, end = _local(listing.window_start), _local(listing.window_end)
    if start is not None:
        form.start_date.data, form.start_time.data = start.date(), start.time().replace(second=0, microsecond=0)
        form.end_time.data = end.time().replace(second=0, microsecond=0)
        form.end_date.data = end.date() if end.date() != start.date() else None
    form.place.data = listing.place
    form.neighbourhood.data = listing.neighbourhood
    # An expiry that is just the default (the window's end) is left empty, so it follows a changed window.
    if listing.expires_at is not None and listing.expires_at != listing.window_end:
        expiry = _local(listing.expires_at)
        form.expires_date.data, form.expires_time.data = expiry.date(), expiry.time().replace(second=0, microsecond=0)


def _terms(form: ListingForm) -> dict:
    """What the form says, as the use case takes it: minutes, UTC moments, ids."""
    start = _moment(form.start_date.data, form.start_time.data)
    end = _moment(form.end_date.data or form.start_date.data, form.end_time.data)
    return {
        "title": form.title.data or "",
        "description": form.description.data or "",
        "category_id": int(form.category.data),
        "estimated_minutes": form.estimated.total_minutes(),
        "window_start": start,
        "window_end": end,
        "place": form.place.data,
        "neighbourhood": form.neighbourhood.data or "",
        "expires_at": _moment(form.expires_date.data, form.expires_time.data),
    }


def _refuse_listing(form: ListingForm, error: Refusal) -> None:
    if error.details.get("field") == "estimated_minutes":
        form.estimated.hours.errors = [*form.estimated.hours.errors, refusal_text(error)]
        return
    refuse(form, _refused(error), fields=LISTING_FIELDS)


@blueprint.route("/c/<slug>/listings/new", methods=["GET", "POST"])
@member_page
def new_listing() -> Response | str:
    """Post a request or an offer: what, how long, when, where."""
    if here().membership is None:
        abort(403)
    form = _listing_form()
    if not form.validate_on_submit():
        return _render("member/listing_form.html", form=form, listing=None)
    try:
        posted = run(listings.post_listing, community_id=here().community.id, kind=form.kind.data, **_terms(form))
    except REFUSALS as error:
        _refuse_listing(form, error)
        return _render("member/listing_form.html", form=form, listing=None)
    message = _("Your request is posted.") if posted.kind == ListingKind.REQUEST.value else _("Your offer is posted.")
    return done(message, "member.listing", slug=here().community.slug, listing_id=posted.id)


@blueprint.route(LISTING_PATH + "/edit", methods=["GET", "POST"])
@member_page
def edit_listing(listing_id: int) -> Response | str:
    """Change what an open listing of mine says (not whether it is a request or an offer)."""
    current = _listing_here(listing_id).listing
    if not _is_owner(current):
        abort(403)
    form = _listing_form(current)
    del form.kind  # a request stays a request, an offer an offer
    if not form.validate_on_submit():
        return _render("member/listing_form.html", form=form, listing=current)
    terms = _terms(form)
    if terms["category_id"] == current.category_id:
        del terms["category_id"]  # unchanged: a category no longer in use may stay
    try:
        run(listings.edit_listing, listing_id=listing_id, **terms)
    except REFUSALS as error:
        _refuse_listing(form, error)
        return _render("member/listing_form.html", form=form, listing=current)
    return done(_("Your changes are saved."), "member.listing", slug=here().community.slug, listing_id=listing_id)
