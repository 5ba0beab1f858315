"""Reports: the member's statement and the funder report, each figure against a small community set up here so
that the expected numbers can be counted by hand."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import ledger
from tests.world import START, Person, World, add_user, join
from timebank import bookkeeping, communities, errors, members, reports
from timebank.models import Category, Community, Exchange, Listing

AMSTERDAM_MARCH = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # 1 March 00:00 in Amsterdam (CET, UTC+1)
AMSTERDAM_MAY = datetime(2026, 4, 30, 22, 0, tzinfo=UTC)  # 1 May 00:00 in Amsterdam (CEST, UTC+2)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- building the data directly -------------------------------------------------------------------------------


def transfer(world: World, payer, payee, minutes: int, *, when: datetime, kind="exchange", memo="", pending=False):
    """A ledger transfer in the world's community; returns the transaction id."""

    def work(*, session):
        community = session.get(Community, world.community_id)
        posting = bookkeeping.post_transfer(
            session,
            community=community,
            debit_account_id=payer.account_id,
            credit_account_id=payee.account_id,
            minutes=minutes,
            kind=kind,
            memo=memo,
            actor=payer.actor,
            pending=pending,
            now=when,
        )
        session.commit()
        return posting.id

    return world.db.run(work)


def add_row(world: World, row):
    def work(*, session):
        session.add(row)
        session.commit()
        return row

    return world.db.run(work)


def confirmed_exchange(
    world: World,
    *,
    helper,
    helped,
    minutes: int,
    confirmed_at: datetime,
    category: str | None = "boodschappen",
    recorded_at: datetime | None = None,
    listing_id: int | None = None,
    status: str = "confirmed",
    post: bool = True,
) -> Exchange:
    """An exchange as the exchange use cases leave it; confirmed ones paid in the ledger at confirmation."""
    transaction_id = None
    if post:
        transaction_id = transfer(world, helped, helper, minutes, when=confirmed_at)
    recorded_at = recorded_at or confirmed_at
    return add_row(
        world,
        Exchange(
            community_id=world.community_id,
            listing_id=listing_id,
            category_id=world.categories[category] if category else None,
            helper_membership_id=helper.id,
            helped_membership_id=helped.id,
            initiated_by_membership_id=helped.id,
            status=status,
            helper_agreed=True,
            helped_agreed=True,
            minutes=minutes,
            ledger_transaction_id=transaction_id,
            created_at=recorded_at,
            recorded_at=recorded_at,
            confirmed_at=confirmed_at if status == "confirmed" else None,
            updated_at=confirmed_at,
        ),
    )


def listing(
    world: World,
    person,
    *,
    created_at: datetime,
    kind: str = "request",
    status: str = "open",
    expires_at: datetime | None = None,
    title: str = "Boodschappen doen",
    description: str = "",
) -> Listing:
    return add_row(
        world,
        Listing(
            community_id=world.community_id,
            membership_id=person.id,
            kind=kind,
            title=title,
            description=description,
            category_id=world.categories["boodschappen"],
            estimated_minutes=60,
            status=status,
            expires_at=expires_at,
            created_at=created_at,
            updated_at=created_at,
        ),
    )


def admit_at(world: World, name: str, when: datetime) -> Person:
    """A member admitted at ``when`` (with the welcome credit posted then)."""
    person = Person(user=add_user(world.db))
    membership = world.db.run(
        members.apply_to_join, actor=person.actor, community_id=world.community_id, display_name=name, now=when
    )
    person.membership = world.db.run(
        members.approve_member, actor=world.admin.actor, membership_id=membership.id, now=when
    )
    return person


def statement(world: World, actor, person, start, end, **options):
    return world.db.read(
        reports.member_statement, actor=actor, membership_id=person.id, start=start, end=end, **options
    )


def report(world: World, start=AMSTERDAM_MARCH, end=AMSTERDAM_MAY, actor=None):
    return world.db.read(
        reports.funder_report,
        actor=actor or world.coordinator.actor,
        community_id=world.community_id,
        start=start,
        end=end,
    )


# --- the member's statement -----------------------------------------------------------------------------------


def test_a_statement_shows_the_opening_balance_each_entry_with_its_running_balance_and_the_closing_balance(world):
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=90, confirmed_at=at(3, 5))
    confirmed_exchange(world, helper=world.cor, helped=world.ans, minutes=30, confirmed_at=at(3, 10))
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(4, 2))

    result = statement(world, world.ans.actor, world.ans, at(3, 3), at(4, 1))

    assert result.opening_balance_minutes == 120  # the welcome credit of 2 March
    assert [(line.amount_minutes, line.balance_minutes) for line in result.lines] == [(90, 210), (-30, 180)]
    assert [line.other_party_first_name for line in result.lines] == ["Bert", "Cor"]
    assert result.lines[0].description == "exchange (with Bert)"
    assert result.closing_balance_minutes == 180
    assert result.next_cursor is None
    # Integer minutes, also where PostgreSQL sums a bigint column as numeric.
    assert all(type(line.balance_minutes) is int for line in result.lines)
    assert type(result.closing_balance_minutes) is int


def test_a_statement_includes_an_entry_at_its_start_and_leaves_out_one_at_its_end(world):
    moment = at(3, 5)
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=45, confirmed_at=moment)

    starting_then = statement(world, world.ans.actor, world.ans, moment, at(3, 6))
    ending_then = statement(world, world.ans.actor, world.ans, at(3, 3), moment)

    assert [line.amount_minutes for line in starting_then.lines] == [45]
    assert (starting_then.opening_balance_minutes, starting_then.closing_balance_minutes) == (120, 165)
    assert ending_then.lines == []
    assert (ending_then.opening_balance_minutes, ending_then.closing_balance_minutes) == (120, 120)


def test_a_statement_of_an_empty_period_has_equal_opening_and_closing_balances(world):
    result = statement(world, world.ans.actor, world.ans, at(5, 1), at(6, 1))

    assert result.lines == []
    assert result.opening_balance_minutes == result.closing_balance_minutes == 120


def test_the_welcome_credit_shows_as_the_first_line_of_the_statement_of_its_day(world):
    result = statement(world, world.ans.actor, world.ans, START, START + timedelta(days=1))

    assert [(line.kind, line.amount_minutes, line.balance_minutes) for line in result.lines] == [
        ("welcome_credit", 120, 120)
    ]
    assert result.lines[0].other_party_first_name is None
    assert result.lines[0].description == "welcome credit"


def test_statement_pages_join_up_with_the_running_balance_carried_over(world):
    for day, minutes in ((4, 10), (5, 20), (6, 30)):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=minutes, confirmed_at=at(3, day))

    first = statement(world, world.ans.actor, world.ans, at(3, 3), at(4, 1), limit=2)
    second = statement(world, world.ans.actor, world.ans, at(3, 3), at(4, 1), limit=2, after=first.next_cursor)

    assert [line.balance_minutes for line in first.lines] == [130, 150]
    assert [line.balance_minutes for line in second.lines] == [180]
    assert second.next_cursor is None
    assert first.closing_balance_minutes == second.closing_balance_minutes == 180


def summed_statement(world: World, person, start, end, *, after=None):
    """What a statement's balances are by definition, summed entry by entry: the opening balance (``balance_at``
    the moment before ``start``), the closing one (opening plus every entry in the period), and the balance before
    the page after ``after`` (opening plus the period's entries up to it)."""

    def work(*, session):
        opening = ledger.balance_at(session, account_id=person.account_id, moment=start - timedelta(microseconds=1))
        statement_lines = ledger.statement(session, account_id=person.account_id, limit=100).lines
        in_period = [line for line in statement_lines if start <= line.posted_at < end]
        closing = opening + sum(line.amount for line in in_period)
        before_page = opening + sum(
            line.amount for line in in_period if after is not None and line.account_sequence <= after
        )
        return opening, closing, before_page

    return world.db.read(work)


def test_a_statement_over_the_whole_history_reads_its_balances_from_the_last_entries(world):
    # The welcome credit (2 March), exchanges, a hold still pending and one voided: none before or after the period.
    for day, minutes in ((4, 10), (5, 20), (6, 30), (7, 40)):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=minutes, confirmed_at=at(3, day))
    transfer(world, world.ans, world.cor, 15, when=at(3, 8), pending=True)
    voided = transfer(world, world.ans, world.cor, 25, when=at(3, 8, 11), pending=True)
    world.db.run(_void, transaction_id=voided, when=at(3, 9))
    start, end = START, at(3, 10)

    first = statement(world, world.ans.actor, world.ans, start, end, limit=2)
    second = statement(world, world.ans.actor, world.ans, start, end, limit=2, after=first.next_cursor)
    third = statement(world, world.ans.actor, world.ans, start, end, limit=2, after=second.next_cursor)

    assert [line.balance_minutes for page in (first, second, third) for line in page.lines] == [120, 130, 150, 180, 220]
    assert (first.opening_balance_minutes, first.closing_balance_minutes) == summed_statement(
        world, world.ans, start, end
    )[:2]
    assert (first.opening_balance_minutes, first.closing_balance_minutes) == (0, 220)
    assert (
        second.lines[0].balance_minutes - second.lines[0].amount_minutes
        == summed_statement(world, world.ans, start, end, after=first.next_cursor)[2]
    )
    assert third.next_cursor is None and third.closing_balance_minutes == 220


@pytest.mark.parametrize(
    "start, end",
    [
        (START, at(3, 10)),  # every entry inside: the balances from the last entries
        (START + timedelta(microseconds=1), at(3, 10)),  # the welcome credit just before: summed
        (START - timedelta(days=1), at(3, 6)),  # the entry at the end left out: summed
        (START - timedelta(days=1), at(3, 6) + timedelta(microseconds=1)),  # the entry at the end inside
    ],
)
def test_a_statement_has_the_summed_balances_whatever_its_period_and_page(world, start, end):
    for day, minutes in ((4, 10), (5, 20), (6, 30)):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=minutes, confirmed_at=at(3, day))

    for after in (None, 1, 2, 3, 99):
        result = statement(world, world.ans.actor, world.ans, start, end, limit=1, after=after)
        opening, closing, before_page = summed_statement(world, world.ans, start, end, after=after)
        assert (result.opening_balance_minutes, result.closing_balance_minutes) == (opening, closing)
        if result.lines:
            assert result.lines[0].balance_minutes == before_page + result.lines[0].amount_minutes


def test_a_statement_over_the_whole_history_sums_entries_posted_out_of_sequence(world):
    # Posting times need not follow the account's sequence (the clock is read before the account is locked):
    # the second entry carries an earlier time than the first. The balances are still those of the sums.
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=30, confirmed_at=at(3, 6))
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=45, confirmed_at=at(3, 5))
    start, end = START, at(3, 10)

    result = statement(world, world.ans.actor, world.ans, start, end)
    cursor = result.lines[1].account_sequence
    second = statement(world, world.ans.actor, world.ans, start, end, after=cursor)

    assert (result.opening_balance_minutes, result.closing_balance_minutes) == (0, 195)
    assert [line.balance_minutes for line in result.lines] == [120, 150, 195]
    assert (
        second.lines[0].balance_minutes - second.lines[0].amount_minutes
        == summed_statement(world, world.ans, start, end, after=cursor)[2]
    )


def test_a_reversal_of_an_exchange_names_the_other_party_too(world):
    exchange = confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(3, 5))

    def reverse(*, session):
        ledger.reverse(session, transaction_id=exchange.ledger_transaction_id, reason="entered twice", now=at(3, 6))
        session.commit()

    world.db.run(reverse)
    result = statement(world, world.ans.actor, world.ans, at(3, 3), at(4, 1))

    assert [(line.kind, line.amount_minutes, line.other_party_first_name) for line in result.lines] == [
        ("exchange", 60, "Bert"),
        ("reversal", -60, "Bert"),
    ]
    assert result.lines[1].description == "reversal: entered twice (with Bert)"


def test_a_coordinator_and_an_administrator_may_read_a_members_statement(world):
    for actor in (world.coordinator.actor, world.admin.actor):
        assert statement(world, actor, world.ans, at(3, 1), at(4, 1)).closing_balance_minutes == 120


@pytest.mark.parametrize("who", ["bert", "other_coordinator", "other_member"])
def test_nobody_else_may_read_a_members_statement(world, other_world, who):
    actor = {
        "bert": world.bert.actor,
        "other_coordinator": other_world.coordinator.actor,
        "other_member": other_world.ans.actor,
    }[who]

    with pytest.raises(errors.NotFound):
        statement(world, actor, world.ans, at(3, 1), at(4, 1))


def test_a_statement_of_a_member_that_does_not_exist_is_not_found(world):
    with pytest.raises(errors.NotFound):
        world.db.read(
            reports.member_statement,
            actor=world.admin.actor,
            membership_id=10**9,
            start=at(3, 1),
            end=at(4, 1),
        )


@pytest.mark.parametrize(
    ("start", "end", "options", "field"),
    [
        (at(4, 1), at(3, 1), {}, "end"),
        (at(3, 1), at(3, 1), {}, "end"),
        (at(3, 1), at(3, 1) + timedelta(days=732), {}, "end"),
        (datetime(2026, 3, 1), at(4, 1), {}, "start"),
        (None, at(4, 1), {}, "start"),
        (at(3, 1), at(4, 1), {"limit": 0}, "limit"),
        (at(3, 1), at(4, 1), {"limit": 101}, "limit"),
        (at(3, 1), at(4, 1), {"after": 0}, "after"),
    ],
)
def test_a_statement_refuses_a_bad_period_or_page(world, start, end, options, field):
    with pytest.raises(errors.InvalidInput) as refusal:
        statement(world, world.ans.actor, world.ans, start, end, **options)

    assert refusal.value.details["field"] == field


def test_a_two_year_statement_is_allowed(world):
    assert statement(world, world.ans.actor, world.ans, at(1, 1), at(1, 1) + timedelta(days=731)).lines


def test_the_statement_as_csv_has_a_header_balances_and_hours(world):
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=150, confirmed_at=at(3, 5))
    confirmed_exchange(world, helper=world.cor, helped=world.ans, minutes=315, confirmed_at=at(3, 31, 22, 30))

    text = world.db.read(
        reports.statement_csv, actor=world.ans.actor, membership_id=world.ans.id, start=at(3, 3), end=at(4, 3)
    )
    rows = list(csv.reader(io.StringIO(text)))

    assert rows == [
        ["date", "description", "minutes", "hours", "balance_minutes", "balance_hours"],
        ["2026-03-03 11:00", "Opening balance", "", "", "120", "2:00"],
        ["2026-03-05 11:00", "exchange (with Bert)", "150", "2:30", "270", "4:30"],
        # 22:30 UTC on 31 March is already 1 April in Amsterdam.
        ["2026-04-01 00:30", "exchange (with Cor)", "-315", "-5:15", "-45", "-0:45"],
        ["2026-04-03 12:00", "Closing balance", "", "", "-45", "-0:45"],
    ]


def test_the_statement_csv_defuses_a_cell_that_a_spreadsheet_would_run_as_a_formula(world):
    transfer(world, world.bert, world.ans, 30, when=at(3, 5), kind="=HYPERLINK(1)", memo="x")
    transfer(world, world.bert, world.ans, 30, when=at(3, 6), kind="@SUM(1)", memo="")

    text = world.db.read(
        reports.statement_csv, actor=world.ans.actor, membership_id=world.ans.id, start=at(3, 3), end=at(4, 1)
    )
    descriptions = [row[1] for row in csv.reader(io.StringIO(text))][2:4]

    assert descriptions == ["'=HYPERLINK(1): x", "'@SUM(1)"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-90", "-90"),
        ("+90", "+90"),
        ("-1:30", "-1:30"),
        (-90, "-90"),
        ("Oppassen", "Oppassen"),
        (None, ""),
    ],
)
def test_a_csv_cell_starting_like_a_formula_gets_an_apostrophe_unless_it_is_a_number(value, cell):
    assert reports.safe_cell(value) == cell


@pytest.mark.parametrize(
    ("minutes", "hours"), [(0, "0:00"), (59, "0:59"), (150, "2:30"), (-45, "-0:45"), (600, "10:00")]
)
def test_minutes_are_shown_as_hours_and_minutes(minutes, hours):
    assert reports.format_hours(minutes) == hours


def test_a_statement_csv_of_too_many_entries_is_refused(world, monkeypatch):
    for day in (4, 5, 6):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=at(3, day))
    monkeypatch.setattr(reports, "MAX_CSV_ROWS", 2)

    with pytest.raises(errors.InvalidInput):
        world.db.read(
            reports.statement_csv, actor=world.ans.actor, membership_id=world.ans.id, start=at(3, 3), end=at(4, 1)
        )


def test_a_statement_csv_reads_past_the_first_page(world, monkeypatch):
    for day in (4, 5, 6):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=at(3, day))
    original = reports.member_statement

    def small_pages(**arguments):
        return original(**{**arguments, "limit": 2})

    monkeypatch.setattr(reports, "member_statement", small_pages)
    text = world.db.read(
        reports.statement_csv, actor=world.ans.actor, membership_id=world.ans.id, start=at(3, 3), end=at(4, 1)
    )

    assert [row[4] for row in csv.reader(io.StringIO(text))][1:] == ["120", "130", "140", "150", "150"]


# --- the funder report: minutes exchanged ---------------------------------------------------------------------


@pytest.fixture
def spring(world):
    """Four confirmed exchanges in March and April 2026 (Amsterdam), and some that must not count:

    ans helps bert   60 min boodschappen  10 March                          → March
    bert helps cor   90 min klussen       31 March 21:30 UTC = 23:30 local  → March
    cor helps ans    30 min klussen       31 March 22:30 UTC = 00:30 local  → April
    ans helps cor    45 min boodschappen  15 April                          → April
    not counted: one just before the period, one at its end, one recorded but not confirmed, one without a
    category in the next month.
    """
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=60, confirmed_at=at(3, 10))
    confirmed_exchange(
        world, helper=world.bert, helped=world.cor, minutes=90, confirmed_at=at(3, 31, 21, 30), category="klussen"
    )
    confirmed_exchange(
        world, helper=world.cor, helped=world.ans, minutes=30, confirmed_at=at(3, 31, 22, 30), category="klussen"
    )
    confirmed_exchange(world, helper=world.ans, helped=world.cor, minutes=45, confirmed_at=at(4, 15))
    confirmed_exchange(
        world, helper=world.officer, helped=world.ans, minutes=20, confirmed_at=AMSTERDAM_MARCH - timedelta(seconds=1)
    )
    confirmed_exchange(world, helper=world.officer, helped=world.bert, minutes=25, confirmed_at=AMSTERDAM_MAY)
    confirmed_exchange(
        world, helper=world.officer, helped=world.cor, minutes=35, confirmed_at=at(4, 20), status="recorded", post=False
    )
    confirmed_exchange(world, helper=world.bert, helped=world.ans, minutes=15, confirmed_at=at(5, 10), category=None)
    return world


def test_minutes_exchanged_are_counted_per_month_in_the_communitys_time_zone(spring):
    result = report(spring)

    assert [(month.month, month.exchanges, month.minutes) for month in result.minutes_by_month] == [
        ("2026-03", 2, 150),
        ("2026-04", 2, 75),
    ]
    assert (result.total_exchanges, result.total_minutes) == (4, 225)


def test_the_month_boundary_follows_the_communitys_time_zone_setting(spring):
    spring.db.run(
        communities.update_settings, actor=spring.coordinator.actor, community_id=spring.community_id, time_zone="UTC"
    )

    result = report(spring, start=at(3, 1, 0), end=at(5, 1, 0))

    # In UTC the exchange of 31 March 22:30 stays in March, and the one of 30 April 22:00 falls in April.
    assert [(month.month, month.exchanges, month.minutes) for month in result.minutes_by_month] == [
        ("2026-03", 3, 180),
        ("2026-04", 2, 70),
    ]


def test_minutes_exchanged_are_counted_per_category_with_every_category_listed(spring):
    result = report(spring)

    assert [(item.slug, item.exchanges, item.minutes) for item in result.minutes_by_category] == [
        ("boodschappen", 2, 105),
        ("huiswerk", 0, 0),
        ("klussen", 2, 120),
        ("oppassen", 0, 0),
        ("vervoer", 0, 0),
    ]
    assert {item.slug: item.name for item in result.minutes_by_category}["klussen"] == "Klussen"
    assert [(item.month, item.slug, item.exchanges, item.minutes) for item in result.minutes_by_month_and_category] == [
        ("2026-03", "boodschappen", 1, 60),
        ("2026-03", "klussen", 1, 90),
        ("2026-04", "boodschappen", 1, 45),
        ("2026-04", "klussen", 1, 30),
    ]


def test_an_exchange_without_a_category_counts_under_no_category(spring):
    result = report(spring, start=at(5, 1), end=at(6, 1))

    assert [(item.slug, item.exchanges, item.minutes) for item in result.minutes_by_category if item.exchanges] == [
        ("", 1, 15)
    ]


def test_a_period_starting_mid_month_lists_every_month_it_touches(spring):
    result = report(spring, start=at(3, 20), end=at(4, 10))

    assert [(month.month, month.exchanges, month.minutes) for month in result.minutes_by_month] == [
        ("2026-03", 1, 90),
        ("2026-04", 1, 30),
    ]


def test_a_two_year_report_puts_each_exchange_in_its_local_month_up_to_the_microsecond(world):
    # 24 months from 1 March 2026 in Amsterdam: 10 minutes at the first moment of each month and 1 at its last
    # microsecond, across both changes of clock each year (the months are found by a binary search in SQL).
    zone = ZoneInfo("Europe/Amsterdam")
    starts = [datetime(2026 + (2 + index) // 12, (2 + index) % 12 + 1, 1, tzinfo=zone) for index in range(25)]
    for first, following in itertools.pairwise(starts):
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=first)
        last = following - timedelta(microseconds=1)
        confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=1, confirmed_at=last)

    result = report(world, start=starts[0], end=starts[-1])

    assert [(month.month, month.exchanges, month.minutes) for month in result.minutes_by_month] == [
        (f"{moment.year:04d}-{moment.month:02d}", 2, 11) for moment in starts[:-1]
    ]
    assert {(cell.month, cell.slug, cell.exchanges) for cell in result.minutes_by_month_and_category} == {
        (f"{moment.year:04d}-{moment.month:02d}", "boodschappen", 2) for moment in starts[:-1]
    }
    assert all(
        type(cell.exchanges) is int and type(cell.minutes) is int for cell in result.minutes_by_month_and_category
    )


def test_an_empty_period_reports_zeros_and_no_median(spring):
    # 1 July to 1 September, midnight in Amsterdam (UTC+2 in summer).
    result = report(spring, start=at(6, 30, 22), end=at(8, 31, 22))

    assert [(month.month, month.exchanges, month.minutes) for month in result.minutes_by_month] == [
        ("2026-07", 0, 0),
        ("2026-08", 0, 0),
    ]
    assert all(item.exchanges == 0 for item in result.minutes_by_category)
    assert result.minutes_by_month_and_category == []
    assert (result.total_minutes, result.active_members, result.new_members, result.helper_helped_pairs) == (
        0,
        0,
        0,
        0,
    )
    assert (result.requests_with_an_exchange, result.median_days_to_first_exchange) == (0, None)


# --- the funder report: members -------------------------------------------------------------------------------


def test_active_members_took_part_in_a_confirmed_exchange_in_the_90_days_before_the_end(world):
    end = at(7, 1)
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=end - timedelta(days=90))
    confirmed_exchange(
        world, helper=world.bert, helped=world.officer, minutes=10, confirmed_at=end - timedelta(minutes=1)
    )
    confirmed_exchange(
        world, helper=world.cor, helped=world.coordinator, minutes=10, confirmed_at=end - timedelta(days=90, seconds=1)
    )
    confirmed_exchange(world, helper=world.cor, helped=world.coordinator, minutes=10, confirmed_at=end)
    confirmed_exchange(
        world,
        helper=world.cor,
        helped=world.coordinator,
        minutes=10,
        confirmed_at=at(6, 1),
        status="recorded",
        post=False,
    )

    # ans, bert and the officer; cor and the coordinator only outside the window or unconfirmed.
    assert report(world, start=at(6, 1), end=end).active_members == 3


def test_new_members_are_those_admitted_within_the_period(world):
    admit_at(world, "Dora Dijk", at(4, 1))
    admit_at(world, "Eva Eng", at(5, 1))  # at the end: not in the period
    join(world.db, world.admin.actor, world.community_id, "Tim Tijdelijk")  # admitted at START
    world.db.run(
        members.apply_to_join,
        actor=Person(user=add_user(world.db)).actor,
        community_id=world.community_id,
        display_name="Never Approved",
        now=at(4, 2),
    )

    assert report(world, start=at(3, 3), end=at(5, 1)).new_members == 1
    # The six founding members (and the temporary one) were admitted at START.
    assert report(world, start=START, end=at(3, 3)).new_members == 6


def test_helper_helped_pairs_are_unordered_and_distinct(world):
    confirmed_exchange(world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=at(3, 10))
    confirmed_exchange(world, helper=world.bert, helped=world.ans, minutes=10, confirmed_at=at(3, 11))
    confirmed_exchange(world, helper=world.ans, helped=world.cor, minutes=10, confirmed_at=at(3, 12))
    confirmed_exchange(world, helper=world.bert, helped=world.cor, minutes=10, confirmed_at=at(3, 13))
    confirmed_exchange(world, helper=world.bert, helped=world.cor, minutes=10, confirmed_at=at(3, 14))
    confirmed_exchange(world, helper=world.officer, helped=world.cor, minutes=10, confirmed_at=at(4, 14))  # after
    confirmed_exchange(
        world, helper=world.officer, helped=world.ans, minutes=10, confirmed_at=at(3, 15), post=False, status="voided"
    )

    assert report(world, start=at(3, 1), end=at(4, 1)).helper_helped_pairs == 3


# --- the funder report: requests ------------------------------------------------------------------------------


def test_the_median_days_from_request_to_first_exchange_counts_requests_posted_in_the_period(world):
    def answered(posted_at, *recorded):
        request = listing(world, world.ans, created_at=posted_at)
        for moment in recorded:
            confirmed_exchange(
                world,
                helper=world.bert,
                helped=world.ans,
                minutes=10,
                confirmed_at=moment,
                recorded_at=moment,
                listing_id=request.id,
                status="recorded",
                post=False,
            )
        return request

    answered(at(3, 10), at(3, 11), at(3, 13))  # 1 day to the first
    answered(at(3, 12), at(3, 15))  # 3 days
    answered(at(3, 20), at(3, 20, 22))  # half a day
    answered(at(3, 21))  # no exchange: not counted
    answered(at(2, 20), at(3, 2))  # posted before the period
    answered(at(3, 30), at(4, 2))  # its first exchange after the end
    offer = listing(world, world.ans, created_at=at(3, 10), kind="offer")
    confirmed_exchange(
        world, helper=world.ans, helped=world.bert, minutes=10, confirmed_at=at(3, 11), listing_id=offer.id
    )

    odd = report(world, start=at(3, 1), end=at(4, 1))
    assert (odd.requests_with_an_exchange, odd.median_days_to_first_exchange) == (3, 1.0)

    answered(at(3, 25), at(3, 30))  # 5 days: the median of 0.5, 1, 3, 5 is 2
    even = report(world, start=at(3, 1), end=at(4, 1))
    assert (even.requests_with_an_exchange, even.median_days_to_first_exchange) == (4, 2.0)


def test_open_requests_older_than_14_days_at_the_end_are_counted(world):
    end = at(4, 1, 0)
    listing(world, world.ans, created_at=end - timedelta(days=14, minutes=1))  # counts
    listing(world, world.ans, created_at=end - timedelta(days=14))  # exactly 14 days: not older
    listing(world, world.bert, created_at=at(3, 1), status="closed")
    listing(world, world.bert, created_at=at(3, 1), expires_at=at(3, 31))  # expired by the end
    listing(world, world.cor, created_at=at(3, 1), expires_at=at(4, 10))  # counts
    listing(world, world.cor, created_at=at(3, 1), kind="offer")

    assert report(world, start=at(3, 1), end=end).open_requests_older_than_14_days == 2


# --- the funder report: members near their floor --------------------------------------------------------------


def test_members_within_an_hour_of_their_floor_are_counted_from_their_available_balance_at_the_end(world):
    end = at(4, 1)
    # Everyone starts with 120 minutes; the floor is -600.
    transfer(world, world.ans, world.coordinator, 660, when=at(3, 5))  # ans at -540: exactly an hour above
    transfer(world, world.bert, world.officer, 659, when=at(3, 5))  # bert at -539: just over an hour
    hold = transfer(world, world.bert, world.officer, 30, when=at(3, 6), pending=True)
    world.db.run(_void, transaction_id=hold, when=at(3, 7))  # voided before the end: no longer held
    transfer(world, world.cor, world.coordinator, 620, when=at(3, 5))  # cor at -500...
    transfer(world, world.cor, world.officer, 60, when=at(3, 6), pending=True)  # ...with 60 held: -560 available
    transfer(world, world.officer, world.ans, 300, when=at(4, 5))  # after the end: ans still counts
    transfer(world, world.bert, world.officer, 30, when=at(4, 5), pending=True)  # held after the end

    assert report(world, start=at(3, 1), end=end).members_within_an_hour_of_floor == 2
    assert report(world, start=at(4, 1), end=at(4, 10)).members_within_an_hour_of_floor == 2  # cor and bert now


def _void(*, session, transaction_id: int, when: datetime):
    ledger.void_pending(session, transaction_id=transaction_id, now=when)
    session.commit()


def test_a_member_who_left_before_the_end_is_not_counted_near_the_floor(world):
    transfer(world, world.ans, world.coordinator, 660, when=at(3, 5))  # ans at -540
    world.db.run(_grant_pot, world=world, minutes=600)
    world.db.run(_settle_from_pot, world=world, person=world.ans, minutes=540, when=at(3, 6))
    world.db.run(members.leave_community, actor=world.ans.actor, membership_id=world.ans.id, now=at(3, 7))

    assert report(world, start=at(3, 1), end=at(3, 5, 12)).members_within_an_hour_of_floor == 1
    assert report(world, start=at(3, 1), end=at(4, 1)).members_within_an_hour_of_floor == 0


def _settle_from_pot(*, session, world: World, person, minutes: int, when: datetime):
    community = session.get(Community, world.community_id)
    bookkeeping.post_transfer(
        session,
        community=community,
        debit_account_id=community.pot_account_id,
        credit_account_id=person.account_id,
        minutes=minutes,
        kind="grant",
        actor=world.admin.actor,
        now=when,
    )
    session.commit()


def _grant_pot(*, session, world: World, minutes: int):
    community = session.get(Community, world.community_id)
    bookkeeping.post_transfer(
        session,
        community=community,
        debit_account_id=community.issuance_account_id,
        credit_account_id=community.pot_account_id,
        minutes=minutes,
        kind="grant",
        actor=world.admin.actor,
        now=at(3, 5),
    )
    session.commit()


# --- the funder report: who may read it, and its CSV ----------------------------------------------------------


def test_an_administrator_may_read_the_funder_report(spring):
    assert report(spring, actor=spring.admin.actor).total_minutes == 225


def test_a_member_may_not_read_the_funder_report(spring):
    with pytest.raises(errors.NotAllowed):
        report(spring, actor=spring.ans.actor)


def test_another_communitys_coordinator_is_told_the_community_does_not_exist(spring, other_world):
    with pytest.raises(errors.NotFound):
        report(spring, actor=other_world.coordinator.actor)


@pytest.mark.parametrize(
    ("start", "end"),
    [(at(4, 1), at(3, 1)), (at(1, 1), at(1, 1) + timedelta(days=732)), (datetime(2026, 3, 1), at(4, 1))],
)
def test_the_funder_report_refuses_a_bad_period(spring, start, end):
    with pytest.raises(errors.InvalidInput):
        report(spring, start=start, end=end)


def test_the_funder_report_names_no_member(spring):
    result = report(spring)
    text = spring.db.read(
        reports.funder_report_csv,
        actor=spring.coordinator.actor,
        community_id=spring.community_id,
        start=AMSTERDAM_MARCH,
        end=AMSTERDAM_MAY,
    )

    for name in ("Ans", "Bert", "Cor", "Olga", "Carla", "Vries", "Jansen"):
        assert name not in repr(result)
        assert name not in text


def test_the_funder_report_csv_has_one_section_per_figure(spring):
    text = spring.db.read(
        reports.funder_report_csv,
        actor=spring.coordinator.actor,
        community_id=spring.community_id,
        start=AMSTERDAM_MARCH,
        end=AMSTERDAM_MAY,
    )
    rows = list(csv.reader(io.StringIO(text)))
    sections = {rows[index + 1][0]: rows[index + 2 :] for index, row in enumerate(rows) if row == []}

    assert rows[0][:2] == ["Funder report", "Buurtbank Test"]
    assert sections["Minutes exchanged per month"][:3] == [
        ["month", "exchanges", "minutes", "hours"],
        ["2026-03", "2", "150", "2:30"],
        ["2026-04", "2", "75", "1:15"],
    ]
    assert ["klussen", "Klussen", "2", "120", "2:00"] in sections["Minutes exchanged per category"]
    assert sections["Active members"][:2] == [["figure", "value"], ["active_members", "4"]]
    assert sections["Helper-helped pairs"][1] == ["helper_helped_pairs", "3"]
    assert sections["Median days to first exchange"][1] == ["median_days_to_first_exchange", ""]
    assert len(sections) == 11


def test_the_funder_report_csv_defuses_a_category_name_that_looks_like_a_formula(spring):
    def add_category(*, session):
        session.add(
            Category(
                community_id=spring.community_id,
                slug=f"x-{uuid.uuid4().hex[:6]}",
                name_en="=HYPERLINK(1)",
                name_nl="=HYPERLINK(1)",
            )
        )
        session.commit()

    spring.db.run(add_category)
    text = spring.db.read(
        reports.funder_report_csv,
        actor=spring.coordinator.actor,
        community_id=spring.community_id,
        start=AMSTERDAM_MARCH,
        end=AMSTERDAM_MAY,
    )

    assert "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text


# --- active members per month ---------------------------------------------------------------------------------


def active_by_month(world: World, start=AMSTERDAM_MARCH, end=AMSTERDAM_MAY, actor=None):
    return [
        (item.month, item.members)
        for item in world.db.read(
            reports.active_members_by_month,
            actor=actor or world.coordinator.actor,
            community_id=world.community_id,
            start=start,
            end=end,
        )
    ]


def test_active_members_per_month_count_each_member_once_a_month_in_the_communitys_time_zone(spring):
    # March: ans and bert (10 March), bert and cor (23:30 on 31 March local): ans, bert, cor.
    # April: cor and ans (00:30 on 1 April local), ans and cor (15 April): ans, cor.
    assert active_by_month(spring) == [("2026-03", 3), ("2026-04", 2)]


def test_active_members_per_month_follow_the_communitys_time_zone_setting(spring):
    spring.db.run(
        communities.update_settings, actor=spring.coordinator.actor, community_id=spring.community_id, time_zone="UTC"
    )

    # In UTC cor helping ans (31 March 22:30) stays in March, and the officer helping bert (30 April 22:00) is
    # in April.
    assert active_by_month(spring, start=at(3, 1, 0), end=at(5, 1, 0)) == [("2026-03", 3), ("2026-04", 4)]


def test_active_members_per_month_count_only_exchanges_within_the_period(spring):
    assert active_by_month(spring, start=at(3, 20), end=at(4, 10)) == [("2026-03", 2), ("2026-04", 2)]
    assert active_by_month(spring, start=at(6, 30, 22), end=at(8, 31, 22)) == [("2026-07", 0), ("2026-08", 0)]


def test_only_coordinators_of_the_community_read_active_members_per_month(spring, other_world):
    assert active_by_month(spring, actor=spring.admin.actor) == [("2026-03", 3), ("2026-04", 2)]
    with pytest.raises(errors.NotAllowed):
        active_by_month(spring, actor=spring.ans.actor)
    with pytest.raises(errors.NotFound):
        active_by_month(spring, actor=other_world.coordinator.actor)
    with pytest.raises(errors.InvalidInput):
        active_by_month(spring, start=at(4, 1), end=at(3, 1))
