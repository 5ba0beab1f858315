"""Posting: transactions, holds, their posting and voiding, reversals and expiry (batches: ``ledger.batches``).

Every function works inside the caller's database transaction and never commits; each wraps its own writes in a
savepoint, so a refusal leaves the session exactly as it was and usable. Run a unit of work with
``ledger.database.transact`` to get a commit and whole-transaction retries.

Locking order, the same for every writer so that writers never deadlock: the ledger row first (which also
serialises the ledger's hash chain), then the transaction row, then accounts in ascending id order. Balances
change only through guarded updates whose WHERE clause carries the balance rule, so a concurrent change can
never slip between a check and a write.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger import errors
from ledger.commands import (
    MAX_BATCH_SIZE,
    MAX_MEMO_LENGTH,
    EntryRequest,
    PostTransaction,
    check_command,
    check_idempotency,
    check_text,
    fingerprint,
)
from ledger.hashing import chained_hash, content_prefix
from ledger.models import (
    Entry,
    Transaction,
    TransactionState,
    account_table,
    entry_table,
    ledger_table,
    transaction_table,
)

REVERSAL_KIND = "reversal"


@dataclass(frozen=True)
class Posting:
    """A transaction as it stands after an operation, with its entries; ``replayed`` when an idempotent retry
    returned an earlier result instead of writing anything."""

    transaction: Transaction
    entries: tuple[Entry, ...]
    replayed: bool = False

    @property
    def id(self) -> int:
        return self.transaction.id

    @property
    def state(self) -> str:
        return self.transaction.state


class WrittenPosting(Posting):
    """A posting made from the rows as written (by ``post``, and for each item of a batch): its ``transaction`` and
    ``entries`` become models only when read (most callers read the id alone; 1,500 models cost a batch of 500
    transfers ~20 ms)."""

    def __init__(self, transaction_id: int, transaction: dict, entries: list[dict]):
        object.__setattr__(self, "_rows", (transaction_id, transaction, entries))

    @property
    def id(self) -> int:
        return self._rows[0]

    @functools.cached_property
    def transaction(self) -> Transaction:
        # model_construct: the values the ORM constructor would set, without its instrumentation; a Posting's rows
        # are values, never added to a session.
        transaction_id, values, _ = self._rows
        return Transaction.model_construct(id=transaction_id, **values)

    @functools.cached_property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(Entry.model_construct(**values) for values in self._rows[2])


@dataclass(frozen=True)
class BatchResult:
    """One item of a batch: its posting, or the error that refused it."""

    index: int
    posting: Posting | None = None
    error: errors.LedgerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` if given (it must carry a time zone), else the current moment, in UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise errors.InvalidRequest("times given to the ledger need a time zone", field="now")
    return now.astimezone(UTC)


# --- reading ------------------------------------------------------------------------------------------------


def load_posting(session: Session, transaction_id: int, *, replayed: bool = False) -> Posting:
    """A transaction and its entries, as stored now."""
    row = session.execute(sa.select(transaction_table).where(transaction_table.c.id == transaction_id)).first()
    if row is None:
        raise errors.TransactionNotFound("no such transaction", transaction_id=transaction_id)
    entry_rows = session.execute(
        sa.select(entry_table).where(entry_table.c.transaction_id == transaction_id).order_by(entry_table.c.id)
    ).all()
    return Posting(
        transaction=Transaction(**row._mapping),
        entries=tuple(Entry(**entry._mapping) for entry in entry_rows),
        replayed=replayed,
    )


# The statements of a single posting's hot path are built once, with bound parameters: building and keying a
# statement costs more CPU than SQLAlchemy's execution of an already cached one.
_KEY_LOOKUP = sa.select(transaction_table.c.id, transaction_table.c.request_fingerprint).where(
    transaction_table.c.idempotency_scope == sa.bindparam("b_scope"),
    transaction_table.c.idempotency_key == sa.bindparam("b_key"),
)


def _existing_for_key(session: Session, scope: str | None, key: str | None):
    if key is None:
        return None
    return session.execute(_KEY_LOOKUP, {"b_scope": scope, "b_key": key}).first()


def _replay(session: Session, scope: str | None, key: str | None, fingerprint: str) -> Posting | None:
    """The earlier result for this idempotency key, or None if the key is new; refuses a different request."""
    existing = _existing_for_key(session, scope, key)
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        first, second = json.loads(existing.request_fingerprint), json.loads(fingerprint)
        differing = next((name for name in second if first.get(name) != second.get(name)), "operation")
        raise errors.IdempotencyKeyReused(
            f"this idempotency key was used for a different request (first difference: {differing})",
            idempotency_key=key,
            field=differing,
            transaction_id=existing.id,
        )
    return load_posting(session, existing.id, replayed=True)


# --- locking and the chain ------------------------------------------------------------------------------------


def lock_ledgers(session: Session, ledger_ids, *, missing_ok: bool = False) -> None:
    """Take the row locks of these ledgers, in ascending id order (SQLite's write lock already covers them)."""
    for ledger_id in sorted(set(ledger_ids)):
        found = session.execute(
            sa.select(ledger_table.c.id).where(ledger_table.c.id == ledger_id).with_for_update()
        ).first()
        if found is None and not missing_ok:
            raise errors.LedgerNotFound("no such ledger", ledger_id=ledger_id)


_ADVANCE_CHAIN = (
    ledger_table.update()
    .where(ledger_table.c.id == sa.bindparam("b_ledger"))
    .values(last_sequence=ledger_table.c.last_sequence + 1)
    .returning(ledger_table.c.last_sequence, ledger_table.c.head_hash)
)
_SET_HEAD = (
    ledger_table.update().where(ledger_table.c.id == sa.bindparam("b_ledger")).values(head_hash=sa.bindparam("b_head"))
)


def _advance_chain(session: Session, ledger_id: int) -> tuple[int, str]:
    row = session.execute(_ADVANCE_CHAIN, {"b_ledger": ledger_id}).first()
    if row is None:
        raise errors.LedgerNotFound("no such ledger", ledger_id=ledger_id)
    return row.last_sequence, row.head_hash


# --- balances -------------------------------------------------------------------------------------------------

_account = account_table.c
_OPEN = _account.status == "open"
_FLOOR_HOLDS = sa.or_(_account.floor.is_(None), _account.balance - _account.pending_debits >= _account.floor)
_CEILING_HOLDS = sa.or_(_account.ceiling.is_(None), _account.balance + _account.pending_credits <= _account.ceiling)


def _guarded_update(session: Session, *, ledger_id: int, account_id: int, values: dict, guards) -> sa.Row | None:
    """Apply ``values`` to the account only if, after the change, every guard still holds; one statement, so no
    concurrent change can come between the check and the write."""
    statement = (
        account_table.update()
        .where(_account.id == account_id, _account.ledger_id == ledger_id, *guards)
        .values(version=_account.version + 1, **values)
        .returning(_account.balance, _account.entry_count)
    )
    return session.execute(statement).first()


def _rule_after(amount, *, pending: bool, debit: bool):
    """The account changes and the guards for adding ``amount`` (negative when ``debit``) to it, as a hold or as a
    posting; ``amount`` is a bound parameter (see ``_ENTRY_UPDATES``)."""
    if pending:
        if debit:
            change = {"pending_debits": _account.pending_debits - amount}
            guard = sa.or_(
                _account.floor.is_(None), _account.balance - _account.pending_debits + amount >= _account.floor
            )
        else:
            change = {"pending_credits": _account.pending_credits + amount}
            guard = sa.or_(
                _account.ceiling.is_(None), _account.balance + _account.pending_credits + amount <= _account.ceiling
            )
        return change, [_OPEN, guard]
    change = {"balance": _account.balance + amount, "entry_count": _account.entry_count + 1}
    if debit:
        guard = sa.or_(_account.floor.is_(None), _account.balance - _account.pending_debits + amount >= _account.floor)
    else:
        guard = sa.or_(
            _account.ceiling.is_(None), _account.balance + _account.pending_credits + amount <= _account.ceiling
        )
    return change, [_OPEN, guard]


def _entry_update(*, pending: bool, debit: bool):
    """The guarded update adding ``:b_amount`` to account ``:b_account`` of ledger ``:b_ledger``."""
    values, guards = _rule_after(sa.bindparam("b_amount", type_=_account.balance.type), pending=pending, debit=debit)
    return (
        account_table.update()
        .where(_account.id == sa.bindparam("b_account"), _account.ledger_id == sa.bindparam("b_ledger"), *guards)
        .values(version=_account.version + 1, **values)
        .returning(_account.balance, _account.entry_count)
    )


# (pending, debit) -> the entry's guarded update
_ENTRY_UPDATES = {
    (pending, debit): _entry_update(pending=pending, debit=debit)
    for pending in (False, True)
    for debit in (False, True)
}


def _why_refused(session: Session, *, ledger_id: int, account_id: int, amount: int) -> errors.LedgerError:
    """After a guarded update matched no row: which rule refused it, with the figures."""
    account = session.execute(sa.select(account_table).where(_account.id == account_id)).first()
    return _refusal(account, ledger_id=ledger_id, account_id=account_id, amount=amount)


def _guard_holds(account, amount: int) -> bool:
    """``_rule_after``'s guards, evaluated on an account's figures in memory (for batches, which check their items
    in memory and write once): open, and within the floor (counting pending debits) when ``amount`` debits it,
    within the ceiling (counting pending credits) when it credits it; the same for a hold and for a posting."""
    if account.status != "open":
        return False
    if amount < 0:
        return account.floor is None or account.balance - account.pending_debits + amount >= account.floor
    return account.ceiling is None or account.balance + account.pending_credits + amount <= account.ceiling


def _refusal(account, *, ledger_id: int, account_id: int, amount: int) -> errors.LedgerError:
    """Which rule refuses ``amount`` on ``account`` (its figures, or None if there is no such account), with the
    figures (also what ``_why_refused`` answers after a guarded update matched no row)."""
    if account is None:
        return errors.AccountNotFound("no such account", account_id=account_id)
    if account.ledger_id != ledger_id:
        return errors.LedgersDiffer("an account belongs to another ledger", account_id=account_id, ledger_id=ledger_id)
    if account.status == "frozen":
        return errors.AccountFrozen("the account is frozen", account_id=account_id)
    if account.status == "closed":
        return errors.AccountClosed("the account is closed", account_id=account_id)
    if amount < 0:
        available = account.balance - account.pending_debits
        return errors.BalanceBelowFloor(
            "this would take the account below its floor",
            account_id=account_id,
            amount=-amount,
            available=available,
            floor=account.floor,
            available_above_floor=available - account.floor,
        )
    reach = account.balance + account.pending_credits
    return errors.BalanceAboveCeiling(
        "this would take the account above its ceiling",
        account_id=account_id,
        amount=amount,
        balance_with_pending=reach,
        ceiling=account.ceiling,
        room_below_ceiling=account.ceiling - reach,
    )


def _apply_entries(session: Session, *, ledger_id: int, entries, pending: bool) -> dict[int, sa.Row]:
    """Change each account in ascending id order, or raise the rule that refused one. Returns the new figures."""
    results = {}
    for entry in sorted(entries, key=lambda item: item.account_id):
        statement = _ENTRY_UPDATES[pending, entry.amount < 0]
        parameters = {"b_amount": entry.amount, "b_account": entry.account_id, "b_ledger": ledger_id}
        row = session.execute(statement, parameters).first()
        if row is None:
            raise _why_refused(session, ledger_id=ledger_id, account_id=entry.account_id, amount=entry.amount)
        results[entry.account_id] = row
    return results


# --- posting --------------------------------------------------------------------------------------------------


def hash_prefix(command: PostTransaction, now: datetime) -> str:
    """``ledger.hashing.content_prefix`` of the transaction ``command`` makes at ``now``: all of its hashed text
    that does not depend on its place in the chain."""
    return content_prefix(
        ledger_id=command.ledger_id,
        kind=command.kind,
        memo=command.memo,
        details=command.details,
        actor=command.actor,
        created_at=now,
        expires_at=command.expires_at,
        idempotency_scope=command.idempotency_scope,
        idempotency_key=command.idempotency_key,
        entries=((entry.account_id, entry.amount) for entry in command.entries),
    )


def transaction_row(
    command: PostTransaction,
    *,
    sequence: int,
    previous_hash: str,
    now: datetime,
    reverses_id: int | None,
    fingerprint: str | None,
    prefix: str | None = None,
) -> dict:
    """The ``ledger_transaction`` row for ``command`` as the ``sequence``-th of its ledger's chain, after
    ``previous_hash``: its values and its hash (one posting writes it, and a batch for each of its items, giving the
    ``hash_prefix`` it made before taking the ledger's lock)."""
    if prefix is None:
        prefix = hash_prefix(command, now)
    digest = chained_hash(prefix, previous_hash=previous_hash, reverses_id=reverses_id, sequence=sequence)
    return {
        "ledger_id": command.ledger_id,
        "sequence": sequence,
        "kind": command.kind,
        "state": TransactionState.PENDING.value if command.pending else TransactionState.POSTED.value,
        "memo": command.memo,
        "details": dict(command.details),
        "actor": command.actor,
        "created_at": now,
        "posted_at": None if command.pending else now,
        "voided_at": None,
        "void_reason": "",
        "expires_at": command.expires_at,
        "reverses_id": reverses_id,
        "idempotency_scope": command.idempotency_scope,
        "idempotency_key": command.idempotency_key,
        "request_fingerprint": fingerprint,
        "previous_hash": previous_hash,
        "hash": digest,
    }


_INSERT_TRANSACTION = transaction_table.insert().returning(transaction_table.c.id)
_INSERT_ENTRIES = entry_table.insert()


def _insert(
    session: Session, command: PostTransaction, *, now: datetime, reverses_id: int | None, fingerprint: str | None
) -> Posting:
    sequence, previous_hash = _advance_chain(session, command.ledger_id)
    figures = _apply_entries(session, ledger_id=command.ledger_id, entries=command.entries, pending=command.pending)
    transaction_values = transaction_row(
        command,
        sequence=sequence,
        previous_hash=previous_hash,
        now=now,
        reverses_id=reverses_id,
        fingerprint=fingerprint,
    )
    digest = transaction_values["hash"]
    transaction_id = session.execute(_INSERT_TRANSACTION, transaction_values).scalar_one()
    entry_values = [
        {
            "ledger_id": command.ledger_id,
            "transaction_id": transaction_id,
            "account_id": entry.account_id,
            "amount": entry.amount,
            "account_sequence": None if command.pending else figures[entry.account_id].entry_count,
            "balance_after": None if command.pending else figures[entry.account_id].balance,
            "posted_at": None if command.pending else now,
        }
        for entry in command.entries
    ]
    session.execute(_INSERT_ENTRIES, entry_values)
    session.execute(_SET_HEAD, {"b_ledger": command.ledger_id, "b_head": digest})
    return WrittenPosting(transaction_id, transaction_values, entry_values)


def _post_once(
    session: Session, command: PostTransaction, *, now: datetime, reverses_id: int | None, fingerprint: str
) -> Posting:
    """Replay, or insert in a savepoint; if a concurrent writer took the same key or reversed the same
    transaction first, answer as a retry would."""
    replay = _replay(session, command.idempotency_scope, command.idempotency_key, fingerprint)
    if replay is not None:
        return replay
    stored_fingerprint = fingerprint if command.idempotency_key is not None else None
    try:
        with session.begin_nested():
            return _insert(session, command, now=now, reverses_id=reverses_id, fingerprint=stored_fingerprint)
    except sa.exc.IntegrityError:
        replay = _replay(session, command.idempotency_scope, command.idempotency_key, fingerprint)
        if replay is not None:
            return replay
        if reverses_id is not None:
            raise _already_reversed(session, reverses_id) from None
        raise


def post(session: Session, command: PostTransaction, *, now: datetime | None = None) -> Posting:
    """Post ``command`` at once, or hold it as pending when ``command.pending``; all of it or none of it."""
    now = utc_now(now)
    check_command(command, now)
    return _post_once(session, command, now=now, reverses_id=None, fingerprint=command.fingerprint())


# --- pending: post, void, expire ------------------------------------------------------------------------------


def _pending_row(session: Session, transaction_id: int, *, now: datetime, posting: bool) -> sa.Row:
    """Lock the ledger, then move the transaction out of pending; refuse with why if it is not pending."""
    ledger_id = session.execute(
        sa.select(transaction_table.c.ledger_id).where(transaction_table.c.id == transaction_id)
    ).scalar_one_or_none()
    if ledger_id is None:
        raise errors.PendingNotFound("no such pending transaction", transaction_id=transaction_id)
    lock_ledgers(session, [ledger_id])
    columns = transaction_table.c
    conditions = [columns.id == transaction_id, columns.state == TransactionState.PENDING.value]
    if posting:
        conditions.append(sa.or_(columns.expires_at.is_(None), columns.expires_at > now))
        values = {"state": TransactionState.POSTED.value, "posted_at": now}
    else:
        values = {"state": TransactionState.VOIDED.value, "voided_at": now}
    row = session.execute(
        transaction_table.update().where(*conditions).values(**values).returning(columns.id, columns.ledger_id)
    ).first()
    if row is not None:
        return row
    current = session.execute(sa.select(columns.state, columns.expires_at).where(columns.id == transaction_id)).one()
    if current.state == TransactionState.POSTED.value:
        raise errors.PendingAlreadyPosted("this transaction was posted already", transaction_id=transaction_id)
    if current.state == TransactionState.VOIDED.value:
        raise errors.PendingAlreadyVoided("this transaction was voided already", transaction_id=transaction_id)
    raise errors.PendingExpired(
        "this hold expired; it can only be voided",
        transaction_id=transaction_id,
        expires_at=current.expires_at.isoformat(),
    )


def _pending_entries(session: Session, transaction_id: int) -> list[sa.Row]:
    return session.execute(
        sa.select(entry_table.c.id, entry_table.c.account_id, entry_table.c.amount)
        .where(entry_table.c.transaction_id == transaction_id)
        .order_by(entry_table.c.account_id)
    ).all()


def post_pending(session: Session, *, transaction_id: int, now: datetime | None = None) -> Posting:
    """Post a pending transaction: its held amounts become balance. Once, and not after it expired."""
    now = utc_now(now)
    with session.begin_nested():
        row = _pending_row(session, transaction_id, now=now, posting=True)
        for entry in _pending_entries(session, transaction_id):
            held = "pending_debits" if entry.amount < 0 else "pending_credits"
            values = {
                "balance": _account.balance + entry.amount,
                held: getattr(_account, held) - abs(entry.amount),
                "entry_count": _account.entry_count + 1,
            }
            figures = _guarded_update(
                session, ledger_id=row.ledger_id, account_id=entry.account_id, values=values, guards=[_OPEN]
            )
            if figures is None:
                raise _why_refused(session, ledger_id=row.ledger_id, account_id=entry.account_id, amount=entry.amount)
            session.execute(
                entry_table.update()
                .where(entry_table.c.id == entry.id)
                .values(account_sequence=figures.entry_count, balance_after=figures.balance, posted_at=now)
            )
    return load_posting(session, transaction_id)


def void_pending(session: Session, *, transaction_id: int, reason: str = "", now: datetime | None = None) -> Posting:
    """Void a pending transaction: release what it held. Once; allowed on frozen accounts and after expiry."""
    now = utc_now(now)
    check_text("reason", reason, MAX_MEMO_LENGTH)
    with session.begin_nested():
        row = _pending_row(session, transaction_id, now=now, posting=False)
        session.execute(
            transaction_table.update().where(transaction_table.c.id == transaction_id).values(void_reason=reason)
        )
        for entry in _pending_entries(session, transaction_id):
            held = "pending_debits" if entry.amount < 0 else "pending_credits"
            values = {held: getattr(_account, held) - abs(entry.amount)}
            _guarded_update(session, ledger_id=row.ledger_id, account_id=entry.account_id, values=values, guards=[])
    return load_posting(session, transaction_id)


def expire_due(
    session: Session, *, now: datetime | None = None, ledger_id: int | None = None, limit: int = 500
) -> list[Posting]:
    """Void every pending transaction whose expiry has passed (in one ledger, or in all), at most ``limit`` per
    call, oldest ledger first, and return them."""
    now = utc_now(now)
    if not 1 <= limit <= MAX_BATCH_SIZE:
        raise errors.InvalidRequest(f"limit must be between 1 and {MAX_BATCH_SIZE}", field="limit")
    columns = transaction_table.c
    due = session.execute(
        sa.select(columns.id, columns.ledger_id)
        .where(columns.state == TransactionState.PENDING.value, columns.expires_at <= now)
        .where(sa.true() if ledger_id is None else columns.ledger_id == ledger_id)
        .order_by(columns.ledger_id, columns.id)
        .limit(limit)
    ).all()
    lock_ledgers(session, {row.ledger_id for row in due})
    voided = []
    for row in due:
        try:
            voided.append(void_pending(session, transaction_id=row.id, reason="expired", now=now))
        except (errors.PendingAlreadyPosted, errors.PendingAlreadyVoided):
            continue  # settled by someone else between our read and our lock
    return voided


# --- reversal -------------------------------------------------------------------------------------------------


def _already_reversed(session: Session, transaction_id: int) -> errors.AlreadyReversed:
    reversal_id = session.execute(
        sa.select(transaction_table.c.id).where(transaction_table.c.reverses_id == transaction_id)
    ).scalar_one_or_none()
    return errors.AlreadyReversed(
        "this transaction was reversed already", transaction_id=transaction_id, reversal_id=reversal_id
    )


def reverse(
    session: Session,
    *,
    transaction_id: int,
    reason: str,
    actor: str = "",
    idempotency_scope: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Posting:
    """Correct a posted transaction by posting its opposite, naming the original and the reason. At most once;
    the opposite entries obey the balance rules like any other posting."""
    now = utc_now(now)
    check_text("reason", reason, MAX_MEMO_LENGTH)
    if not reason.strip():
        raise errors.InvalidRequest("a reversal needs a reason", field="reason")
    check_idempotency(idempotency_scope, idempotency_key)
    request = fingerprint({"operation": "reverse", "transaction_id": transaction_id, "memo": reason})
    replay = _replay(session, idempotency_scope, idempotency_key, request)
    if replay is not None:
        return replay
    original = session.execute(
        sa.select(transaction_table.c.ledger_id, transaction_table.c.state).where(
            transaction_table.c.id == transaction_id
        )
    ).first()
    if original is None:
        raise errors.TransactionNotFound("no such transaction", transaction_id=transaction_id)
    if original.state != TransactionState.POSTED.value:
        raise errors.TransactionNotPosted(
            "only a posted transaction can be reversed; void a pending one",
            transaction_id=transaction_id,
            state=original.state,
        )
    lock_ledgers(session, [original.ledger_id])
    if session.execute(
        sa.select(transaction_table.c.id).where(transaction_table.c.reverses_id == transaction_id)
    ).first():
        raise _already_reversed(session, transaction_id)
    entries = session.execute(
        sa.select(entry_table.c.account_id, entry_table.c.amount).where(entry_table.c.transaction_id == transaction_id)
    ).all()
    command = PostTransaction(
        ledger_id=original.ledger_id,
        entries=tuple(EntryRequest(account_id=entry.account_id, amount=-entry.amount) for entry in entries),
        kind=REVERSAL_KIND,
        memo=reason,
        details={"reverses_transaction_id": transaction_id},
        actor=actor,
        idempotency_scope=idempotency_scope,
        idempotency_key=idempotency_key,
    )
    check_command(command, now)
    return _post_once(session, command, now=now, reverses_id=transaction_id, fingerprint=request)
