"""Safeguarding records: recording that a certificate of conduct was seen, reading the records (every read
logged), checks due for review and the read log, with their refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.timebank.test_pot import WELCOME, assert_refused, audit_entries, donate, state
from tests.world import START, World, join
from timebank import errors, members, safeguarding
from timebank.access import Actor
from timebank.models import SafeguardingCheck, SafeguardingRead

TODAY = START.date()  # 2 March 2026


def record_arguments(world: World, person, **overrides) -> dict:
    return {
        "actor": world.officer.actor,
        "community_id": world.community_id,
        "membership_id": person.id,
        "scheme": "vog",
        "seen_on": date(2026, 2, 20),
        "review_on": date(2029, 2, 20),
        "now": START,
        **overrides,
    }


def record(world: World, person, **overrides) -> SafeguardingCheck:
    return world.db.run(safeguarding.record_check, **record_arguments(world, person, **overrides))


def reads(world: World) -> list[SafeguardingRead]:
    return world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(SafeguardingRead)
                .where(SafeguardingRead.community_id == world.community_id)
                .order_by(SafeguardingRead.id)
            ).scalars()
        )
    )


def has_current_check(world: World, person, on: date) -> bool:
    return world.db.read(safeguarding.has_current_check, membership_id=person.id, on=on)


def list_arguments(world: World, **overrides) -> dict:
    return {"actor": world.officer.actor, "community_id": world.community_id, "now": START, **overrides}


# --- recording a check ----------------------------------------------------------------------------------------


def test_a_safeguarding_officer_records_that_a_certificate_was_seen(world):
    check = record(world, world.ans)
    assert (check.community_id, check.membership_id, check.scheme) == (world.community_id, world.ans.id, "vog")
    assert (check.seen_on, check.review_on) == (date(2026, 2, 20), date(2029, 2, 20))
    assert check.seen_by_membership_id == world.officer.id
    assert check.recorded_at == START
    assert has_current_check(world, world.ans, TODAY)
    assert not has_current_check(world, world.ans, date(2029, 2, 21))
    [entry] = audit_entries(world, "safeguarding.check_recorded")
    assert (entry.subject_type, entry.subject_id, entry.actor_user_id) == (
        "safeguarding_check",
        check.id,
        world.officer.user.id,
    )
    # Coordinators read the audit log: it names the record, never the member, the scheme or the dates.
    assert set(entry.details) == {"actor"}
    assert entry.reason == ""


def test_only_the_scheme_dates_and_who_saw_it_are_kept_never_the_document(world):
    columns = {column.name for column in SafeguardingCheck.__table__.columns}
    assert columns == {
        "id",
        "community_id",
        "membership_id",
        "scheme",
        "seen_on",
        "seen_by_membership_id",
        "review_on",
        "recorded_at",
    }
    parameters = set(inspect.signature(safeguarding.record_check).parameters)
    assert not parameters & {"document", "notes", "note", "contents", "comment", "description"}
    before = state(world)
    with pytest.raises(TypeError):
        world.db.run(safeguarding.record_check, **record_arguments(world, world.ans, document="scan.pdf"))
    assert state(world) == before


def test_an_administrator_records_a_check_naming_the_officer_who_saw_it(world):
    check = record(world, world.bert, actor=world.admin.actor, scheme="dbs", seen_by_membership_id=world.officer.id)
    assert (check.scheme, check.seen_by_membership_id) == ("dbs", world.officer.id)
    assert audit_entries(world, "safeguarding.check_recorded")[0].actor_user_id == world.admin.user.id


def test_an_administrator_who_is_no_member_must_name_the_officer_who_saw_it(world):
    error = assert_refused(
        world,
        errors.InvalidInput,
        safeguarding.record_check,
        **record_arguments(world, world.bert, actor=world.admin.actor),
    )
    assert error.details["field"] == "seen_by_membership_id"


@pytest.mark.parametrize("who", ["ans", "coordinator"])
def test_the_one_who_saw_it_is_an_active_safeguarding_officer(world, who):
    error = assert_refused(
        world,
        errors.InvalidInput,
        safeguarding.record_check,
        **record_arguments(world, world.bert, seen_by_membership_id=getattr(world, who).id),
    )
    assert error.details["field"] == "seen_by_membership_id"


def test_the_officer_who_saw_it_belongs_to_this_community(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.record_check,
        **record_arguments(world, world.bert, seen_by_membership_id=other_world.officer.id),
    )


def test_a_check_may_be_reviewed_at_most_five_years_after_it_was_seen(world):
    record(world, world.ans, seen_on=date(2024, 2, 29), review_on=date(2029, 2, 28))
    error = assert_refused(
        world,
        errors.InvalidInput,
        safeguarding.record_check,
        **record_arguments(world, world.ans, seen_on=date(2024, 3, 1), review_on=date(2029, 3, 2)),
    )
    assert error.details["field"] == "review_on"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scheme": "passport"}, "scheme"),
        ({"scheme": "VOG"}, "scheme"),
        ({"seen_on": "2026-02-20"}, "seen_on"),
        ({"seen_on": datetime(2026, 2, 20, tzinfo=UTC)}, "seen_on"),
        ({"review_on": None}, "review_on"),
        ({"review_on": date(2026, 2, 20)}, "review_on"),
        ({"review_on": date(2026, 2, 19)}, "review_on"),
        ({"seen_on": date(2026, 3, 3), "review_on": date(2027, 3, 3)}, "seen_on"),
        ({"membership_id": "5"}, "membership_id"),
        ({"seen_by_membership_id": "5"}, "seen_by_membership_id"),
    ],
)
def test_a_check_needs_a_known_scheme_and_sensible_dates(world, overrides, field):
    error = assert_refused(
        world, errors.InvalidInput, safeguarding.record_check, **record_arguments(world, world.ans, **overrides)
    )
    assert error.details["field"] == field


def test_the_day_seen_is_not_in_the_future_by_the_communitys_own_calendar(world):
    # 23:30 UTC on 1 March is already 2 March in Amsterdam.
    late_evening = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    record(world, world.ans, seen_on=date(2026, 3, 2), review_on=date(2027, 3, 2), now=late_evening)
    assert_refused(
        world,
        errors.InvalidInput,
        safeguarding.record_check,
        **record_arguments(world, world.ans, seen_on=date(2026, 3, 3), review_on=date(2027, 3, 3), now=late_evening),
    )


@pytest.mark.parametrize("who", ["coordinator", "ans"])
def test_only_safeguarding_officers_and_administrators_record_checks(world, who):
    assert_refused(
        world,
        errors.NotAllowed,
        safeguarding.record_check,
        **record_arguments(world, world.bert, actor=getattr(world, who).actor),
    )


def test_an_officer_of_another_community_cannot_record_a_check_here(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.record_check,
        **record_arguments(world, world.bert, actor=other_world.officer.actor),
    )


def test_a_check_is_recorded_only_for_a_member_of_this_community(world, other_world):
    assert_refused(
        [world, other_world], errors.NotFound, safeguarding.record_check, **record_arguments(world, other_world.bert)
    )


def test_no_check_is_recorded_for_a_member_who_has_left(world):
    donate(world, world.cor, WELCOME)
    world.db.run(members.leave_community, actor=world.cor.actor, membership_id=world.cor.id, now=START)
    assert_refused(world, errors.Conflict, safeguarding.record_check, **record_arguments(world, world.cor))


def test_a_suspended_officer_cannot_record_a_check(world):
    person = join(world.db, world.admin.actor, world.community_id, "Sara Streng", officer=True)
    world.db.run(
        members.suspend_member, actor=world.coordinator.actor, membership_id=person.id, reason="test", now=START
    )
    assert_refused(
        world,
        errors.MembershipNotActive,
        safeguarding.record_check,
        **record_arguments(world, world.bert, actor=person.actor),
    )


# --- reading the records --------------------------------------------------------------------------------------


def test_an_officer_reads_every_check_and_the_read_is_logged_once_for_the_list(world):
    first = record(world, world.ans)
    second = record(world, world.bert, scheme="other")
    page = world.db.run(safeguarding.list_checks, **list_arguments(world))
    assert [check.id for check in page.checks] == [second.id, first.id]
    assert page.next_cursor is None
    [read] = reads(world)
    assert (read.reader_user_id, read.subject_membership_id, read.at) == (world.officer.user.id, None, START)


def test_reading_one_members_checks_is_logged_against_that_member(world):
    record(world, world.ans)
    mine = record(world, world.bert)
    page = world.db.run(safeguarding.list_checks, **list_arguments(world, membership_id=world.bert.id))
    assert [check.id for check in page.checks] == [mine.id]
    [read] = reads(world)
    assert read.subject_membership_id == world.bert.id


def test_checks_are_read_page_by_page_and_each_page_is_a_logged_read(world):
    checks = [record(world, person) for person in (world.ans, world.bert, world.cor)]
    first = world.db.run(safeguarding.list_checks, **list_arguments(world, limit=2))
    second = world.db.run(safeguarding.list_checks, **list_arguments(world, limit=2, before=first.next_cursor))
    assert [check.id for check in first.checks + second.checks] == [check.id for check in reversed(checks)]
    assert second.next_cursor is None
    assert len(reads(world)) == 2


def test_an_administrator_reads_the_checks_and_is_logged_as_the_reader(world):
    record(world, world.ans)
    world.db.run(safeguarding.list_checks, **list_arguments(world, actor=world.admin.actor))
    assert reads(world)[0].reader_user_id == world.admin.user.id


@pytest.mark.parametrize("who", ["coordinator", "ans"])
def test_coordinators_without_the_safeguarding_role_and_members_cannot_read_checks(world, who):
    record(world, world.ans)
    assert_refused(
        world, errors.NotAllowed, safeguarding.list_checks, **list_arguments(world, actor=getattr(world, who).actor)
    )


def test_an_officer_of_another_community_cannot_read_these_checks(world, other_world):
    record(world, world.ans)
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.list_checks,
        **list_arguments(world, actor=other_world.officer.actor),
    )
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.list_checks,
        **list_arguments(world, membership_id=other_world.ans.id),
    )


def test_a_system_job_cannot_read_checks_because_every_read_names_a_person(world):
    assert_refused(
        world, errors.NotAllowed, safeguarding.list_checks, **list_arguments(world, actor=Actor.system_job("tick"))
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"before": "x"}, "before"),
        ({"membership_id": "2"}, "membership_id"),
    ],
)
def test_reading_checks_takes_bounded_pages(world, overrides, field):
    error = assert_refused(world, errors.InvalidInput, safeguarding.list_checks, **list_arguments(world, **overrides))
    assert error.details["field"] == field


# --- checks due for review ------------------------------------------------------------------------------------


def due(world: World, on: date, **overrides):
    return world.db.run(safeguarding.checks_due_for_review, **list_arguments(world, on=on, **overrides))


def test_checks_due_for_review_list_each_active_members_latest_check_due_by_the_day_soonest_first(world):
    lapsed = record(world, world.ans, seen_on=date(2023, 1, 10), review_on=date(2026, 1, 10))
    due_soon = record(world, world.bert, seen_on=date(2023, 4, 1), review_on=date(2026, 4, 1))
    record(world, world.cor, seen_on=date(2023, 1, 1), review_on=date(2026, 1, 1))
    record(world, world.cor, seen_on=date(2026, 1, 5), review_on=date(2029, 1, 5))  # renewed: not due
    record(world, world.coordinator, review_on=date(2027, 2, 20))  # not due yet
    page = due(world, date(2026, 4, 1))
    assert [check.id for check in page.checks] == [lapsed.id, due_soon.id]
    [read] = reads(world)
    assert read.subject_membership_id is None


def test_a_suspended_members_check_is_not_due_for_review(world):
    record(world, world.bert, seen_on=date(2023, 4, 1), review_on=date(2026, 4, 1))
    world.db.run(
        members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="test", now=START
    )
    assert due(world, date(2026, 4, 1)).checks == []


def test_checks_due_for_review_come_page_by_page(world):
    expected = [
        record(world, person, seen_on=date(2023, 1, day), review_on=date(2026, 1, day))
        for person, day in ((world.cor, 3), (world.ans, 1), (world.bert, 1))
    ]
    first = due(world, TODAY, limit=2)
    second = due(world, TODAY, limit=2, after=first.next_cursor)
    ordered = sorted(expected, key=lambda check: (check.review_on, check.id))
    assert [check.id for check in first.checks + second.checks] == [check.id for check in ordered]
    assert second.next_cursor is None
    assert len(reads(world)) == 2


@pytest.mark.parametrize("who", ["coordinator", "ans"])
def test_only_officers_and_administrators_see_checks_due_for_review(world, who):
    record(world, world.ans, seen_on=date(2023, 1, 10), review_on=date(2026, 1, 10))
    assert_refused(
        world,
        errors.NotAllowed,
        safeguarding.checks_due_for_review,
        **list_arguments(world, actor=getattr(world, who).actor, on=TODAY),
    )


def test_an_administrator_sees_checks_due_for_review(world):
    lapsed = record(world, world.ans, seen_on=date(2023, 1, 10), review_on=date(2026, 1, 10))
    assert [check.id for check in due(world, TODAY, actor=world.admin.actor).checks] == [lapsed.id]


def test_checks_due_for_review_in_another_community_are_not_found(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.checks_due_for_review,
        **list_arguments(world, actor=other_world.officer.actor, on=TODAY),
    )


def test_a_cursor_from_another_community_is_not_found(world, other_world):
    elsewhere = record(other_world, other_world.ans)
    assert_refused(
        [world, other_world],
        errors.NotFound,
        safeguarding.checks_due_for_review,
        **list_arguments(world, on=TODAY, after=elsewhere.id),
    )


@pytest.mark.parametrize("on", ["2026-03-02", None, START])
def test_checks_due_for_review_need_a_day(world, on):
    error = assert_refused(
        world, errors.InvalidInput, safeguarding.checks_due_for_review, **list_arguments(world, on=on)
    )
    assert error.details["field"] == "on"


# --- the read log ---------------------------------------------------------------------------------------------


def test_the_read_log_says_who_read_whose_records_and_when_newest_first(world):
    record(world, world.ans)
    world.db.run(safeguarding.list_checks, **list_arguments(world))
    world.db.run(safeguarding.list_checks, **list_arguments(world, actor=world.admin.actor, membership_id=world.ans.id))
    log = world.db.read(safeguarding.safeguarding_read_log, actor=world.officer.actor, community_id=world.community_id)
    assert [(read.reader_user_id, read.subject_membership_id) for read in log.reads] == [
        (world.admin.user.id, world.ans.id),
        (world.officer.user.id, None),
    ]
    assert log.next_cursor is None
    only_ans = world.db.read(
        safeguarding.safeguarding_read_log,
        actor=world.admin.actor,
        community_id=world.community_id,
        membership_id=world.ans.id,
    )
    assert [read.subject_membership_id for read in only_ans.reads] == [world.ans.id]
    assert len(reads(world)) == 2  # reading the log is not a read of the records


def test_the_read_log_comes_page_by_page(world):
    for _ in range(3):
        world.db.run(safeguarding.list_checks, **list_arguments(world))
    arguments = {"actor": world.officer.actor, "community_id": world.community_id, "limit": 2}
    first = world.db.read(safeguarding.safeguarding_read_log, **arguments)
    second = world.db.read(safeguarding.safeguarding_read_log, before=first.next_cursor, **arguments)
    ids = [read.id for read in first.reads + second.reads]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert second.next_cursor is None


@pytest.mark.parametrize("who", ["coordinator", "ans"])
def test_only_officers_and_administrators_see_the_read_log(world, who):
    with pytest.raises(errors.NotAllowed):
        world.db.read(
            safeguarding.safeguarding_read_log, actor=getattr(world, who).actor, community_id=world.community_id
        )


def test_the_read_log_of_another_community_is_not_found(world, other_world):
    with pytest.raises(errors.NotFound):
        world.db.read(
            safeguarding.safeguarding_read_log, actor=other_world.officer.actor, community_id=world.community_id
        )
    with pytest.raises(errors.NotFound):
        world.db.read(
            safeguarding.safeguarding_read_log,
            actor=world.officer.actor,
            community_id=world.community_id,
            membership_id=other_world.ans.id,
        )
