"""Reports: a member's statement (on screen and as CSV) and the funder report of a community's figures.

Both only read; neither commits. A period is half-open, ``[start, end)``: it includes ``start`` and excludes
``end``, so consecutive periods never count a moment twice. Periods are aware datetimes at most two years apart.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from ledger.models import account_table, entry_table, transaction_table
from timebank import access, errors, validation
from timebank.access import Actor
from timebank.models import (
    Category,
    Community,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    ListingStatus,
    Membership,
    MembershipStatus,
)
from timebank.privacy import public_first_name

# Two years, counting a leap day.
MAX_PERIOD = timedelta(days=731)
MAX_PAGE_SIZE = 100
# A statement as CSV is built in memory: a member exchanging every day for two years stays far below this.
MAX_CSV_ROWS = 10_000
ACTIVE_WINDOW = timedelta(days=90)
OLD_REQUEST_AGE = timedelta(days=14)
NEAR_FLOOR_MINUTES = 60
# A spreadsheet reads a cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_PATTERN = re.compile(r"^[+-]?\d+(?::\d{2})?$")


# --- shared -----------------------------------------------------------------------------------------------------


EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def _period(start, end) -> tuple[datetime, datetime]:
    """The checked period in UTC: both ends aware, ``end`` after ``start``, at most two years."""
    for field, value in (("start", start), ("end", end)):
        if value is None:
            raise errors.InvalidInput(f"{field} is required", field=field)
        validation.moment(field, value)
    for field, value in (("start", start), ("end", end)):
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise errors.InvalidInput(
                f"{field} must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}", field=field
            )
    start, end = utc_now(start), utc_now(end)
    if end <= start:
        raise errors.InvalidInput("the period must end after it starts", field="end")
    if end - start > MAX_PERIOD:
        raise errors.InvalidInput("a period may be at most two years long", field="end", maximum_days=MAX_PERIOD.days)
    return start, end


def format_hours(minutes: int) -> str:
    """Minutes as hours and minutes, the way people read time credits: 150 → "2:30", -45 → "-0:45"."""
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading apostrophe, unless it
    is a number (or hours such as "-2:30")."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER_PATTERN.match(text):
        return "'" + text
    return text


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


# --- the member's statement ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One posted entry on the member's account, with the balance right after it."""

    transaction_id: int
    account_sequence: int
    posted_at: datetime
    kind: str
    memo: str
    # For an exchange (or its reversal): the other member's first name; never more.
    other_party_first_name: str | None
    amount_minutes: int
    balance_minutes: int

    @property
    def description(self) -> str:
        label = self.kind.replace("_", " ")
        if self.memo and self.memo != label:
            label = f"{label}: {self.memo}"
        if self.other_party_first_name:
            label = f"{label} (with {self.other_party_first_name})"
        return label


@dataclass(frozen=True)
class MemberStatement:
    """A period of one member's account. Opening and closing balances cover the whole period; ``lines`` is one
    page of it, oldest first; pass ``next_cursor`` as ``after`` for the next page (None on the last)."""

    membership_id: int
    community_id: int
    time_zone: str
    start: datetime
    end: datetime
    opening_balance_minutes: int
    closing_balance_minutes: int
    lines: list[StatementLine]
    next_cursor: int | None


def _statement_subject(session: Session, actor: Actor, membership_id: int) -> tuple[Membership, Community]:
    """The member whose statement it is: the actor's own, or one a coordinator of that community may see."""
    validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**63 - 1)
    membership = session.get(Membership, membership_id)
    if membership is None or (
        membership.user_id != actor.user_id and not access.is_coordinator(session, actor, membership.community_id)
    ):
        raise errors.NotFound("no such member", membership_id=membership_id)
    return membership, access.get_community(session, membership.community_id)


def _in_period(account_id: int, start: datetime, end: datetime) -> tuple:
    entry = entry_table.c
    return (
        entry.account_id == account_id,
        entry.account_sequence.is_not(None),
        entry.posted_at >= start,
        entry.posted_at < end,
    )


@dataclass(frozen=True)
class _PeriodFigures:
    total: int  # the sum of the period's entries
    before_page: int  # the sum of those up to the page's cursor (0 without one)
    first_sequence: int | None  # the period's first entry in account sequence; None for an empty period


def _period_figures(session: Session, account_id: int, start: datetime, end: datetime, after: int | None):
    """One pass over the period's entries (through the index on account and posting time): their sum, the sum of
    those at or before the cursor, and the first of them in sequence."""
    entry = entry_table.c
    up_to_cursor = sa.literal(0) if after is None else sa.case((entry.account_sequence <= after, entry.amount), else_=0)
    row = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(entry.amount), 0).label("total"),
            sa.func.coalesce(sa.func.sum(up_to_cursor), 0).label("before_page"),
            sa.func.min(entry.account_sequence).label("first_sequence"),
        ).where(*_in_period(account_id, start, end))
    ).one()
    # PostgreSQL sums a bigint column as numeric: back to an integer of minutes.
    return _PeriodFigures(int(row.total), int(row.before_page), row.first_sequence)


def _other_parties(session: Session, membership: Membership, transaction_ids: set[int]) -> dict[int, str]:
    """Transaction id → the other member's first name, for the exchanges among these transactions."""
    if not transaction_ids:
        return {}
    other_id = sa.case(
        (Exchange.helper_membership_id == membership.id, Exchange.helped_membership_id),
        else_=Exchange.helper_membership_id,
    )
    rows = session.execute(
        sa.select(Exchange.ledger_transaction_id, Membership.display_name)
        .join(Membership, Membership.id == other_id)
        .where(
            sa.or_(Exchange.helper_membership_id == membership.id, Exchange.helped_membership_id == membership.id),
            Exchange.ledger_transaction_id.in_(sorted(transaction_ids)),
        )
    ).all()
    return {row.ledger_transaction_id: public_first_name(row.display_name) for row in rows}


def member_statement(
    *,
    session: Session,
    actor: Actor,
    membership_id: int,
    start: datetime,
    end: datetime,
    limit: int = MAX_PAGE_SIZE,
    after: int | None = None,
) -> MemberStatement:
    """A member's statement for ``[start, end)``: the opening balance (the posted balance just before ``start``),
    each entry posted in the period oldest first with the running balance, and the closing balance.

    The member's own, or a coordinator's view of a member of their community; anyone else is told the member
    does not exist. Pages of at most 100 lines, keyset-paginated on the account's entry sequence (``after``);
    the running balance of every page continues from the opening balance, so pages join up.

    It reads no history outside the period, so an account's years of entries do not slow it: a period holding all
    of the account's entries takes its balances from a few indexed rows (``_whole_history``); any other reads the
    period's own entries once (``_period_figures``) and pages from the first of them."""
    start, end = _period(start, end)
    validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    if after is not None:
        validation.whole_number("after", after, minimum=1, maximum=2**63 - 1)
    membership, community = _statement_subject(session, actor, membership_id)
    account_id = membership.account_id
    entry, transaction = entry_table.c, transaction_table.c
    whole = _whole_history(session, account_id, start, end, after)
    first_sequence = None
    if whole is not None:
        opening, closing, before_page = 0, whole.closing, whole.before_page
    else:
        opening = _opening_balance(session, account_id, start)
        period = _period_figures(session, account_id, start, end, after)
        closing, before_page = opening + period.total, opening + period.before_page
        first_sequence = period.first_sequence
    query = (
        sa.select(
            entry.transaction_id,
            entry.account_sequence,
            entry.posted_at,
            entry.amount,
            transaction.kind,
            transaction.memo,
            transaction.reverses_id,
        )
        .join(transaction_table, transaction.id == entry.transaction_id)
        .where(*_in_period(account_id, start, end))
        .order_by(entry.account_sequence)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(entry.account_sequence > after)
    if first_sequence is not None:
        # No entry of the period comes before its first in sequence: the ordered scan starts there, not at the
        # account's first entry years back.
        query = query.where(entry.account_sequence >= first_sequence)
    empty = whole is None and first_sequence is None
    rows = [] if empty else session.execute(query).all()
    page = rows[:limit]
    return MemberStatement(
        membership_id=membership.id,
        community_id=community.id,
        time_zone=community.time_zone,
        start=start,
        end=end,
        opening_balance_minutes=opening,
        closing_balance_minutes=closing,
        lines=_statement_lines(session, membership, page, opening_minutes=before_page),
        next_cursor=page[-1].account_sequence if len(rows) > limit else None,
    )


@dataclass(frozen=True)
class _WholeHistory:
    closing: int
    before_page: int


def _whole_history(session: Session, account_id: int, start: datetime, end: datetime, after: int | None):
    """The balances of a period that holds every posted entry of the account, from a few indexed rows; None when
    some entry was posted before or after the period (then they are summed).

    When no entry was posted before ``start`` the opening balance is 0 (``_opening_balance`` finds no entry), and
    when none was posted at or after ``end`` either, the period's entries are all the account's posted ones. Their
    sum is then the ``balance_after`` of the account's last entry (the ledger keeps it as the running sum in
    account sequence), and the sum of those up to a page's cursor the ``balance_after`` of the last entry at or
    before it: the same figures as the sums, whatever the order of posting times, without reading the history."""
    entry = entry_table.c

    def posted(*conditions):
        return sa.exists().where(entry.account_id == account_id, *conditions)

    def balance_after(*conditions):
        return (
            sa.select(entry.balance_after)
            .where(entry.account_id == account_id, entry.account_sequence.is_not(None), *conditions)
            .order_by(entry.account_sequence.desc())
            .limit(1)
            .scalar_subquery()
        )

    # The same moment as ``_opening_balance`` asks about: the last one before ``start``.
    earlier = posted(entry.posted_at.is_not(None), entry.posted_at <= start - timedelta(microseconds=1))
    later = posted(entry.posted_at.is_not(None), entry.posted_at >= end)
    columns = [earlier.label("earlier"), later.label("later"), balance_after().label("closing")]
    if after is not None:
        columns.append(balance_after(entry.account_sequence <= after).label("before_page"))
    row = session.execute(sa.select(*columns)).one()
    if row.earlier or row.later:
        return None
    return _WholeHistory(closing=row.closing or 0, before_page=(row.before_page or 0) if after is not None else 0)


def _statement_lines(session: Session, membership: Membership, rows, *, opening_minutes: int) -> list[StatementLine]:
    """The page's entries with the balance after each, counted on from the balance before the page."""
    names = _other_parties(
        session, membership, {row.transaction_id for row in rows} | {row.reverses_id for row in rows if row.reverses_id}
    )
    running, lines = opening_minutes, []
    for row in rows:
        running += row.amount
        lines.append(
            StatementLine(
                transaction_id=row.transaction_id,
                account_sequence=row.account_sequence,
                posted_at=utc_now(row.posted_at),
                kind=row.kind,
                memo=row.memo,
                other_party_first_name=names.get(row.transaction_id) or names.get(row.reverses_id),
                amount_minutes=row.amount,
                balance_minutes=running,
            )
        )
    return lines


def _opening_balance(session: Session, account_id: int, start: datetime) -> int:
    """The balance just before ``start``: ``ledger.balance_at`` counts an entry at the moment itself, and the
    period includes ``start``, so ask for the last moment before it (timestamps are kept to the microsecond)."""
    return ledger.balance_at(session, account_id=account_id, moment=start - timedelta(microseconds=1))


def statement_csv(*, session: Session, actor: Actor, membership_id: int, start: datetime, end: datetime) -> str:
    """The member's statement for ``[start, end)`` as CSV text, to be sent as UTF-8: a header row, an opening
    balance row, one row per entry oldest first, a closing balance row. Times are in the community's time zone;
    minutes are integers, with hours beside them ("2:30"). Text cells are safe against formula injection.

    At most 10,000 entries (read in pages of 100); a longer period is refused: ask for a shorter one."""
    first = member_statement(session=session, actor=actor, membership_id=membership_id, start=start, end=end)
    membership = session.get(Membership, membership_id)
    count = session.execute(
        sa.select(sa.func.count()).where(*_in_period(membership.account_id, first.start, first.end))
    ).scalar_one()
    if count > MAX_CSV_ROWS:
        raise errors.InvalidInput(
            f"the period has more than {MAX_CSV_ROWS} entries; choose a shorter period", field="end", entries=count
        )
    zone = ZoneInfo(first.time_zone)
    rows = [
        ("date", "description", "minutes", "hours", "balance_minutes", "balance_hours"),
        _balance_row(first.start, "Opening balance", first.opening_balance_minutes, zone),
    ]
    page = first
    while True:
        rows.extend(
            (
                _local(line.posted_at, zone),
                line.description,
                line.amount_minutes,
                format_hours(line.amount_minutes),
                line.balance_minutes,
                format_hours(line.balance_minutes),
            )
            for line in page.lines
        )
        if page.next_cursor is None:
            break
        page = member_statement(
            session=session, actor=actor, membership_id=membership_id, start=start, end=end, after=page.next_cursor
        )
    rows.append(_balance_row(first.end, "Closing balance", first.closing_balance_minutes, zone))
    return _csv_text(rows)


def _balance_row(moment: datetime, label: str, minutes: int, zone: ZoneInfo) -> tuple:
    return (_local(moment, zone), label, "", "", minutes, format_hours(minutes))


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# --- the funder report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigure:
    month: str  # "2026-03", a calendar month in the community's time zone
    exchanges: int
    minutes: int


@dataclass(frozen=True)
class CategoryFigure:
    slug: str  # "" for exchanges without a category
    name: str
    exchanges: int
    minutes: int


@dataclass(frozen=True)
class MonthCategoryFigure:
    month: str
    slug: str
    exchanges: int
    minutes: int


@dataclass(frozen=True)
class FunderReport:
    """A community's figures for ``[start, end)``: counts and sums only, never a person or a family.
    See ``funder_report`` for what each figure means."""

    community_id: int
    community_name: str
    time_zone: str
    start: datetime
    end: datetime
    minutes_by_month: list[MonthFigure]
    minutes_by_category: list[CategoryFigure]
    minutes_by_month_and_category: list[MonthCategoryFigure]
    total_exchanges: int
    total_minutes: int
    active_members: int
    new_members: int
    helper_helped_pairs: int
    requests_with_an_exchange: int
    median_days_to_first_exchange: float | None
    open_requests_older_than_14_days: int
    members_within_an_hour_of_floor: int


def funder_report(*, session: Session, actor: Actor, community_id: int, start: datetime, end: datetime) -> FunderReport:
    """The community's figures for the period ``[start, end)`` (at most two years), for coordinators and
    administrators. Aggregates only: no figure names or singles out a member or a family.

    Fixed definitions:

    - **Minutes exchanged** (per month, per category, and per month and category): the minutes of exchanges whose
      status is confirmed, counted at their confirmation time (``confirmed_at``) within the period. A month is a
      calendar month in the community's time zone (``Community.time_zone``), so an exchange confirmed at 00:30 on
      1 April in Amsterdam counts in April although it is still 31 March in UTC. The first and last months may be
      partial. Exchanges without a category count under the slug "". Every month of the period and every
      category of the community is listed, with zeros where nothing happened.
    - **Active members**: memberships that were the helper or the helped member of at least one confirmed
      exchange confirmed in the 90 days before ``end`` (``[end - 90 days, end)``), whatever the period's start.
    - **New members**: memberships admitted (``joined_at``) within the period, whatever became of them since.
    - **Helper–helped pairs**: distinct unordered pairs of memberships with at least one confirmed exchange
      confirmed within the period (Ans helping Bert and Bert helping Ans is one pair).
    - **Median days to first exchange**: over requests posted (``created_at``) within the period that had an
      exchange recorded (minutes recorded, ``recorded_at``, before ``end``, whatever its outcome later), the
      median of the days from posting to the earliest such recording; the middle two averaged for an even
      count; None when no request qualifies. ``requests_with_an_exchange`` is how many requests it covers.
    - **Open requests older than 14 days**: requests whose status is open now, that do not expire by ``end``,
      and were posted more than 14 days before ``end``. The listing keeps no history of its status, so for a
      past ``end`` this counts the requests still open today.
    - **Members within an hour of their floor**: memberships admitted before ``end`` and not left by then
      (applicants and declined ones never count) whose account has a floor and whose available balance at
      ``end`` — the posted balance then, less the debits then held as pending — is at most 60 minutes above
      that floor (``floor - available >= -60``). The floor is the account's floor today.

    Every figure is one SQL aggregate (GROUP BY, COUNT, SUM) over the community's rows; nothing walks history
    in Python, so the report stays fast on a million transactions."""
    start, end = _period(start, end)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    months = _months(start, end, ZoneInfo(community.time_zone))
    cells = _minutes_by_month_and_category(session, community_id, start, end, months)
    categories = _categories(session, community)
    requests, median = _median_days_to_first_exchange(session, community_id, start, end)
    return FunderReport(
        community_id=community.id,
        community_name=community.name,
        time_zone=community.time_zone,
        start=start,
        end=end,
        minutes_by_month=[
            MonthFigure(
                month=month,
                exchanges=sum(cell.exchanges for cell in cells if cell.month == month),
                minutes=sum(cell.minutes for cell in cells if cell.month == month),
            )
            for month, _ in months
        ],
        minutes_by_category=_category_figures(cells, categories),
        minutes_by_month_and_category=cells,
        total_exchanges=sum(cell.exchanges for cell in cells),
        total_minutes=sum(cell.minutes for cell in cells),
        active_members=_active_members(session, community_id, end),
        new_members=_new_members(session, community_id, start, end),
        helper_helped_pairs=_helper_helped_pairs(session, community_id, start, end),
        requests_with_an_exchange=requests,
        median_days_to_first_exchange=median,
        open_requests_older_than_14_days=_old_open_requests(session, community_id, end),
        members_within_an_hour_of_floor=_members_near_floor(session, community_id, end),
    )


def _months(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """Each local calendar month the period touches: its label and the UTC moment the next month begins."""
    local = start.astimezone(zone)
    year, month = local.year, local.month
    months = []
    while True:
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        next_start = datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)
        months.append((f"{year:04d}-{month:02d}", next_start))
        if next_start >= end:
            return months
        year, month = next_year, next_month


def _confirmed_between(community_id: int, start: datetime, end: datetime) -> tuple:
    return (
        Exchange.community_id == community_id,
        Exchange.status == ExchangeStatus.CONFIRMED.value,
        Exchange.confirmed_at >= start,
        Exchange.confirmed_at < end,
    )


def _minutes_by_month_and_category(session, community_id, start, end, months) -> list[MonthCategoryFigure]:
    # The month boundaries are computed here in the community's time zone (SQLite knows no time zones) and
    # bucketed in SQL with one CASE; the inner select keeps the CASE's parameters out of the GROUP BY, which
    # PostgreSQL would not match otherwise. The exchanges are counted per month and category id first (a few
    # hundred groups, hashed), and only those groups are joined to their categories and counted per slug:
    # joining first made PostgreSQL sort every exchange of the period by two text keys, on disk.
    bucketed = (
        sa.select(_month_of(Exchange.confirmed_at, months).label("month"), Exchange.category_id, Exchange.minutes)
        .where(*_confirmed_between(community_id, start, end))
        .subquery()
    )
    per_category = (
        sa.select(
            bucketed.c.month,
            bucketed.c.category_id,
            sa.func.count().label("exchanges"),
            sa.func.coalesce(sa.func.sum(bucketed.c.minutes), 0).label("minutes"),
        )
        .group_by(bucketed.c.month, bucketed.c.category_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            per_category.c.month,
            Category.slug,
            sa.func.sum(per_category.c.exchanges).label("exchanges"),
            sa.func.sum(per_category.c.minutes).label("minutes"),
        )
        .select_from(per_category)
        .outerjoin(Category, Category.id == per_category.c.category_id)
        .group_by(per_category.c.month, Category.slug)
        .order_by(per_category.c.month, Category.slug)
    ).all()
    # PostgreSQL sums counts and integers as numeric: back to integers.
    return [
        MonthCategoryFigure(
            month=row.month, slug=row.slug or "", exchanges=int(row.exchanges), minutes=int(row.minutes)
        )
        for row in rows
    ]


def _month_of(moment, months: list[tuple[str, datetime]]):
    """The label of the month (of ``_months``) in which ``moment`` falls: the first whose next month begins after
    it, else the last; as one SQL CASE nested as a binary search (five comparisons for two years, not 24)."""

    def between(first: int, last: int):
        if first == last:
            return sa.literal(months[first][0])
        middle = (first + last) // 2
        return sa.case((moment < months[middle][1], between(first, middle)), else_=between(middle + 1, last))

    return between(0, len(months) - 1)


def _categories(session: Session, community: Community) -> dict[str, str]:
    """Slug → name in the community's language, for every category (a community has at most 50)."""
    rows = session.execute(sa.select(Category).where(Category.community_id == community.id)).scalars()
    return {row.slug: row.name_nl if community.language == "nl" else row.name_en for row in rows}


def _category_figures(cells: list[MonthCategoryFigure], categories: dict[str, str]) -> list[CategoryFigure]:
    names = dict(categories)
    if any(cell.slug == "" for cell in cells):
        names[""] = "(no category)"
    return [
        CategoryFigure(
            slug=slug,
            name=name,
            exchanges=sum(cell.exchanges for cell in cells if cell.slug == slug),
            minutes=sum(cell.minutes for cell in cells if cell.slug == slug),
        )
        for slug, name in sorted(names.items())
    ]


def _active_members(session: Session, community_id: int, end: datetime) -> int:
    window = _confirmed_between(community_id, end - ACTIVE_WINDOW, end)
    people = sa.union(
        sa.select(Exchange.helper_membership_id.label("membership_id")).where(*window),
        sa.select(Exchange.helped_membership_id.label("membership_id")).where(*window),
    ).subquery()
    return session.execute(sa.select(sa.func.count()).select_from(people)).scalar_one()


def _new_members(session: Session, community_id: int, start: datetime, end: datetime) -> int:
    return session.execute(
        sa.select(sa.func.count()).where(
            Membership.community_id == community_id, Membership.joined_at >= start, Membership.joined_at < end
        )
    ).scalar_one()


def _helper_helped_pairs(session: Session, community_id: int, start: datetime, end: datetime) -> int:
    helper, helped = Exchange.helper_membership_id, Exchange.helped_membership_id
    pairs = (
        sa.select(
            sa.case((helper < helped, helper), else_=helped).label("lower_id"),
            sa.case((helper < helped, helped), else_=helper).label("higher_id"),
        )
        .where(*_confirmed_between(community_id, start, end))
        .distinct()
        .subquery()
    )
    return session.execute(sa.select(sa.func.count()).select_from(pairs)).scalar_one()


def _days_between(session: Session, earlier, later):
    """``later - earlier`` in (fractional) days, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.extract("epoch", later - earlier) / 86400.0


def _median_days_to_first_exchange(session, community_id, start, end) -> tuple[int, float | None]:
    per_request = (
        sa.select(
            Listing.id,
            Listing.created_at.label("posted_at"),
            sa.func.min(Exchange.recorded_at).label("first_recorded_at"),
        )
        .join(Exchange, Exchange.listing_id == Listing.id)
        .where(
            Listing.community_id == community_id,
            Listing.kind == ListingKind.REQUEST.value,
            Listing.created_at >= start,
            Listing.created_at < end,
            Exchange.recorded_at.is_not(None),
            Exchange.recorded_at < end,
        )
        .group_by(Listing.id, Listing.created_at)
        .subquery()
    )
    count = session.execute(sa.select(sa.func.count()).select_from(per_request)).scalar_one()
    if count == 0:
        return 0, None
    days = _days_between(session, per_request.c.posted_at, per_request.c.first_recorded_at).label("days")
    # The median without loading the list: skip to the middle one (odd count) or two (even count).
    middle = session.execute(
        sa.select(days).select_from(per_request).order_by(days).offset((count - 1) // 2).limit(2 - count % 2)
    ).scalars()
    values = [float(value) for value in middle]
    return count, round(sum(values) / len(values), 2)


def _old_open_requests(session: Session, community_id: int, end: datetime) -> int:
    return session.execute(
        sa.select(sa.func.count()).where(
            Listing.community_id == community_id,
            Listing.kind == ListingKind.REQUEST.value,
            Listing.status == ListingStatus.OPEN.value,
            Listing.created_at < end - OLD_REQUEST_AGE,
            sa.or_(Listing.expires_at.is_(None), Listing.expires_at > end),
        )
    ).scalar_one()


def _members_near_floor(session: Session, community_id: int, end: datetime) -> int:
    entry, transaction, account = entry_table.c, transaction_table.c, account_table.c
    balance_at_end = (
        sa.select(entry.balance_after)
        .where(entry.account_id == account.id, entry.posted_at.is_not(None), entry.posted_at < end)
        .order_by(entry.posted_at.desc(), entry.account_sequence.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Held at ``end``: created before it, and neither posted nor voided by then.
    pending_debits_at_end = (
        sa.select(sa.func.coalesce(sa.func.sum(-entry.amount), 0))
        .select_from(entry_table.join(transaction_table, transaction.id == entry.transaction_id))
        .where(
            entry.account_id == account.id,
            entry.amount < 0,
            sa.or_(entry.posted_at.is_(None), entry.posted_at >= end),
            transaction.created_at < end,
            sa.or_(transaction.voided_at.is_(None), transaction.voided_at >= end),
        )
        .scalar_subquery()
    )
    members = (
        sa.select(
            account.floor.label("floor"),
            (sa.func.coalesce(balance_at_end, 0) - pending_debits_at_end).label("available"),
        )
        .select_from(Membership.__table__.join(account_table, account.id == Membership.account_id))
        .where(
            Membership.community_id == community_id,
            Membership.status.not_in([MembershipStatus.APPLICANT.value, MembershipStatus.DECLINED.value]),
            Membership.joined_at < end,
            sa.or_(Membership.left_at.is_(None), Membership.left_at >= end),
            account.floor.is_not(None),
        )
        .subquery()
    )
    return session.execute(
        sa.select(sa.func.count())
        .select_from(members)
        .where(members.c.floor - members.c.available >= -NEAR_FLOOR_MINUTES)
    ).scalar_one()


@dataclass(frozen=True)
class MonthMembers:
    month: str  # "2026-03", a calendar month in the community's time zone
    members: int


def active_members_by_month(
    *, session: Session, actor: Actor, community_id: int, start: datetime, end: datetime
) -> list[MonthMembers]:
    """How many members took part in exchanges, month by month, over the period ``[start, end)`` (at most two
    years), for coordinators and administrators: for each calendar month the period touches (in the community's
    time zone, as in ``funder_report``), the memberships that were the helper or the helped member of at least
    one exchange confirmed within that month and within the period. A member active in two months counts in
    both; every month is listed, with zero where nobody was. One SQL aggregate; names nobody."""
    start, end = _period(start, end)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    months = _months(start, end, ZoneInfo(community.time_zone))
    month = _month_of(Exchange.confirmed_at, months).label("month")
    confirmed = _confirmed_between(community_id, start, end)
    # UNION (not UNION ALL) keeps each member once per month, whether they helped, were helped, or both.
    people = sa.union(
        sa.select(month, Exchange.helper_membership_id.label("membership_id")).where(*confirmed),
        sa.select(month, Exchange.helped_membership_id.label("membership_id")).where(*confirmed),
    ).subquery()
    rows = session.execute(sa.select(people.c.month, sa.func.count().label("members")).group_by(people.c.month))
    counts = {row.month: row.members for row in rows}
    return [MonthMembers(month=label, members=counts.get(label, 0)) for label, _ in months]


def funder_report_csv(*, session: Session, actor: Actor, community_id: int, start: datetime, end: datetime) -> str:
    """The funder report as CSV text (to be sent as UTF-8): a title row, then one section per figure, each a
    title row, a header row and its rows, separated by an empty row. Text cells are safe against formula
    injection; the definitions are those of ``funder_report``."""
    report = funder_report(session=session, actor=actor, community_id=community_id, start=start, end=end)
    zone = ZoneInfo(report.time_zone)
    rows: list[tuple] = [
        ("Funder report", report.community_name, _local(report.start, zone), _local(report.end, zone), report.time_zone)
    ]

    def section(title: str, header: tuple, body) -> None:
        rows.extend([(), (title,), header, *body])

    section(
        "Minutes exchanged per month",
        ("month", "exchanges", "minutes", "hours"),
        [(item.month, item.exchanges, item.minutes, format_hours(item.minutes)) for item in report.minutes_by_month],
    )
    section(
        "Minutes exchanged per category",
        ("category", "name", "exchanges", "minutes", "hours"),
        [
            (item.slug, item.name, item.exchanges, item.minutes, format_hours(item.minutes))
            for item in report.minutes_by_category
        ],
    )
    section(
        "Minutes exchanged per month and category",
        ("month", "category", "exchanges", "minutes", "hours"),
        [
            (item.month, item.slug, item.exchanges, item.minutes, format_hours(item.minutes))
            for item in report.minutes_by_month_and_category
        ],
    )
    median = "" if report.median_days_to_first_exchange is None else f"{report.median_days_to_first_exchange:.2f}"
    for title, name, value in (
        ("Total", "total_minutes", report.total_minutes),
        ("Active members", "active_members", report.active_members),
        ("New members", "new_members", report.new_members),
        ("Helper-helped pairs", "helper_helped_pairs", report.helper_helped_pairs),
        ("Requests with an exchange", "requests_with_an_exchange", report.requests_with_an_exchange),
        ("Median days to first exchange", "median_days_to_first_exchange", median),
        (
            "Open requests older than 14 days",
            "open_requests_older_than_14_days",
            report.open_requests_older_than_14_days,
        ),
        (
            "Members within an hour of their floor",
            "members_within_an_hour_of_floor",
            report.members_within_an_hour_of_floor,
        ),
    ):
        section(title, ("figure", "value"), [(name, value)])
    return _csv_text(rows)
