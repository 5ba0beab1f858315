"""A coordinator's reports and settings: charts, CSV, printable statements, safeguarding, categories, keys.

The funder report and a member's statement are read for a period of whole days chosen on a GET form (from one
day up to and including another, in the community's time zone). Safeguarding records are for safeguarding
officers only. Settings, categories and partner keys are split over three pages that link to each other.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, make_response, render_template, request
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional, ValidationError

from timebank import communities, credentials, members, reports
from timebank import safeguarding as safeguarding_records
from timebank.access import Actor
from timebank.models import Membership
from timebank.web import charts
from timebank.web.coordinator import OTHER_TRANSACTION_WORDS, PLAIN_MEMOS, TRANSACTION_WORDS
from timebank.web.forms import CheckboxesField, ZeroOrMoreDurationForm, select_choices
from timebank.web.i18n import hours
from timebank.web.pages import (
    REFUSALS,
    coordinator_page,
    done,
    here,
    officer_page,
    read,
    refuse,
    run,
)

blueprint = Blueprint("coord_reports", __name__)

REPORT_MONTHS = 12  # the report's period unless another is chosen: this month and the 11 before it
STATEMENT_MONTHS = 3
# A printed statement holds at most this many lines (10 pages of the use case); choose a shorter period for more.
MAX_STATEMENT_LINES = 1000
# The officer's list of members to choose from, read in pages of 100.
MAX_MEMBERS_LISTED = 5000
MEMBER_PAGE_SIZE = 100
CHECKS_PER_PAGE = 50
# Checks whose review falls within this many days are listed as due (lapsed ones too).
DUE_WITHIN_DAYS = 30
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000
SLUG_LENGTH = 60

# A statement calls a reversal just a correction; the other kinds are said as on the coordinator's pages.
KIND_LABELS = {**TRANSACTION_WORDS, "reversal": _l("Correction")}
SCHEME_LABELS = {
    "vog": _l("VOG (Netherlands)"),
    "dbs": _l("DBS (United Kingdom)"),
    "other": _l("Other certificate of conduct"),
}
SCOPE_LABELS = {
    "members:read": _l("See members and their thank-you notes"),
    "listings:read": _l("See requests and offers"),
    "exchanges:write": _l("Record exchanges and settle disputes"),
    "ledger:read": _l("See balances, statements and the pot"),
    "ledger:write": _l("Pay, correct and hand out time credits"),
    "reports:read": _l("Read the funder report"),
}
# The time zones a community may choose: the places of the time zone database, by continent ("Europe/Amsterdam").
TIME_ZONE_AREAS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


# --- forms ------------------------------------------------------------------------------------------------------


def _plausible_year(form, field) -> None:
    if field.data is not None and not EARLIEST_YEAR <= field.data.year <= LATEST_YEAR:
        raise ValidationError(_("Choose a day between the years 1970 and 9000."))


class PeriodForm(FlaskForm):
    """A period of whole days, on a GET form: it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[InputRequired(message=_l("Choose the first day.")), _plausible_year])
    end = DateField(
        _l("Up to and including"), validators=[InputRequired(message=_l("Choose the last day.")), _plausible_year]
    )


class LimitForm(ZeroOrMoreDurationForm):
    """Hours and minutes for a limit or a credit, where zero is a real answer (no credit, no room below zero)."""

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.hours.data is None and self.minutes.data is None:
            self.hours.errors = [*self.hours.errors, _("Fill in hours, minutes or both; 0 for none.")]
            return False
        return True


class SettingsForm(FlaskForm):
    name = StringField(
        _l("Name of the time bank"),
        validators=[
            InputRequired(message=_l("Fill in a name.")),
            Length(max=120, message=_l("A name is at most 120 characters.")),
        ],
    )
    language = SelectField(_l("Language of the time bank"), choices=LANGUAGE_CHOICES, validate_choice=False)
    # Not checked against the list here: the use case refuses an unknown zone, in words of its own.
    time_zone = SelectField(_l("Time zone"), choices=[], validate_choice=False)
    below_zero = FormField(LimitForm, label=_l("How far below zero a new member may go"))
    ceiling = FormField(LimitForm, label=_l("Highest balance for a new member"))
    welcome_credit = FormField(LimitForm, label=_l("Welcome credit"))
    auto_confirm_days = IntegerField(
        _l("Days until recorded time confirms itself"),
        validators=[
            InputRequired(message=_l("Fill in a number of days.")),
            NumberRange(min=1, max=90, message=_l("Between 1 and 90 days.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    approval_required = BooleanField(_l("A coordinator approves every new member"))


# Where a refusal of update_settings belongs on the form.
SETTINGS_FIELDS = {
    "default_floor_minutes": "below_zero",
    "default_ceiling_minutes": "ceiling",
    "welcome_credit_minutes": "welcome_credit",
}


class CategoryForm(FlaskForm):
    """A category's names and whether it involves children."""

    name_nl = StringField(
        _l("Name in Dutch"),
        validators=[
            InputRequired(message=_l("Fill in the Dutch name.")),
            Length(max=80, message=_l("A name is at most 80 characters.")),
        ],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[
            InputRequired(message=_l("Fill in the English name.")),
            Length(max=80, message=_l("A name is at most 80 characters.")),
        ],
    )
    involves_children = BooleanField(_l("Involves children: helpers need a current certificate of conduct"))


class NewCategoryForm(CategoryForm):
    slug = StringField(
        _l("Short name (you may leave this empty)"),
        validators=[Optional(), Length(max=SLUG_LENGTH, message=_l("A short name is at most 60 characters."))],
    )


CATEGORY_FIELDS = {"category slug": "slug", "category name_en": "name_en", "category name_nl": "name_nl"}


class ActiveForm(FlaskForm):
    """Retire a category (0) or bring it back (1)."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])


class PartnerKeyForm(FlaskForm):
    name = StringField(
        _l("Name of the partner app"),
        validators=[
            InputRequired(message=_l("Fill in a name.")),
            Length(max=80, message=_l("A name is at most 80 characters.")),
        ],
    )
    scopes = CheckboxesField(_l("What the app may do"), choices=select_choices(*SCOPE_LABELS.items()))


class CheckForm(FlaskForm):
    """That an officer saw a member's certificate of conduct: the member, the kind, the day seen, the review day.
    The member's choices are the community's active members, filled in by the view."""

    membership_id = SelectField(_l("Member"), validators=[InputRequired(message=_l("Choose the member."))])
    scheme = RadioField(
        _l("Certificate"),
        choices=select_choices(*SCHEME_LABELS.items()),
        validators=[InputRequired(message=_l("Choose the kind of certificate."))],
    )
    seen_on = DateField(
        _l("Day you saw it"), validators=[InputRequired(message=_l("Fill in the day.")), _plausible_year]
    )
    review_on = DateField(
        _l("Day to look at it again"), validators=[InputRequired(message=_l("Fill in the day.")), _plausible_year]
    )


CHECK_FIELDS = {"seen_by_membership_id": "membership_id"}


# --- the period of a report or statement -------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(here().community.time_zone)


def _today() -> date:
    return datetime.now(_zone()).date()


def _first_of_month_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _period_form(*, months: int) -> tuple[PeriodForm, tuple[datetime, datetime] | None]:
    """The period asked for, or by default this month and the ``months - 1`` before it up to today; None for the
    period when the form needs another look."""
    if "start" not in request.args and "end" not in request.args:
        today = _today()
        form = PeriodForm(formdata=None, start=_first_of_month_before(today, months - 1), end=today)
    else:
        form = PeriodForm(formdata=request.args)
        if not form.validate():
            return form, None
    zone = _zone()
    start = datetime.combine(form.start.data, time(), tzinfo=zone)
    end = datetime.combine(form.end.data + timedelta(days=1), time(), tzinfo=zone)
    return form, (start, end)


def _period_arguments(form: PeriodForm) -> dict[str, str]:
    return {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}


def _month(label: str) -> date:
    year, month = label.split("-")
    return date(int(year), int(month), 1)


def month_name(label: str) -> str:
    """ "2026-03" → "maart 2026" / "March 2026"."""
    return format_date(_month(label), "LLLL yyyy")


# --- the funder report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFigures:
    """What the report page shows: the funder report and the active members of each month."""

    report: reports.FunderReport
    active_by_month: list[reports.MonthMembers]


def _report_figures(*, session: Session, actor: Actor, community_id: int, start: datetime, end: datetime):
    """The funder report and the active members per month, read in one snapshot."""
    arguments = {"session": session, "actor": actor, "community_id": community_id, "start": start, "end": end}
    return ReportFigures(
        report=reports.funder_report(**arguments), active_by_month=reports.active_members_by_month(**arguments)
    )


def category_name(item: reports.CategoryFigure) -> str:
    """A category's name in the report (in the community's language), or "No category" for exchanges without."""
    return item.name if item.slug else _("No category")


def _report_charts(figures: ReportFigures) -> dict:
    def short(label: str) -> tuple[str, str]:
        return format_date(_month(label), "LLL"), label[:4]

    per_month = [(*short(item.month), item.minutes) for item in figures.report.minutes_by_month]
    active = [(*short(item.month), item.members) for item in figures.active_by_month]
    return {
        "months": charts.column_chart(
            per_month,
            top=charts.top_for_minutes(max(item[2] for item in per_month)),
            tick_text=lambda minutes: hours(minutes) if minutes else "0",
            value_text=hours,
        ),
        "categories": charts.bar_chart(
            [(category_name(item), item.minutes) for item in figures.report.minutes_by_category], value_text=hours
        ),
        "active": charts.column_chart(
            active, top=charts.top_for_counts(max(item[2] for item in active)), tick_text=str, value_text=str
        ),
    }


def _report_page(form: PeriodForm, figures: ReportFigures | None) -> str:
    return render_template(
        "coordinator_reports/report.html",
        form=form,
        figures=figures,
        charts=None if figures is None else _report_charts(figures),
        csv_arguments=None if figures is None else _period_arguments(form),
        month_name=month_name,
        category_name=category_name,
        decimal=lambda value: format_decimal(value, "#,##0.#"),
    )


@blueprint.get("/c/<slug>/coordinate/report")
@coordinator_page
def report() -> str:
    """The funder report for a period (by default the last 12 months): figures in words, charts and tables."""
    form, period = _period_form(months=REPORT_MONTHS)
    figures = None
    if period is not None:
        try:
            figures = read(_report_figures, community_id=here().community.id, start=period[0], end=period[1])
        except REFUSALS as error:
            refuse(form, error)
    return _report_page(form, figures)


@blueprint.get("/c/<slug>/coordinate/report.csv")
@coordinator_page
def report_csv() -> Response | str:
    """The funder report for the period as a CSV download (the report page with its message if the period is
    not right)."""
    form, period = _period_form(months=REPORT_MONTHS)
    if period is None:
        return _report_page(form, None)
    community = here().community
    try:
        text = read(reports.funder_report_csv, community_id=community.id, start=period[0], end=period[1])
    except REFUSALS as error:
        refuse(form, error)
        return _report_page(form, None)
    filename = f"funder-report-{community.slug}-{form.start.data.isoformat()}-{form.end.data.isoformat()}.csv"
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# --- a member's printable statement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WholeStatement:
    """A statement for printing: its balances and period, and all its lines (or the first 1000)."""

    statement: reports.MemberStatement  # the first page: balances and period
    lines: list[reports.StatementLine]
    cut_short: bool  # more lines than a printed statement holds


def _whole_statement(*, session: Session, actor: Actor, membership_id: int, start: datetime, end: datetime):
    """Every line of the member's statement for the period (at most 1000), read page by page in one snapshot."""
    first = reports.member_statement(session=session, actor=actor, membership_id=membership_id, start=start, end=end)
    lines, page = list(first.lines), first
    while page.next_cursor is not None and len(lines) < MAX_STATEMENT_LINES:
        page = reports.member_statement(
            session=session, actor=actor, membership_id=membership_id, start=start, end=end, after=page.next_cursor
        )
        lines.extend(page.lines)
    cut_short = len(lines) > MAX_STATEMENT_LINES or page.next_cursor is not None
    return WholeStatement(statement=first, lines=lines[:MAX_STATEMENT_LINES], cut_short=cut_short)


def line_description(line: reports.StatementLine) -> str:
    """What a statement line was, in the page's language, with the member's own note and the other person."""
    label = str(KIND_LABELS.get(line.kind, OTHER_TRANSACTION_WORDS))
    memo = line.memo.strip()
    if memo and memo.lower() not in PLAIN_MEMOS and memo.replace("_", " ") != line.kind.replace("_", " "):
        label = f"{label}: {memo}"
    if line.other_party_first_name:
        label = _("%(what)s (with %(name)s)", what=label, name=line.other_party_first_name)
    return label


@blueprint.get("/c/<slug>/coordinate/members/<int:membership_id>/statement")
@coordinator_page
def member_statement(membership_id: int) -> str:
    """A member's statement for a period, to print for a member who is not online: opening balance, every line
    with the balance after it, closing balance."""
    try:
        member = read(members.view_member, membership_id=membership_id)
    except REFUSALS:
        abort(404)
    if member.community_id != here().community.id:
        abort(404)
    form, period = _period_form(months=STATEMENT_MONTHS)
    whole = None
    if period is not None:
        try:
            whole = read(_whole_statement, membership_id=membership_id, start=period[0], end=period[1])
        except REFUSALS as error:
            refuse(form, error)
    return render_template(
        "coordinator_reports/statement.html",
        form=form,
        member=member,
        whole=whole,
        today=_today(),
        line_description=line_description,
    )


# --- safeguarding --------------------------------------------------------------------------------------------


def _active_members(*, session: Session, actor: Actor, community_id: int) -> list[Membership]:
    """The community's active members by name (at most 5000), read page by page in one snapshot."""
    found, after = [], None
    while len(found) < MAX_MEMBERS_LISTED:
        page = members.list_members(
            session=session, actor=actor, community_id=community_id, limit=MEMBER_PAGE_SIZE, after=after
        )
        found.extend(page.members)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    return sorted(found, key=lambda membership: (membership.display_name.casefold(), membership.id))


def _member_label(membership: Membership) -> str:
    """A name to choose from a list: the neighbourhood tells two people of the same name apart."""
    if membership.neighbourhood:
        return f"{membership.display_name} ({membership.neighbourhood})"
    return membership.display_name


def _cursor(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 1 <= value < 2**63 else None


def _safeguarding_page(form: CheckForm, people: list[Membership]) -> str:
    community_id = here().community.id
    today = _today()
    checks = run(
        safeguarding_records.list_checks,
        community_id=community_id,
        limit=CHECKS_PER_PAGE,
        before=_cursor("before"),
    )
    due = run(
        safeguarding_records.checks_due_for_review,
        community_id=community_id,
        on=today + timedelta(days=DUE_WITHIN_DAYS),
        limit=CHECKS_PER_PAGE,
    )
    log = read(
        safeguarding_records.safeguarding_read_log,
        community_id=community_id,
        limit=CHECKS_PER_PAGE,
        before=_cursor("log_before"),
    )
    return render_template(
        "coordinator_reports/safeguarding.html",
        form=form,
        checks=checks,
        due=due,
        log=log,
        today=today,
        names={membership.id: membership.display_name for membership in people},
        readers={membership.user_id: membership.display_name for membership in people},
        scheme_labels=SCHEME_LABELS,
        due_within_days=DUE_WITHIN_DAYS,
    )


@blueprint.route("/c/<slug>/safeguarding", methods=["GET", "POST"])
@officer_page
def safeguarding() -> Response | str:
    """Safeguarding officers: record that a member's certificate of conduct was seen; the checks, those due for
    review, and who read these records. Every look at the checks is itself logged."""
    community_id = here().community.id
    people = read(_active_members, community_id=community_id)
    form = CheckForm()
    form.membership_id.choices = [
        SelectChoice("", _("Choose a member")),
        *[SelectChoice(str(membership.id), _member_label(membership)) for membership in people],
    ]
    if form.validate_on_submit():
        try:
            run(
                safeguarding_records.record_check,
                community_id=community_id,
                membership_id=int(form.membership_id.data),
                scheme=form.scheme.data,
                seen_on=form.seen_on.data,
                review_on=form.review_on.data,
            )
        except REFUSALS as error:
            refuse(form, error, fields=CHECK_FIELDS)
        else:
            return done(_("The check is recorded."), "coord_reports.safeguarding", slug=here().community.slug)
    return _safeguarding_page(form, people)


# --- settings ------------------------------------------------------------------------------------------------


@functools.cache
def time_zones() -> tuple[str, ...]:
    """The time zones to choose from, by name."""
    return tuple(
        sorted(
            name for name in zoneinfo.available_timezones() if name == "UTC" or name.split("/")[0] in TIME_ZONE_AREAS
        )
    )


def _duration(minutes: int) -> SimpleNamespace:
    return SimpleNamespace(hours=minutes // 60, minutes=minutes % 60)


@blueprint.route("/c/<slug>/coordinate/settings", methods=["GET", "POST"])
@coordinator_page
def settings() -> Response | str:
    """The community's settings: name, language, time zone, limits and welcome credit for new members, the days
    until recorded time confirms itself, and whether new members need approval."""
    community = here().community
    form = SettingsForm(
        obj=SimpleNamespace(
            name=community.name,
            language=community.language,
            time_zone=community.time_zone,
            below_zero=_duration(-community.default_floor_minutes),
            ceiling=_duration(community.default_ceiling_minutes),
            welcome_credit=_duration(community.welcome_credit_minutes),
            auto_confirm_days=community.auto_confirm_days,
            approval_required=community.approval_required,
        )
    )
    # The community's own zone stays choosable even if it is not a place (an older "Etc/GMT-1", say).
    zones = time_zones() if community.time_zone in time_zones() else (community.time_zone, *time_zones())
    form.time_zone.choices = [SelectChoice(zone) for zone in zones]
    if form.validate_on_submit():
        try:
            run(
                communities.update_settings,
                community_id=community.id,
                name=form.name.data,
                language=form.language.data,
                time_zone=form.time_zone.data,
                default_floor_minutes=-form.below_zero.total_minutes(),
                default_ceiling_minutes=form.ceiling.total_minutes(),
                welcome_credit_minutes=form.welcome_credit.total_minutes(),
                auto_confirm_days=form.auto_confirm_days.data,
                approval_required=form.approval_required.data,
            )
        except REFUSALS as error:
            refuse(form, error, fields=SETTINGS_FIELDS)
        else:
            return done(_("The settings are saved."), "coord_reports.settings", slug=community.slug)
    return render_template("coordinator_reports/settings.html", form=form)


def _slug_from(name: str) -> str:
    """A category's short name made from its name: "Fietsen & Klussen" → "fietsen-klussen"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:SLUG_LENGTH].strip("-")


def _categories_page(form: NewCategoryForm) -> str:
    found = read(communities.categories, community_id=here().community.id, include_retired=True, with_actor=False)
    return render_template("coordinator_reports/categories.html", form=form, categories=found)


@blueprint.route("/c/<slug>/coordinate/categories", methods=["GET", "POST"])
@coordinator_page
def categories() -> Response | str:
    """The community's categories (retired ones too), and a form to add one."""
    form = NewCategoryForm()
    if form.validate_on_submit():
        spec = communities.CategorySpec(
            slug=(form.slug.data or "").strip() or _slug_from(form.name_en.data),
            name_en=form.name_en.data,
            name_nl=form.name_nl.data,
            involves_children=form.involves_children.data,
        )
        try:
            run(communities.add_category, community_id=here().community.id, spec=spec)
        except REFUSALS as error:
            refuse(form, error, fields=CATEGORY_FIELDS)
        else:
            message = _("The category %(name)s is added.", name=spec.name_en)
            return done(message, "coord_reports.categories", slug=here().community.slug)
    return _categories_page(form)


def _category(category_id: int):
    found = read(communities.categories, community_id=here().community.id, include_retired=True, with_actor=False)
    for category in found:
        if category.id == category_id:
            return category
    abort(404)


@blueprint.route("/c/<slug>/coordinate/categories/<int:category_id>", methods=["GET", "POST"])
@coordinator_page
def category(category_id: int) -> Response | str:
    """Rename a category, or say whether it involves children."""
    found = _category(category_id)
    form = CategoryForm(obj=found)
    if form.validate_on_submit():
        try:
            run(
                communities.update_category,
                community_id=here().community.id,
                category_id=category_id,
                name_en=form.name_en.data,
                name_nl=form.name_nl.data,
                involves_children=form.involves_children.data,
            )
        except REFUSALS as error:
            refuse(form, error, fields=CATEGORY_FIELDS)
        else:
            return done(_("The category is saved."), "coord_reports.categories", slug=here().community.slug)
    return render_template("coordinator_reports/category.html", form=form, category=found)


@blueprint.post("/c/<slug>/coordinate/categories/<int:category_id>/active")
@coordinator_page
def category_active(category_id: int) -> Response:
    """Retire a category (it is no longer offered for new listings) or bring it back."""
    found = _category(category_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    run(communities.update_category, community_id=here().community.id, category_id=found.id, active=active)
    message = _("The category is back in use.") if active else _("The category is retired.")
    return done(message, "coord_reports.categories", slug=here().community.slug)


def _partner_keys_page(form: PartnerKeyForm, issued: credentials.Issued | None = None) -> Response:
    keys = read(credentials.partner_keys, community_id=here().community.id)
    page = render_template(
        "coordinator_reports/partner_keys.html", form=form, keys=keys, issued=issued, scope_labels=SCOPE_LABELS
    )
    # A new key's secret is on this page once: no cache may keep it.
    return make_response(page, 200, {"Cache-Control": "no-store"})


@blueprint.route("/c/<slug>/coordinate/partner-keys", methods=["GET", "POST"])
@coordinator_page
def partner_keys() -> Response:
    """The community's partner keys; create one (its secret is shown on the answer, once) or revoke one."""
    form = PartnerKeyForm()
    if form.validate_on_submit():
        try:
            issued = run(
                credentials.create_partner_key,
                community_id=here().community.id,
                name=form.name.data,
                scopes=form.scopes.data,
            )
        except REFUSALS as error:
            refuse(form, error)
        else:
            return _partner_keys_page(PartnerKeyForm(formdata=None), issued)
    return _partner_keys_page(form)


@blueprint.post("/c/<slug>/coordinate/partner-keys/<int:key_id>/revoke")
@coordinator_page
def revoke_partner_key(key_id: int) -> Response:
    """Revoke a partner key: the app it was given to can no longer call the API."""
    try:
        key = run(credentials.revoke_partner_key, community_id=here().community.id, key_id=key_id)
    except REFUSALS:
        abort(404)
    message = _("The key %(name)s is revoked: it no longer works.", name=key.name)
    return done(message, "coord_reports.partner_keys", slug=here().community.slug)
