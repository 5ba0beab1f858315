"""Exchanges: help agreed between two members, from first contact to confirmed credits.

The life of an exchange (domain.md, "How an exchange goes"):

1. A member responds to another member's open listing, or accepts a personal invitation to a request. The one
   who starts it agrees by starting it; the other side agrees in turn (``agree_exchange``). Either side may call
   it off (``cancel_exchange``) until minutes are recorded.
2. In a category that involves children, the helper needs a current safeguarding check and the parent (the
   helped member) explicitly accepts this helper (``accept_helper``) before the two can agree or record minutes.
3. One side records the minutes; the other confirms or disputes; a coordinator settles disputes; undisputed
   records confirm themselves after the community's number of days. Those steps move credits, so they live with
   the direct payments and claims in ``timebank.payments``.
4. The helped member may thank the helper (``thank_helper``); the helper's profile shows the notes if the helper
   allows (``thank_you_notes_for``).

This module also holds the rules every exchange use case shares (who may see and act on an exchange, the
children's rules, the history), which ``timebank.payments`` uses.

Every step appends an ``ExchangeEvent`` naming the acting member. Every use case that changes an exchange locks
its row first, so two people (or two ticks) acting on one exchange at once are served one after the other and
the second sees what the first did.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import access, errors, notifications, safeguarding, validation
from timebank.access import Actor
from timebank.listings import find_listing
from timebank.members import first_name
from timebank.models import (
    Category,
    Community,
    Exchange,
    ExchangeEvent,
    ExchangeStatus,
    Invitation,
    Listing,
    ListingKind,
    ListingStatus,
    Membership,
    MembershipStatus,
    ThankYou,
)
from timebank.privacy import public_first_name

# The ledger kind of every transaction that pays for help, whichever way it was recorded.
EXCHANGE_KIND = "exchange"
MAX_NOTE_LENGTH = 500
MAX_REASON_LENGTH = 500
MAX_THANK_YOU_LENGTH = 1000
MAX_PAGE_SIZE = 100
MAX_EVENTS_SHOWN = 200

OPEN_STATUSES = (
    ExchangeStatus.PROPOSED.value,
    ExchangeStatus.AGREED.value,
    ExchangeStatus.RECORDED.value,
    ExchangeStatus.DISPUTED.value,
)
FINISHED_STATUSES = (ExchangeStatus.CONFIRMED.value, ExchangeStatus.VOIDED.value, ExchangeStatus.CANCELLED.value)
LIST_FILTERS = ("all", "in_progress", "waiting_for_me", "finished")


class EventKind(enum.StrEnum):
    """What happened to an exchange, in the past tense."""

    RESPONDED = "responded"
    INVITATION_ACCEPTED = "invitation_accepted"
    AGREED = "agreed"
    HELPER_ACCEPTED = "helper_accepted"
    CANCELLED = "cancelled"
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    AUTO_CONFIRMED = "auto_confirmed"
    DISPUTED = "disputed"
    SETTLED = "settled"
    PAID = "paid"
    CLAIMED = "claimed"
    RECORDED_ON_BEHALF = "recorded_on_behalf"
    THANKED = "thanked"


# --- shared with timebank.payments ----------------------------------------------------------------------------


def community_day(community: Community, now: datetime) -> date:
    """The calendar day it is in the community at ``now``: checks are valid per day where the people live."""
    return now.astimezone(ZoneInfo(community.time_zone)).date()


def identifier(field: str, value) -> int:
    """An id given by a caller: a whole number, or a clear refusal naming the field."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.InvalidInput(f"{field} must be a whole number", field=field)
    return value


def own_active_membership(
    session: Session, actor: Actor, community_id: int, *, missing: errors.DomainError
) -> Membership:
    """The actor's active membership of the community. ``missing`` is raised for a non-member, so that another
    community's object is reported as not found; a suspended or departed member is told so."""
    membership = access.membership_of(session, actor, community_id)
    if membership is None:
        if actor.administers(community_id):
            raise errors.NotAllowed("only members of this community take part in its exchanges")
        raise missing
    require_active(membership, whose="your")
    return membership


def require_active(membership: Membership, *, whose: str) -> None:
    if membership.status != MembershipStatus.ACTIVE.value:
        raise errors.MembershipNotActive(
            f"{whose} membership is {membership.status}", membership_id=membership.id, status=membership.status
        )


def involves_children(session: Session, category_id: int | None) -> bool:
    if category_id is None:
        return False
    category = session.get(Category, category_id)
    return category is not None and category.involves_children


def require_current_check(session: Session, community: Community, *, helper_membership_id: int, now) -> None:
    """A task with children needs a helper whose certificate of conduct is current today."""
    if not safeguarding.has_current_check(
        session, membership_id=helper_membership_id, on=community_day(community, now)
    ):
        raise errors.SafeguardingCheckRequired(
            "this task involves children: the helper needs a current certificate of conduct (VOG) seen by a "
            "coordinator",
            helper_membership_id=helper_membership_id,
        )


def require_children_rules(session: Session, exchange: Exchange, community: Community, *, now: datetime) -> None:
    """Before an exchange with children is agreed or its minutes recorded: the helper's current check, and the
    parent's explicit acceptance of this helper."""
    if not involves_children(session, exchange.category_id):
        return
    require_current_check(session, community, helper_membership_id=exchange.helper_membership_id, now=now)
    if not exchange.parent_accepted_helper:
        raise errors.ParentAcceptanceRequired(
            "this task involves children: the parent must first accept this helper",
            exchange_id=exchange.id,
            parent_membership_id=exchange.helped_membership_id,
        )


def add_event(
    session: Session,
    exchange: Exchange,
    kind: EventKind,
    *,
    actor_membership_id: int | None,
    now: datetime,
    minutes: int | None = None,
    note: str = "",
) -> ExchangeEvent:
    """Append one step to the exchange's history and mark the exchange as changed."""
    exchange.updated_at = now
    event = ExchangeEvent(
        community_id=exchange.community_id,
        exchange_id=exchange.id,
        actor_membership_id=actor_membership_id,
        kind=kind.value,
        minutes=minutes,
        note=note,
        at=now,
    )
    session.add(event)
    return event


def tell(session: Session, *, membership_id: int, kind: str, context: dict, community_id: int, now) -> None:
    """Queue a message for a member, in their language and as often as they chose, in this transaction: it is
    sent only if the step it tells of is committed. Offline members get nothing."""
    member = session.get(Membership, membership_id)
    notifications.notify(
        session, user_id=member.user_id, kind=kind, context=context, community_id=community_id, now=now
    )


# --- looking exchanges up -------------------------------------------------------------------------------------


def locked_exchange(session: Session, exchange_id: int) -> Exchange | None:
    """The exchange row, locked until commit (SQLite's write transaction holds it already) and read afresh, so
    a concurrent change made before the lock was granted is seen."""
    return session.execute(
        sa.select(Exchange)
        .where(Exchange.id == exchange_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def is_party(exchange: Exchange, membership: Membership | None) -> bool:
    return membership is not None and membership.id in (exchange.helper_membership_id, exchange.helped_membership_id)


def visible_exchange(session: Session, actor: Actor, exchange_id, *, lock: bool) -> Exchange:
    """An exchange the actor may see: its two parties and the community's coordinators. To anyone else it does
    not exist."""
    exchange_id = identifier("exchange_id", exchange_id)
    exchange = locked_exchange(session, exchange_id) if lock else session.get(Exchange, exchange_id)
    if exchange is not None:
        own = access.membership_of(session, actor, exchange.community_id)
        if is_party(exchange, own) or access.is_coordinator(session, actor, exchange.community_id):
            return exchange
    raise errors.NotFound("no such exchange", exchange_id=exchange_id)


def as_party(session: Session, actor: Actor, exchange_id) -> tuple[Exchange, Membership]:
    """The locked exchange and the actor's membership, which must be one of its two sides and active."""
    exchange = visible_exchange(session, actor, exchange_id, lock=True)
    own = access.membership_of(session, actor, exchange.community_id)
    if not is_party(exchange, own):
        raise errors.NotAllowed("only the two members of an exchange can do this", exchange_id=exchange.id)
    require_active(own, whose="your")
    return exchange, own


def _other_party(session: Session, exchange: Exchange, membership_id: int) -> Membership:
    other_id = (
        exchange.helped_membership_id
        if membership_id == exchange.helper_membership_id
        else exchange.helper_membership_id
    )
    return session.get(Membership, other_id)


def require_status(exchange: Exchange, *allowed: str, doing: str) -> None:
    if exchange.status not in allowed:
        raise errors.Conflict(
            f"cannot {doing} an exchange that is {exchange.status}", exchange_id=exchange.id, status=exchange.status
        )


# --- starting an exchange -------------------------------------------------------------------------------------


def _open_listing(session: Session, actor: Actor, listing_id, *, now: datetime) -> tuple[Listing, Membership]:
    """The listing (locked, so that one member's two responses at once make one exchange) and the actor's
    active membership of its community."""
    listing_id = identifier("listing_id", listing_id)
    listing = session.execute(
        sa.select(Listing).where(Listing.id == listing_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    missing = errors.NotFound("no such listing", listing_id=listing_id)
    if listing is None:
        raise missing
    own = own_active_membership(session, actor, listing.community_id, missing=missing)
    if listing.status != ListingStatus.OPEN.value or (listing.expires_at is not None and listing.expires_at <= now):
        status = listing.status if listing.status != ListingStatus.OPEN.value else ListingStatus.EXPIRED.value
        raise errors.Conflict(f"this listing is {status}", listing_id=listing.id, status=status)
    return listing, own


def _require_no_open_exchange(session: Session, listing: Listing, membership_id: int) -> None:
    """One open exchange per member per listing: a second response would only confuse the other side."""
    existing = session.execute(
        sa.select(Exchange.id).where(
            Exchange.listing_id == listing.id,
            sa.or_(Exchange.helper_membership_id == membership_id, Exchange.helped_membership_id == membership_id),
            Exchange.status.in_(OPEN_STATUSES),
        )
    ).scalar()
    if existing is not None:
        raise errors.Conflict(
            "you already have an exchange in progress for this listing", listing_id=listing.id, exchange_id=existing
        )


def _exchange_for_listing(listing: Listing, *, helper_id: int, helped_id: int, initiated_by: int, now) -> Exchange:
    return Exchange(
        community_id=listing.community_id,
        listing_id=listing.id,
        category_id=listing.category_id,
        helper_membership_id=helper_id,
        helped_membership_id=helped_id,
        initiated_by_membership_id=initiated_by,
        description=listing.title,
        created_at=now,
        updated_at=now,
    )


def _tell_listing_owner(session: Session, listing: Listing, *, responder: Membership, now: datetime) -> None:
    tell(
        session,
        membership_id=listing.membership_id,
        kind="listing_response",
        context={"responder_name": responder.display_name, "listing_title": listing.title},
        community_id=listing.community_id,
        now=now,
    )


def respond_to_listing(
    *, session: Session, actor: Actor, listing_id: int, message: str = "", now: datetime | None = None
) -> Exchange:
    """Respond to another member's open listing. For a request the responder is the helper, for an offer the
    responder is helped. Responding is the responder's agreement; the listing's owner agrees in turn."""
    now = utc_now(now)
    message = validation.text("message", message, maximum=MAX_NOTE_LENGTH)
    listing, own = _open_listing(session, actor, listing_id, now=now)
    if listing.membership_id == own.id:
        raise errors.NotAllowed("you cannot respond to your own listing", listing_id=listing.id)
    require_active(session.get(Membership, listing.membership_id), whose="the listing's member's")
    _require_no_open_exchange(session, listing, own.id)
    if listing.kind == ListingKind.REQUEST.value:
        exchange = _exchange_for_listing(
            listing, helper_id=own.id, helped_id=listing.membership_id, initiated_by=own.id, now=now
        )
        exchange.helper_agreed = True
    else:
        exchange = _exchange_for_listing(
            listing, helper_id=listing.membership_id, helped_id=own.id, initiated_by=own.id, now=now
        )
        exchange.helped_agreed = True
    session.add(exchange)
    session.flush()
    add_event(session, exchange, EventKind.RESPONDED, actor_membership_id=own.id, now=now, note=message)
    _tell_listing_owner(session, listing, responder=own, now=now)
    session.commit()
    return exchange


def _invitation_for_invitee(session: Session, actor: Actor, invitation_id) -> tuple[Invitation, Membership]:
    """An open invitation, answered only by the member invited; others who may see it (the inviter, the
    requester, coordinators) are refused, anyone else is told it does not exist."""
    invitation_id = identifier("invitation_id", invitation_id)
    invitation = session.execute(
        sa.select(Invitation)
        .where(Invitation.id == invitation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    missing = errors.NotFound("no such invitation", invitation_id=invitation_id)
    if invitation is None:
        raise missing
    own = access.membership_of(session, actor, invitation.community_id)
    if own is None or own.id != invitation.membership_id:
        listing = session.get(Listing, invitation.listing_id)
        may_see = own is not None and own.id in (invitation.invited_by_membership_id, listing.membership_id)
        if may_see or access.is_coordinator(session, actor, invitation.community_id):
            raise errors.NotAllowed("only the member invited can answer an invitation", invitation_id=invitation.id)
        raise missing
    require_active(own, whose="your")
    if invitation.status != "open":
        raise errors.Conflict(
            f"this invitation was {invitation.status} already", invitation_id=invitation.id, status=invitation.status
        )
    return invitation, own


def accept_invitation(
    *, session: Session, actor: Actor, invitation_id: int, message: str = "", now: datetime | None = None
) -> Exchange:
    """Say yes to a personal invitation to help with a request: an exchange with the invitee as helper. When the
    requester invited them personally, both have agreed (children's tasks still wait for the parent's acceptance
    of the helper and the helper's check)."""
    now = utc_now(now)
    message = validation.text("message", message, maximum=MAX_NOTE_LENGTH)
    invitation, own = _invitation_for_invitee(session, actor, invitation_id)
    listing, _ = _open_listing(session, actor, invitation.listing_id, now=now)
    if listing.kind != ListingKind.REQUEST.value or listing.membership_id == own.id:
        raise errors.Conflict("invitations are to help with another member's request", listing_id=listing.id)
    require_active(session.get(Membership, listing.membership_id), whose="the requester's")
    _require_no_open_exchange(session, listing, own.id)
    community = access.get_community(session, listing.community_id)
    exchange = _exchange_for_listing(
        listing, helper_id=own.id, helped_id=listing.membership_id, initiated_by=own.id, now=now
    )
    exchange.helper_agreed = True
    exchange.helped_agreed = invitation.invited_by_membership_id == listing.membership_id
    session.add(exchange)
    session.flush()
    invitation.status, invitation.answered_at = "accepted", now
    note = message or f"invitation {invitation.id}"
    add_event(session, exchange, EventKind.INVITATION_ACCEPTED, actor_membership_id=own.id, now=now, note=note)
    _tell_listing_owner(session, listing, responder=own, now=now)
    _agree_if_both_ready(session, exchange, community, now=now)
    session.commit()
    return exchange


def decline_invitation(
    *, session: Session, actor: Actor, invitation_id: int, now: datetime | None = None
) -> Invitation:
    """Say no to a personal invitation (only the member invited)."""
    now = utc_now(now)
    invitation, _ = _invitation_for_invitee(session, actor, invitation_id)
    invitation.status, invitation.answered_at = "declined", now
    session.commit()
    return invitation


# --- agreeing and calling off ---------------------------------------------------------------------------------


def _children_rules_hold(session: Session, exchange: Exchange, community: Community, *, now: datetime) -> bool:
    try:
        require_children_rules(session, exchange, community, now=now)
    except (errors.SafeguardingCheckRequired, errors.ParentAcceptanceRequired):
        return False
    return True


def _agree_if_both_ready(session: Session, exchange: Exchange, community: Community, *, now: datetime) -> None:
    """Both sides agreed and nothing about children stands in the way: the exchange is agreed."""
    if (
        exchange.helper_agreed
        and exchange.helped_agreed
        and _children_rules_hold(session, exchange, community, now=now)
    ):
        exchange.status = ExchangeStatus.AGREED.value
        exchange.updated_at = now


def agree_exchange(*, session: Session, actor: Actor, exchange_id: int, now: datetime | None = None) -> Exchange:
    """One side agrees to the exchange; once both have, it is agreed and minutes can be recorded. For a task with
    children the helper needs a current check and the parent's acceptance first. Agreeing twice changes nothing."""
    now = utc_now(now)
    exchange, own = as_party(session, actor, exchange_id)
    if exchange.status == ExchangeStatus.AGREED.value:
        return exchange
    require_status(exchange, ExchangeStatus.PROPOSED.value, doing="agree to")
    require_active(_other_party(session, exchange, own.id), whose="the other member's")
    community = access.get_community(session, exchange.community_id)
    own_flag, other_flag = (
        ("helper_agreed", "helped_agreed")
        if own.id == exchange.helper_membership_id
        else ("helped_agreed", "helper_agreed")
    )
    if getattr(exchange, other_flag):  # this agreement would conclude it: the children's rules must hold first
        require_children_rules(session, exchange, community, now=now)
    if not getattr(exchange, own_flag):
        setattr(exchange, own_flag, True)
        add_event(session, exchange, EventKind.AGREED, actor_membership_id=own.id, now=now)
    _agree_if_both_ready(session, exchange, community, now=now)
    session.commit()
    return exchange


def accept_helper(*, session: Session, actor: Actor, exchange_id: int, now: datetime | None = None) -> Exchange:
    """The parent (the helped member) explicitly accepts this helper for a task that involves children. It does
    not replace the parent's agreement, nor the helper's check."""
    now = utc_now(now)
    exchange, own = as_party(session, actor, exchange_id)
    if own.id != exchange.helped_membership_id:
        raise errors.NotAllowed("only the parent accepts a helper for a task with children", exchange_id=exchange.id)
    if not involves_children(session, exchange.category_id):
        raise errors.Conflict("this exchange does not involve children", exchange_id=exchange.id)
    if exchange.parent_accepted_helper:
        return exchange
    require_status(exchange, ExchangeStatus.PROPOSED.value, doing="accept the helper of")
    exchange.parent_accepted_helper = True
    add_event(session, exchange, EventKind.HELPER_ACCEPTED, actor_membership_id=own.id, now=now)
    _agree_if_both_ready(session, exchange, access.get_community(session, exchange.community_id), now=now)
    session.commit()
    return exchange


def cancel_exchange(
    *, session: Session, actor: Actor, exchange_id: int, reason: str = "", now: datetime | None = None
) -> Exchange:
    """Either side calls the exchange off, as long as no minutes were recorded."""
    now = utc_now(now)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH)
    exchange, own = as_party(session, actor, exchange_id)
    require_status(exchange, ExchangeStatus.PROPOSED.value, ExchangeStatus.AGREED.value, doing="cancel")
    exchange.status = ExchangeStatus.CANCELLED.value
    add_event(session, exchange, EventKind.CANCELLED, actor_membership_id=own.id, now=now, note=reason)
    session.commit()
    return exchange


# --- thanks ---------------------------------------------------------------------------------------------------


def thank_helper(
    *, session: Session, actor: Actor, exchange_id: int, text: str, now: datetime | None = None
) -> ThankYou:
    """The helped member thanks the helper, once per exchange, after the minutes are confirmed."""
    now = utc_now(now)
    text = validation.text("text", text, maximum=MAX_THANK_YOU_LENGTH, required=True)
    exchange, own = as_party(session, actor, exchange_id)
    if own.id != exchange.helped_membership_id:
        raise errors.NotAllowed("the member who was helped thanks the helper", exchange_id=exchange.id)
    require_status(exchange, ExchangeStatus.CONFIRMED.value, doing="say thank you for")
    if session.execute(sa.select(ThankYou.id).where(ThankYou.exchange_id == exchange.id)).first():
        raise errors.Conflict("you thanked the helper for this exchange already", exchange_id=exchange.id)
    note = ThankYou(
        community_id=exchange.community_id,
        exchange_id=exchange.id,
        from_membership_id=own.id,
        to_membership_id=exchange.helper_membership_id,
        text=text,
        created_at=now,
    )
    session.add(note)
    add_event(session, exchange, EventKind.THANKED, actor_membership_id=own.id, now=now)
    session.commit()
    return note


@dataclass(frozen=True)
class ThankYouNote:
    """A thank-you as shown on a helper's profile: who (first name only) said what, for which exchange."""

    id: int
    exchange_id: int
    from_first_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ThankYouPage:
    notes: list[ThankYouNote]
    next_cursor: int | None
    # False when the helper does not show thank-you notes to others: the profile shows none.
    shown: bool


def thank_you_notes_for(
    *, session: Session, actor: Actor, membership_id: int, limit: int = 20, before: int | None = None
) -> ThankYouPage:
    """The thank-you notes a helper received, newest first, keyset-paginated by id (``before``). Shown to the
    helper themselves, and to others only if the helper chose to show them."""
    membership = access.get_membership(session, actor, identifier("membership_id", membership_id))
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    own = membership.user_id is not None and membership.user_id == actor.user_id
    if not own and not membership.visibility.get("thank_you_notes"):
        return ThankYouPage(notes=[], next_cursor=None, shown=False)
    query = (
        sa.select(ThankYou, Membership.display_name)
        .join(Membership, Membership.id == ThankYou.from_membership_id)
        .where(ThankYou.to_membership_id == membership.id)
    )
    if before is not None:
        query = query.where(ThankYou.id < identifier("before", before))
    rows = session.execute(query.order_by(ThankYou.id.desc()).limit(limit + 1)).all()
    notes = [
        ThankYouNote(
            id=note.id,
            exchange_id=note.exchange_id,
            from_first_name=first_name(name),
            text=note.text,
            created_at=note.created_at,
        )
        for note, name in rows[:limit]
    ]
    return ThankYouPage(notes=notes, next_cursor=notes[-1].id if len(rows) > limit else None, shown=True)


# --- reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeDetails:
    exchange: Exchange
    events: list[ExchangeEvent]
    thank_you: ThankYou | None


def get_exchange(*, session: Session, actor: Actor, exchange_id: int) -> ExchangeDetails:
    """An exchange with its history and thank-you note, for its two members and the community's coordinators;
    anyone else is told it does not exist."""
    exchange = visible_exchange(session, actor, exchange_id, lock=False)
    events = session.execute(
        sa.select(ExchangeEvent)
        .where(ExchangeEvent.exchange_id == exchange.id)
        .order_by(ExchangeEvent.id)
        .limit(MAX_EVENTS_SHOWN)
    ).scalars()
    thank_you = session.execute(sa.select(ThankYou).where(ThankYou.exchange_id == exchange.id)).scalar_one_or_none()
    return ExchangeDetails(exchange=exchange, events=list(events), thank_you=thank_you)


def party_first_names(
    *, session: Session, exchanges: Iterable[Exchange], events: Iterable[ExchangeEvent] = ()
) -> dict[int, str]:
    """The first names of the members of ``exchanges`` and of those who acted in ``events`` (exchanges and events
    a use case gave the actor), by membership id; nothing more about them. An erased member is "Erased member"."""
    ids = {exchange.helper_membership_id for exchange in exchanges}
    ids |= {exchange.helped_membership_id for exchange in exchanges}
    ids |= {event.actor_membership_id for event in events if event.actor_membership_id is not None}
    if not ids:
        return {}
    rows = session.execute(sa.select(Membership.id, Membership.display_name).where(Membership.id.in_(sorted(ids))))
    return {membership_id: public_first_name(name) for membership_id, name in rows}


def exchanges_on_listing(*, session: Session, actor: Actor, listing_id: int, limit: int = 50) -> list[Exchange]:
    """The exchanges started on a listing, newest first: every one for the member who posted it and for the
    community's coordinators, only their own for other members. A listing the actor may not see does not exist."""
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    listing, membership = find_listing(session, actor, identifier("listing_id", listing_id))
    query = sa.select(Exchange).where(Exchange.listing_id == listing.id)
    own = membership is not None and membership.id == listing.membership_id
    if not own and not access.is_coordinator(session, actor, listing.community_id):
        if membership is None:
            return []
        query = query.where(
            sa.or_(Exchange.helper_membership_id == membership.id, Exchange.helped_membership_id == membership.id)
        )
    return list(session.execute(query.order_by(Exchange.id.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class ExchangePage:
    exchanges: list[Exchange]
    next_cursor: int | None


def _member_to_list(session: Session, actor: Actor, community_id: int, membership_id) -> Membership:
    """Whose exchanges: the actor's own by default; another member's only for a coordinator."""
    own = access.membership_of(session, actor, community_id)
    if membership_id is None:
        if own is None:
            raise errors.NotFound("no such community", community_id=community_id)
        return own
    if own is None and not actor.administers(community_id):
        raise errors.NotFound("no such member", membership_id=membership_id)
    member = access.get_in_community(
        session, Membership, identifier("membership_id", membership_id), community_id, what="member"
    )
    if (own is None or member.id != own.id) and not access.is_coordinator(session, actor, community_id):
        raise errors.NotAllowed("only coordinators see other members' exchanges", membership_id=member.id)
    return member


def list_exchanges(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int | None = None,
    which: str = "all",
    limit: int = 20,
    before: int | None = None,
) -> ExchangePage:
    """A member's exchanges, newest first, keyset-paginated by id (``before``). ``which``: ``all``,
    ``in_progress`` (not yet confirmed, cancelled or voided), ``waiting_for_me`` (minutes the other side
    recorded, waiting for this member's confirmation) or ``finished``."""
    which = validation.choice("which", which, LIST_FILTERS)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    member = _member_to_list(session, actor, identifier("community_id", community_id), membership_id)
    query = sa.select(Exchange).where(
        Exchange.community_id == community_id,
        sa.or_(Exchange.helper_membership_id == member.id, Exchange.helped_membership_id == member.id),
    )
    if which == "in_progress":
        query = query.where(Exchange.status.in_(OPEN_STATUSES))
    elif which == "finished":
        query = query.where(Exchange.status.in_(FINISHED_STATUSES))
    elif which == "waiting_for_me":
        query = query.where(
            Exchange.status == ExchangeStatus.RECORDED.value, Exchange.recorded_by_membership_id != member.id
        )
    if before is not None:
        query = query.where(Exchange.id < identifier("before", before))
    rows = list(session.execute(query.order_by(Exchange.id.desc()).limit(limit + 1)).scalars())
    return ExchangePage(exchanges=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)


@dataclass(frozen=True)
class Dispute:
    """A disputed exchange as a coordinator settles it: both members, who recorded the minutes and who disputes
    them, and what each said (the description with the record, the reason with the dispute)."""

    exchange: Exchange
    helper_name: str
    helped_name: str
    recorded_by_name: str
    disputed_by_name: str
    listing_title: str


@dataclass(frozen=True)
class DisputePage:
    disputes: list[Dispute]
    total: int


def open_disputes(*, session: Session, actor: Actor, community_id: int, limit: int = 20) -> DisputePage:
    """The community's disputed exchanges, oldest first (the longest waiting on top), for its coordinators,
    with how many there are in all."""
    access.require_coordinator(session, actor, identifier("community_id", community_id))
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    disputed = (Exchange.community_id == community_id, Exchange.status == ExchangeStatus.DISPUTED.value)
    exchanges = list(
        session.execute(sa.select(Exchange).where(*disputed).order_by(Exchange.updated_at, Exchange.id).limit(limit))
        .scalars()
        .all()
    )
    total = session.execute(sa.select(sa.func.count(Exchange.id)).where(*disputed)).scalar_one()
    member_ids = {e.helper_membership_id for e in exchanges} | {e.helped_membership_id for e in exchanges}
    names = dict(
        session.execute(sa.select(Membership.id, Membership.display_name).where(Membership.id.in_(member_ids))).all()
    )
    listing_ids = {e.listing_id for e in exchanges if e.listing_id is not None}
    titles = dict(session.execute(sa.select(Listing.id, Listing.title).where(Listing.id.in_(listing_ids))).all())
    disputes = [_dispute(exchange, names, titles) for exchange in exchanges]
    return DisputePage(disputes=disputes, total=total)


def _dispute(exchange: Exchange, names: dict[int, str], titles: dict[int, str]) -> Dispute:
    helper, helped = exchange.helper_membership_id, exchange.helped_membership_id
    disputer = helped if exchange.recorded_by_membership_id == helper else helper
    return Dispute(
        exchange=exchange,
        helper_name=names.get(helper, ""),
        helped_name=names.get(helped, ""),
        recorded_by_name=names.get(exchange.recorded_by_membership_id, ""),
        disputed_by_name=names.get(disputer, ""),
        listing_title=titles.get(exchange.listing_id, ""),
    )
