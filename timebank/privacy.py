"""Privacy: everything held about a person, as one download, and erasure on request.

Erasure removes personal data and keeps the books: the person's ledger accounts keep every entry, under the same
account ids, now anonymous, so that every community's balances still sum to zero and ``ledger.verify`` passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from ledger.models import AccountStatus, account_table, entry_table, transaction_table
from timebank import audit, errors, passwords, validation
from timebank.access import Actor
from timebank.members import first_name
from timebank.models import (
    AuditEntry,
    Category,
    Community,
    Exchange,
    ExchangeEvent,
    ExchangeStatus,
    Invitation,
    Listing,
    ListingStatus,
    Membership,
    MembershipStatus,
    OutboxMessage,
    SafeguardingCheck,
    ThankYou,
    User,
)

ERASED_NAME = "Erased member"
ERASURE_NOTE = "a member's personal data was erased"
EXPORT_FORMAT = "timebank-export/1"
# Names shorter than this are not searched for in other people's messages: "Jo" would match too much.
MIN_MENTION_LENGTH = 4


def public_first_name(display_name: str) -> str:
    """The first name others may see; an erased member stays "Erased member" rather than "Erased"."""
    return ERASED_NAME if display_name == ERASED_NAME else first_name(display_name)


def _subject(session: Session, actor: Actor, user_id) -> User:
    """The person concerned: the actor themselves, or anyone for an administrator; else not found."""
    validation.whole_number("user_id", user_id, minimum=1, maximum=2**63 - 1)
    user = session.get(User, user_id)
    if user is None or (actor.user_id != user_id and not actor.is_administrator):
        raise errors.NotFound("no such user", user_id=user_id)
    return user


def _memberships(session: Session, user_id: int) -> list[Membership]:
    return list(
        session.execute(sa.select(Membership).where(Membership.user_id == user_id).order_by(Membership.id)).scalars()
    )


def _their_exchanges(membership_ids: list[int]):
    return sa.or_(Exchange.helper_membership_id.in_(membership_ids), Exchange.helped_membership_id.in_(membership_ids))


def _plain(value):
    """``value`` with dates and times as ISO text, so that ``json.dumps`` takes it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- export -------------------------------------------------------------------------------------------------------


def export_user_data(*, session: Session, actor: Actor, user_id: int) -> dict:
    """Everything the time bank holds about a person, as a JSON-ready dict with ISO dates: their settings, every
    membership with its profile and account, their listings, the exchanges they took part in (the other party by
    first name only), thank-you notes given and received, their ledger entries with balances, invitations sent
    and received, safeguarding checks about them (scheme and dates only), messages to them, and the decisions
    recorded about their memberships. For the person themselves or an administrator; anyone else is told the
    user does not exist.

    Not paginated: it is one person's history, which human activity bounds."""
    user = _subject(session, actor, user_id)
    memberships = _memberships(session, user.id)
    ids = [membership.id for membership in memberships]
    names = _first_names(session, ids)
    return _plain(
        {
            "format": EXPORT_FORMAT,
            "user": {
                "id": user.id,
                "email": user.email,
                "preferred_language": user.preferred_language,
                "notification_mode": user.notification_mode,
                "is_administrator": user.is_administrator,
                "created_at": user.created_at,
                "erased_at": user.erased_at,
            },
            "memberships": [_membership_export(session, membership) for membership in memberships],
            "listings": _listings_export(session, ids),
            "exchanges": _exchanges_export(session, ids, names),
            "thank_you_notes": _thank_yous_export(session, ids, names),
            "ledger_entries": _entries_export(session, memberships),
            "invitations": _invitations_export(session, ids, names),
            "safeguarding_checks": _checks_export(session, ids),
            "messages": _messages_export(session, user.id),
            "decisions": _decisions_export(session, ids),
        }
    )


def _first_names(session: Session, own_ids: list[int]):
    """A lookup of other members' first names, loaded as needed; the person's own memberships read "you"."""
    cache: dict[int, str] = {membership_id: "you" for membership_id in own_ids}

    def name(membership_id: int | None) -> str | None:
        if membership_id is None:
            return None
        if membership_id not in cache:
            membership = session.get(Membership, membership_id)
            cache[membership_id] = public_first_name(membership.display_name) if membership else ERASED_NAME
        return cache[membership_id]

    return name


def _membership_export(session: Session, membership: Membership) -> dict:
    community = session.get(Community, membership.community_id)
    account = ledger.get_account(session, membership.account_id)
    profile = [
        "display_name",
        "neighbourhood",
        "likes_to_do",
        "interests",
        "availability",
        "languages",
        "visibility",
        "application_note",
        "decision_reason",
        "status",
        "role",
        "is_safeguarding_officer",
        "managed_offline",
        "applied_at",
        "joined_at",
        "left_at",
    ]
    return {
        "id": membership.id,
        "community_id": community.id,
        "community_name": community.name,
        **{name: getattr(membership, name) for name in profile},
        "account": {
            "id": account.id,
            "balance_minutes": account.balance,
            "pending_debit_minutes": account.pending_debits,
            "pending_credit_minutes": account.pending_credits,
            "floor_minutes": account.floor,
            "ceiling_minutes": account.ceiling,
            "status": account.status,
        },
    }


def _listings_export(session: Session, ids: list[int]) -> list[dict]:
    rows = session.execute(
        sa.select(Listing, Category.slug)
        .join(Category, Category.id == Listing.category_id)
        .where(Listing.membership_id.in_(ids))
        .order_by(Listing.id)
    ).all()
    fields = [
        "id",
        "community_id",
        "membership_id",
        "kind",
        "title",
        "description",
        "estimated_minutes",
        "window_start",
        "window_end",
        "place",
        "neighbourhood",
        "status",
        "expires_at",
        "created_at",
        "updated_at",
    ]
    return [{**{name: getattr(listing, name) for name in fields}, "category": slug} for listing, slug in rows]


def _exchanges_export(session: Session, ids: list[int], names) -> list[dict]:
    exchanges = list(session.execute(sa.select(Exchange).where(_their_exchanges(ids)).order_by(Exchange.id)).scalars())
    events = session.execute(
        sa.select(ExchangeEvent)
        .where(ExchangeEvent.exchange_id.in_([exchange.id for exchange in exchanges]))
        .order_by(ExchangeEvent.id)
    ).scalars()
    events_by_exchange: dict[int, list[dict]] = {}
    for event in events:
        by_them = event.actor_membership_id in ids
        events_by_exchange.setdefault(event.exchange_id, []).append(
            # Another member's note is theirs, not this person's data: only its existence is shown.
            {
                "kind": event.kind,
                "minutes": event.minutes,
                "by_you": by_them,
                "note": event.note if by_them else None,
                "at": event.at,
            }
        )
    result = []
    for exchange in exchanges:
        helper = exchange.helper_membership_id in ids
        other = exchange.helped_membership_id if helper else exchange.helper_membership_id
        result.append(
            {
                "id": exchange.id,
                "community_id": exchange.community_id,
                "listing_id": exchange.listing_id,
                "category_id": exchange.category_id,
                "your_role": "helper" if helper else "helped",
                "other_party_first_name": names(other),
                "status": exchange.status,
                "minutes": exchange.minutes,
                "description": exchange.description,
                "dispute_reason": exchange.dispute_reason,
                "settlement_reason": exchange.settlement_reason,
                "created_at": exchange.created_at,
                "recorded_at": exchange.recorded_at,
                "confirmed_at": exchange.confirmed_at,
                "events": events_by_exchange.get(exchange.id, []),
            }
        )
    return result


def _thank_yous_export(session: Session, ids: list[int], names) -> dict:
    rows = session.execute(
        sa.select(ThankYou)
        .where(sa.or_(ThankYou.from_membership_id.in_(ids), ThankYou.to_membership_id.in_(ids)))
        .order_by(ThankYou.id)
    ).scalars()
    given, received = [], []
    for note in rows:
        mine = note.from_membership_id in ids
        other = note.to_membership_id if mine else note.from_membership_id
        item = {"exchange_id": note.exchange_id, "text": note.text, "created_at": note.created_at}
        if mine:
            given.append({**item, "to_first_name": names(other)})
        else:
            received.append({**item, "from_first_name": names(other)})
    return {"given": given, "received": received}


def _entries_export(session: Session, memberships: list[Membership]) -> list[dict]:
    by_account = {membership.account_id: membership.id for membership in memberships}
    entry, transaction = entry_table.c, transaction_table.c
    rows = session.execute(
        sa.select(
            entry.account_id,
            entry.transaction_id,
            entry.amount,
            entry.balance_after,
            transaction.kind,
            transaction.memo,
            transaction.state,
            transaction.created_at,
            transaction.posted_at,
            transaction.voided_at,
            transaction.reverses_id,
        )
        .join(transaction_table, transaction.id == entry.transaction_id)
        .where(entry.account_id.in_(sorted(by_account)))
        .order_by(entry.account_id, transaction.created_at, entry.id)
    ).all()
    return [
        {
            "membership_id": by_account[row.account_id],
            "transaction_id": row.transaction_id,
            "kind": row.kind,
            "memo": row.memo,
            "state": row.state,
            "amount_minutes": row.amount,
            "balance_after_minutes": row.balance_after,
            "created_at": utc_now(row.created_at),
            "posted_at": None if row.posted_at is None else utc_now(row.posted_at),
            "voided_at": None if row.voided_at is None else utc_now(row.voided_at),
            "reverses_transaction_id": row.reverses_id,
        }
        for row in rows
    ]


def _invitations_export(session: Session, ids: list[int], names) -> dict:
    rows = session.execute(
        sa.select(Invitation)
        .where(sa.or_(Invitation.membership_id.in_(ids), Invitation.invited_by_membership_id.in_(ids)))
        .order_by(Invitation.id)
    ).scalars()
    received, sent = [], []
    for invitation in rows:
        item = {
            "listing_id": invitation.listing_id,
            "message": invitation.message,
            "status": invitation.status,
            "created_at": invitation.created_at,
            "answered_at": invitation.answered_at,
        }
        if invitation.membership_id in ids:
            received.append({**item, "from_first_name": names(invitation.invited_by_membership_id)})
        else:
            sent.append({**item, "to_first_name": names(invitation.membership_id)})
    return {"received": received, "sent": sent}


def _checks_export(session: Session, ids: list[int]) -> list[dict]:
    rows = session.execute(
        sa.select(SafeguardingCheck).where(SafeguardingCheck.membership_id.in_(ids)).order_by(SafeguardingCheck.id)
    ).scalars()
    return [
        {
            "membership_id": check.membership_id,
            "scheme": check.scheme,
            "seen_on": check.seen_on,
            "review_on": check.review_on,
            "recorded_at": check.recorded_at,
        }
        for check in rows
    ]


def _messages_export(session: Session, user_id: int) -> list[dict]:
    rows = session.execute(
        sa.select(OutboxMessage).where(OutboxMessage.user_id == user_id).order_by(OutboxMessage.id)
    ).scalars()
    fields = [
        "community_id",
        "kind",
        "language",
        "subject",
        "body",
        "status",
        "digest",
        "due_at",
        "created_at",
        "sent_at",
    ]
    return [{name: getattr(message, name) for name in fields} for message in rows]


def _decisions_export(session: Session, ids: list[int]) -> list[dict]:
    """What coordinators decided about the person's memberships (approval, limits, suspension...), with their
    reasons; who decided stays with the community."""
    rows = session.execute(
        sa.select(AuditEntry)
        .where(AuditEntry.subject_type == "membership", AuditEntry.subject_id.in_(ids))
        .order_by(AuditEntry.id)
    ).scalars()
    return [
        {"membership_id": entry.subject_id, "action": entry.action, "reason": entry.reason, "at": entry.at}
        for entry in rows
    ]


# --- erasure ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What an erasure did."""

    user_id: int
    erased_at: datetime
    memberships_left: int
    holds_voided: int
    exchanges_called_off: int


def erase_user(
    *, session: Session, actor: Actor, user_id: int, reason: str = "", now: datetime | None = None
) -> Erasure:
    """Erase a person's personal data, at their own request or by an administrator (who must give a reason; the
    erasure is then written to the audit log of the installation and of each community concerned).

    Refused (Conflict) while one of their exchanges is disputed: a coordinator settles it first. Otherwise, in
    one transaction: their pending holds are voided and unfinished exchanges called off; email and password
    are removed, so they cannot log in again; every membership is marked left, named "Erased member", and its
    profile blanked; their listings are closed and blanked; the texts of their exchanges, exchange notes,
    invitations and thank-you notes (given and received) are removed; safeguarding checks about them and messages
    to them are deleted, and their full name or email in other members' messages replaced.

    The ledger keeps every entry under the same accounts, now anonymous (an account with a balance is frozen,
    an empty one closed), so the books still add up. Ledger memos are part of the hash chain and stay as
    written; use cases must not put personal text in them."""
    now = utc_now(now)
    user = _subject(session, actor, user_id)
    by_administrator = actor.user_id != user.id
    reason = validation.text("reason", reason, maximum=500, required=by_administrator)
    if user.erased_at is not None:
        raise errors.Conflict("this person's data was erased already", user_id=user.id)
    memberships = _memberships(session, user.id)
    ids = [membership.id for membership in memberships]
    disputed = session.execute(
        sa.select(Exchange.id).where(_their_exchanges(ids), Exchange.status == ExchangeStatus.DISPUTED.value).limit(1)
    ).scalar_one_or_none()
    if disputed is not None:
        raise errors.Conflict(
            "an exchange of this person is disputed; a coordinator must settle it before the erasure",
            exchange_id=disputed,
        )
    holds = _void_holds(session, [membership.account_id for membership in memberships], now=now)
    called_off = _call_off_exchanges(session, ids, now=now)
    _blank_shared_texts(session, ids, now=now)
    _scrub_mentions(session, user, memberships)
    for membership in memberships:
        _anonymise_membership(session, membership, now=now)
    user.email, user.password_hash, user.is_administrator, user.erased_at = None, None, False, now
    if by_administrator:
        _audit_erasure(session, actor, user, memberships, reason=reason, now=now)
    session.commit()
    return Erasure(
        user_id=user.id,
        erased_at=now,
        memberships_left=len(memberships),
        holds_voided=holds,
        exchanges_called_off=called_off,
    )


def erase_own_data(*, session: Session, actor: Actor, password: str, now: datetime | None = None) -> Erasure:
    """A person erases their own data, confirming with their password (see ``erase_user``). A wrong password is
    refused and nothing changes."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not passwords.verify_password(user.password_hash, password):
        raise errors.NotAllowed("the current password is not right", field="password")
    return erase_user(session=session, actor=actor, user_id=user.id, now=now)


def _void_holds(session: Session, account_ids: list[int], *, now: datetime) -> int:
    """Void every pending transaction touching these accounts, before anything else changes."""
    entry, transaction = entry_table.c, transaction_table.c
    pending = session.execute(
        sa.select(transaction.id)
        .join(entry_table, entry.transaction_id == transaction.id)
        .where(entry.account_id.in_(account_ids), transaction.state == "pending")
        .distinct()
        .order_by(transaction.id)
    ).scalars()
    voided = 0
    for transaction_id in list(pending):
        ledger.void_pending(session, transaction_id=transaction_id, reason=ERASURE_NOTE, now=now)
        voided += 1
    return voided


def _call_off_exchanges(session: Session, ids: list[int], *, now: datetime) -> int:
    """Exchanges not yet recorded are cancelled; recorded ones, whose holds were just voided, are voided."""
    outcomes = {
        ExchangeStatus.PROPOSED.value: ExchangeStatus.CANCELLED.value,
        ExchangeStatus.AGREED.value: ExchangeStatus.CANCELLED.value,
        ExchangeStatus.RECORDED.value: ExchangeStatus.VOIDED.value,
    }
    unfinished = list(
        session.execute(
            sa.select(Exchange).where(_their_exchanges(ids), Exchange.status.in_(sorted(outcomes)))
        ).scalars()
    )
    for exchange in unfinished:
        exchange.status = outcomes[exchange.status]
        exchange.updated_at = now
        session.add(
            ExchangeEvent(community_id=exchange.community_id, exchange_id=exchange.id, kind=exchange.status, at=now)
        )
    return len(unfinished)


def _blank_shared_texts(session: Session, ids: list[int], *, now: datetime) -> None:
    """Texts written by or about the person on things shared with others; the rows stay, for the others."""
    exchange_ids = sa.select(Exchange.id).where(_their_exchanges(ids)).scalar_subquery()
    session.execute(
        sa.update(Exchange)
        .where(_their_exchanges(ids))
        .values(description="", dispute_reason="", settlement_reason="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(ExchangeEvent)
        .where(ExchangeEvent.exchange_id.in_(exchange_ids))
        .values(note="")
        .execution_options(synchronize_session=False)
    )
    listing_ids = sa.select(Listing.id).where(Listing.membership_id.in_(ids)).scalar_subquery()
    session.execute(
        sa.update(Listing)
        .where(Listing.membership_id.in_(ids), Listing.status == ListingStatus.OPEN.value)
        .values(status=ListingStatus.CLOSED.value)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Listing)
        .where(Listing.membership_id.in_(ids))
        .values(title="", description="", neighbourhood="", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Invitation)
        .where(Invitation.membership_id.in_(ids), Invitation.status == "open")
        .values(status="declined", answered_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Invitation)
        .where(
            sa.or_(
                Invitation.membership_id.in_(ids),
                Invitation.invited_by_membership_id.in_(ids),
                Invitation.listing_id.in_(listing_ids),
            )
        )
        .values(message="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(ThankYou)
        .where(sa.or_(ThankYou.from_membership_id.in_(ids), ThankYou.to_membership_id.in_(ids)))
        .values(text="")
        .execution_options(synchronize_session=False)
    )
    session.execute(sa.delete(SafeguardingCheck).where(SafeguardingCheck.membership_id.in_(ids)))


def _scrub_mentions(session: Session, user: User, memberships: list[Membership]) -> None:
    """Delete the messages to the person, and replace their full name or email in other members' messages of
    the same communities ("Ans de Vries responded to your request")."""
    session.execute(sa.delete(OutboxMessage).where(OutboxMessage.user_id == user.id))
    mentions = {membership.display_name for membership in memberships} | {user.email or ""}
    mentions = sorted(
        (text for text in mentions if len(text) >= MIN_MENTION_LENGTH and text != ERASED_NAME), key=len, reverse=True
    )
    community_ids = sorted({membership.community_id for membership in memberships})
    if not mentions or not community_ids:
        return
    found = session.execute(
        sa.select(OutboxMessage).where(
            OutboxMessage.community_id.in_(community_ids),
            sa.or_(
                *[OutboxMessage.subject.contains(text, autoescape=True) for text in mentions],
                *[OutboxMessage.body.contains(text, autoescape=True) for text in mentions],
            ),
        )
    ).scalars()
    for message in found:
        for text in mentions:
            message.subject = message.subject.replace(text, ERASED_NAME)
            message.body = message.body.replace(text, ERASED_NAME)


def _anonymise_membership(session: Session, membership: Membership, *, now: datetime) -> None:
    membership.display_name = ERASED_NAME
    membership.neighbourhood = membership.likes_to_do = ""
    membership.application_note = membership.decision_reason = ""
    membership.interests, membership.availability, membership.languages, membership.visibility = [], [], [], {}
    membership.role, membership.is_safeguarding_officer = "member", False
    if membership.status != MembershipStatus.LEFT.value:
        membership.status, membership.left_at = MembershipStatus.LEFT.value, now
    # The ledger account was opened under the member's name; the ledger offers no rename, and the name is no part
    # of the hash chain, so it is blanked here directly.
    session.execute(
        account_table.update()
        .where(account_table.c.id == membership.account_id)
        .values(name="", version=account_table.c.version + 1)
    )
    account = ledger.get_account(session, membership.account_id)
    if account.status == AccountStatus.CLOSED.value:
        return
    if account.balance == 0:
        ledger.close_account(session, account_id=account.id)
    else:
        # The balance stays (the books must add up), but nothing more may be paid to or from nobody.
        ledger.freeze_account(session, account_id=account.id)


def _audit_erasure(session, actor: Actor, user: User, memberships: list[Membership], *, reason: str, now) -> None:
    audit.record(
        session,
        actor=actor,
        community_id=None,
        action="user.erased",
        subject_type="user",
        subject_id=user.id,
        reason=reason,
        now=now,
    )
    for membership in memberships:
        audit.record(
            session,
            actor=actor,
            community_id=membership.community_id,
            action="member.erased",
            subject_type="membership",
            subject_id=membership.id,
            reason=reason,
            now=now,
        )
