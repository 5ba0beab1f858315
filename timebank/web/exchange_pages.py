"""A member's exchanges: the list, one exchange's page with its history and the steps the member can take now;
paying someone directly and claiming minutes; and the member's statement (on screen by month, as CSV, printable).

Each step is a POST to ``/c/<slug>/exchanges/<id>/<action>`` running one use case. A refusal (someone else
confirmed meanwhile, a balance rule) shows the exchange as it now stands with the message; nothing changed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, make_response, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ledger.core import utc_now
from timebank import balances, communities, errors, exchanges, members, payments, reports
from timebank.bookkeeping import AccountFigures
from timebank.corrections import EXCHANGE_REVERSED
from timebank.models import Category, Exchange, ExchangeEvent, ExchangeStatus, Membership
from timebank.tick import REMINDER_EVENT
from timebank.web.forms import duration_field
from timebank.web.i18n import current_language, hours
from timebank.web.pages import REFUSALS, done, here, member_page, read, refuse, run
from timebank.web.refusals import refusal_text

blueprint = Blueprint("exchange_pages", __name__, url_prefix="/c/<slug>")

IN_PROGRESS_SHOWN = 100  # list_exchanges' largest page; nobody has more exchanges going at once
FINISHED_PAGE_SIZE = 20
STATEMENT_PAGE_SIZE = 50
# The printable statement shows a whole month: at most this many pages of 100 entries.
MAX_PRINTED_PAGES = 20
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")
CURSOR_PATTERN = re.compile(r"[0-9]{1,18}")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
BALANCE_REFUSALS = ("balance_below_floor", "balance_above_ceiling")
CHILDREN_REFUSALS = ("safeguarding_check_required", "parent_acceptance_required")
# Memos the time bank writes itself, in English: the kind of the entry says it already.
STANDARD_MEMOS = frozenset({"welcome credit", "donation to the pot"})


# --- forms ------------------------------------------------------------------------------------------------------


def stripped(value):
    """Typed text without the spaces around it: a note of only spaces is an empty note."""
    return value.strip() if isinstance(value, str) else value


def new_request_key() -> str:
    """A key for one filled-in form: sending it twice (a double click, a reload) moves the minutes once."""
    return uuid.uuid4().hex


class StepForm(FlaskForm):
    """Only the CSRF token: a step of one click (agree, accept the helper, confirm)."""


class CancelForm(FlaskForm):
    cancel_reason = TextAreaField(
        _l("Why are you calling it off? (you may leave this empty)"),
        validators=[Optional(), Length(max=exchanges.MAX_REASON_LENGTH, message=_l("At most 500 characters."))],
    )


class RecordForm(FlaskForm):
    duration = duration_field(_l("How long did the help take?"))
    note = StringField(
        _l("What was done (you may leave this empty)"),
        validators=[Optional(), Length(max=exchanges.MAX_NOTE_LENGTH, message=_l("At most 500 characters."))],
    )
    request_key = HiddenField(default=new_request_key)


class DisputeForm(FlaskForm):
    dispute_reason = TextAreaField(
        _l("What is not right?"),
        filters=[stripped],
        validators=[
            DataRequired(message=_l("Say what is not right, so that a coordinator can help.")),
            Length(max=exchanges.MAX_REASON_LENGTH, message=_l("At most 500 characters.")),
        ],
    )


class ThankForm(FlaskForm):
    thank_you_text = TextAreaField(
        _l("Your thank-you note"),
        filters=[stripped],
        validators=[
            DataRequired(message=_l("Write a few words of thanks.")),
            Length(max=exchanges.MAX_THANK_YOU_LENGTH, message=_l("At most 1000 characters.")),
        ],
    )


def _chosen_id(value) -> int | None:
    """A select's value: a whole number, or None for the empty first option (or anything else)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PaymentForm(FlaskForm):
    """Paying someone directly or claiming minutes from them: the labels differ, the fields are the same."""

    category = SelectField(
        _l("Kind of help (you may leave this empty)"),
        coerce=_chosen_id,
        validate_choice=True,
        invalid_choice_message=_l("Choose a kind of help from the list."),
    )
    description = StringField(
        _l("What for (you may leave this empty)"),
        validators=[Optional(), Length(max=exchanges.MAX_NOTE_LENGTH, message=_l("At most 500 characters."))],
    )
    request_key = HiddenField(default=new_request_key)


def _member_field(label, not_chosen) -> SelectField:
    """The other member of a payment or claim, from the list of the community's members."""
    return SelectField(
        label,
        coerce=_chosen_id,
        validate_choice=True,
        invalid_choice_message=_l("Choose a member from the list."),
        validators=[DataRequired(message=not_chosen)],
    )


class PayForm(PaymentForm):
    member = _member_field(_l("Who helped you?"), _l("Choose the member you pay."))
    duration = duration_field(_l("How long did they help you?"))


class ClaimForm(PaymentForm):
    member = _member_field(_l("Whom did you help?"), _l("Choose the member you helped."))
    duration = duration_field(_l("How long did you help?"))


def _refuse_with_amount(form, error, *, fields: dict[str, str]) -> None:
    """A refusal next to its field; balance rules next to the amount (how long), children's rules next to the
    kind of help."""
    name = error.details.get("field")
    if error.code in BALANCE_REFUSALS or name == "minutes":
        form.duration.hours.errors = [*form.duration.hours.errors, refusal_text(error)]
    elif error.code in CHILDREN_REFUSALS and hasattr(form, "category"):
        form.category.errors = [*form.category.errors, refusal_text(error)]
    else:
        refuse(form, error, fields=fields)


# --- reading: plain words for states and steps --------------------------------------------------------------------


def _own_membership() -> Membership:
    """The member on this page; an administrator who is not a member has no exchanges, payments or statement."""
    membership = here().membership
    if membership is None:
        abort(404)
    return membership


def _other_name(exchange: Exchange, me_id: int | None, names: dict[int, str]) -> str:
    other = exchange.helped_membership_id if me_id == exchange.helper_membership_id else exchange.helper_membership_id
    return names.get(other, "")


def status_text(exchange: Exchange, me_id: int | None, names: dict[int, str]) -> str:
    """Where the exchange stands, in plain words, as the member on the page sees it."""
    other = _other_name(exchange, me_id, names)
    party = me_id in (exchange.helper_membership_id, exchange.helped_membership_id)
    status = exchange.status
    if status == ExchangeStatus.PROPOSED.value:
        if not party:
            return _("Not agreed yet.")
        mine = exchange.helper_agreed if me_id == exchange.helper_membership_id else exchange.helped_agreed
        return _("Waiting for %(name)s to agree.", name=other) if mine else _("Waiting for you to agree.")
    if status == ExchangeStatus.AGREED.value:
        return _("Agreed. When the help is done, one of you records how long it took.")
    if status == ExchangeStatus.RECORDED.value:
        if not party:
            return _("The time is recorded and waits for confirmation.")
        if exchange.recorded_by_membership_id == me_id:
            return _("The time is recorded. Waiting for %(name)s to confirm it.", name=other)
        return _("The time is recorded. Waiting for you to confirm it.")
    if status == ExchangeStatus.DISPUTED.value:
        return _("Someone said the recorded time is not right. A coordinator will sort it out.")
    if status == ExchangeStatus.CONFIRMED.value:
        return _("Done: the time is paid.")
    if status == ExchangeStatus.VOIDED.value:
        return _("Not paid: the recorded time was cancelled.")
    return _("Called off.")


def role_text(exchange: Exchange, me_id: int | None, names: dict[int, str]) -> str:
    """Who helps whom, said from the side of the member on the page."""
    finished = exchange.status in exchanges.FINISHED_STATUSES
    helper = names.get(exchange.helper_membership_id, "")
    helped = names.get(exchange.helped_membership_id, "")
    if me_id == exchange.helper_membership_id:
        return _("You helped %(name)s", name=helped) if finished else _("You help %(name)s", name=helped)
    if me_id == exchange.helped_membership_id:
        return _("%(name)s helped you", name=helper) if finished else _("%(name)s helps you", name=helper)
    return _("%(helper)s helps %(helped)s", helper=helper, helped=helped)


def title_text(exchange: Exchange, categories: dict[int, Category]) -> str:
    """What the exchange is about: its listing's title or the payment's description, else its kind of help."""
    if exchange.description:
        return exchange.description
    category = categories.get(exchange.category_id)
    return category_name(category) if category is not None else _("Help without a description")


def category_name(category: Category) -> str:
    return category.name_nl if current_language() == "nl" else category.name_en


EVENT_TEXTS = {
    exchanges.EventKind.RESPONDED.value: _l("%(name)s responded."),
    exchanges.EventKind.INVITATION_ACCEPTED.value: _l("%(name)s said yes to the invitation."),
    exchanges.EventKind.AGREED.value: _l("%(name)s agreed."),
    exchanges.EventKind.HELPER_ACCEPTED.value: _l("%(name)s accepted the helper."),
    exchanges.EventKind.CANCELLED.value: _l("%(name)s called it off."),
    exchanges.EventKind.RECORDED.value: _l("%(name)s recorded the time."),
    exchanges.EventKind.CONFIRMED.value: _l("%(name)s confirmed the time."),
    exchanges.EventKind.AUTO_CONFIRMED.value: _l("The time was confirmed on its own, because nobody disputed it."),
    exchanges.EventKind.DISPUTED.value: _l("%(name)s said the time is not right."),
    exchanges.EventKind.SETTLED.value: _l("%(name)s, a coordinator, settled it."),
    exchanges.EventKind.PAID.value: _l("%(name)s paid directly."),
    exchanges.EventKind.CLAIMED.value: _l("%(name)s asked to be paid for the help."),
    exchanges.EventKind.RECORDED_ON_BEHALF.value: _l("%(name)s, a coordinator, recorded the time."),
    exchanges.EventKind.THANKED.value: _l("%(name)s said thank you."),
    EXCHANGE_REVERSED: _l("%(name)s, a coordinator, reversed the payment."),
}
# The same steps when the page knows no name for who took them (an administrator, the daily tick, an erasure), and
# the steps that nobody takes by hand: every kind of step has a text here, so the history never shows a code word.
NAMELESS_EVENT_TEXTS = {
    exchanges.EventKind.RESPONDED.value: _l("A member responded."),
    exchanges.EventKind.INVITATION_ACCEPTED.value: _l("The member who was asked said yes to the invitation."),
    exchanges.EventKind.AGREED.value: _l("A member agreed."),
    exchanges.EventKind.HELPER_ACCEPTED.value: _l("The parent accepted the helper."),
    exchanges.EventKind.CANCELLED.value: _l("It was called off."),
    exchanges.EventKind.RECORDED.value: _l("The time was recorded."),
    exchanges.EventKind.CONFIRMED.value: _l("The time was confirmed."),
    exchanges.EventKind.AUTO_CONFIRMED.value: _l("The time was confirmed on its own, because nobody disputed it."),
    exchanges.EventKind.DISPUTED.value: _l("A member said the time is not right."),
    exchanges.EventKind.SETTLED.value: _l("A coordinator settled it."),
    exchanges.EventKind.PAID.value: _l("The time was paid directly."),
    exchanges.EventKind.CLAIMED.value: _l("The helper asked to be paid for the help."),
    exchanges.EventKind.RECORDED_ON_BEHALF.value: _l("A coordinator recorded the time."),
    exchanges.EventKind.THANKED.value: _l("The member who was helped said thank you."),
    EXCHANGE_REVERSED: _l("A coordinator reversed the payment."),
    REMINDER_EVENT: _l("A reminder was sent: the time would be confirmed on its own one day later."),
    ExchangeStatus.VOIDED.value: _l("The recorded time was cancelled."),
}
# A step of a kind this page does not know (yet): said in general words.
OTHER_EVENT_TEXT = _l("Something changed in this exchange.")
# Notes the time bank writes itself: the history's text says it already.
INTERNAL_NOTE = re.compile(r"^(invitation \d+|attested: both agreed( \(batch\))?|on behalf of member \d+)$")


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str
    minutes: int | None
    note: str


def history(events: list[ExchangeEvent], names: dict[int, str]) -> list[HistoryLine]:
    """Who did what, in plain words; a step without a person (a coordinator of the installation, the tick, an
    erasure) is said without a name."""
    lines = []
    for event in events:
        name = names.get(event.actor_membership_id) if event.actor_membership_id is not None else None
        named = EVENT_TEXTS.get(event.kind) if name is not None else None
        if named is not None:
            text = str(named) % {"name": name}
        else:
            text = str(NAMELESS_EVENT_TEXTS.get(event.kind, OTHER_EVENT_TEXT))
        note = "" if INTERNAL_NOTE.match(event.note or "") else event.note
        if event.kind == exchanges.EventKind.SETTLED.value and ": " in note:
            note = note.split(": ", 1)[1]
        lines.append(HistoryLine(at=event.at, text=text, minutes=event.minutes, note=note))
    return lines


def available_steps(exchange: Exchange, me_id: int | None, *, children: bool, thanked: bool) -> list[str]:
    """The steps the use cases accept from the member on the page in the exchange's present state."""
    helper, helped = exchange.helper_membership_id, exchange.helped_membership_id
    if me_id not in (helper, helped):
        return []
    status = exchange.status
    steps = []
    if status == ExchangeStatus.PROPOSED.value:
        waiting_for_parent = children and not exchange.parent_accepted_helper
        if waiting_for_parent and me_id == helped:
            steps.append("accept-helper")
        mine, other = (
            (exchange.helper_agreed, exchange.helped_agreed)
            if me_id == helper
            else (exchange.helped_agreed, exchange.helper_agreed)
        )
        if not mine and not (waiting_for_parent and (other or me_id == helped)):
            steps.append("agree")
        steps.append("cancel")
    elif status == ExchangeStatus.AGREED.value:
        steps += ["record", "cancel"]
    elif status == ExchangeStatus.RECORDED.value and exchange.recorded_by_membership_id != me_id:
        steps += ["confirm", "dispute"]
    elif status == ExchangeStatus.CONFIRMED.value and me_id == helped and not thanked:
        steps.append("thank")
    return steps


# --- the list of my exchanges -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyExchanges:
    in_progress: list[Exchange]
    finished: list[Exchange]
    older_cursor: int | None
    names: dict[int, str]
    categories: dict[int, Category]


def my_exchanges(*, session, actor, community_id: int, before: int | None) -> MyExchanges:
    """The member's exchanges in progress, a page of finished ones, and the names and kinds they mention."""
    in_progress = exchanges.list_exchanges(
        session=session, actor=actor, community_id=community_id, which="in_progress", limit=IN_PROGRESS_SHOWN
    )
    finished = exchanges.list_exchanges(
        session=session,
        actor=actor,
        community_id=community_id,
        which="finished",
        limit=FINISHED_PAGE_SIZE,
        before=before,
    )
    shown = [*in_progress.exchanges, *finished.exchanges]
    return MyExchanges(
        in_progress=in_progress.exchanges,
        finished=finished.exchanges,
        older_cursor=finished.next_cursor,
        names=exchanges.party_first_names(session=session, exchanges=shown),
        categories=_categories_by_id(session, community_id),
    )


def _categories_by_id(session, community_id: int) -> dict[int, Category]:
    found = communities.categories(session=session, community_id=community_id, include_retired=True)
    return {category.id: category for category in found}


def _cursor(name: str) -> int | None:
    """A page cursor from the address: a positive whole number, or the first page."""
    value = request.args.get(name, "")
    return int(value) if CURSOR_PATTERN.fullmatch(value) and int(value) > 0 else None


@blueprint.get("/exchanges")
@member_page
def index() -> str:
    """My exchanges: those in progress first, then the finished ones, newest first."""
    me = _own_membership()
    found = read(my_exchanges, community_id=here().community.id, before=_cursor("before"))
    return render_template(
        "exchanges/index.html",
        found=found,
        me_id=me.id,
        status_text=status_text,
        role_text=role_text,
        title_text=title_text,
        older=_cursor("before") is not None,
    )


# --- one exchange -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeView:
    details: exchanges.ExchangeDetails
    names: dict[int, str]
    categories: dict[int, Category]

    @property
    def exchange(self) -> Exchange:
        return self.details.exchange

    @property
    def category(self) -> Category | None:
        return self.categories.get(self.exchange.category_id)


def view_exchange(*, session, actor, community_id: int, exchange_id: int) -> ExchangeView:
    """The exchange with its history as ``get_exchange`` gives it (its two members and the coordinators), with
    the first names it mentions; an exchange of another community is not found here."""
    details = exchanges.get_exchange(session=session, actor=actor, exchange_id=exchange_id)
    if details.exchange.community_id != community_id:
        raise errors.NotFound("no such exchange", exchange_id=exchange_id)
    names = exchanges.party_first_names(session=session, exchanges=[details.exchange], events=details.events)
    return ExchangeView(details=details, names=names, categories=_categories_by_id(session, community_id))


def _exchange_view(exchange_id: int) -> ExchangeView:
    try:
        return read(view_exchange, community_id=here().community.id, exchange_id=exchange_id)
    except errors.NotFound:
        abort(404)


def _step_forms(sent: tuple[str, FlaskForm] | None) -> dict[str, FlaskForm]:
    """A form for every step: the one just sent keeps what was typed and its messages, the others start empty."""
    forms = {name: step.form(formdata=None) for name, step in STEPS.items()}
    if sent is not None:
        forms[sent[0]] = sent[1]
    return forms


def _exchange_page(exchange_id: int, sent: tuple[str, FlaskForm] | None = None) -> str:
    """The exchange's page; after a step that was refused (``sent``), with that form as it was sent."""
    view = _exchange_view(exchange_id)
    exchange = view.exchange
    membership = here().membership
    me_id = membership.id if membership is not None else None
    children = view.category is not None and view.category.involves_children
    steps = available_steps(exchange, me_id, children=children, thanked=view.details.thank_you is not None)
    if sent is not None and sent[0] not in steps and not sent[1].form_errors:
        # What was typed belongs to a step the exchange has moved past (in another tab, by the other member).
        sent[1].form_errors.append(_("This step is no longer possible. The page shows where the exchange stands now."))
    return render_template(
        "exchanges/exchange.html",
        view=view,
        exchange=exchange,
        me_id=me_id,
        party=me_id in (exchange.helper_membership_id, exchange.helped_membership_id),
        children=children,
        title=title_text(exchange, view.categories),
        status=status_text(exchange, me_id, view.names),
        role=role_text(exchange, me_id, view.names),
        other_name=_other_name(exchange, me_id, view.names),
        history=history(view.details.events, view.names),
        steps=steps,
        forms=_step_forms(sent),
        sent=sent[1] if sent is not None else None,
        category_name=category_name,
    )


@blueprint.get("/exchanges/<int:exchange_id>")
@member_page
def exchange(exchange_id: int) -> str:
    """An exchange: who helps whom, where it stands, its history and what I can do now."""
    return _exchange_page(exchange_id)


@dataclass(frozen=True)
class Step:
    """One step of an exchange as a page takes it: its form, its use case and what the use case gets from the
    form, the note shown once it is done, and which form field each of the use case's fields is."""

    form: type[FlaskForm]
    use_case: Callable
    arguments: Callable[[FlaskForm], dict]
    done_note: str
    fields: dict[str, str] = field(default_factory=dict)


def _no_arguments(form: FlaskForm) -> dict:
    return {}


STEPS = {
    "agree": Step(StepForm, exchanges.agree_exchange, _no_arguments, _l("You agreed.")),
    "accept-helper": Step(StepForm, exchanges.accept_helper, _no_arguments, _l("You accepted the helper.")),
    "cancel": Step(
        CancelForm,
        exchanges.cancel_exchange,
        lambda form: {"reason": form.cancel_reason.data or ""},
        _l("The exchange is called off."),
        {"reason": "cancel_reason"},
    ),
    "record": Step(
        RecordForm,
        payments.record_minutes,
        lambda form: {
            "minutes": form.duration.total_minutes(),
            "note": form.note.data or "",
            "idempotency_key": form.request_key.data or None,
        },
        _l("The time is recorded. The other member confirms it."),
        {"note": "note"},
    ),
    "confirm": Step(StepForm, payments.confirm_exchange, _no_arguments, _l("Confirmed: the time is paid.")),
    "dispute": Step(
        DisputeForm,
        payments.dispute_exchange,
        lambda form: {"reason": form.dispute_reason.data},
        _l("You said the time is not right. A coordinator will contact you."),
        {"reason": "dispute_reason"},
    ),
    "thank": Step(
        ThankForm,
        exchanges.thank_helper,
        lambda form: {"text": form.thank_you_text.data},
        _l("Your thank-you note is sent."),
        {"text": "thank_you_text"},
    ),
}


@blueprint.post("/exchanges/<int:exchange_id>/<any(" + ", ".join(f"'{name}'" for name in STEPS) + "):step>")
@member_page
def act(exchange_id: int, step: str):
    """Take one step of the exchange; refused, the page shows the exchange as it now stands, with the reason."""
    _exchange_view(exchange_id)  # an exchange of another community, or not mine to see: not found
    taken = STEPS[step]
    form = taken.form()
    if form.validate_on_submit():
        try:
            run(taken.use_case, exchange_id=exchange_id, **taken.arguments(form))
        except REFUSALS as error:
            if isinstance(form, RecordForm):
                _refuse_with_amount(form, error, fields=taken.fields)
            else:
                refuse(form, error, fields=taken.fields)
        else:
            slug = here().community.slug
            return done(str(taken.done_note), "exchange_pages.exchange", slug=slug, exchange_id=exchange_id)
    return _exchange_page(exchange_id, sent=(step, form))


# --- paying and claiming ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentChoices:
    people: list[members.MemberChoice]
    categories: list[Category]
    figures: AccountFigures  # the account of the member on the page


def payment_choices(*, session, actor, community_id: int, membership_id: int) -> PaymentChoices:
    """Whom a member can pay or claim from, the kinds of help, and the member's own account figures."""
    return PaymentChoices(
        people=members.member_choices(session=session, actor=actor, community_id=community_id),
        categories=communities.categories(session=session, community_id=community_id),
        figures=balances.member_balance(session=session, actor=actor, membership_id=membership_id).figures,
    )


def _fill_choices(form: PaymentForm, choices: PaymentChoices, *, for_claim: bool) -> None:
    """The select boxes: members by first name (and neighbourhood where first names repeat); the kinds of help
    (a claim cannot be for a task with children: the parent pays directly)."""
    labels = [
        f"{person.first_name} ({person.neighbourhood})" if person.neighbourhood else person.first_name
        for person in choices.people
    ]
    repeated = {label for label in labels if labels.count(label) > 1}
    form.member.choices = [("", _("Choose a member"))] + [
        (str(person.membership_id), f"{label} · {person.membership_id}" if label in repeated else label)
        for person, label in zip(choices.people, labels, strict=True)
    ]
    kinds = sorted(
        (category for category in choices.categories if not (for_claim and category.involves_children)),
        key=lambda category: category_name(category).casefold(),
    )
    form.category.choices = [("", _("Other, or not listed"))] + [
        (str(category.id), category_name(category)) for category in kinds
    ]


def _payment_page(*, for_claim: bool):
    """The form to pay someone (or claim from them); sent and accepted, the exchange's page."""
    me = _own_membership()
    community = here().community
    choices = read(payment_choices, community_id=community.id, membership_id=me.id)
    form = ClaimForm() if for_claim else PayForm()
    _fill_choices(form, choices, for_claim=for_claim)
    if form.validate_on_submit():
        arguments = {
            "community_id": community.id,
            "minutes": form.duration.total_minutes(),
            "category_id": form.category.data,
            "description": form.description.data or "",
            "idempotency_key": form.request_key.data or None,
        }
        other_field = "payer_membership_id" if for_claim else "payee_membership_id"
        use_case = balances.claim_in_community if for_claim else balances.pay_in_community
        try:
            exchange = run(use_case, **{other_field: form.member.data}, **arguments)
        except REFUSALS as error:
            _refuse_with_amount(
                form, error, fields={other_field: "member", "category_id": "category", "description": "description"}
            )
        else:
            name = next(p.first_name for p in choices.people if p.membership_id == form.member.data)
            amount = hours(exchange.minutes)
            message = (
                _("You asked %(name)s to pay %(amount)s. %(name)s confirms it.", name=name, amount=amount)
                if for_claim
                else _("You paid %(name)s %(amount)s.", name=name, amount=amount)
            )
            return done(message, "exchange_pages.exchange", slug=community.slug, exchange_id=exchange.id)
    template = "exchanges/claim.html" if for_claim else "exchanges/pay.html"
    return render_template(template, form=form, figures=choices.figures)


@blueprint.route("/pay", methods=["GET", "POST"])
@member_page
def pay():
    """Pay a member who helped me: the minutes move at once."""
    return _payment_page(for_claim=False)


@blueprint.route("/claim", methods=["GET", "POST"])
@member_page
def claim():
    """Ask a member I helped to pay me: the minutes wait for their confirmation."""
    return _payment_page(for_claim=True)


# --- my statement -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    """A calendar month in the community's time zone: the statement's period, ``[start, end)``."""

    year: int
    month: int
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return self.following().start

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.date().toordinal() - 1)

    def name(self) -> str:
        return format_date(date(self.year, self.month, 1), "LLLL yyyy")

    def previous(self) -> Month:
        year, month = (self.year - 1, 12) if self.month == 1 else (self.year, self.month - 1)
        return Month(year, month, self.zone)

    def following(self) -> Month:
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return Month(year, month, self.zone)


def _this_month(zone: ZoneInfo) -> Month:
    today = utc_now().astimezone(zone)
    return Month(today.year, today.month, zone)


def _asked_month() -> Month:
    """The month in the address (``?month=2026-03``), else this month; a malformed month is no page."""
    zone = ZoneInfo(here().community.time_zone)
    value = request.args.get("month")
    if value is None:
        return _this_month(zone)
    found = MONTH_PATTERN.fullmatch(value)
    if not found or not 1 <= int(found.group(2)) <= 12 or not EARLIEST_YEAR <= int(found.group(1)) <= LATEST_YEAR:
        abort(404)
    return Month(int(found.group(1)), int(found.group(2)), zone)


def entry_text(line: reports.StatementLine) -> str:
    """What an entry on the statement was, in the page's language."""
    name = line.other_party_first_name
    memo = "" if line.memo in STANDARD_MEMOS else line.memo
    kinds = {
        "welcome_credit": _("Welcome credit"),
        "leaving_settlement": _("Settled on leaving"),
        "pot_donation": _("Gift to the community pot"),
        "pot_grant": _("From the community pot"),
        "credit_issued": _("Time credit from the community"),
        "group_event": _("Group event"),
        "trade_sent": _("Help from another time bank"),
        "trade_received": _("Help for another time bank"),
        "reversal": _("Correction of an earlier entry"),
    }
    if line.kind == exchanges.EXCHANGE_KIND:
        if name:
            text = _("From %(name)s", name=name) if line.amount_minutes > 0 else _("To %(name)s", name=name)
        else:
            text = _("Help")
    else:
        # A kind this page does not know (yet) is said in general words, never as its code.
        text = kinds.get(line.kind, _("Other entry"))
    return f"{text}: {memo}" if memo else text


@blueprint.get("/statement")
@member_page
def statement() -> str:
    """My statement for one month: opening balance, each entry with the balance after it, closing balance."""
    me = _own_membership()
    month = _asked_month()
    found = read(
        reports.member_statement,
        membership_id=me.id,
        start=month.start,
        end=month.end,
        limit=STATEMENT_PAGE_SIZE,
        after=_cursor("after"),
    )
    this_month = _this_month(month.zone)
    return render_template(
        "exchanges/statement.html",
        found=found,
        month=month,
        previous=month.previous(),
        following=month.following() if month.start < this_month.start else None,
        entry_text=entry_text,
        continued=_cursor("after") is not None,
    )


@blueprint.get("/statement.csv")
@member_page
def statement_csv() -> Response:
    """My statement of one month as CSV, for a spreadsheet."""
    me = _own_membership()
    month = _asked_month()
    text = read(reports.statement_csv, membership_id=me.id, start=month.start, end=month.end)
    response = make_response(text)
    response.mimetype = "text/csv"
    filename = f"statement-{here().community.slug}-{month.code}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def whole_statement(*, session, actor, membership_id: int, start: datetime, end: datetime) -> reports.MemberStatement:
    """The statement of a period with every entry (page after page), for printing."""
    first = reports.member_statement(session=session, actor=actor, membership_id=membership_id, start=start, end=end)
    lines, page = list(first.lines), first
    for _page in range(MAX_PRINTED_PAGES - 1):
        if page.next_cursor is None:
            break
        page = reports.member_statement(
            session=session, actor=actor, membership_id=membership_id, start=start, end=end, after=page.next_cursor
        )
        lines += page.lines
    return replace(first, lines=lines, next_cursor=page.next_cursor)


@blueprint.get("/statement/print")
@member_page
def statement_print() -> str:
    """My statement of one month to print: the community, my name, the period, every entry, the balances."""
    me = _own_membership()
    month = _asked_month()
    found = read(whole_statement, membership_id=me.id, start=month.start, end=month.end)
    return render_template(
        "exchanges/statement_print.html",
        found=found,
        month=month,
        member_name=me.display_name,
        entry_text=entry_text,
        printed_on=utc_now(),
    )
