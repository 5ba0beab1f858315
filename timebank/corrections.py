"""Corrections and trade between communities: a coordinator's ledger work that reaches past one payment.

A mistake is never erased: it is corrected by a reversal that names the original and the reason. Two communities
of one installation trade through their clearing accounts: in the paying community the payer pays its clearing
account; in the receiving community its clearing account pays the payee. Both sides are posted in one database
transaction, so either both books change or neither does, and each community's balances keep summing to zero.
A trade is corrected as a whole by ``reverse_trade``, never one side at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import lock_ledgers, utc_now
from ledger.errors import LedgerCorrupted
from ledger.models import entry_table, transaction_table
from timebank import access, audit, errors, validation
from timebank.access import Actor
from timebank.models import Community, Exchange, ExchangeEvent, Membership
from timebank.pot import MAX_REASON_LENGTH, active_member

TRADE_SENT_KIND = "trade_sent"
TRADE_RECEIVED_KIND = "trade_received"
TRADE_KINDS = (TRADE_SENT_KIND, TRADE_RECEIVED_KIND)
EXCHANGE_REVERSED = "reversed"
# The receiving side's idempotency scope, so that one key names both sides of one trade.
RECEIVED_SCOPE_SUFFIX = ":trade-received"

_transaction = transaction_table.c


def _whole_number(field: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.InvalidInput(f"{field} must be a whole number", field=field)
    return value


def _transaction_in(session: Session, community: Community, transaction_id: int) -> sa.Row:
    """A transaction of the community's ledger; one of another ledger is reported as not found."""
    row = session.execute(
        sa.select(
            _transaction.id, _transaction.ledger_id, _transaction.kind, _transaction.reverses_id, _transaction.details
        ).where(_transaction.id == transaction_id)
    ).first()
    if row is None or row.ledger_id != community.ledger_id:
        raise errors.NotFound("no such transaction", transaction_id=transaction_id)
    return row


def _is_trade_side(session: Session, row: sa.Row) -> bool:
    """One side of a trade between communities, or the reversal of one."""
    if row.kind in TRADE_KINDS:
        return True
    if row.reverses_id is None:
        return False
    reversed_kind = session.execute(
        sa.select(_transaction.kind).where(_transaction.id == row.reverses_id)
    ).scalar_one_or_none()
    return reversed_kind in TRADE_KINDS


def reverse_transaction(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    transaction_id: int,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """A coordinator corrects a mistaken posted transaction of the community's ledger by posting its opposite,
    naming the original and the reason. Never a deletion; at most once per transaction; a pending one is voided
    instead (the ledger refuses). The reversal obeys the balance rules like any posting. If the transaction paid
    an exchange, the exchange's history records the reversal. Trades between communities go by ``reverse_trade``."""
    now = utc_now(now)
    transaction_id = _whole_number("transaction_id", transaction_id)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    coordinator = access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    original = _transaction_in(session, community, transaction_id)
    if _is_trade_side(session, original):
        raise errors.Conflict(
            "one side of a trade between communities is not reversed alone: reverse the whole trade",
            transaction_id=transaction_id,
            kind=original.kind,
        )
    reversal = ledger.reverse(
        session,
        transaction_id=transaction_id,
        reason=reason,
        actor=actor.label,
        idempotency_scope=None if idempotency_key is None else actor.label,
        idempotency_key=idempotency_key,
        now=now,
    )
    if not reversal.replayed:
        exchange = _note_on_exchange(session, community_id, transaction_id, coordinator, reason=reason, now=now)
        audit.record(
            session,
            actor=actor,
            community_id=community_id,
            action="transaction.reversed",
            subject_type="ledger_transaction",
            subject_id=transaction_id,
            reason=reason,
            details={"reversal_transaction_id": reversal.id, "exchange_id": None if exchange is None else exchange.id},
            now=now,
        )
    session.commit()
    return reversal


def _note_on_exchange(
    session: Session, community_id: int, transaction_id: int, coordinator: Membership | None, *, reason: str, now
) -> Exchange | None:
    """If the transaction paid an exchange, add the reversal to the exchange's history (and change nothing else
    of the exchange); return that exchange."""
    exchange = session.execute(
        sa.select(Exchange).where(
            Exchange.community_id == community_id, Exchange.ledger_transaction_id == transaction_id
        )
    ).scalar()
    if exchange is not None:
        session.add(
            ExchangeEvent(
                community_id=community_id,
                exchange_id=exchange.id,
                actor_membership_id=None if coordinator is None else coordinator.id,
                kind=EXCHANGE_REVERSED,
                minutes=exchange.minutes,
                note=reason,
                at=now,
            )
        )
    return exchange


# --- trade between communities --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trade:
    """Both sides of a trade (or of its reversal): ``sent`` in the paying community's ledger, ``received`` in
    the receiving community's."""

    sent: ledger.Posting
    received: ledger.Posting

    @property
    def replayed(self) -> bool:
        return self.sent.replayed


def _trade_parties(
    session: Session, *, paying_community_id: int, payer_membership_id, receiving_community_id, payee_membership_id
) -> tuple[Community, Membership, Community, Membership]:
    paying = access.get_community(session, paying_community_id)
    receiving = access.get_community(session, receiving_community_id)
    payer = active_member(
        session, community_id=paying.id, membership_id=payer_membership_id, field="payer_membership_id"
    )
    payee = active_member(
        session, community_id=receiving.id, membership_id=payee_membership_id, field="payee_membership_id"
    )
    if payer.user_id == payee.user_id:
        raise errors.InvalidInput("a person cannot pay themselves in another community", field="payee_membership_id")
    return paying, payer, receiving, payee


def _scopes(actor: Actor, idempotency_key: str | None) -> tuple[str | None, str | None]:
    """The idempotency scopes of a trade's two sides: one key names both, each side in its own scope."""
    if idempotency_key is None:
        return None, None
    return actor.label, actor.label + RECEIVED_SCOPE_SUFFIX


def _received_command(
    sent: ledger.Posting, receiving: Community, payee: Membership, *, minutes: int, actor: Actor, scope, idempotency_key
) -> ledger.PostTransaction:
    """The receiving side of a trade: the same minutes, memo and parties as the paying side, linked to it."""
    paying_side = sent.transaction
    return ledger.transfer(
        ledger_id=receiving.ledger_id,
        debit_account_id=receiving.clearing_account_id,
        credit_account_id=payee.account_id,
        amount=minutes,
        kind=TRADE_RECEIVED_KIND,
        memo=paying_side.memo,
        # The link to the paying side, by which the trade is later reversed as a whole.
        details={
            "paying_community_id": paying_side.details["paying_community_id"],
            "paying_transaction_id": sent.id,
            "payer_membership_id": paying_side.details["payer_membership_id"],
            "payee_membership_id": payee.id,
        },
        actor=actor.label,
        idempotency_scope=scope,
        idempotency_key=idempotency_key,
    )


def trade_between_communities(
    *,
    session: Session,
    actor: Actor,
    paying_community_id: int,
    payer_membership_id: int,
    receiving_community_id: int,
    payee_membership_id: int,
    minutes: int,
    description: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Trade:
    """A member of one community pays a member of another through the clearing accounts (a coordinator of the
    paying community, or an administrator). Both members are active; the payer's floor and the payee's ceiling
    apply; both sides are posted or neither."""
    now = utc_now(now)
    receiving_community_id = _whole_number("receiving_community_id", receiving_community_id)
    if receiving_community_id == paying_community_id:
        raise errors.InvalidInput("a trade is between two different communities", field="receiving_community_id")
    minutes = validation.minutes("minutes", minutes)
    description = validation.text("description", description, maximum=MAX_REASON_LENGTH, required=True)
    access.require_coordinator(session, actor, paying_community_id)
    paying, payer, receiving, payee = _trade_parties(
        session,
        paying_community_id=paying_community_id,
        payer_membership_id=payer_membership_id,
        receiving_community_id=receiving_community_id,
        payee_membership_id=payee_membership_id,
    )
    parties = {"payer_membership_id": payer.id, "payee_membership_id": payee.id}
    sent_scope, received_scope = _scopes(actor, idempotency_key)
    sent_command = ledger.transfer(
        ledger_id=paying.ledger_id,
        debit_account_id=payer.account_id,
        credit_account_id=paying.clearing_account_id,
        amount=minutes,
        kind=TRADE_SENT_KIND,
        memo=description,
        details={"paying_community_id": paying.id, "receiving_community_id": receiving.id, **parties},
        actor=actor.label,
        idempotency_scope=sent_scope,
        idempotency_key=idempotency_key,
    )
    # A savepoint around both sides: a refusal of the second undoes the first, even for a caller that carries on.
    with session.begin_nested():
        lock_ledgers(session, [paying.ledger_id, receiving.ledger_id])
        sent = ledger.post(session, sent_command, now=now)
        received_command = _received_command(
            sent, receiving, payee, minutes=minutes, actor=actor, scope=received_scope, idempotency_key=idempotency_key
        )
        received = ledger.post(session, received_command, now=now)
    trade = Trade(sent=sent, received=received)
    if not trade.replayed:
        details = {"minutes": minutes, **parties}
        _audit_trade(session, actor, "trade", paying, receiving, trade, reason=description, details=details, now=now)
    session.commit()
    return trade


def _audit_trade(session, actor, action: str, paying, receiving, subject: Trade, *, reason, details, now) -> None:
    """One entry in each community's log, so that both communities' coordinators see it; ``subject`` holds
    the transactions the entries are about, one for each side."""
    both = {
        "paying_community_id": paying.id,
        "receiving_community_id": receiving.id,
        "sent_transaction_id": subject.sent.id,
        "received_transaction_id": subject.received.id,
        **details,
    }
    for community, side, transaction_id in (
        (paying, "sent", subject.sent.id),
        (receiving, "received", subject.received.id),
    ):
        audit.record(
            session,
            actor=actor,
            community_id=community.id,
            action=f"{action}.{side}",
            subject_type="ledger_transaction",
            subject_id=transaction_id,
            reason=reason,
            details=both,
            now=now,
        )


def _received_side(session: Session, receiving: Community, sent_transaction_id: int) -> int:
    received_id = session.execute(
        sa.select(_transaction.id).where(
            _transaction.ledger_id == receiving.ledger_id,
            _transaction.kind == TRADE_RECEIVED_KIND,
            _transaction.details["paying_transaction_id"].as_integer() == sent_transaction_id,
        )
    ).scalar()
    if received_id is None:
        # Both sides are always posted together: a missing one means the books were changed by hand.
        raise LedgerCorrupted(f"trade {sent_transaction_id} has no receiving side")
    return received_id


def reverse_trade(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    transaction_id: int,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Trade:
    """A coordinator of the paying community (or an administrator) corrects a mistaken trade between
    communities: both sides are reversed together, with the reason, or neither (for instance when the payee has
    spent the minutes and would pass their floor). ``transaction_id`` names the paying side."""
    now = utc_now(now)
    transaction_id = _whole_number("transaction_id", transaction_id)
    reason = validation.text("reason", reason, maximum=MAX_REASON_LENGTH, required=True)
    access.require_coordinator(session, actor, community_id)
    paying = access.get_community(session, community_id)
    original = _transaction_in(session, paying, transaction_id)
    if original.kind != TRADE_SENT_KIND:
        raise errors.Conflict(
            "this is not a trade paid from this community", transaction_id=transaction_id, kind=original.kind
        )
    receiving = access.get_community(session, original.details["receiving_community_id"])
    originals = Trade(
        sent=ledger.load_posting(session, transaction_id),
        received=ledger.load_posting(session, _received_side(session, receiving, transaction_id)),
    )
    sent_scope, received_scope = _scopes(actor, idempotency_key)
    options = {"reason": reason, "actor": actor.label, "idempotency_key": idempotency_key, "now": now}
    with session.begin_nested():
        lock_ledgers(session, [paying.ledger_id, receiving.ledger_id])
        sent = ledger.reverse(session, transaction_id=originals.sent.id, idempotency_scope=sent_scope, **options)
        received = ledger.reverse(
            session, transaction_id=originals.received.id, idempotency_scope=received_scope, **options
        )
    reversal = Trade(sent=sent, received=received)
    if not reversal.replayed:
        details = {"sent_reversal_transaction_id": sent.id, "received_reversal_transaction_id": received.id}
        _audit_trade(
            session, actor, "trade.reversed", paying, receiving, originals, reason=reason, details=details, now=now
        )
    session.commit()
    return reversal


# --- finding what to correct ----------------------------------------------------------------------------------

MAX_TRANSACTIONS_SHOWN = 100
_entry = entry_table.c


@dataclass(frozen=True)
class TransactionLine:
    """One entry of a transaction: whose account (``account``: ``member``, ``pot``, ``issuance`` or
    ``clearing``; a member's name and membership) and the signed minutes it moved."""

    account: str
    membership_id: int | None
    name: str
    amount_minutes: int


@dataclass(frozen=True)
class TransactionSummary:
    """A posted transaction as a coordinator checks it before correcting it: what, when, who, how much, and
    whether it was reversed already (``reversed_by_id``) or is itself a reversal (``reverses_id``)."""

    id: int
    kind: str
    memo: str
    posted_at: datetime | None
    reverses_id: int | None
    reversed_by_id: int | None
    exchange_id: int | None
    lines: list[TransactionLine]


@dataclass(frozen=True)
class TransactionPage:
    transactions: list[TransactionSummary]
    # Pass as ``before`` for the next (older) page; None on the last page.
    next_cursor: int | None


def recent_transactions(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    membership_id: int | None = None,
    pot: bool = False,
    limit: int = 20,
    before: int | None = None,
) -> TransactionPage:
    """The community's posted transactions, newest first, for its coordinators: all of them, one member's
    (``membership_id``, a member of this community in any state) or the pot's (``pot``)."""
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_TRANSACTIONS_SHOWN)
    query = sa.select(_transaction.id).where(
        _transaction.ledger_id == community.ledger_id, _transaction.state == "posted"
    )
    account_id = community.pot_account_id if pot else None
    if membership_id is not None:
        membership_id = validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**31 - 1)
        member = access.get_in_community(session, Membership, membership_id, community_id, what="member")
        account_id = member.account_id
    if account_id is not None:
        query = query.where(
            _transaction.id.in_(sa.select(_entry.transaction_id).where(_entry.account_id == account_id))
        )
    if before is not None:
        query = query.where(_transaction.id < validation.whole_number("before", before, minimum=1, maximum=2**63 - 1))
    ids = list(session.execute(query.order_by(_transaction.id.desc()).limit(limit + 1)).scalars())
    return TransactionPage(
        transactions=_summaries(session, community, ids[:limit]),
        next_cursor=ids[limit - 1] if len(ids) > limit else None,
    )


def transaction_summary(
    *, session: Session, actor: Actor, community_id: int, transaction_id: int
) -> TransactionSummary:
    """One transaction of the community's ledger, for its coordinators; one of another ledger is not found."""
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    transaction_id = validation.whole_number("transaction_id", transaction_id, minimum=1, maximum=2**63 - 1)
    _transaction_in(session, community, transaction_id)
    return _summaries(session, community, [transaction_id])[0]


def _summaries(session: Session, community: Community, ids: list[int]) -> list[TransactionSummary]:
    """The transactions named by ``ids``, in that order, each with its entries named."""
    if not ids:
        return []
    rows = session.execute(
        sa.select(
            _transaction.id, _transaction.kind, _transaction.memo, _transaction.posted_at, _transaction.reverses_id
        ).where(_transaction.id.in_(ids))
    ).all()
    reversed_by = dict(
        session.execute(
            sa.select(_transaction.reverses_id, _transaction.id).where(_transaction.reverses_id.in_(ids))
        ).all()
    )
    exchanges = dict(
        session.execute(
            sa.select(Exchange.ledger_transaction_id, Exchange.id).where(
                Exchange.community_id == community.id, Exchange.ledger_transaction_id.in_(ids)
            )
        ).all()
    )
    lines = _named_lines(session, community, ids)
    by_id = {row.id: row for row in rows}
    return [
        TransactionSummary(
            id=transaction_id,
            kind=by_id[transaction_id].kind,
            memo=by_id[transaction_id].memo,
            posted_at=by_id[transaction_id].posted_at,
            reverses_id=by_id[transaction_id].reverses_id,
            reversed_by_id=reversed_by.get(transaction_id),
            exchange_id=exchanges.get(transaction_id),
            lines=lines[transaction_id],
        )
        for transaction_id in ids
    ]


def _named_lines(session: Session, community: Community, ids: list[int]) -> dict[int, list[TransactionLine]]:
    """Each transaction's entries, debits first, with whose account each one is."""
    entries = session.execute(
        sa.select(_entry.transaction_id, _entry.account_id, _entry.amount)
        .where(_entry.transaction_id.in_(ids))
        .order_by(_entry.amount, _entry.id)
    ).all()
    account_ids = {entry.account_id for entry in entries}
    members = {
        member.account_id: member
        for member in session.execute(sa.select(Membership).where(Membership.account_id.in_(account_ids))).scalars()
    }
    own_accounts = {
        community.pot_account_id: "pot",
        community.issuance_account_id: "issuance",
        community.clearing_account_id: "clearing",
    }
    lines: dict[int, list[TransactionLine]] = {transaction_id: [] for transaction_id in ids}
    for entry in entries:
        member = members.get(entry.account_id)
        lines[entry.transaction_id].append(
            TransactionLine(
                account="member" if member is not None else own_accounts.get(entry.account_id, "other"),
                membership_id=None if member is None else member.id,
                name="" if member is None else member.display_name,
                amount_minutes=entry.amount,
            )
        )
    return lines
