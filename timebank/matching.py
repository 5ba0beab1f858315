"""Matching helpers to requests, and inviting a member personally.

A good helper is **willing** (offers that kind of help), **available** (usually free in that time window) and
**able** (an active member with room under their ceiling, and the safeguarding check the task needs). The
suggestions rank members on these three and on nothing else (domain.md, "The three Bs of a good match").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ledger.core import utc_now
from ledger.models import Account, AccountStatus
from timebank import access, audit, errors, notifications, safeguarding, validation
from timebank.access import Actor
from timebank.exchanges import OPEN_STATUSES
from timebank.listings import find_listing, owner_first_names
from timebank.members import first_name
from timebank.models import (
    Category,
    Exchange,
    Invitation,
    Listing,
    ListingKind,
    ListingStatus,
    Membership,
    MembershipStatus,
)

MAX_SUGGESTIONS = 50
MAX_PAGE_SIZE = 100
MAX_MESSAGE_LENGTH = 500
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Parts of the day as the profile's availability slots name them, by the hour each starts; the hours before
# 06:00 belong to no slot, so a window reaching into the night is covered by nobody's usual availability.
PARTS_OF_DAY = ((6, "morning"), (12, "afternoon"), (18, "evening"))
INVITATION_OPEN = "open"

# Stable codes of the reasons a member is suggested; the text beside each is for people.
WILLING_OFFER = "willing_offer"
WILLING_INTEREST = "willing_interest"
AVAILABLE_USUALLY = "available_usually"
AVAILABLE_ANY_TIME = "available_any_time"
ABLE = "able"
ABLE_SAFEGUARDING = "able_safeguarding_check"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass(frozen=True)
class Suggestion:
    """A member suggested for a request: first name and neighbourhood, which Bs hold, and why."""

    membership_id: int
    first_name: str
    neighbourhood: str
    willing: bool
    available: bool
    reasons: tuple[Reason, ...]


# --- when and on which days a task happens --------------------------------------------------------------------


def _part_of_day(hour: int) -> str | None:
    part = None
    for starts, name in PARTS_OF_DAY:
        if hour >= starts:
            part = name
    return part


def _next_boundary(moment: datetime, zone: ZoneInfo) -> datetime:
    """The next start of a part of the day (or midnight) after ``moment``, in UTC."""
    local = moment.astimezone(zone)
    for hour in (0, 6, 12, 18, 24):
        day = local.date() + timedelta(days=hour // 24)
        boundary = datetime.combine(day, time(hour % 24), tzinfo=zone).astimezone(UTC)
        if boundary > moment:
            return boundary
    raise AssertionError("a day has a next part")  # midnight of the next day is always later


def required_slots(start: datetime, end: datetime, zone: ZoneInfo) -> frozenset[str] | None:
    """The availability slots ("fri-evening") a window touches in the community's time zone, or None when it
    reaches into the night (00:00-06:00), which no slot covers. Windows are at most two weeks, so this is short."""
    slots = set()
    moment = start.astimezone(UTC)
    while moment < end:
        local = moment.astimezone(zone)
        part = _part_of_day(local.hour)
        if part is None:
            return None
        slots.add(f"{WEEKDAYS[local.weekday()]}-{part}")
        moment = _next_boundary(moment, zone)
    return frozenset(slots)


def task_dates(listing: Listing, zone: ZoneInfo, now: datetime) -> tuple[date, ...]:
    """The dates, in the community's time zone, on which a helper's safeguarding check must be current: the
    first and last day of the window, or today for an any-time task."""
    if listing.window_start is None:
        return (now.astimezone(zone).date(),)
    return tuple(sorted({listing.window_start.astimezone(zone).date(), listing.window_end.astimezone(zone).date()}))


def _has_current_check(session: Session, membership_id: int, dates: tuple[date, ...]) -> bool:
    return all(safeguarding.has_current_check(session, membership_id=membership_id, on=day) for day in dates)


# --- suggestions ----------------------------------------------------------------------------------------------


def _open_request(
    session: Session, actor: Actor, listing_id: int, *, now: datetime, for_update: bool = False
) -> tuple[Listing, Membership | None]:
    """An open request the actor may match: its requester's or a coordinator's. Returns it with the actor's
    membership (None for an administrator without one)."""
    listing, membership = find_listing(session, actor, listing_id, for_update=for_update)
    own = membership is not None and membership.id == listing.membership_id
    if not own and not access.is_coordinator(session, actor, listing.community_id):
        raise errors.NotAllowed("only the requester or a coordinator may do this", listing_id=listing.id)
    if listing.kind != ListingKind.REQUEST.value:
        raise errors.Conflict("helpers are found for requests, not offers", kind=listing.kind)
    if listing.status != ListingStatus.OPEN.value or listing.expires_at <= now:
        raise errors.Conflict("this request is no longer open", status=listing.status)
    return listing, membership


def _offering_members(session: Session, listing: Listing, now: datetime) -> set[int]:
    """Members with an open offer in the request's category."""
    query = sa.select(Listing.membership_id).where(
        Listing.community_id == listing.community_id,
        Listing.kind == ListingKind.OFFER.value,
        Listing.status == ListingStatus.OPEN.value,
        Listing.expires_at > now,
        Listing.category_id == listing.category_id,
    )
    return set(session.execute(query.distinct()).scalars())


def _members_with_room(session: Session, listing: Listing) -> list[Membership]:
    """Active members other than the requester whose open account has room under its ceiling for the task's
    estimated minutes, counting what is pending in their favour. In membership id order."""
    room = Account.ceiling - Account.balance - Account.pending_credits
    query = (
        sa.select(Membership)
        .join(Account, Account.id == Membership.account_id)
        .where(
            Membership.community_id == listing.community_id,
            Membership.status == MembershipStatus.ACTIVE.value,
            Membership.id != listing.membership_id,
            Account.status == AccountStatus.OPEN.value,
            sa.or_(Account.ceiling.is_(None), room >= listing.estimated_minutes),
        )
        .order_by(Membership.id)
    )
    return list(session.execute(query).scalars())


def _reasons(*, offers: bool, interested: bool, available: bool, any_time: bool, checked: bool) -> tuple:
    reasons = []
    if offers:
        reasons.append(Reason(WILLING_OFFER, "offers this kind of help"))
    if interested:
        reasons.append(Reason(WILLING_INTEREST, "likes to help with this"))
    if available:
        reasons.append(
            Reason(AVAILABLE_ANY_TIME, "the task can be done any time")
            if any_time
            else Reason(AVAILABLE_USUALLY, "is usually available at this time")
        )
    reasons.append(Reason(ABLE, "active member with room for these hours"))
    if checked:
        reasons.append(Reason(ABLE_SAFEGUARDING, "has a current safeguarding check"))
    return tuple(reasons)


def suggest_helpers(
    *, session: Session, actor: Actor, listing_id: int, limit: int = 10, now: datetime | None = None
) -> list[Suggestion]:
    """Members to ask for an open request (its requester or a coordinator), best first, with their reasons.

    Only members who are **able** are suggested: active, not the requester, with room under their ceiling for
    the estimated minutes (counting pending credits), and, when the category involves children, a current
    safeguarding check on the window's first and last day (today, for an any-time request). Of those, members
    who are **willing** (an open offer in the category, or the category among their interests) or **available**
    (their usual slots cover every part of the window in the community's time zone; everyone, for an any-time
    request) are ranked: willing and available first, then willing only, then available only. Ties go by
    membership id, an order that says nothing about the people, because ranking on anything beyond the three
    Bs (how busy, how liked) is what the domain rules out."""
    now = utc_now(now)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_SUGGESTIONS)
    listing, _ = _open_request(session, actor, listing_id, now=now)
    community = access.get_community(session, listing.community_id)
    category = session.get(Category, listing.category_id)
    zone = ZoneInfo(community.time_zone)
    any_time = listing.window_start is None
    slots = None if any_time else required_slots(listing.window_start, listing.window_end, zone)
    dates = task_dates(listing, zone, now)
    offering = _offering_members(session, listing, now)
    ranked = []
    for member in _members_with_room(session, listing):
        offers, interested = member.id in offering, category.slug in (member.interests or [])
        available = any_time or (slots is not None and slots <= set(member.availability or []))
        willing = offers or interested
        if not (willing or available):
            continue
        if category.involves_children and not _has_current_check(session, member.id, dates):
            continue
        reasons = _reasons(
            offers=offers,
            interested=interested,
            available=available,
            any_time=any_time,
            checked=category.involves_children,
        )
        suggestion = Suggestion(
            membership_id=member.id,
            first_name=first_name(member.display_name),
            neighbourhood=member.neighbourhood,
            willing=willing,
            available=available,
            reasons=reasons,
        )
        rank = 0 if willing and available else 1 if willing else 2
        ranked.append((rank, member.id, suggestion))
    ranked.sort(key=lambda item: item[:2])
    return [suggestion for _, _, suggestion in ranked[:limit]]


# --- requests a member could help with ------------------------------------------------------------------------

# A member's home page looks through at most this many of the newest open requests: enough for a neighbourhood's
# board, and a bound on the work one page view does.
MAX_REQUESTS_CONSIDERED = 200


@dataclass(frozen=True)
class RequestSuggestion:
    """An open request a member could help with: the request, its requester's first name, which Bs hold, and why."""

    listing: Listing
    requester_first_name: str
    willing: bool
    available: bool
    reasons: tuple[Reason, ...]


def _room_for(session: Session, member: Membership) -> int | None:
    """Minutes the member may still receive under their ceiling, counting pending credits (None: no ceiling);
    an account that is not open receives nothing."""
    account = session.get(Account, member.account_id)
    if account is None or account.status != AccountStatus.OPEN.value:
        return 0
    if account.ceiling is None:
        return None
    return account.ceiling - account.balance - account.pending_credits


def _requests_for(session: Session, member: Membership, *, room: int | None, now: datetime) -> list[Listing]:
    """Other members' open requests that fit in ``room``, newest first, without those the member already has an
    exchange in progress for or an open invitation to (both are on their page already)."""
    busy = sa.select(Exchange.listing_id).where(
        Exchange.listing_id.is_not(None),
        Exchange.helper_membership_id == member.id,
        Exchange.status.in_(OPEN_STATUSES),
    )
    invited = sa.select(Invitation.listing_id).where(
        Invitation.membership_id == member.id, Invitation.status == INVITATION_OPEN
    )
    query = sa.select(Listing).where(
        Listing.community_id == member.community_id,
        Listing.kind == ListingKind.REQUEST.value,
        Listing.status == ListingStatus.OPEN.value,
        Listing.expires_at > now,
        Listing.membership_id != member.id,
        Listing.id.not_in(busy),
        Listing.id.not_in(invited),
    )
    if room is not None:
        query = query.where(Listing.estimated_minutes <= room)
    query = query.order_by(Listing.created_at.desc(), Listing.id.desc()).limit(MAX_REQUESTS_CONSIDERED)
    return list(session.execute(query).scalars())


def _offered_categories(session: Session, member: Membership, now: datetime) -> set[int]:
    """Categories in which the member has an open offer."""
    query = sa.select(Listing.category_id).where(
        Listing.community_id == member.community_id,
        Listing.membership_id == member.id,
        Listing.kind == ListingKind.OFFER.value,
        Listing.status == ListingStatus.OPEN.value,
        Listing.expires_at > now,
    )
    return set(session.execute(query.distinct()).scalars())


def suggest_requests_for(
    *, session: Session, actor: Actor, community_id: int, limit: int = 5, now: datetime | None = None
) -> list[RequestSuggestion]:
    """Open requests of other members that the acting member could help with, best first, with the reasons: the
    mirror of ``suggest_helpers``, on the same three Bs.

    Only requests the member is **able** to take on are suggested: their account is open with room under its
    ceiling for the estimated minutes (counting pending credits), and, when the category involves children, they
    have a current safeguarding check on the window's first and last day (today, for an any-time request). Of
    those, requests the member is **willing** to help with (an open offer of theirs in the category, or the
    category among their interests) or **available** for (their usual slots cover every part of the window in
    the community's time zone; any-time requests suit everyone) are ranked as ``suggest_helpers`` ranks helpers:
    willing and available first, then willing only, then available only; ties newest first. Requests the member
    already helps with or has an open invitation to are left out. At most the newest ``MAX_REQUESTS_CONSIDERED``
    open requests are looked at."""
    now = utc_now(now)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_SUGGESTIONS)
    member = access.require_member(session, actor, community_id)
    zone = ZoneInfo(access.get_community(session, community_id).time_zone)
    room = _room_for(session, member)
    if room is not None and room <= 0:
        return []
    candidates = _requests_for(session, member, room=room, now=now)
    categories = {
        category.id: category
        for category in session.execute(sa.select(Category).where(Category.community_id == community_id)).scalars()
    }
    offered = _offered_categories(session, member, now)
    interests, usual_slots = set(member.interests or []), set(member.availability or [])
    ranked = []
    for order, listing in enumerate(candidates):
        category = categories[listing.category_id]
        offers, interested = listing.category_id in offered, category.slug in interests
        any_time = listing.window_start is None
        slots = None if any_time else required_slots(listing.window_start, listing.window_end, zone)
        available = any_time or (slots is not None and slots <= usual_slots)
        willing = offers or interested
        if not (willing or available):
            continue
        if category.involves_children and not _has_current_check(session, member.id, task_dates(listing, zone, now)):
            continue
        reasons = _reasons(
            offers=offers,
            interested=interested,
            available=available,
            any_time=any_time,
            checked=category.involves_children,
        )
        rank = 0 if willing and available else 1 if willing else 2
        ranked.append((rank, order, listing, willing, available, reasons))
    ranked.sort(key=lambda item: item[:2])
    chosen = ranked[:limit]
    names = owner_first_names(session=session, listings=[item[2] for item in chosen])
    return [
        RequestSuggestion(
            listing=listing,
            requester_first_name=names[listing.membership_id],
            willing=willing,
            available=available,
            reasons=reasons,
        )
        for _, _, listing, willing, available, reasons in chosen
    ]


# --- invitations ----------------------------------------------------------------------------------------------


def invite_member(
    *,
    session: Session,
    actor: Actor,
    listing_id: int,
    membership_id: int,
    message: str = "",
    now: datetime | None = None,
) -> Invitation:
    """The requester or a coordinator asks one member personally to help with an open request. The invitee is
    an active member of the same community, not the requester, not invited to this request before, and for a
    category involving children has a current safeguarding check on the task's dates. An invitation made by a
    coordinator for someone else's request is recorded in the audit log."""
    now = utc_now(now)
    message = validation.text("message", message, maximum=MAX_MESSAGE_LENGTH)
    listing, inviter = _open_request(session, actor, listing_id, now=now, for_update=True)
    if inviter is None:
        raise errors.NotAllowed("invite as a member of this community", listing_id=listing.id)
    invitee = access.get_in_community(session, Membership, membership_id, listing.community_id, what="member")
    if invitee.id == listing.membership_id:
        raise errors.InvalidInput("the requester cannot be invited to their own request", field="membership_id")
    if invitee.status != MembershipStatus.ACTIVE.value:
        raise errors.MembershipNotActive(f"this member is {invitee.status}", membership_id=invitee.id)
    already = session.execute(
        sa.select(Invitation.id).where(Invitation.listing_id == listing.id, Invitation.membership_id == invitee.id)
    ).first()
    if already is not None:
        raise errors.Conflict("this member has been invited to this request already", invitation_id=already.id)
    _require_check_for_children(session, listing, invitee, now=now)
    invitation = Invitation(
        community_id=listing.community_id,
        listing_id=listing.id,
        membership_id=invitee.id,
        invited_by_membership_id=inviter.id,
        message=message,
        status=INVITATION_OPEN,
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    if inviter.id != listing.membership_id:
        audit.record(
            session,
            actor=actor,
            community_id=listing.community_id,
            action="invitation.created",
            subject_type="invitation",
            subject_id=invitation.id,
            details={"listing_id": listing.id, "membership_id": invitee.id},
            now=now,
        )
    notifications.notify(
        session,
        user_id=invitee.user_id,
        kind="invitation",
        context={"inviter_name": inviter.display_name, "listing_title": listing.title},
        community_id=listing.community_id,
        now=now,
    )
    session.commit()
    return invitation


def _require_check_for_children(session: Session, listing: Listing, invitee: Membership, *, now: datetime) -> None:
    category = session.get(Category, listing.category_id)
    if not category.involves_children:
        return
    zone = ZoneInfo(access.get_community(session, listing.community_id).time_zone)
    if not _has_current_check(session, invitee.id, task_dates(listing, zone, now)):
        raise errors.SafeguardingCheckRequired(
            "this task involves children: only a member with a current safeguarding check can be asked",
            membership_id=invitee.id,
        )


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation waiting for an answer, with its request and the first name of who asked."""

    invitation: Invitation
    listing: Listing
    invited_by_name: str


@dataclass(frozen=True)
class InvitationPage:
    invitations: list[OpenInvitation]
    next_cursor: int | None


def list_invitations_for(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int | None = None,
    limit: int = 20,
    before: int | None = None,
    now: datetime | None = None,
) -> InvitationPage:
    """A member's open invitations to requests that are still open, newest first: the actor's own, or (for a
    coordinator) any member's, such as an offline neighbour's. Keyset-paginated by invitation id."""
    now = utc_now(now)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    if before is not None:
        before = validation.whole_number("before", before, minimum=1, maximum=2**63 - 1)
    member = _invitee(session, actor, community_id, membership_id)
    inviter = aliased(Membership)
    query = (
        sa.select(Invitation, Listing, inviter.display_name)
        .join(Listing, Listing.id == Invitation.listing_id)
        .join(inviter, inviter.id == Invitation.invited_by_membership_id)
        .where(
            Invitation.community_id == community_id,
            Invitation.membership_id == member.id,
            Invitation.status == INVITATION_OPEN,
            Listing.status == ListingStatus.OPEN.value,
            Listing.expires_at > now,
        )
    )
    if before is not None:
        query = query.where(Invitation.id < before)
    rows = list(session.execute(query.order_by(Invitation.id.desc()).limit(limit + 1)))
    items = [
        OpenInvitation(invitation=invitation, listing=listing, invited_by_name=first_name(name))
        for invitation, listing, name in rows[:limit]
    ]
    return InvitationPage(invitations=items, next_cursor=items[-1].invitation.id if len(rows) > limit else None)


def _invitee(session: Session, actor: Actor, community_id: int, membership_id: int | None) -> Membership:
    """Whose invitations to list: the actor's own by default; another member's only for a coordinator."""
    if membership_id is None:
        return access.require_member(session, actor, community_id)
    own = access.membership_of(session, actor, community_id)
    if own is not None and own.id == membership_id:
        return access.require_member(session, actor, community_id)
    if not access.is_coordinator(session, actor, community_id):
        access.require_member(session, actor, community_id)  # a stranger learns nothing, not even "not allowed"
        raise errors.NotAllowed("only a coordinator may see another member's invitations")
    return access.get_in_community(session, Membership, membership_id, community_id, what="member")
