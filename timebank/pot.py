"""The community pot and new credit: donations to the pot, grants from it, documented issuance, and group events.

Credit moves only between accounts of one community's ledger, so its balances keep summing to zero. New credit
enters only from the community's issuance account, always with a reason a funder could read. The pot's floor is
zero: a coordinator can give away only what members donated or what was issued to it.

Every coordinator action here is written to the audit log. Each use case takes an optional ``idempotency_key``
(scoped to the actor): a retry with the same key and the same request returns the first posting and writes
nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from timebank import access, audit, bookkeeping, errors, validation
from timebank.access import Actor
from timebank.models import Community, Membership, MembershipStatus

# A single grant of more than a hundred hours to one person is a typo, or a decision to split into steps.
MAX_GRANT_MINUTES = 100 * 60
MAX_PARTICIPANTS = 200
MAX_REASON_LENGTH = 500
MAX_NOTE_LENGTH = 200
MAX_EVENT_NAME_LENGTH = 120
SOURCES = ("pot", "issuance")

DONATION_KIND = "pot_donation"
GRANT_KIND = "pot_grant"
ISSUANCE_KIND = "credit_issued"
GROUP_EVENT_KIND = "group_event"


def active_member(session: Session, *, community_id: int, membership_id, field: str = "membership_id") -> Membership:
    """A membership of this community that is active; another community's is reported as not found."""
    if not isinstance(membership_id, int) or isinstance(membership_id, bool):
        raise errors.InvalidInput(f"{field} must be a whole number", field=field)
    membership = access.get_in_community(session, Membership, membership_id, community_id, what="member")
    if membership.status != MembershipStatus.ACTIVE.value:
        raise errors.MembershipNotActive(
            f"this member's membership is {membership.status}",
            membership_id=membership.id,
            status=membership.status,
            field=field,
        )
    return membership


def donate_to_pot(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    minutes: int,
    note: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """An active member gives minutes from their own account to the community pot. The member's floor applies
    as to any payment; a member may give their whole balance (for instance before leaving)."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes, maximum=validation.MAX_LIMIT_MINUTES)
    note = validation.text("note", note, maximum=MAX_NOTE_LENGTH)
    donor = access.require_member(session, actor, community_id)
    community = access.get_community(session, community_id)
    posting = bookkeeping.post_transfer(
        session,
        community=community,
        debit_account_id=donor.account_id,
        credit_account_id=community.pot_account_id,
        minutes=minutes,
        kind=DONATION_KIND,
        actor=actor,
        memo=note or "donation to the pot",
        details={"membership_id": donor.id},
        idempotency_key=idempotency_key,
        now=now,
    )
    session.commit()
    return posting


def grant_from_pot(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int,
    minutes: int,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """A coordinator gives minutes from the pot to an active member (an isolated neighbour, a family in
    crisis), with a reason. The pot never goes below zero; the member's ceiling applies."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes, maximum=MAX_GRANT_MINUTES)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    recipient = active_member(session, community_id=community_id, membership_id=membership_id)
    posting = bookkeeping.post_transfer(
        session,
        community=community,
        debit_account_id=community.pot_account_id,
        credit_account_id=recipient.account_id,
        minutes=minutes,
        kind=GRANT_KIND,
        actor=actor,
        memo=reason,
        details={"membership_id": recipient.id},
        idempotency_key=idempotency_key,
        now=now,
    )
    if not posting.replayed:
        _audit_posting(session, actor, community_id, "pot.granted", posting, reason, now, membership_id=recipient.id)
    session.commit()
    return posting


def issue_credit(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    minutes: int,
    reason: str,
    membership_id: int | None = None,
    to_pot: bool = False,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """A coordinator issues new credit from the community's issuance account, documented with a reason (a
    reward for a neighbourhood event, a funder's programme): to one active member, or to the pot
    (``to_pot=True``). Exactly one of the two."""
    now = utc_now(now)
    if not isinstance(to_pot, bool):
        raise errors.InvalidInput("to_pot must be true or false", field="to_pot")
    if to_pot == (membership_id is not None):
        raise errors.InvalidInput("issue credit either to one member or to the pot", field="membership_id")
    maximum = validation.MAX_LIMIT_MINUTES if to_pot else MAX_GRANT_MINUTES
    minutes = validation.minutes("minutes", minutes, maximum=maximum)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    if to_pot:
        credit_account_id, details = community.pot_account_id, {"to": "pot"}
    else:
        recipient = active_member(session, community_id=community_id, membership_id=membership_id)
        credit_account_id, details = recipient.account_id, {"to": "member", "membership_id": recipient.id}
    posting = bookkeeping.post_transfer(
        session,
        community=community,
        debit_account_id=community.issuance_account_id,
        credit_account_id=credit_account_id,
        minutes=minutes,
        kind=ISSUANCE_KIND,
        actor=actor,
        memo=reason,
        details=details,
        idempotency_key=idempotency_key,
        now=now,
    )
    if not posting.replayed:
        _audit_posting(session, actor, community_id, "credit.issued", posting, reason, now, **details)
    session.commit()
    return posting


def _participants(session: Session, community_id: int, participant_ids) -> list[Membership]:
    """The event's participants: 1 to MAX_PARTICIPANTS distinct, active members of this community."""
    if not isinstance(participant_ids, list | tuple) or not 1 <= len(participant_ids) <= MAX_PARTICIPANTS:
        raise errors.InvalidInput(
            f"name between 1 and {MAX_PARTICIPANTS} participants", field="participant_ids", maximum=MAX_PARTICIPANTS
        )
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in participant_ids):
        raise errors.InvalidInput("participants are named by their membership ids", field="participant_ids")
    if len(set(participant_ids)) != len(participant_ids):
        raise errors.InvalidInput("a participant is named twice", field="participant_ids")
    return [
        active_member(session, community_id=community_id, membership_id=membership_id, field="participant_ids")
        for membership_id in participant_ids
    ]


def _source_account(community: Community, source: str) -> int:
    return community.pot_account_id if source == "pot" else community.issuance_account_id


def group_event(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    event_name: str,
    participant_ids: Sequence[int],
    minutes_each: int,
    source: str = "pot",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """A coordinator credits every participant of a group event (a clean-up of the square, a street party) the
    same minutes at once, from the pot or from the issuance account: one ledger transaction, all or nothing.
    If the pot cannot pay for everyone, or one participant would pass their ceiling, nobody is credited."""
    now = utc_now(now)
    event_name = validation.text("event_name", event_name, maximum=MAX_EVENT_NAME_LENGTH, required=True)
    minutes_each = validation.minutes("minutes_each", minutes_each)
    source = validation.choice("source", source, SOURCES)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    participants = _participants(session, community_id, participant_ids)
    entries = [
        ledger.EntryRequest(account_id=_source_account(community, source), amount=-minutes_each * len(participants))
    ]
    entries += [ledger.EntryRequest(account_id=member.account_id, amount=minutes_each) for member in participants]
    command = ledger.PostTransaction(
        ledger_id=community.ledger_id,
        entries=tuple(entries),
        kind=GROUP_EVENT_KIND,
        memo=event_name,
        details={"source": source, "participant_count": len(participants), "minutes_each": minutes_each},
        actor=actor.label,
        idempotency_scope=None if idempotency_key is None else actor.label,
        idempotency_key=idempotency_key,
    )
    posting = ledger.post(session, command, now=now)
    if not posting.replayed:
        _audit_posting(
            session,
            actor,
            community_id,
            "pot.group_event",
            posting,
            event_name,
            now,
            source=source,
            minutes_each=minutes_each,
            participant_ids=[member.id for member in participants],
        )
    session.commit()
    return posting


def _audit_posting(session, actor, community_id, action, posting, reason, now, **details) -> None:
    """The audit entry of a coordinator's posting: its transaction, the minutes moved and why."""
    moved = sum(entry.amount for entry in posting.entries if entry.amount > 0)
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action=action,
        subject_type="ledger_transaction",
        subject_id=posting.id,
        reason=reason,
        details={"minutes": moved, **details},
        now=now,
    )
