"""Verification: recompute the books from the entries and check them against what is stored.

Checked for every ledger: each transaction has two or more non-zero entries on accounts of its own ledger that
sum to zero; the hash chain runs unbroken from sequence 1 to the ledger's head; transaction ids grow with the
sequence (each is taken under the ledger's lock, so a row given another id stands out); every account's balance,
pending debits, pending credits and entry count equal what its entries say; each posted entry's balance-after
equals the running sum of the account's posted entries; and the ledger's balances sum to zero.

Problems are listed in the order of the chain, so the first one names the first bad transaction: the edited one
(when its content no longer matches its hash, or when it was hashed again and the next one no longer links to
it), the one after a gap (for a deleted one), the one out of place (for swapped sequence numbers or ids).

Reads stream in order, so memory grows with the number of accounts, not with history.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.hashing import transaction_hash
from ledger.models import GENESIS_HASH, account_table, entry_table, ledger_table, transaction_table

MAX_PROBLEMS = 100
STREAM_BATCH = 2000


@dataclass(frozen=True)
class Problem:
    table: str
    row_id: int
    message: str

    def __str__(self) -> str:
        return f"{self.table} id={self.row_id}: {self.message}"


@dataclass
class VerificationReport:
    ledgers: int = 0
    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, table: str, row_id: int, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(table, row_id, message))

    def summary(self) -> str:
        counts = (
            f"{self.ledgers} ledgers, {self.accounts} accounts, "
            f"{self.transactions} transactions, {self.entries} entries"
        )
        if self.ok:
            return f"OK: verified {counts}"
        return f"FAILED: {len(self.problems)} problem(s) in {counts}; first: {self.problems[0]}"


@dataclass
class _Totals:
    balance: int = 0
    pending_debits: int = 0
    pending_credits: int = 0
    entry_count: int = 0


Progress = Callable[[int, int], None]


def verify(session: Session, *, ledger_id: int | None = None, progress: Progress | None = None) -> VerificationReport:
    """Check every ledger (or one) and return what was found; ``progress(done, total)`` is called as
    transactions are checked."""
    report = VerificationReport()
    query = sa.select(ledger_table).order_by(ledger_table.c.id)
    if ledger_id is not None:
        query = query.where(ledger_table.c.id == ledger_id)
    ledgers = session.execute(query).all()
    total = session.execute(
        sa.select(sa.func.count())
        .select_from(transaction_table)
        .where(sa.true() if ledger_id is None else transaction_table.c.ledger_id == ledger_id)
    ).scalar_one()
    done = 0
    for ledger in ledgers:
        report.ledgers += 1
        done = _verify_ledger(session, ledger, report, done=done, total=total, progress=progress)
    return report


def _verify_ledger(session, ledger, report: VerificationReport, *, done: int, total: int, progress) -> int:
    accounts = {
        row.id: row for row in session.execute(sa.select(account_table).where(account_table.c.ledger_id == ledger.id))
    }
    report.accounts += len(accounts)
    totals: dict[int, _Totals] = defaultdict(_Totals)
    done, last_sequence, head, last_id = _verify_chain(session, ledger, accounts, totals, report, done, total, progress)
    if ledger.last_sequence != last_sequence or ledger.head_hash != head:
        ending = "" if last_id is None else f" (transaction id={last_id})"
        report.add(
            "ledger_ledger",
            ledger.id,
            f"head is sequence {ledger.last_sequence} hash {ledger.head_hash[:12]}…, "
            f"but the chain ends at sequence {last_sequence} hash {head[:12]}…{ending}"
            f"{_missing(last_sequence + 1, ledger.last_sequence)}",
        )
    _verify_running_balances(session, ledger.id, report)
    for account in accounts.values():
        counted = totals[account.id]
        for name in ("balance", "pending_debits", "pending_credits", "entry_count"):
            stored, recomputed = getattr(account, name), getattr(counted, name)
            if stored != recomputed:
                report.add("ledger_account", account.id, f"{name} is {stored} but its entries say {recomputed}")
    balance_sum = sum(account.balance for account in accounts.values())
    if balance_sum != 0:
        report.add("ledger_ledger", ledger.id, f"balances sum to {balance_sum}, not zero")
    return done


def _verify_chain(session, ledger, accounts, totals, report, done, total, progress):
    """Walk the ledger's transactions in sequence order with their entries; returns the chain's end."""
    transaction, entry = transaction_table.c, entry_table.c
    rows = session.execute(
        sa.select(
            transaction_table,
            entry.id.label("entry_id"),
            entry.account_id,
            entry.amount,
            entry.ledger_id.label("entry_ledger_id"),
            entry.account_sequence,
        )
        .outerjoin(entry_table, entry.transaction_id == transaction.id)
        .where(transaction.ledger_id == ledger.id)
        .order_by(transaction.sequence, entry.id)
        .execution_options(yield_per=STREAM_BATCH)
    )
    expected_sequence, previous_hash, previous_id = 1, GENESIS_HASH, None
    id_order = _IdOrder(report)
    for _, group in itertools.groupby(rows, key=lambda row: row.id):
        group = list(group)
        head = group[0]
        report.transactions += 1
        id_order.add(head.id, head.sequence)
        in_sequence = head.sequence == expected_sequence
        if not in_sequence:
            report.add(
                "ledger_transaction",
                head.id,
                f"sequence {head.sequence} where {expected_sequence} was due"
                f"{_missing(expected_sequence, head.sequence - 1)}",
            )
        content_matches = _recompute_hash(head, group) == head.hash
        if head.previous_hash != previous_hash:
            if in_sequence and content_matches and previous_id is not None:
                # This one is intact and was chained to what its predecessor's hash was: the predecessor changed.
                report.add(
                    "ledger_transaction",
                    previous_id,
                    f"hash was changed after transaction id={head.id} was chained to it",
                )
            else:
                report.add("ledger_transaction", head.id, "previous hash does not match the transaction before it")
        _verify_entries(head, group, accounts, totals, report)
        if not content_matches:
            report.add("ledger_transaction", head.id, "hash does not match its content")
        expected_sequence, previous_hash, previous_id = head.sequence + 1, head.hash, head.id
        done += 1
        if progress is not None and (done % 1000 == 0 or done == total):
            progress(done, total)
    id_order.finish()
    return done, expected_sequence - 1, previous_hash, previous_id


def _missing(first: int, last: int) -> str:
    """The words for a run of missing sequence numbers, if any."""
    if last < first:
        return ""
    if last == first:
        return f"; sequence {first} is missing"
    return f"; sequences {first} to {last} are missing"


class _IdOrder:
    """Ids grow with the sequence within a ledger; finds the rows out of that order.

    Where an id is lower than the one before it, either the one before was raised or this one was lowered: the one
    before is the odd one out if this id still exceeds the one two places back (at the start of the chain, where
    there is none, the next id decides)."""

    def __init__(self, report: VerificationReport):
        self.report = report
        self.before: list[tuple[int, int]] = []  # the last two (id, sequence), oldest first
        self.undecided = False

    def add(self, row_id: int, sequence: int) -> None:
        if self.undecided:
            self.undecided = False
            (first_id, first_sequence), second = self.before
            self._flag(*(second if row_id > first_id else (first_id, first_sequence)))
        if self.before and row_id < self.before[-1][0]:
            if len(self.before) == 2:
                self._flag(*(self.before[-1] if row_id > self.before[0][0] else (row_id, sequence)))
            else:
                self.undecided = True
        self.before = [*self.before[-1:], (row_id, sequence)]

    def finish(self) -> None:
        if self.undecided:
            self._flag(*self.before[0])

    def _flag(self, row_id: int, sequence: int) -> None:
        self.report.add(
            "ledger_transaction",
            row_id,
            f"sequence {sequence} has id {row_id}, out of order with the ids around it (ids grow with the sequence)",
        )


def _recompute_hash(head, group) -> str:
    return transaction_hash(
        ledger_id=head.ledger_id,
        sequence=head.sequence,
        kind=head.kind,
        memo=head.memo,
        details=head.details or {},
        actor=head.actor,
        created_at=head.created_at,
        expires_at=head.expires_at,
        reverses_id=head.reverses_id,
        idempotency_scope=head.idempotency_scope,
        idempotency_key=head.idempotency_key,
        entries=[(row.account_id, row.amount) for row in group if row.entry_id is not None],
        previous_hash=head.previous_hash,
    )


def _verify_entries(head, group, accounts, totals, report) -> None:
    entries = [row for row in group if row.entry_id is not None]
    report.entries += len(entries)
    if len(entries) < 2:
        report.add("ledger_transaction", head.id, f"has {len(entries)} entries; at least two are needed")
    amount_sum = sum(row.amount for row in entries)
    if amount_sum != 0:
        report.add("ledger_transaction", head.id, f"entries sum to {amount_sum}, not zero")
    for row in entries:
        if row.amount == 0:
            report.add("ledger_entry", row.entry_id, "amount is zero")
        if row.account_id not in accounts or row.entry_ledger_id != head.ledger_id:
            report.add("ledger_entry", row.entry_id, "entry is on an account of another ledger")
        posted = head.state == "posted"
        if posted != (row.account_sequence is not None):
            report.add(
                "ledger_entry", row.entry_id, f"entry posting does not match its transaction's {head.state} state"
            )
        counted = totals[row.account_id]
        if head.state == "posted":
            counted.balance += row.amount
            counted.entry_count += 1
        elif head.state == "pending":
            if row.amount < 0:
                counted.pending_debits -= row.amount
            else:
                counted.pending_credits += row.amount
        elif head.state != "voided":
            report.add("ledger_transaction", head.id, f"unknown state {head.state!r}")


def _verify_running_balances(session, ledger_id: int, report) -> None:
    """Each account's posted entries, in its own order: sequences 1..n and balance-after a running sum."""
    entry = entry_table.c
    rows = session.execute(
        sa.select(
            entry.id, entry.transaction_id, entry.account_id, entry.amount, entry.account_sequence, entry.balance_after
        )
        .where(entry.ledger_id == ledger_id, entry.account_sequence.is_not(None))
        .order_by(entry.account_id, entry.account_sequence)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for _, group in itertools.groupby(rows, key=lambda row: row.account_id):
        running = 0
        for expected_sequence, row in enumerate(group, start=1):
            running += row.amount
            if row.account_sequence != expected_sequence:
                report.add(
                    "ledger_entry",
                    row.id,
                    f"account sequence {row.account_sequence} where {expected_sequence} was due "
                    f"(transaction id={row.transaction_id})",
                )
            if row.balance_after != running:
                report.add(
                    "ledger_entry",
                    row.id,
                    f"balance after is {row.balance_after} but the running sum is {running} "
                    f"(transaction id={row.transaction_id})",
                )
                running = row.balance_after
