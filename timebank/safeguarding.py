"""Safeguarding: that a coordinator saw a member's certificate of conduct (VOG, DBS), and until when it holds.

Only the scheme, the date seen, who saw it and the review date are kept: never the document or its contents, and
no free text where they could be typed in. Only safeguarding officers and administrators record and read these
records, and every read of them is logged (who read whose, and when), so a read is a use case that commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import access, audit, errors, validation
from timebank.access import Actor
from timebank.models import (
    CheckScheme,
    Community,
    Membership,
    MembershipStatus,
    SafeguardingCheck,
    SafeguardingRead,
)

SCHEMES = tuple(scheme.value for scheme in CheckScheme)
MAX_REVIEW_YEARS = 5
MAX_PAGE_SIZE = 100
# A member who has left or was declined has no use for a new check.
CLOSED_STATUSES = (MembershipStatus.LEFT.value, MembershipStatus.DECLINED.value)


def has_current_check(session: Session, *, membership_id: int, on: date) -> bool:
    """Whether the member has a check seen on or before ``on`` whose review date has not passed by then.

    Used by matching and exchanges without reading the record itself, so it is not a logged read."""
    return (
        session.execute(
            sa.select(SafeguardingCheck.id).where(
                SafeguardingCheck.membership_id == membership_id,
                SafeguardingCheck.seen_on <= on,
                SafeguardingCheck.review_on >= on,
            )
        ).first()
        is not None
    )


# --- checking values ------------------------------------------------------------------------------------------


def _day(field: str, value) -> date:
    """A calendar date (not a moment: a certificate is seen on a day)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise errors.InvalidInput(f"{field} must be a date", field=field)
    return value


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _today(community: Community, now: datetime) -> date:
    """Today in the community's own time zone: "not in the future" means as the officer's calendar says."""
    return now.astimezone(ZoneInfo(community.time_zone)).date()


def _check_dates(seen_on, review_on) -> tuple[date, date]:
    """The day seen and the review day: dates, the review after the day seen and at most five years later."""
    seen_on = _day("seen_on", seen_on)
    review_on = _day("review_on", review_on)
    if review_on <= seen_on:
        raise errors.InvalidInput("the review date must come after the day the certificate was seen", field="review_on")
    if review_on > _years_after(seen_on, MAX_REVIEW_YEARS):
        raise errors.InvalidInput(
            f"the review date may be at most {MAX_REVIEW_YEARS} years after the day seen", field="review_on"
        )
    return seen_on, review_on


def _limit(limit) -> int:
    return validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)


def _cursor(field: str, value) -> int | None:
    if value is None:
        return None
    return validation.whole_number(field, value, minimum=1, maximum=2**63 - 1)


def _reader(session: Session, actor: Actor, community_id: int) -> None:
    """Officers and administrators read; a read is logged against a person, so a system job may not read."""
    access.require_safeguarding_officer(session, actor, community_id)
    if actor.user_id is None:
        raise errors.NotAllowed("safeguarding records are read by a person, not by a system job")


def _log_read(session: Session, actor: Actor, community_id: int, subject_membership_id: int | None, now) -> None:
    session.add(
        SafeguardingRead(
            community_id=community_id,
            reader_user_id=actor.user_id,
            subject_membership_id=subject_membership_id,
            at=utc_now(now),
        )
    )


def _seen_by(session: Session, community_id: int, officer: Membership | None, seen_by_membership_id) -> Membership:
    """Who saw the certificate: the recording officer, or the officer named; always an active officer here."""
    if seen_by_membership_id is None:
        if officer is None:
            raise errors.InvalidInput("name the officer who saw the certificate", field="seen_by_membership_id")
        seen_by = officer
    else:
        seen_by_membership_id = validation.whole_number(
            "seen_by_membership_id", seen_by_membership_id, minimum=1, maximum=2**63 - 1
        )
        seen_by = access.get_in_community(session, Membership, seen_by_membership_id, community_id, what="member")
    if seen_by.status != MembershipStatus.ACTIVE.value or not seen_by.is_safeguarding_officer:
        raise errors.InvalidInput(
            "the certificate must have been seen by an active safeguarding officer of this community",
            field="seen_by_membership_id",
        )
    return seen_by


# --- use cases ------------------------------------------------------------------------------------------------


def record_check(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int,
    scheme: str,
    seen_on: date,
    review_on: date,
    seen_by_membership_id: int | None = None,
    now: datetime | None = None,
) -> SafeguardingCheck:
    """A safeguarding officer (or an administrator) records that a member's certificate of conduct was seen:
    the scheme (vog, dbs, other), the day it was seen (not in the future), the day it is to be reviewed (after
    that, at most five years later) and the officer who saw it (the one recording, unless another is named).
    Nothing of the document itself is kept."""
    now = utc_now(now)
    scheme = validation.choice("scheme", scheme, SCHEMES)
    seen_on, review_on = _check_dates(seen_on, review_on)
    membership_id = validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**63 - 1)
    officer = access.require_safeguarding_officer(session, actor, community_id)
    community = access.get_community(session, community_id)
    if seen_on > _today(community, now):
        raise errors.InvalidInput("the day seen may not be in the future", field="seen_on")
    subject = access.get_in_community(session, Membership, membership_id, community_id, what="member")
    if subject.status in CLOSED_STATUSES:
        raise errors.Conflict(f"this membership is {subject.status}", membership_id=subject.id, status=subject.status)
    seen_by = _seen_by(session, community_id, officer, seen_by_membership_id)
    check = SafeguardingCheck(
        community_id=community_id,
        membership_id=subject.id,
        scheme=scheme,
        seen_on=seen_on,
        seen_by_membership_id=seen_by.id,
        review_on=review_on,
        recorded_at=now,
    )
    session.add(check)
    session.flush()
    # The audit log is read by every coordinator: it names the record, not the member, scheme or dates.
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="safeguarding.check_recorded",
        subject_type="safeguarding_check",
        subject_id=check.id,
        now=now,
    )
    session.commit()
    return check


@dataclass(frozen=True)
class CheckPage:
    checks: list[SafeguardingCheck]
    # Pass back to get the next page; None on the last page.
    next_cursor: int | None


def list_checks(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int | None = None,
    limit: int = 50,
    before: int | None = None,
    now: datetime | None = None,
) -> CheckPage:
    """The community's safeguarding checks, newest first, or one member's (officers and administrators). Each
    call is logged as a read: of the whole list, or of that member's checks."""
    limit, before = _limit(limit), _cursor("before", before)
    _reader(session, actor, community_id)
    query = sa.select(SafeguardingCheck).where(SafeguardingCheck.community_id == community_id)
    if membership_id is not None:
        membership_id = validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**63 - 1)
        access.get_in_community(session, Membership, membership_id, community_id, what="member")
        query = query.where(SafeguardingCheck.membership_id == membership_id)
    if before is not None:
        query = query.where(SafeguardingCheck.id < before)
    rows = list(session.execute(query.order_by(SafeguardingCheck.id.desc()).limit(limit + 1)).scalars())
    _log_read(session, actor, community_id, membership_id, now)
    session.commit()
    return CheckPage(checks=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)


def _latest_checks(community_id: int):
    """Each member's latest check: the one reviewed furthest ahead (the newest of those, on a tie)."""
    check = SafeguardingCheck
    furthest = (
        sa.select(check.membership_id, sa.func.max(check.review_on).label("review_on"))
        .where(check.community_id == community_id)
        .group_by(check.membership_id)
        .subquery()
    )
    return (
        sa.select(sa.func.max(check.id).label("id"))
        .join(
            furthest, sa.and_(check.membership_id == furthest.c.membership_id, check.review_on == furthest.c.review_on)
        )
        .group_by(check.membership_id)
        .subquery()
    )


def checks_due_for_review(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    on: date,
    limit: int = 50,
    after: int | None = None,
    now: datetime | None = None,
) -> CheckPage:
    """Active members whose latest check is to be reviewed on or before ``on`` (lapsed ones included), soonest
    first (officers and administrators). A member with a newer check that holds past ``on`` is not listed. The
    read is logged as a read of the list."""
    on, limit, after = _day("on", on), _limit(limit), _cursor("after", after)
    _reader(session, actor, community_id)
    check = SafeguardingCheck
    latest = _latest_checks(community_id)
    query = (
        sa.select(check)
        .join(latest, check.id == latest.c.id)
        .join(Membership, Membership.id == check.membership_id)
        .where(Membership.status == MembershipStatus.ACTIVE.value, check.review_on <= on)
    )
    if after is not None:
        cursor = access.get_in_community(session, SafeguardingCheck, after, community_id, what="check")
        query = query.where(
            sa.or_(check.review_on > cursor.review_on, sa.and_(check.review_on == cursor.review_on, check.id > after))
        )
    rows = list(session.execute(query.order_by(check.review_on, check.id).limit(limit + 1)).scalars())
    _log_read(session, actor, community_id, None, now)
    session.commit()
    return CheckPage(checks=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)


@dataclass(frozen=True)
class ReadLogPage:
    reads: list[SafeguardingRead]
    next_cursor: int | None


def safeguarding_read_log(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int | None = None,
    limit: int = 50,
    before: int | None = None,
) -> ReadLogPage:
    """Who read the community's safeguarding records and when, newest first, optionally only the reads of one
    member's checks (officers and administrators). Reading this log is not itself a read of the records."""
    limit, before = _limit(limit), _cursor("before", before)
    access.require_safeguarding_officer(session, actor, community_id)
    query = sa.select(SafeguardingRead).where(SafeguardingRead.community_id == community_id)
    if membership_id is not None:
        membership_id = validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**63 - 1)
        access.get_in_community(session, Membership, membership_id, community_id, what="member")
        query = query.where(SafeguardingRead.subject_membership_id == membership_id)
    if before is not None:
        query = query.where(SafeguardingRead.id < before)
    rows = list(session.execute(query.order_by(SafeguardingRead.id.desc()).limit(limit + 1)).scalars())
    return ReadLogPage(reads=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)
