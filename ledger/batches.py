"""Batches: many transactions posted in one database transaction with a few set-based statements.

``post_batch`` answers and writes exactly as posting each command in turn with ``ledger.post`` would (the same
refusals with the same figures, sequence numbers, hashes, account sequences and balances after), but reads and
writes in bulk, so that a batch costs a handful of round trips instead of about ten per item:

1. before any lock: check each command, take its fingerprint and the hashed text of its transaction up to the
   chain's part (``ledger.core.hash_prefix``), and read which idempotency keys exist; then lock the batch's ledger
   rows (ascending id) and read their chains' heads; lock the accounts the batch names (ascending id, one
   ``SELECT ... FOR UPDATE``) and read their figures;
2. apply the commands in order in memory with the ledger's balance rules (``ledger.core._guard_holds`` and
   ``_refusal``: an open account, the floor counting pending debits, the ceiling counting pending credits),
   numbering each transaction in its ledger's chain and each posted entry on its account;
3. write: every transaction (one multi-row INSERT, its ids taken in sequence order), every entry, each changed
   account once and each ledger's head once. An account's UPDATE is guarded: the row must still be at the
   version read, open, and within the rules its changes were checked against, or the batch fails.

The locks are those of ``ledger.core``'s order: ledger rows first (they serialise the ledger's writers and its
hash chain), then accounts in ascending id order; an account of another ledger is only read, never locked.
An idempotency key repeated within the batch is answered as a retry would be: the items before it are written
first, and then it replays (or is refused if the request differs). If a concurrent transaction
(on another ledger, or on this one between the reading of the keys and the lock) takes one of the batch's keys
first, the INSERT raises ``IntegrityError``; the unit of work is then retried whole (``ledger.transact``,
timebank's ``Database.run``) and the retry replays that item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from ledger import errors
from ledger.commands import MAX_BATCH_SIZE, PostTransaction, check_command
from ledger.core import (
    BatchResult,
    Posting,
    WrittenPosting,
    _guard_holds,
    _refusal,
    _replay,
    hash_prefix,
    transaction_row,
    utc_now,
)
from ledger.database import insert_rows
from ledger.models import (
    account_table,
    entry_table,
    ledger_table,
    transaction_table,
)

# Ids per IN list, and accounts per UPDATE: well inside every driver's limit on bound parameters.
CHUNK = 1000
_FIGURES = ("balance", "pending_debits", "pending_credits", "entry_count", "version")


def post_batch(
    session: Session, commands: Sequence[PostTransaction], *, atomic: bool, now: datetime | None = None
) -> list[BatchResult]:
    """Post many transactions in this database transaction, one result per command, in order.

    ``atomic=True``: all or nothing. At the first refusal nothing is written; that item carries its error and
    every other item ``BatchItemNotApplied``. ``atomic=False``: each item succeeds or fails on its own, and a
    refused item leaves the balances as they were for the items after it.
    """
    if len(commands) > MAX_BATCH_SIZE:
        raise errors.BatchTooLarge(
            f"a batch holds at most {MAX_BATCH_SIZE} transactions", size=len(commands), maximum=MAX_BATCH_SIZE
        )
    now = utc_now(now)
    # What needs no database, before the locks: they are held until the caller commits.
    requests = [_request(command, now) for command in commands]
    well_formed = [
        command for command, request in zip(commands, requests, strict=True) if isinstance(request, _Request)
    ]
    batch = _Batch(session, well_formed, now, atomic=atomic)
    outcomes = []
    for index, (command, request) in enumerate(zip(commands, requests, strict=True)):
        try:
            if isinstance(request, errors.LedgerError):
                raise request
            outcomes.append(batch.apply(command, request))
        except errors.LedgerError as error:
            if atomic:
                batch.discard()
                return [
                    BatchResult(index=other, error=error) if other == index else _not_applied(other, index)
                    for other in range(len(commands))
                ]
            outcomes.append(error)
    batch.write()
    batch.finish()
    return [_result(index, outcome) for index, outcome in enumerate(outcomes)]


@dataclass(frozen=True)
class _Request:
    """A well-formed command's fingerprint and the hashed text of its transaction up to the chain's part."""

    fingerprint: str
    hash_prefix: str


def _request(command: PostTransaction, now: datetime) -> _Request | errors.LedgerError:
    """What can be made of the command before the ledger is locked, or why it is malformed."""
    try:
        check_command(command, now)
        return _Request(command.fingerprint(), hash_prefix(command, now))
    except errors.LedgerError as error:
        return error


def _not_applied(index: int, failed_index: int) -> BatchResult:
    return BatchResult(
        index=index,
        error=errors.BatchItemNotApplied(
            "not applied: another item of this all-or-nothing batch was refused", failed_index=failed_index
        ),
    )


def _result(index: int, outcome) -> BatchResult:
    if isinstance(outcome, errors.LedgerError):
        return BatchResult(index=index, error=outcome)
    if isinstance(outcome, _Planned):
        return BatchResult(index=index, posting=outcome.posting)
    return BatchResult(index=index, posting=outcome)


@dataclass
class _Account:
    """An account's figures as the batch has changed them so far; ``written_version`` is the row's version in
    the database, and ``debited``/``credited`` say which of its rules the changes since then were checked
    against."""

    id: int
    ledger_id: int
    status: str
    balance: int
    pending_debits: int
    pending_credits: int
    floor: int | None
    ceiling: int | None
    entry_count: int
    version: int
    written_version: int
    debited: bool = False
    credited: bool = False

    def change(self, amount: int, *, pending: bool) -> None:
        """As ``ledger.core._rule_after`` changes the row, once its guard held."""
        if pending:
            if amount < 0:
                self.pending_debits -= amount
            else:
                self.pending_credits += amount
        else:
            self.balance += amount
            self.entry_count += 1
        self.version += 1
        if amount < 0:
            self.debited = True
        else:
            self.credited = True


@dataclass
class _Planned:
    """A transaction applied in memory, not yet written; ``posting`` once it is."""

    transaction: dict
    entries: list[dict]
    posting: Posting | None = None


class _Batch:
    def __init__(self, session: Session, commands: Sequence[PostTransaction], now: datetime, *, atomic: bool):
        """Lock and read what the (well-formed) ``commands`` name."""
        self.session = session
        self.now = now
        self.atomic = atomic
        self.savepoint = None
        # Read before the locks, which are held until the commit: a key another writer takes in between makes the
        # INSERT fail, and the unit of work is retried (see the module's docstring).
        self.existing_keys = _existing_keys(session, _keys(commands))
        # An item naming a missing ledger is refused on its own.
        self.chains = _lock_chains(session, {command.ledger_id for command in commands})
        self.written_chains = dict(self.chains)
        self.accounts = _lock_accounts(session, _account_ids(commands), sorted(self.chains))
        self.planned: list[_Planned] = []
        self.planned_keys: set[tuple[str, str]] = set()
        self.changed: dict[int, _Account] = {}

    def apply(self, command: PostTransaction, request: _Request) -> Posting | _Planned:
        """Replay ``command`` (a well-formed one) or apply it in memory, as ``ledger.post`` would; raise the refusal
        if it is refused."""
        key = (command.idempotency_scope, command.idempotency_key)
        if command.idempotency_key is not None:
            if key in self.planned_keys:
                self._write_before_replay()
            if key in self.existing_keys:
                replay = _replay(self.session, command.idempotency_scope, command.idempotency_key, request.fingerprint)
                if replay is not None:
                    return replay
        if command.ledger_id not in self.chains:
            raise errors.LedgerNotFound("no such ledger", ledger_id=command.ledger_id)
        ordered = sorted(command.entries, key=lambda entry: entry.account_id)
        for entry in ordered:
            account = self.accounts.get(entry.account_id)
            if account is None or account.ledger_id != command.ledger_id or not _guard_holds(account, entry.amount):
                raise _refusal(account, ledger_id=command.ledger_id, account_id=entry.account_id, amount=entry.amount)
        for entry in ordered:
            account = self.accounts[entry.account_id]
            account.change(entry.amount, pending=command.pending)
            self.changed[account.id] = account
        planned = self._plan(command, request)
        if command.idempotency_key is not None:
            self.planned_keys.add(key)
        return planned

    def _plan(self, command: PostTransaction, request: _Request) -> _Planned:
        """The rows ``ledger.core._insert`` would write for ``command``, next in its ledger's chain."""
        sequence, previous_hash = self.chains[command.ledger_id]
        sequence += 1
        pending = command.pending
        transaction = transaction_row(
            command,
            sequence=sequence,
            previous_hash=previous_hash,
            now=self.now,
            reverses_id=None,
            fingerprint=request.fingerprint if command.idempotency_key is not None else None,
            prefix=request.hash_prefix,
        )
        self.chains[command.ledger_id] = (sequence, transaction["hash"])
        entries = []
        for entry in command.entries:
            account = self.accounts[entry.account_id]
            entries.append(
                {
                    "ledger_id": command.ledger_id,
                    "transaction_id": None,
                    "account_id": entry.account_id,
                    "amount": entry.amount,
                    "account_sequence": None if pending else account.entry_count,
                    "balance_after": None if pending else account.balance,
                    "posted_at": None if pending else self.now,
                }
            )
        planned = _Planned(transaction, entries)
        self.planned.append(planned)
        return planned

    def _write_before_replay(self) -> None:
        """A key repeats within the batch: write what is planned so that the repeat replays it from the database.
        In an all-or-nothing batch, inside a savepoint, so that a later refusal can still undo it."""
        if self.atomic and self.savepoint is None:
            self.savepoint = self.session.begin_nested()
        self.write()

    def write(self) -> None:
        """Write everything planned since the last write: transactions, entries, accounts, chain heads."""
        if not self.planned:
            return
        session = self.session
        transactions = [planned.transaction for planned in self.planned]
        ids = insert_rows(session, transaction_table, transactions, returning_ids=True)
        entries = []
        for planned, transaction_id in zip(self.planned, ids, strict=True):
            for entry in planned.entries:
                entry["transaction_id"] = transaction_id
            entries += planned.entries
        insert_rows(session, entry_table, entries)
        _update_accounts(session, list(self.changed.values()))
        _update_chains(session, self.written_chains, self.chains)
        for planned, transaction_id in zip(self.planned, ids, strict=True):
            planned.posting = WrittenPosting(transaction_id, planned.transaction, planned.entries)
        for account in self.changed.values():
            account.written_version = account.version
            account.debited = account.credited = False
        self.written_chains = dict(self.chains)
        self.existing_keys |= self.planned_keys
        self.planned, self.planned_keys, self.changed = [], set(), {}

    def discard(self) -> None:
        """An all-or-nothing batch was refused: undo what was written, forget what was planned."""
        if self.savepoint is not None:
            self.savepoint.rollback()
        self.planned = []

    def finish(self) -> None:
        if self.savepoint is not None:
            self.savepoint.commit()


# --- reading and locking --------------------------------------------------------------------------------------


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _account_ids(commands: Sequence[PostTransaction]) -> list[int]:
    return sorted({entry.account_id for command in commands for entry in command.entries})


def _keys(commands: Sequence[PostTransaction]) -> list[tuple[str, str]]:
    return sorted(
        {
            (command.idempotency_scope, command.idempotency_key)
            for command in commands
            if command.idempotency_key is not None
        }
    )


def _lock_chains(session: Session, ledger_ids: set[int]) -> dict[int, tuple[int, str]]:
    """Lock these ledgers' rows in ascending id order; each existing one's last sequence and head hash."""
    if not ledger_ids:
        return {}
    columns = ledger_table.c
    rows = session.execute(
        sa.select(columns.id, columns.last_sequence, columns.head_hash)
        .where(columns.id.in_(sorted(ledger_ids)))
        .order_by(columns.id)
        .with_for_update()
    ).all()
    return {row.id: (row.last_sequence, row.head_hash) for row in rows}


_ACCOUNT_COLUMNS = [
    account_table.c[name]
    for name in (
        "id",
        "ledger_id",
        "status",
        "balance",
        "pending_debits",
        "pending_credits",
        "floor",
        "ceiling",
        "entry_count",
        "version",
    )
]


def _lock_accounts(session: Session, account_ids: list[int], ledger_ids: list[int]) -> dict[int, _Account]:
    """The named accounts by id: those of the batch's ledgers locked in ascending id order, any other only read
    (an item naming it is refused: the account belongs to another ledger)."""
    columns = account_table.c
    found = {}
    if ledger_ids:
        for chunk in _chunks(account_ids):
            rows = session.execute(
                sa.select(*_ACCOUNT_COLUMNS)
                .where(columns.id.in_(chunk), columns.ledger_id.in_(ledger_ids))
                .order_by(columns.id)
                .with_for_update()
            ).all()
            found.update((row.id, _Account(*row, written_version=row.version)) for row in rows)
    others = [account_id for account_id in account_ids if account_id not in found]
    for chunk in _chunks(others):
        rows = session.execute(sa.select(*_ACCOUNT_COLUMNS).where(columns.id.in_(chunk))).all()
        found.update((row.id, _Account(*row, written_version=row.version)) for row in rows)
    return found


def _existing_keys(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (scope, key) pairs a transaction holds. Asked as scopes and keys apart (one scan of the
    unique index, where a list of pairs makes PostgreSQL probe it once per pair), the pairs sorted out here."""
    columns = transaction_table.c
    wanted = set(keys)
    found = set()
    for chunk in _chunks(keys):
        rows = session.execute(
            sa.select(columns.idempotency_scope, columns.idempotency_key).where(
                columns.idempotency_scope.in_(sorted({scope for scope, _ in chunk})),
                columns.idempotency_key.in_(sorted({key for _, key in chunk})),
            )
        ).all()
        found.update((row.idempotency_scope, row.idempotency_key) for row in rows)
    return found & wanted


# --- writing --------------------------------------------------------------------------------------------------

_SOURCE_TYPES = {
    "id": sa.BigInteger,
    "ledger_id": sa.BigInteger,
    "written_version": sa.Integer,
    "debited": sa.Boolean,
    "credited": sa.Boolean,
    "balance": sa.BigInteger,
    "pending_debits": sa.BigInteger,
    "pending_credits": sa.BigInteger,
    "entry_count": sa.BigInteger,
    "version": sa.Integer,
}


def _account_update(source) -> sa.Update:
    """Set each account's new figures from ``source`` (its columns by name), only if the row is still at the
    version the batch read and, after the change, open and within the rules the batch checked its changes
    against: the floor (counting pending debits) if anything debited it, the ceiling (counting pending credits)
    if anything credited it. ``_rule_after``'s guards, on the final figures: each change checked its rule
    before it, and no later change of the other kind can break that rule."""
    account = account_table.c
    return (
        account_table.update()
        .where(
            account.id == source["id"],
            account.ledger_id == source["ledger_id"],
            account.version == source["written_version"],
            account.status == "open",
            sa.or_(
                sa.not_(source["debited"]),
                account.floor.is_(None),
                source["balance"] - source["pending_debits"] >= account.floor,
            ),
            sa.or_(
                sa.not_(source["credited"]),
                account.ceiling.is_(None),
                source["balance"] + source["pending_credits"] <= account.ceiling,
            ),
        )
        .values({name: source[name] for name in _FIGURES})
    )


def _unnest_source() -> dict:
    """PostgreSQL: the new figures as rows from one array per column, so that one statement of fixed text
    updates them all."""
    names = list(_SOURCE_TYPES)
    rows = (
        sa.func.unnest(
            *[sa.cast(sa.bindparam(f"changed_{name}"), postgresql.ARRAY(_SOURCE_TYPES[name])) for name in names]
        )
        .table_valued(*[sa.column(name, _SOURCE_TYPES[name]) for name in names])
        .render_derived(name="changed")
    )
    return {name: rows.c[name] for name in names}


_UNNEST_UPDATE = _account_update(_unnest_source())
_MANY_UPDATE = _account_update(
    {name: sa.bindparam(f"changed_{name}", type_=type_) for name, type_ in _SOURCE_TYPES.items()}
)


def _update_accounts(session: Session, accounts: list[_Account]) -> None:
    """Write each changed account's figures, guarded; every row must match."""
    accounts = sorted(accounts, key=lambda account: account.id)
    matched = 0
    if session.get_bind().dialect.name == "postgresql":
        for chunk in _chunks(accounts):
            arrays = {f"changed_{name}": [getattr(account, name) for account in chunk] for name in _SOURCE_TYPES}
            matched += session.execute(_UNNEST_UPDATE, arrays).rowcount
    else:
        parameters = [{f"changed_{name}": getattr(account, name) for name in _SOURCE_TYPES} for account in accounts]
        for chunk in _chunks(parameters):
            matched += session.execute(_MANY_UPDATE, list(chunk)).rowcount
    if matched != len(accounts):
        raise RuntimeError(f"a batch's account update matched {matched} of {len(accounts)} rows")


def _update_chains(session: Session, written: dict[int, tuple[int, str]], chains: dict[int, tuple[int, str]]) -> None:
    """Advance each ledger's chain to its new head, guarded by the sequence it had."""
    columns = ledger_table.c
    for ledger_id, (sequence, head_hash) in chains.items():
        before = written[ledger_id][0]
        if sequence == before:
            continue
        updated = session.execute(
            ledger_table.update()
            .where(columns.id == ledger_id, columns.last_sequence == before)
            .values(last_sequence=sequence, head_hash=head_hash)
        ).rowcount
        if updated != 1:
            raise RuntimeError(f"ledger {ledger_id}'s chain moved during a batch")
