"""A coordinator's pages: applicants, members, recording on behalf, disputes, reversals, the pot.

Every page is for the community's coordinators (and administrators of the installation): ``coordinator_page``
turns a member away with 403 and anybody else with 404. Each action is one POST with its own address, so that a
refusal can show the same page again with the message next to the form that was sent and what was typed kept;
an action that worked goes back to its page with a note (post/redirect/get).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange

from timebank import balances, communities, corrections, exchanges, members, payments, pot
from timebank.models import MembershipStatus, Role
from timebank.web.forms import CheckboxesField, ZeroOrMoreDurationForm, duration_field, select_choices
from timebank.web.i18n import current_language, hours
from timebank.web.menu import has_endpoint
from timebank.web.pages import REFUSALS, coordinator_page, done, here, read, refuse, run
from timebank.web.refusals import refusal_text

blueprint = Blueprint("coord", __name__, url_prefix="/c/<slug>/coordinate")

# Ids in addresses: the time bank's tables have 32-bit ids on PostgreSQL, which refuses a larger number outright.
ID = "int(min=1, max=2147483647)"
MEMBERS_PER_PAGE = 50
# The selects and checkboxes of members offer at most this many active members (the roster's largest page).
MEMBERS_TO_CHOOSE_FROM = members.MAX_ROSTER_SIZE
TRANSACTIONS_PER_PAGE = 20
REASON_MAX_LENGTH = 500

STATUS_WORDS = {
    MembershipStatus.ACTIVE.value: _l("Active"),
    MembershipStatus.APPLICANT.value: _l("Waiting for approval"),
    MembershipStatus.SUSPENDED.value: _l("Suspended"),
    MembershipStatus.LEFT.value: _l("Left"),
    MembershipStatus.DECLINED.value: _l("Not admitted"),
}
ROLE_WORDS = {Role.MEMBER.value: _l("Member"), Role.COORDINATOR.value: _l("Coordinator")}
TRANSACTION_WORDS = {
    "exchange": _l("Exchange"),
    "welcome_credit": _l("Welcome credit"),
    "leaving_settlement": _l("Settled on leaving"),
    "pot_donation": _l("Gift to the community pot"),
    "pot_grant": _l("From the community pot"),
    "credit_issued": _l("Time credit from the community"),
    "group_event": _l("Group event"),
    "reversal": _l("Correction (reversal)"),
    "trade_sent": _l("Trade with another time bank"),
    "trade_received": _l("Trade with another time bank"),
}
# A kind this page does not know (yet), said in general words rather than as its code.
OTHER_TRANSACTION_WORDS = _l("Other transaction")
# The notes the use cases give when a person gave none: in English, and saying no more than the kind.
PLAIN_MEMOS = {"welcome credit", "donation to the pot"}
ACCOUNT_WORDS = {
    "pot": _l("The pot"),
    "issuance": _l("Time credit from the community"),
    "clearing": _l("Other time banks"),
    "other": _l("Another account"),
}


# --- forms ----------------------------------------------------------------------------------------------------


def _reason_field(label, *, required: bool = True, maximum: int = REASON_MAX_LENGTH) -> TextAreaField:
    checks = [Length(max=maximum, message=_l("At most %(maximum)s characters.", maximum=maximum))]
    if required:
        checks.insert(0, InputRequired(message=_l("Fill in the reason.")))
    return TextAreaField(label, validators=checks, render_kw={"rows": 2})


def _amount_field(label) -> FormField:
    return FormField(ZeroOrMoreDurationForm, label=label)


def _member_select(label) -> SelectField:
    return SelectField(label, coerce=int, choices=[], validators=[NumberRange(min=1, message=_l("Choose a member."))])


class DeclineForm(FlaskForm):
    reason = _reason_field(_l("Why not (the applicant reads this)"))


class ReasonForm(FlaskForm):
    reason = _reason_field(_l("Reason (kept in the log)"))


class LimitsForm(FlaskForm):
    floor = _amount_field(_l("How far below zero the balance may go"))
    ceiling = _amount_field(_l("Highest balance"))
    reason = _reason_field(_l("Reason (kept in the log)"))


class RoleForm(FlaskForm):
    role = RadioField(
        _l("This member's role"),
        choices=select_choices(
            (Role.MEMBER.value, ROLE_WORDS["member"]), (Role.COORDINATOR.value, ROLE_WORDS["coordinator"])
        ),
        validators=[InputRequired(message=_l("Choose a role."))],
    )


class OfflineMemberForm(FlaskForm):
    display_name = StringField(
        _l("Name"),
        validators=[
            InputRequired(message=_l("Fill in the name.")),
            Length(max=80, message=_l("A name is at most 80 characters.")),
        ],
        render_kw={"autocomplete": "off"},
    )
    neighbourhood = StringField(
        _l("Neighbourhood"), validators=[Length(max=80, message=_l("A neighbourhood is at most 80 characters."))]
    )
    preferred_language = RadioField(
        _l("Language for letters and messages"),
        choices=select_choices(("nl", "Nederlands"), ("en", "English")),
        default="nl",
        validators=[InputRequired(message=_l("Choose a language."))],
    )


class MemberSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing: a GET form

    name = StringField(_l("Name contains"), validators=[Length(max=80, message=_l("At most 80 characters."))])
    status = SelectField(
        _l("Status"),
        choices=select_choices(
            ("", _l("Everyone admitted")),
            *[(status, STATUS_WORDS[status]) for status in ("active", "suspended", "left")],
        ),
        default="",
    )
    order = SelectField(
        _l("Order"),
        choices=select_choices(
            ("name", _l("By name")),
            ("lowest_balance", _l("Lowest balance first")),
            ("highest_balance", _l("Highest balance first")),
        ),
        default="name",
    )


class RecordForm(FlaskForm):
    helper = _member_select(_l("Who helped (earns the time)"))
    helped = _member_select(_l("Who was helped (pays the time)"))
    duration = duration_field(_l("How long"))
    category = SelectField(_l("Kind of help"), choices=[])
    description = StringField(_l("What was done"), validators=[Length(max=500, message=_l("At most 500 characters."))])
    agreement = RadioField(
        _l("Who told you"),
        choices=select_choices(
            ("both", _l("Both of them: record it now, as agreed")),
            ("helper", _l("Only the helper: the helped member still confirms")),
            ("helped", _l("Only the helped member: the helper still confirms")),
        ),
        default="both",
        validators=[InputRequired(message=_l("Choose who told you."))],
    )
    reason = _reason_field(_l("Note for the log (optional)"), required=False)


class SettleForm(FlaskForm):
    outcome = RadioField(
        _l("Decision"),
        choices=select_choices(
            ("post", _l("The recorded time stands")),
            ("change", _l("Change the time to")),
            ("void", _l("Nothing is paid (void)")),
        ),
        validators=[InputRequired(message=_l("Choose a decision."))],
    )
    minutes = _amount_field(_l("The right time (only when you change it)"))
    reason = _reason_field(_l("Reason (both members read it)"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.outcome.data == "change" and self.minutes.total_minutes() <= 0:
            self.minutes.hours.errors = [*self.minutes.hours.errors, _("Fill in the right time.")]
            return False
        return valid


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # finding a transaction changes nothing: a GET form

    transaction = IntegerField(
        _l("Transaction number"),
        validators=[
            InputRequired(message=_l("Fill in a transaction number.")),
            NumberRange(min=1, message=_l("A transaction number is a whole number above 0.")),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ReverseForm(FlaskForm):
    transaction_id = HiddenField()
    reason = _reason_field(_l("Why it is reversed (kept with the correction)"))


class DonateForm(FlaskForm):
    amount = duration_field(_l("How much you give"))
    note = StringField(_l("Note (optional)"), validators=[Length(max=200, message=_l("At most 200 characters."))])


class GrantForm(FlaskForm):
    member = _member_select(_l("To whom"))
    amount = duration_field(_l("How much"))
    reason = _reason_field(_l("Why (kept in the log)"))


class GroupEventForm(FlaskForm):
    event_name = StringField(
        _l("What the event was"),
        validators=[
            InputRequired(message=_l("Fill in what the event was.")),
            Length(max=120, message=_l("At most 120 characters.")),
        ],
    )
    participants = CheckboxesField(_l("Who took part"), coerce=int, choices=[])
    amount = duration_field(_l("Time for each participant"))
    source = RadioField(
        _l("Paid from"),
        choices=select_choices(
            ("pot", _l("The pot")),
            ("issuance", _l("Time credit from the community (new time, with the event as its reason)")),
        ),
        default="pot",
        validators=[InputRequired(message=_l("Choose where the time comes from."))],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.participants.data:
            self.participants.errors = [*self.participants.errors, _("Choose at least one participant.")]
            return False
        return valid


# --- helpers --------------------------------------------------------------------------------------------------


def _community_id() -> int:
    return here().community.id


def _member_here(membership_id: int) -> None:
    """A membership (an applicant's too) of this page's community; any other is not found here, even by an
    administrator, who could act on it from its own community's pages."""
    try:
        member = read(members.view_member, membership_id=membership_id)
    except REFUSALS:
        abort(404)
    if member.community_id != _community_id():
        abort(404)


def _exchange_here(exchange_id: int) -> None:
    """An exchange of this page's community; any other is not found here."""
    try:
        details = read(exchanges.get_exchange, exchange_id=exchange_id)
    except REFUSALS:
        abort(404)
    if details.exchange.community_id != _community_id():
        abort(404)


def _active_members() -> list[members.RosterRow]:
    roster = read(members.member_roster, community_id=_community_id(), status="active", limit=MEMBERS_TO_CHOOSE_FROM)
    return roster.rows


def _member_label(row: members.RosterRow) -> str:
    membership = row.membership
    label = membership.display_name
    if membership.neighbourhood:
        label = f"{label} ({membership.neighbourhood})"
    if membership.managed_offline:
        label = _("%(name)s, not online", name=label)
    return label


def _member_choices(rows: list[members.RosterRow]) -> list[SelectChoice]:
    return select_choices((0, _("Choose a member")), *[(row.membership.id, _member_label(row)) for row in rows])


def _category_choices() -> list[SelectChoice]:
    found = read(communities.categories, community_id=_community_id(), with_actor=False)
    language = current_language()
    names = [(str(category.id), category.name_nl if language == "nl" else category.name_en) for category in found]
    return select_choices(("", _("No particular kind")), *names)


def _bound_or_new(form_class, bound, *, prefix: str = "", **data):
    """The form that was sent (to show its messages) when it is this one, else a fresh one."""
    if bound is not None and bound._prefix in (prefix, f"{prefix}-"):  # wtforms ends a prefix with "-"
        return bound
    return form_class(formdata=None, prefix=prefix, **data)


def _messages_of_unshown(bound, shown) -> list[str]:
    """The messages of the form that was sent, when the page no longer shows it (the applicant was admitted, the
    dispute settled, meanwhile): at the top of the page instead."""
    if bound is None or any(form is bound for form in shown):
        return []
    messages = list(bound.form_errors)
    for field in bound:
        messages += field.errors if isinstance(field.errors, list) else []
    return [str(message) for message in messages]


def _transaction_words(kind: str) -> str:
    return str(TRANSACTION_WORDS.get(kind, OTHER_TRANSACTION_WORDS))


def _describe(transaction: corrections.TransactionSummary) -> str:
    """What a transaction was, with its note unless the note only repeats the kind."""
    words = _transaction_words(transaction.kind)
    memo = transaction.memo.strip()
    if not memo or memo.lower() in PLAIN_MEMOS or memo.lower() == words.lower():
        return words
    return _("%(what)s: %(note)s", what=words, note=memo)


def _account_words(line: corrections.TransactionLine) -> str:
    return line.name if line.account == "member" else str(ACCOUNT_WORDS.get(line.account, line.account))


@blueprint.app_template_global()
def coordinator_words() -> dict:
    """The words a coordinator's templates use for statuses, roles, transaction kinds and accounts."""
    return {
        "status": STATUS_WORDS,
        "role": ROLE_WORDS,
        "transaction": _transaction_words,
        "describe": _describe,
        "account": _account_words,
    }


# --- overview -------------------------------------------------------------------------------------------------


@blueprint.get("")
@coordinator_page
def index():
    """What waits for the coordinator today, with a way to each task."""
    community_id = _community_id()
    counts = read(members.member_counts, community_id=community_id)
    disputes = read(exchanges.open_disputes, community_id=community_id, limit=1)
    pot_figures = read(balances.pot_figures, community_id=community_id)
    return render_template(
        "coordinator/index.html",
        counts=counts,
        disputes_total=disputes.total,
        pot_balance=pot_figures.figures.balance_minutes,
    )


# --- applicants -----------------------------------------------------------------------------------------------


def _applicants_page(bound: DeclineForm | None = None, problem: str | None = None):
    page = read(members.list_members, community_id=_community_id(), status="applicant", limit=members.MAX_PAGE_SIZE)
    forms = {
        applicant.id: _bound_or_new(DeclineForm, bound, prefix=f"decline-{applicant.id}") for applicant in page.members
    }
    problems = ([problem] if problem else []) + _messages_of_unshown(bound, forms.values())
    return render_template(
        "coordinator/applicants.html",
        applicants=page.members,
        forms=forms,
        more=page.next_cursor is not None,
        problems=problems,
    )


@blueprint.get("/applicants")
@coordinator_page
def applicants():
    """People who asked to join, with what they wrote: admit them or say why not."""
    return _applicants_page()


@blueprint.post(f"/applicants/<{ID}:membership_id>/approve")
@coordinator_page
def approve(membership_id: int):
    """Admit an applicant: the welcome credit is paid at once."""
    _member_here(membership_id)
    try:
        membership = run(members.approve_member, membership_id=membership_id)
    except REFUSALS as error:
        return _applicants_page(problem=refusal_text(error))
    return done(
        _("%(name)s is now a member.", name=membership.display_name), "coord.applicants", slug=here().community.slug
    )


@blueprint.post(f"/applicants/<{ID}:membership_id>/decline")
@coordinator_page
def decline(membership_id: int):
    """Decline an application, with a reason the applicant reads."""
    _member_here(membership_id)
    form = DeclineForm(prefix=f"decline-{membership_id}")
    if form.validate():
        try:
            membership = run(members.decline_member, membership_id=membership_id, reason=form.reason.data)
        except REFUSALS as error:
            refuse(form, error)
        else:
            return done(
                _("The application of %(name)s was declined.", name=membership.display_name),
                "coord.applicants",
                slug=here().community.slug,
            )
    return _applicants_page(form)


# --- members --------------------------------------------------------------------------------------------------


@blueprint.get("/members", endpoint="members")
@coordinator_page
def members_list():
    """Members with their balances: find one by name, status or balance."""
    form = MemberSearchForm(request.args)
    page_number = request.args.get("page", 1, type=int)
    page_number = min(max(page_number, 1), members.MAX_ROSTER_OFFSET // MEMBERS_PER_PAGE)
    roster = None
    if form.validate():
        roster = read(
            members.member_roster,
            community_id=_community_id(),
            name=(form.name.data or "").strip(),
            status=form.status.data or None,
            order=form.order.data or "name",
            limit=MEMBERS_PER_PAGE,
            offset=(page_number - 1) * MEMBERS_PER_PAGE,
        )
    pages = 1 if roster is None else max(1, -(-roster.total // MEMBERS_PER_PAGE))
    return render_template("coordinator/members.html", form=form, roster=roster, page_number=page_number, pages=pages)


def _member_page(membership_id: int, bound: FlaskForm | None = None):
    details = read(members.member_details, community_id=_community_id(), membership_id=membership_id)
    figures = details.figures
    floor = -(figures.floor_minutes or 0)
    ceiling = figures.ceiling_minutes or 0
    forms = {
        "status": _bound_or_new(ReasonForm, bound, prefix="status"),
        "limits": _bound_or_new(
            LimitsForm,
            bound,
            prefix="limits",
            floor={"hours": floor // 60, "minutes": floor % 60},
            ceiling={"hours": ceiling // 60, "minutes": ceiling % 60},
        ),
        "role": _bound_or_new(RoleForm, bound, prefix="role", role=details.membership.role),
    }
    own = here().membership is not None and here().membership.id == details.membership.id
    return render_template("coordinator/member.html", details=details, forms=forms, own=own)


@blueprint.get(f"/members/<{ID}:membership_id>")
@coordinator_page
def member(membership_id: int):
    """One member: status, balance and bounds, and what a coordinator can change."""
    return _member_page(membership_id)


def _member_action(membership_id: int, form: FlaskForm, use_case, message: str, **arguments):
    """Run one action on a member's page; the page again with the refusal, else back to it with ``message``."""
    read(members.member_details, community_id=_community_id(), membership_id=membership_id)  # of this community
    if form.validate():
        try:
            run(use_case, membership_id=membership_id, **arguments)
        except REFUSALS as error:
            refuse(form, error, fields={"floor_minutes": "floor", "ceiling_minutes": "ceiling"})
        else:
            return done(message, "coord.member", slug=here().community.slug, membership_id=membership_id)
    return _member_page(membership_id, form)


@blueprint.post(f"/members/<{ID}:membership_id>/suspend")
@coordinator_page
def suspend(membership_id: int):
    """Suspend an active member, with a reason: their account is frozen until they are reinstated."""
    form = ReasonForm(prefix="status")
    return _member_action(
        membership_id, form, members.suspend_member, _("The member is suspended."), reason=form.reason.data
    )


@blueprint.post(f"/members/<{ID}:membership_id>/reinstate")
@coordinator_page
def reinstate(membership_id: int):
    """Reinstate a suspended member, with a reason."""
    form = ReasonForm(prefix="status")
    return _member_action(
        membership_id, form, members.reinstate_member, _("The member is active again."), reason=form.reason.data
    )


@blueprint.post(f"/members/<{ID}:membership_id>/limits")
@coordinator_page
def limits(membership_id: int):
    """Set this member's lowest and highest balance, with a reason."""
    form = LimitsForm(prefix="limits")
    return _member_action(
        membership_id,
        form,
        members.set_member_limits,
        _("The lowest and highest balance are changed."),
        floor_minutes=-form.floor.total_minutes(),
        ceiling_minutes=form.ceiling.total_minutes(),
        reason=form.reason.data,
    )


@blueprint.post(f"/members/<{ID}:membership_id>/role")
@coordinator_page
def role(membership_id: int):
    """Make a member a coordinator, or a coordinator a member again."""
    form = RoleForm(prefix="role")
    own = here().membership is not None and here().membership.id == membership_id
    response = _member_action(membership_id, form, members.set_role, _("The role is changed."), role=form.role.data)
    if own and response.status_code == 302 and form.role.data != Role.COORDINATOR.value:
        # No longer a coordinator: this page is closed to them now; their home page is not (the note is flashed).
        if has_endpoint("member.home"):
            return redirect(url_for("member.home", slug=here().community.slug))
        return redirect(url_for("web.home"))
    return response


@blueprint.route("/members/offline", methods=["GET", "POST"])
@coordinator_page
def add_offline():
    """Add a neighbour who is not online: the coordinators keep their account for them."""
    form = OfflineMemberForm()
    if form.validate_on_submit():
        try:
            membership = run(
                members.add_offline_member,
                community_id=_community_id(),
                display_name=form.display_name.data,
                neighbourhood=form.neighbourhood.data or "",
                preferred_language=form.preferred_language.data,
            )
        except REFUSALS as error:
            refuse(form, error)
        else:
            return done(
                _("%(name)s is a member now.", name=membership.display_name),
                "coord.member",
                slug=here().community.slug,
                membership_id=membership.id,
            )
    return render_template("coordinator/add_offline.html", form=form)


# --- recording on behalf --------------------------------------------------------------------------------------


@blueprint.route("/record", methods=["GET", "POST"])
@coordinator_page
def record():
    """Record an exchange for members who are not online (or told you on the phone)."""
    form = RecordForm(helper=request.args.get("helper", 0, type=int))
    choices = _member_choices(_active_members())
    form.helper.choices = form.helped.choices = choices
    form.category.choices = _category_choices()
    if form.validate_on_submit():
        agreement = form.agreement.data
        on_behalf_of = {"helper": form.helper.data, "helped": form.helped.data}.get(agreement)
        try:
            run(
                payments.record_on_behalf,
                helper_membership_id=form.helper.data,
                helped_membership_id=form.helped.data,
                minutes=form.duration.total_minutes(),
                on_behalf_of_membership_id=on_behalf_of,
                attested=agreement == "both",
                category_id=int(form.category.data) if form.category.data else None,
                description=form.description.data or "",
                reason=form.reason.data or "",
            )
        except REFUSALS as error:
            fields = {
                "helper_membership_id": "helper",
                "helped_membership_id": "helped",
                "minutes": "duration",
                "category_id": "category",
                "on_behalf_of_membership_id": "agreement",
            }
            refuse(form, error, fields=fields)
        else:
            message = (
                _("The exchange is recorded: %(time)s.", time=hours(form.duration.total_minutes()))
                if agreement == "both"
                else _("The exchange is recorded and waits for the other member's confirmation.")
            )
            return done(message, "coord.record", slug=here().community.slug)
    return render_template("coordinator/record.html", form=form)


# --- disputes -------------------------------------------------------------------------------------------------


def _disputes_page(bound: SettleForm | None = None):
    page = read(exchanges.open_disputes, community_id=_community_id(), limit=exchanges.MAX_PAGE_SIZE)
    forms = {
        dispute.exchange.id: _bound_or_new(SettleForm, bound, prefix=f"settle-{dispute.exchange.id}")
        for dispute in page.disputes
    }
    problems = _messages_of_unshown(bound, forms.values())
    return render_template("coordinator/disputes.html", page=page, forms=forms, problems=problems)


@blueprint.get("/disputes")
@coordinator_page
def disputes():
    """Exchanges whose time one member disputes, with what both said."""
    return _disputes_page()


@blueprint.post(f"/disputes/<{ID}:exchange_id>/settle")
@coordinator_page
def settle(exchange_id: int):
    """Settle a dispute: the time stands, is changed, or nothing is paid; with a reason."""
    _exchange_here(exchange_id)
    form = SettleForm(prefix=f"settle-{exchange_id}")
    if form.validate():
        outcome = form.outcome.data
        try:
            run(
                payments.settle_dispute,
                exchange_id=exchange_id,
                outcome=outcome,
                reason=form.reason.data,
                minutes=form.minutes.total_minutes() if outcome == "change" else None,
            )
        except REFUSALS as error:
            refuse(form, error)
        else:
            return done(_("The dispute is settled."), "coord.disputes", slug=here().community.slug)
    return _disputes_page(form)


# --- reversing a transaction ----------------------------------------------------------------------------------


def _chosen_transaction(lookup: LookupForm) -> corrections.TransactionSummary | None:
    """The transaction named in the address, or None with the reason next to the lookup field."""
    if "transaction" not in request.args or not lookup.validate():
        return None
    try:
        return read(
            corrections.transaction_summary, community_id=_community_id(), transaction_id=lookup.transaction.data
        )
    except REFUSALS as error:
        lookup.transaction.errors = [*lookup.transaction.errors, refusal_text(error)]
        return None


def _reverse_page(form: ReverseForm | None = None, transaction_id: int | None = None):
    lookup = LookupForm(request.args if transaction_id is None else None, transaction=transaction_id)
    if transaction_id is not None:
        chosen = read(corrections.transaction_summary, community_id=_community_id(), transaction_id=transaction_id)
    else:
        chosen = _chosen_transaction(lookup)
    if chosen is not None:
        form = form or ReverseForm(formdata=None, transaction_id=chosen.id)
        return render_template("coordinator/reverse_confirm.html", chosen=chosen, form=form)
    member_id = request.args.get("member", type=int)
    before = request.args.get("before", type=int)
    recent = read(
        corrections.recent_transactions,
        community_id=_community_id(),
        membership_id=member_id or None,
        before=before if before and before > 0 else None,
        limit=TRANSACTIONS_PER_PAGE,
    )
    return render_template(
        "coordinator/reverse.html",
        lookup=lookup,
        recent=recent,
        people=[(row.membership.id, _member_label(row)) for row in _active_members()],
        member_id=member_id or 0,
    )


@blueprint.route("/reverse", methods=["GET", "POST"])
@coordinator_page
def reverse():
    """Correct a mistake: choose the transaction, check what it moved, then reverse it with a reason."""
    if request.method == "GET":
        return _reverse_page()
    form = ReverseForm()
    transaction_id = _whole_number(form.transaction_id.data)
    if transaction_id is None:
        return _reverse_page()
    if form.validate():
        try:
            reversal = run(
                corrections.reverse_transaction,
                community_id=_community_id(),
                transaction_id=transaction_id,
                reason=form.reason.data,
            )
        except REFUSALS as error:
            refuse(form, error, fields={"transaction_id": "reason"})
        else:
            return done(
                _(
                    "Transaction %(number)s is reversed by transaction %(reversal)s.",
                    number=transaction_id,
                    reversal=reversal.id,
                ),
                "coord.reverse",
                slug=here().community.slug,
            )
    return _reverse_page(form, transaction_id)


def _whole_number(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


# --- the pot --------------------------------------------------------------------------------------------------


def _pot_page(bound: FlaskForm | None = None, *, which: str = ""):
    community_id = _community_id()
    figures = read(balances.pot_figures, community_id=community_id).figures
    movements = read(corrections.recent_transactions, community_id=community_id, pot=True, limit=TRANSACTIONS_PER_PAGE)
    active = _active_members()
    forms = {
        "donate": bound if which == "donate" else DonateForm(formdata=None, prefix="donate"),
        "grant": bound if which == "grant" else GrantForm(formdata=None, prefix="grant"),
        "event": bound if which == "event" else GroupEventForm(formdata=None, prefix="event"),
    }
    forms["grant"].member.choices = _member_choices(active)
    forms["event"].participants.choices = select_choices(*[(row.membership.id, _member_label(row)) for row in active])
    return render_template(
        "coordinator/pot.html",
        figures=figures,
        movements=movements.transactions,
        forms=forms,
        can_donate=here().membership is not None,
    )


@blueprint.get("/pot", endpoint="pot")
@coordinator_page
def pot_page():
    """The pot: what is in it, what went in and out lately, and giving from it."""
    return _pot_page()


def _pot_action(form: FlaskForm, which: str, use_case, message, fields: dict[str, str], arguments):
    if which in ("grant", "event"):
        active = _active_members()
        if which == "grant":
            form.member.choices = _member_choices(active)
        else:
            form.participants.choices = select_choices(*[(row.membership.id, _member_label(row)) for row in active])
    if form.validate():
        try:
            run(use_case, community_id=_community_id(), **arguments(form))
        except REFUSALS as error:
            refuse(form, error, fields=fields)
        else:
            return done(message(form), "coord.pot", slug=here().community.slug)
    return _pot_page(form, which=which)


@blueprint.post("/pot/donate")
@coordinator_page
def donate():
    """The coordinator gives time from their own account to the pot."""
    return _pot_action(
        DonateForm(prefix="donate"),
        "donate",
        pot.donate_to_pot,
        lambda form: _("Thank you: %(time)s went into the pot.", time=hours(form.amount.total_minutes())),
        {"minutes": "amount"},
        lambda form: {"minutes": form.amount.total_minutes(), "note": form.note.data or ""},
    )


@blueprint.post("/pot/grant")
@coordinator_page
def grant():
    """Give time from the pot to one member, with a reason."""
    return _pot_action(
        GrantForm(prefix="grant"),
        "grant",
        pot.grant_from_pot,
        lambda form: _("%(time)s went from the pot to the member.", time=hours(form.amount.total_minutes())),
        {"membership_id": "member", "minutes": "amount"},
        lambda form: {
            "membership_id": form.member.data,
            "minutes": form.amount.total_minutes(),
            "reason": form.reason.data,
        },
    )


@blueprint.post("/pot/group-event")
@coordinator_page
def group_event():
    """Credit every participant of a group event the same time, all at once."""
    return _pot_action(
        GroupEventForm(prefix="event"),
        "event",
        pot.group_event,
        lambda form: ngettext(
            "%(num)s participant received %(time)s.",
            "%(num)s participants received %(time)s each.",
            len(form.participants.data),
            time=hours(form.amount.total_minutes()),
        ),
        {"participant_ids": "participants", "minutes_each": "amount"},
        lambda form: {
            "event_name": form.event_name.data,
            "participant_ids": list(form.participants.data),
            "minutes_each": form.amount.total_minutes(),
            "source": form.source.data,
        },
    )
