"""Minutes and the ledger: recording what an exchange took, confirming, disputing and settling it, confirming
what is due on its own, and the exchanges recorded after the fact without a listing.

- **Recorded minutes** of an agreed exchange are held as pending in the ledger (debiting the helped member,
  crediting the helper), so the floor of the one and the ceiling of the other count them at once. The side that
  did not record them confirms (the hold posts) or disputes; undisputed records confirm themselves after the
  community's ``auto_confirm_days`` (``confirm_due_exchanges``, run by ``timebank tick``). A coordinator settles
  a dispute: post as recorded, change the minutes, or void.
- A **direct payment** ("Ans babysat for me, 3 hours") posts at once: the payer starting it is the consent.
- A **claim** by the helper is pending until the payer confirms, disputes, or the days pass.
- A coordinator's **record on behalf** of a member is pending until the other member confirms, or posted at once
  when the coordinator attests that both agreed; either way it is written to the audit log.

Payments, claims and records on behalf create an ``Exchange`` row too, so histories, reports and thank-you notes
treat them like any exchange. Recording, paying and claiming take an optional ``idempotency_key``, scoped to the
actor: a retried request returns the first exchange and moves nothing more. The ledger is always called before
the exchange changes, so a ledger refusal (floor, ceiling, frozen account) passes through unchanged and leaves
the exchange as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger import errors as ledger_errors
from ledger.core import utc_now
from ledger.models import transaction_table
from timebank import access, audit, bookkeeping, errors, validation
from timebank.access import Actor
from timebank.exchanges import (
    EXCHANGE_KIND,
    MAX_NOTE_LENGTH,
    MAX_REASON_LENGTH,
    EventKind,
    add_event,
    as_party,
    identifier,
    involves_children,
    is_party,
    locked_exchange,
    own_active_membership,
    require_active,
    require_children_rules,
    require_current_check,
    require_status,
    tell,
    visible_exchange,
)
from timebank.models import Category, Community, Exchange, ExchangeStatus, Membership

MAX_KEY_LENGTH = 200
SETTLEMENTS = ("post", "change", "void")
# One tick confirms at most this many exchanges; the next tick takes the rest.
MAX_DUE_BATCH = 200
# A due exchange the ledger refused (a frozen account) is tried again after this, so that a few that keep failing
# never hold up the queue behind them.
RETRY_REFUSED_AFTER = timedelta(hours=1)
MAX_REMINDER_HOURS = 7 * 24
MAX_REMINDER_BATCH = 1000


def _checked_idempotency_key(value) -> str | None:
    if value is None:
        return None
    return validation.text("idempotency_key", value, maximum=MAX_KEY_LENGTH, required=True)


def _transfer_arguments(exchange: Exchange, *, session: Session, community: Community, actor: Actor) -> dict:
    """What moves in the ledger for this exchange: its minutes from the helped member to the helper."""
    helper = session.get(Membership, exchange.helper_membership_id)
    helped = session.get(Membership, exchange.helped_membership_id)
    return {
        "community": community,
        "debit_account_id": helped.account_id,
        "credit_account_id": helper.account_id,
        "kind": EXCHANGE_KIND,
        "actor": actor,
        "memo": exchange.description,
    }


def _key_was_used(session: Session, actor: Actor, idempotency_key: str | None) -> bool:
    """Whether the ledger already holds a transaction under this actor's key (a retried request)."""
    if idempotency_key is None:
        return False
    columns = transaction_table.c
    return (
        session.execute(
            sa.select(columns.id).where(
                columns.idempotency_scope == actor.label, columns.idempotency_key == idempotency_key
            )
        ).first()
        is not None
    )


def _exchange_for_transaction(session: Session, posting: ledger.Posting, *, community_id: int) -> Exchange:
    """The exchange an idempotent retry refers to: the one recorded with the replayed transaction."""
    exchange = session.execute(
        sa.select(Exchange).where(Exchange.ledger_transaction_id == posting.id, Exchange.community_id == community_id)
    ).scalar_one_or_none()
    if exchange is None:
        raise errors.Conflict("this idempotency key was used for something else", transaction_id=posting.id)
    return exchange


def _mark_recorded(
    exchange: Exchange, *, community: Community, recorded_by_membership_id: int, minutes: int, posting, now
) -> None:
    exchange.status = ExchangeStatus.RECORDED.value
    exchange.minutes = minutes
    exchange.recorded_by_membership_id = recorded_by_membership_id
    exchange.recorded_at = now
    exchange.ledger_transaction_id = posting.id
    exchange.auto_confirm_at = now + timedelta(days=community.auto_confirm_days)


def _mark_confirmed(exchange: Exchange, *, now: datetime) -> None:
    exchange.status = ExchangeStatus.CONFIRMED.value
    exchange.confirmed_at = now
    exchange.auto_confirm_at = None


def _require_other_side(exchange: Exchange, membership: Membership, *, doing: str) -> None:
    """Recorded minutes are confirmed or disputed by the side that did not record them."""
    if membership.id == exchange.recorded_by_membership_id:
        raise errors.NotAllowed(
            f"the other member of the exchange must {doing} the minutes you recorded", exchange_id=exchange.id
        )


# --- minutes: recording, confirming, disputing, settling -------------------------------------------------------


def _tell_waiting(session: Session, exchange: Exchange, *, recorder: Membership, now: datetime) -> None:
    """Recorded minutes wait for the other side: tell them."""
    other_id = (
        exchange.helped_membership_id if recorder.id == exchange.helper_membership_id else exchange.helper_membership_id
    )
    context = {"recorder_name": recorder.display_name, "minutes": exchange.minutes}
    tell(
        session,
        membership_id=other_id,
        kind="claim_waiting",
        context=context,
        community_id=exchange.community_id,
        now=now,
    )


def _tell_recorder(session: Session, exchange: Exchange, *, kind: str, context: dict, now: datetime) -> None:
    """The side that recorded the minutes hears that they were confirmed or disputed."""
    tell(
        session,
        membership_id=exchange.recorded_by_membership_id,
        kind=kind,
        context={"minutes": exchange.minutes, **context},
        community_id=exchange.community_id,
        now=now,
    )


def record_minutes(
    *,
    session: Session,
    actor: Actor,
    exchange_id: int,
    minutes: int,
    note: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Exchange:
    """Either side of an agreed exchange records the minutes spent (1 to 720), with an optional ``note`` on what
    was done for the history. The ledger holds them as pending, counted against the helped member's floor and
    the helper's ceiling, until the other side confirms or the community's number of days has passed. A retry
    with the same ``idempotency_key`` records nothing more."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes)
    note = validation.text("note", note, maximum=MAX_NOTE_LENGTH)
    idempotency_key = _checked_idempotency_key(idempotency_key)
    exchange, own = as_party(session, actor, exchange_id)
    community = access.get_community(session, exchange.community_id)
    hold = _transfer_arguments(exchange, session=session, community=community, actor=actor) | {
        "minutes": minutes,
        "details": {"exchange_id": exchange.id},
        "pending": True,
        "idempotency_key": idempotency_key,
    }
    if _key_was_used(session, actor, idempotency_key):
        # A retry: the ledger answers with the first hold, or refuses a key reused for a different request.
        posting = bookkeeping.post_transfer(session, **hold, now=now)
        if posting.id != exchange.ledger_transaction_id:
            raise errors.Conflict("this idempotency key was used for something else", transaction_id=posting.id)
        return exchange
    require_status(exchange, ExchangeStatus.AGREED.value, doing="record minutes for")
    require_children_rules(session, exchange, community, now=now)
    posting = bookkeeping.post_transfer(session, **hold, now=now)
    _mark_recorded(
        exchange, community=community, recorded_by_membership_id=own.id, minutes=minutes, posting=posting, now=now
    )
    add_event(session, exchange, EventKind.RECORDED, actor_membership_id=own.id, now=now, minutes=minutes, note=note)
    _tell_waiting(session, exchange, recorder=own, now=now)
    session.commit()
    return exchange


def confirm_exchange(*, session: Session, actor: Actor, exchange_id: int, now: datetime | None = None) -> Exchange:
    """The side that did not record the minutes confirms them: the ledger posts the hold. Once."""
    now = utc_now(now)
    exchange, own = as_party(session, actor, exchange_id)
    require_status(exchange, ExchangeStatus.RECORDED.value, doing="confirm")
    _require_other_side(exchange, own, doing="confirm")
    ledger.post_pending(session, transaction_id=exchange.ledger_transaction_id, now=now)
    _mark_confirmed(exchange, now=now)
    add_event(session, exchange, EventKind.CONFIRMED, actor_membership_id=own.id, now=now, minutes=exchange.minutes)
    _tell_recorder(session, exchange, kind="claim_confirmed", context={"confirmer_name": own.display_name}, now=now)
    session.commit()
    return exchange


def dispute_exchange(
    *, session: Session, actor: Actor, exchange_id: int, reason: str, now: datetime | None = None
) -> Exchange:
    """The side that did not record the minutes disputes them, with a reason. The minutes stay pending and will
    not confirm themselves; a coordinator settles the dispute."""
    now = utc_now(now)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    exchange, own = as_party(session, actor, exchange_id)
    require_status(exchange, ExchangeStatus.RECORDED.value, doing="dispute")
    _require_other_side(exchange, own, doing="dispute")
    exchange.status = ExchangeStatus.DISPUTED.value
    exchange.dispute_reason = reason
    exchange.auto_confirm_at = None
    add_event(session, exchange, EventKind.DISPUTED, actor_membership_id=own.id, now=now, note=reason)
    context = {"disputer_name": own.display_name, "reason": reason}
    _tell_recorder(session, exchange, kind="claim_disputed", context=context, now=now)
    session.commit()
    return exchange


def _settle_in_ledger(session, exchange, community, *, outcome, minutes, actor, reason, now) -> int | None:
    """Carry out the settlement in the ledger, all of it or none of it; returns the minutes that moved."""
    if outcome == "post":
        ledger.post_pending(session, transaction_id=exchange.ledger_transaction_id, now=now)
        return exchange.minutes
    if outcome == "void":
        ledger.void_pending(session, transaction_id=exchange.ledger_transaction_id, reason=reason, now=now)
        return None
    with session.begin_nested():  # void the hold and post the corrected amount together, or neither
        ledger.void_pending(session, transaction_id=exchange.ledger_transaction_id, reason=reason, now=now)
        posting = bookkeeping.post_transfer(
            session,
            **_transfer_arguments(exchange, session=session, community=community, actor=actor),
            minutes=minutes,
            details={
                "exchange_id": exchange.id,
                "replaces_transaction_id": exchange.ledger_transaction_id,
                "settlement_reason": reason,
            },
            now=now,
        )
    exchange.ledger_transaction_id = posting.id
    return minutes


def settle_dispute(
    *,
    session: Session,
    actor: Actor,
    exchange_id: int,
    outcome: str,
    reason: str,
    minutes: int | None = None,
    now: datetime | None = None,
) -> Exchange:
    """A coordinator settles a disputed exchange, with a reason: ``post`` the minutes as recorded, ``change``
    them to ``minutes`` (the hold is voided and the corrected amount posted at once), or ``void`` them. A
    coordinator who is one of the two sides cannot settle it. Written to the audit log."""
    now = utc_now(now)
    outcome = validation.choice("outcome", outcome, SETTLEMENTS)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    if outcome == "change":
        minutes = validation.minutes("minutes", minutes)
    elif minutes is not None:
        raise errors.InvalidInput("minutes are given only to change them", field="minutes")
    exchange = visible_exchange(session, actor, exchange_id, lock=True)
    own = access.require_coordinator(session, actor, exchange.community_id)
    if is_party(exchange, own):
        raise errors.NotAllowed("another coordinator must settle an exchange you take part in", exchange_id=exchange.id)
    require_status(exchange, ExchangeStatus.DISPUTED.value, doing="settle")
    community = access.get_community(session, exchange.community_id)
    recorded_minutes = exchange.minutes
    settled_minutes = _settle_in_ledger(
        session, exchange, community, outcome=outcome, minutes=minutes, actor=actor, reason=reason, now=now
    )
    if outcome == "void":
        exchange.status = ExchangeStatus.VOIDED.value
    else:
        exchange.minutes = settled_minutes
        _mark_confirmed(exchange, now=now)
    exchange.settlement_reason = reason
    own_id = own.id if own is not None else None
    add_event(
        session,
        exchange,
        EventKind.SETTLED,
        actor_membership_id=own_id,
        now=now,
        minutes=settled_minutes,
        note=f"{outcome}: {reason}"[:MAX_NOTE_LENGTH],
    )
    audit.record(
        session,
        actor=actor,
        community_id=exchange.community_id,
        action="exchange.dispute_settled",
        subject_type="exchange",
        subject_id=exchange.id,
        reason=reason,
        details={"outcome": outcome, "recorded_minutes": recorded_minutes, "settled_minutes": settled_minutes},
        now=now,
    )
    session.commit()
    return exchange


# --- the tick: confirming what is due, and what will be due soon ------------------------------------------------


@dataclass(frozen=True)
class ConfirmationFailure:
    """An exchange that was due but could not be confirmed (a frozen account, say); tried again an hour later."""

    exchange_id: int
    code: str
    message: str


@dataclass(frozen=True)
class AutoConfirmationReport:
    confirmed_exchange_ids: list[int]
    failures: list[ConfirmationFailure]


def _confirm_if_still_due(session: Session, exchange_id: int, *, now: datetime) -> bool:
    """Confirm one due exchange in a savepoint; False when someone else settled it meanwhile."""
    with session.begin_nested():
        exchange = locked_exchange(session, exchange_id)
        due = exchange is not None and exchange.status == ExchangeStatus.RECORDED.value
        if not due or exchange.auto_confirm_at is None or exchange.auto_confirm_at > now:
            return False
        ledger.post_pending(session, transaction_id=exchange.ledger_transaction_id, now=now)
        _mark_confirmed(exchange, now=now)
        add_event(
            session, exchange, EventKind.AUTO_CONFIRMED, actor_membership_id=None, now=now, minutes=exchange.minutes
        )
        session.flush()
    return True


def confirm_due_exchanges(
    *, session: Session, now: datetime | None = None, limit: int = MAX_DUE_BATCH
) -> AutoConfirmationReport:
    """Confirm every recorded, undisputed exchange whose ``auto_confirm_at`` has passed (at most ``limit`` per
    run). Safe to run often and concurrently: each exchange is confirmed once. One that the ledger refuses
    (a frozen account) is reported, stays recorded and is tried again an hour later; the others go ahead."""
    now = utc_now(now)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_DUE_BATCH)
    due_ids = (
        session.execute(
            sa.select(Exchange.id)
            .where(Exchange.status == ExchangeStatus.RECORDED.value, Exchange.auto_confirm_at <= now)
            .order_by(Exchange.auto_confirm_at, Exchange.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    confirmed, failures = [], []
    for exchange_id in due_ids:
        try:
            if _confirm_if_still_due(session, exchange_id, now=now):
                confirmed.append(exchange_id)
        except (ledger_errors.LedgerError, errors.DomainError) as error:
            failures.append(ConfirmationFailure(exchange_id=exchange_id, code=error.code, message=error.message))
            session.execute(
                sa.update(Exchange)
                .where(Exchange.id == exchange_id, Exchange.status == ExchangeStatus.RECORDED.value)
                .values(auto_confirm_at=now + RETRY_REFUSED_AFTER)
            )
    session.commit()
    return AutoConfirmationReport(confirmed_exchange_ids=confirmed, failures=failures)


def exchanges_confirming_within(
    *, session: Session, now: datetime | None = None, hours: int = 24, limit: int = MAX_REMINDER_BATCH
) -> list[Exchange]:
    """Recorded, undisputed exchanges that will confirm themselves within ``hours`` from ``now`` (soonest first):
    whom to remind that a claim waits for their confirmation. Reads only."""
    now = utc_now(now)
    hours = validation.whole_number("hours", hours, minimum=1, maximum=MAX_REMINDER_HOURS)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_REMINDER_BATCH)
    query = (
        sa.select(Exchange)
        .where(
            Exchange.status == ExchangeStatus.RECORDED.value,
            Exchange.auto_confirm_at > now,
            Exchange.auto_confirm_at <= now + timedelta(hours=hours),
        )
        .order_by(Exchange.auto_confirm_at, Exchange.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


# --- paying, claiming and recording on behalf, without a listing ------------------------------------------------


def _counterpart(session: Session, actor: Actor, membership_id, *, field: str) -> tuple[Membership, Membership]:
    """The actor's active membership and the other member's, in the same community; a member of another
    community is reported as not found."""
    membership_id = identifier(field, membership_id)
    other = session.get(Membership, membership_id)
    missing = errors.NotFound("no such member", membership_id=membership_id, field=field)
    if other is None:
        raise missing
    own = own_active_membership(session, actor, other.community_id, missing=missing)
    if other.id == own.id:
        raise errors.InvalidInput("an exchange is between two different members", field=field)
    require_active(other, whose="the other member's")
    return own, other


def _category_id(session: Session, community_id: int, category_id) -> int | None:
    if category_id is None:
        return None
    category = access.get_in_community(
        session, Category, identifier("category_id", category_id), community_id, what="category"
    )
    if not category.active:
        raise errors.InvalidInput("this category is no longer in use", field="category_id")
    return category.id


def _new_exchange(
    community: Community, *, helper_id: int, helped_id: int, initiated_by: int, category_id, description, now
) -> Exchange:
    return Exchange(
        community_id=community.id,
        category_id=category_id,
        helper_membership_id=helper_id,
        helped_membership_id=helped_id,
        initiated_by_membership_id=initiated_by,
        description=description,
        created_at=now,
        updated_at=now,
    )


def _ledger_details(exchange: Exchange, *, via: str) -> dict:
    """What the ledger keeps about the exchange. Stable for a given request, so an idempotent retry matches."""
    return {
        "via": via,
        "helper_membership_id": exchange.helper_membership_id,
        "helped_membership_id": exchange.helped_membership_id,
        "category_id": exchange.category_id,
    }


def _post(session, exchange, community, *, actor, minutes, via, pending, idempotency_key, now):
    return bookkeeping.post_transfer(
        session,
        **_transfer_arguments(exchange, session=session, community=community, actor=actor),
        minutes=minutes,
        details=_ledger_details(exchange, via=via),
        pending=pending,
        idempotency_key=idempotency_key,
        now=now,
    )


def _mark_posted(exchange: Exchange, *, minutes: int, recorded_by: int | None, posting, now: datetime) -> None:
    exchange.status = ExchangeStatus.CONFIRMED.value
    exchange.helper_agreed = exchange.helped_agreed = True
    exchange.minutes = minutes
    exchange.recorded_by_membership_id = recorded_by
    exchange.ledger_transaction_id = posting.id
    exchange.recorded_at = exchange.confirmed_at = now


def _start_and_post(
    session: Session,
    community: Community,
    *,
    actor: Actor,
    helper_id: int,
    helped_id: int,
    initiated_by: int,
    category_id,
    description: str,
    minutes: int,
    via: str,
    pending: bool,
    idempotency_key,
    now: datetime,
) -> tuple[Exchange, ledger.Posting]:
    """A new exchange outside any listing and its ledger posting (held when ``pending``). On an idempotent retry
    the posting says ``replayed`` and the new exchange is not to be kept."""
    exchange = _new_exchange(
        community,
        helper_id=helper_id,
        helped_id=helped_id,
        initiated_by=initiated_by,
        category_id=category_id,
        description=description,
        now=now,
    )
    posting = _post(
        session,
        exchange,
        community,
        actor=actor,
        minutes=minutes,
        via=via,
        pending=pending,
        idempotency_key=idempotency_key,
        now=now,
    )
    return exchange, posting


def pay_directly(
    *,
    session: Session,
    actor: Actor,
    payee_membership_id: int,
    minutes: int,
    category_id: int | None = None,
    description: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Exchange:
    """Pay another member of the community for help received; posts at once, since the payer's own action is the
    consent. For a category involving children the helper needs a current check (paying is the parent's
    acceptance of the helper)."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes)
    description = validation.text("description", description, maximum=MAX_NOTE_LENGTH)
    idempotency_key = _checked_idempotency_key(idempotency_key)
    payer, payee = _counterpart(session, actor, payee_membership_id, field="payee_membership_id")
    community = access.get_community(session, payer.community_id)
    category_id = _category_id(session, community.id, category_id)
    children = involves_children(session, category_id)
    if children:
        require_current_check(session, community, helper_membership_id=payee.id, now=now)
    exchange, posting = _start_and_post(
        session,
        community,
        actor=actor,
        helper_id=payee.id,
        helped_id=payer.id,
        initiated_by=payer.id,
        category_id=category_id,
        description=description,
        minutes=minutes,
        via="payment",
        pending=False,
        idempotency_key=idempotency_key,
        now=now,
    )
    if posting.replayed:
        return _exchange_for_transaction(session, posting, community_id=community.id)
    _mark_posted(exchange, minutes=minutes, recorded_by=payer.id, posting=posting, now=now)
    exchange.parent_accepted_helper = children
    session.add(exchange)
    session.flush()
    add_event(session, exchange, EventKind.PAID, actor_membership_id=payer.id, now=now, minutes=minutes)
    session.commit()
    return exchange


def claim_minutes(
    *,
    session: Session,
    actor: Actor,
    payer_membership_id: int,
    minutes: int,
    category_id: int | None = None,
    description: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Exchange:
    """The helper claims minutes from the member they helped: held as pending until the payer confirms (or the
    community's number of days passes), or disputed. Tasks with children need the parent's acceptance of the
    helper first, so they go through an agreed exchange (or the parent pays directly) instead."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes)
    description = validation.text("description", description, maximum=MAX_NOTE_LENGTH)
    idempotency_key = _checked_idempotency_key(idempotency_key)
    helper, payer = _counterpart(session, actor, payer_membership_id, field="payer_membership_id")
    community = access.get_community(session, helper.community_id)
    category_id = _category_id(session, community.id, category_id)
    if involves_children(session, category_id):
        raise errors.ParentAcceptanceRequired(
            "for a task with children the parent accepts the helper first: agree the exchange before recording, "
            "or let the parent pay directly",
            category_id=category_id,
        )
    exchange, posting = _start_and_post(
        session,
        community,
        actor=actor,
        helper_id=helper.id,
        helped_id=payer.id,
        initiated_by=helper.id,
        category_id=category_id,
        description=description,
        minutes=minutes,
        via="claim",
        pending=True,
        idempotency_key=idempotency_key,
        now=now,
    )
    if posting.replayed:
        return _exchange_for_transaction(session, posting, community_id=community.id)
    exchange.helper_agreed = True
    _mark_recorded(
        exchange, community=community, recorded_by_membership_id=helper.id, minutes=minutes, posting=posting, now=now
    )
    session.add(exchange)
    session.flush()
    add_event(session, exchange, EventKind.CLAIMED, actor_membership_id=helper.id, now=now, minutes=minutes)
    _tell_waiting(session, exchange, recorder=helper, now=now)
    session.commit()
    return exchange


def _on_behalf_parties(
    session: Session, actor: Actor, *, helper_membership_id, helped_membership_id
) -> tuple[Membership | None, Membership, Membership]:
    """The coordinator's membership (None for an administrator) and the two active members, all of one
    community; a member of another community is reported as not found."""
    helper = access.get_membership(session, actor, identifier("helper_membership_id", helper_membership_id))
    coordinator = access.require_coordinator(session, actor, helper.community_id)
    helped = access.get_in_community(
        session,
        Membership,
        identifier("helped_membership_id", helped_membership_id),
        helper.community_id,
        what="member",
    )
    if helper.id == helped.id:
        raise errors.InvalidInput("an exchange is between two different members", field="helped_membership_id")
    if coordinator is not None and coordinator.id in (helper.id, helped.id):
        raise errors.NotAllowed("record your own exchanges as a member: pay directly or claim the minutes")
    require_active(helper, whose="the helper's")
    require_active(helped, whose="the helped member's")
    return coordinator, helper, helped


def _checked_on_behalf_of(value, *, attested: bool, helper: Membership, helped: Membership) -> int | None:
    """Whom the coordinator speaks for; the other member confirms. Not needed when both agreed (attested)."""
    if value is None:
        if attested:
            return None
        raise errors.InvalidInput("say on whose behalf the minutes are recorded", field="on_behalf_of_membership_id")
    if value not in (helper.id, helped.id):
        raise errors.InvalidInput(
            "the minutes are recorded on behalf of the helper or the helped member", field="on_behalf_of_membership_id"
        )
    return value


def _children_rules_on_behalf(session, community, *, category_id, helper: Membership, attested: bool, now) -> bool:
    """A task with children needs the helper's current check, and the parent's acceptance, which a coordinator
    can only attest to together with the rest; returns whether the task involves children."""
    if not involves_children(session, category_id):
        return False
    require_current_check(session, community, helper_membership_id=helper.id, now=now)
    if not attested:
        raise errors.ParentAcceptanceRequired(
            "for a task with children, record it only when you can attest that the parent accepted the helper",
            category_id=category_id,
        )
    return True


def _log_on_behalf(session, actor: Actor, exchange: Exchange, *, coordinator_id, on_behalf_of, reason, now) -> None:
    """The history says a coordinator recorded it; the audit log says who, for whom, and why."""
    attested = exchange.attested_by_coordinator
    note = "attested: both agreed" if attested else f"on behalf of member {on_behalf_of}"
    add_event(
        session,
        exchange,
        EventKind.RECORDED_ON_BEHALF,
        actor_membership_id=coordinator_id,
        now=now,
        minutes=exchange.minutes,
        note=note,
    )
    audit.record(
        session,
        actor=actor,
        community_id=exchange.community_id,
        action="exchange.recorded_on_behalf",
        subject_type="exchange",
        subject_id=exchange.id,
        reason=reason,
        details={"attested": attested, "minutes": exchange.minutes, "on_behalf_of_membership_id": on_behalf_of},
        now=now,
    )


def record_on_behalf(
    *,
    session: Session,
    actor: Actor,
    helper_membership_id: int,
    helped_membership_id: int,
    minutes: int,
    on_behalf_of_membership_id: int | None = None,
    attested: bool = False,
    category_id: int | None = None,
    description: str = "",
    reason: str = "",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Exchange:
    """A coordinator records an exchange for members who are not online. Without ``attested`` it is held as
    pending for the member named by ``on_behalf_of_membership_id``, until the other member confirms (or the days
    pass); with ``attested`` the coordinator attests that both agreed and it posts at once. Tasks with children
    need the helper's current check, and an attested record (the parent's acceptance is part of what the
    coordinator attests). Written to the audit log."""
    now = utc_now(now)
    minutes = validation.minutes("minutes", minutes)
    description = validation.text("description", description, maximum=MAX_NOTE_LENGTH)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH)
    idempotency_key = _checked_idempotency_key(idempotency_key)
    if not isinstance(attested, bool):
        raise errors.InvalidInput("attested must be true or false", field="attested")
    coordinator, helper, helped = _on_behalf_parties(
        session, actor, helper_membership_id=helper_membership_id, helped_membership_id=helped_membership_id
    )
    on_behalf_of = _checked_on_behalf_of(on_behalf_of_membership_id, attested=attested, helper=helper, helped=helped)
    community = access.get_community(session, helper.community_id)
    category_id = _category_id(session, community.id, category_id)
    children = _children_rules_on_behalf(
        session, community, category_id=category_id, helper=helper, attested=attested, now=now
    )
    coordinator_id = coordinator.id if coordinator is not None else None
    exchange = _new_exchange(
        community,
        helper_id=helper.id,
        helped_id=helped.id,
        initiated_by=coordinator_id or on_behalf_of or helped.id,
        category_id=category_id,
        description=description,
        now=now,
    )
    exchange.attested_by_coordinator = attested
    posting = _post(
        session,
        exchange,
        community,
        actor=actor,
        minutes=minutes,
        via="attested" if attested else "on_behalf",
        pending=not attested,
        idempotency_key=idempotency_key,
        now=now,
    )
    if posting.replayed:
        return _exchange_for_transaction(session, posting, community_id=community.id)
    if attested:
        _mark_posted(exchange, minutes=minutes, recorded_by=coordinator_id, posting=posting, now=now)
        exchange.parent_accepted_helper = children
    else:
        exchange.helper_agreed = on_behalf_of == helper.id
        exchange.helped_agreed = on_behalf_of == helped.id
        _mark_recorded(
            exchange,
            community=community,
            recorded_by_membership_id=on_behalf_of,
            minutes=minutes,
            posting=posting,
            now=now,
        )
    session.add(exchange)
    session.flush()
    _log_on_behalf(
        session, actor, exchange, coordinator_id=coordinator_id, on_behalf_of=on_behalf_of, reason=reason, now=now
    )
    if not attested:
        _tell_waiting(session, exchange, recorder=helper if on_behalf_of == helper.id else helped, now=now)
    session.commit()
    return exchange
