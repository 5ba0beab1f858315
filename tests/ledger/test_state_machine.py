"""A Hypothesis state machine drives the ledger through random operations and compares it, after every step,
with a simple in-memory model: balances, pending figures, the zero sum, floors and ceilings, and the hash chain.

``LEDGER_MACHINE_EXAMPLES`` (default 60) and ``LEDGER_MACHINE_STEPS`` (default 30) size the run.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

import ledger
from ledger import errors

EXAMPLES = int(os.environ.get("LEDGER_MACHINE_EXAMPLES", "60"))
STEPS = int(os.environ.get("LEDGER_MACHINE_STEPS", "30"))
START = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = [(-100, 300), (-50, 100), (0, 200), (None, 150), (-80, None)]
KEYS = ["k1", "k2", "k3"]


@dataclass
class ModelAccount:
    floor: int | None
    ceiling: int | None
    balance: int = 0
    pending_debits: int = 0
    pending_credits: int = 0
    status: str = "open"


@dataclass
class ModelTransaction:
    entries: dict[int, int]
    state: str
    expires_at: datetime | None = None
    reversed: bool = False


@dataclass
class Model:
    accounts: dict[int, ModelAccount] = field(default_factory=dict)
    transactions: dict[int, ModelTransaction] = field(default_factory=dict)
    keys: dict[str, tuple[str, int]] = field(default_factory=dict)

    def refusal(self, entries: dict[int, int], *, pending: bool, check_status=True, check_bounds=True):
        """The error the ledger must raise for applying ``entries``, checking accounts in id order."""
        for account_id in sorted(entries):
            account, amount = self.accounts[account_id], entries[account_id]
            if check_status and account.status != "open":
                return errors.AccountFrozen
            if not check_bounds:
                continue
            if (
                amount < 0
                and account.floor is not None
                and account.balance - account.pending_debits + amount < account.floor
            ):
                return errors.BalanceBelowFloor
            if (
                amount > 0
                and account.ceiling is not None
                and account.balance + account.pending_credits + amount > account.ceiling
            ):
                return errors.BalanceAboveCeiling
        return None

    def apply(self, entries: dict[int, int], *, pending: bool) -> None:
        for account_id, amount in entries.items():
            account = self.accounts[account_id]
            if not pending:
                account.balance += amount
            elif amount < 0:
                account.pending_debits -= amount
            else:
                account.pending_credits += amount

    def release(self, entries: dict[int, int], *, post: bool) -> None:
        for account_id, amount in entries.items():
            account = self.accounts[account_id]
            if amount < 0:
                account.pending_debits += amount
            else:
                account.pending_credits -= amount
            if post:
                account.balance += amount


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine):
        super().__init__()
        self.engine = engine
        self.now = START
        self.model = Model()
        self.scope = f"machine-{uuid.uuid4().hex}"

        def setup(session):
            book = ledger.create_ledger(session, name="machine")
            issuance = ledger.open_account(session, ledger_id=book.id, kind="issuance")
            members = [
                ledger.open_account(session, ledger_id=book.id, kind="member", floor=floor, ceiling=ceiling)
                for floor, ceiling in LIMITS
            ]
            return book.id, issuance.id, [(member.id, member.floor, member.ceiling) for member in members]

        self.ledger_id, self.issuance, members = ledger.transact(engine, setup)
        self.model.accounts[self.issuance] = ModelAccount(None, None)
        for account_id, floor, ceiling in members:
            self.model.accounts[account_id] = ModelAccount(floor, ceiling)
        self.members = [account_id for account_id, _, _ in members]

    def run(self, work):
        return ledger.transact(self.engine, work)

    def attempt(self, expected_error, work):
        """Run ``work``; it must raise exactly ``expected_error``, or succeed when that is None."""
        try:
            result = self.run(work)
        except errors.LedgerError as error:
            assert expected_error is not None, f"unexpected refusal {error!r}"
            assert isinstance(error, expected_error), f"expected {expected_error.__name__}, got {error!r}"
            return None
        assert expected_error is None, f"expected {expected_error.__name__}, but it succeeded"
        return result

    # --- rules ---

    @rule(member=st.integers(0, len(LIMITS) - 1), amount=st.integers(1, 400))
    def grant(self, member, amount):
        self.post({self.issuance: -amount, self.members[member]: amount}, pending=False, expires_in=None, key=None)

    @rule(
        payer=st.integers(0, len(LIMITS) - 1),
        payee=st.integers(0, len(LIMITS) - 1),
        amount=st.integers(1, 250),
        pending=st.booleans(),
        expires_in=st.none() | st.integers(1, 600),
        key=st.none() | st.sampled_from(KEYS),
    )
    def transfer(self, payer, payee, amount, pending, expires_in, key):
        if payer == payee:
            return
        self.post(
            {self.members[payer]: -amount, self.members[payee]: amount},
            pending=pending,
            expires_in=expires_in if pending else None,
            key=key,
        )

    def post(self, entries, *, pending, expires_in, key):
        expires_at = None if expires_in is None else self.now + timedelta(minutes=expires_in)
        command = ledger.PostTransaction(
            ledger_id=self.ledger_id,
            entries=tuple(
                ledger.EntryRequest(account_id=account, amount=amount) for account, amount in entries.items()
            ),
            pending=pending,
            expires_at=expires_at,
            idempotency_scope=None if key is None else self.scope,
            idempotency_key=key,
        )
        fingerprint = command.fingerprint()
        if key in self.model.keys:
            first_fingerprint, first_id = self.model.keys[key]
            expected = None if first_fingerprint == fingerprint else errors.IdempotencyKeyReused
            result = self.attempt(expected, lambda session: ledger.post(session, command, now=self.now))
            if result is not None:
                assert result.replayed and result.id == first_id
            return
        expected = self.model.refusal(entries, pending=pending)
        result = self.attempt(expected, lambda session: ledger.post(session, command, now=self.now))
        if result is None:
            return
        self.model.apply(entries, pending=pending)
        self.model.transactions[result.id] = ModelTransaction(
            entries, "pending" if pending else "posted", expires_at=expires_at
        )
        if key is not None:
            self.model.keys[key] = (fingerprint, result.id)

    def _pick(self, state, index):
        candidates = sorted(tid for tid, tx in self.model.transactions.items() if tx.state == state)
        return candidates[index % len(candidates)] if candidates else None

    @precondition(lambda self: any(tx.state == "pending" for tx in self.model.transactions.values()))
    @rule(index=st.integers(0, 50))
    def post_hold(self, index):
        transaction_id = self._pick("pending", index)
        held = self.model.transactions[transaction_id]
        if held.expires_at is not None and held.expires_at <= self.now:
            expected = errors.PendingExpired
        else:
            expected = self.model.refusal(held.entries, pending=False, check_bounds=False)
        result = self.attempt(
            expected, lambda session: ledger.post_pending(session, transaction_id=transaction_id, now=self.now)
        )
        if result is not None:
            held.state = "posted"
            self.model.release(held.entries, post=True)

    @precondition(lambda self: any(tx.state == "pending" for tx in self.model.transactions.values()))
    @rule(index=st.integers(0, 50))
    def void_hold(self, index):
        transaction_id = self._pick("pending", index)
        self.run(lambda session: ledger.void_pending(session, transaction_id=transaction_id, now=self.now))
        self.model.transactions[transaction_id].state = "voided"
        self.model.release(self.model.transactions[transaction_id].entries, post=False)

    @precondition(lambda self: any(tx.state != "pending" for tx in self.model.transactions.values()))
    @rule(index=st.integers(0, 50))
    def settle_again(self, index):
        """Posting or voiding a settled transaction is refused and changes nothing."""
        candidates = sorted(tid for tid, tx in self.model.transactions.items() if tx.state != "pending")
        transaction_id = candidates[index % len(candidates)]
        expected = {"posted": errors.PendingAlreadyPosted, "voided": errors.PendingAlreadyVoided}
        self.attempt(
            expected[self.model.transactions[transaction_id].state],
            lambda session: ledger.void_pending(session, transaction_id=transaction_id, now=self.now),
        )

    @precondition(lambda self: any(tx.state == "posted" for tx in self.model.transactions.values()))
    @rule(index=st.integers(0, 50))
    def reverse(self, index):
        transaction_id = self._pick("posted", index)
        original = self.model.transactions[transaction_id]
        opposite = {account: -amount for account, amount in original.entries.items()}
        expected = errors.AlreadyReversed if original.reversed else self.model.refusal(opposite, pending=False)
        result = self.attempt(
            expected,
            lambda session: ledger.reverse(session, transaction_id=transaction_id, reason="test", now=self.now),
        )
        if result is not None:
            original.reversed = True
            self.model.apply(opposite, pending=False)
            self.model.transactions[result.id] = ModelTransaction(opposite, "posted")

    @rule(member=st.integers(0, len(LIMITS) - 1), frozen=st.booleans())
    def freeze(self, member, frozen):
        account_id = self.members[member]
        change = ledger.freeze_account if frozen else ledger.unfreeze_account
        self.run(lambda session: change(session, account_id=account_id))
        self.model.accounts[account_id].status = "frozen" if frozen else "open"

    @rule(minutes=st.integers(1, 400))
    def advance_clock(self, minutes):
        self.now += timedelta(minutes=minutes)

    @rule()
    def expire(self):
        voided = self.run(lambda session: ledger.expire_due(session, now=self.now, ledger_id=self.ledger_id))
        mine = {posting.id for posting in voided}
        due = {
            tid
            for tid, tx in self.model.transactions.items()
            if tx.state == "pending" and tx.expires_at is not None and tx.expires_at <= self.now
        }
        assert mine == due
        for transaction_id in due:
            self.model.transactions[transaction_id].state = "voided"
            self.model.release(self.model.transactions[transaction_id].entries, post=False)

    # --- invariants ---

    @invariant()
    def accounts_match_the_model_and_their_limits(self):
        def read(session):
            return {account_id: ledger.get_account(session, account_id) for account_id in self.model.accounts}

        stored = self.run(read)
        for account_id, expected in self.model.accounts.items():
            actual = stored[account_id]
            assert (actual.balance, actual.pending_debits, actual.pending_credits, actual.status) == (
                expected.balance,
                expected.pending_debits,
                expected.pending_credits,
                expected.status,
            ), f"account {account_id}"
            if actual.floor is not None:
                assert actual.balance - actual.pending_debits >= actual.floor
            if actual.ceiling is not None:
                assert actual.balance + actual.pending_credits <= actual.ceiling
        assert sum(account.balance for account in stored.values()) == 0

    @invariant()
    def the_books_verify(self):
        report = self.run(lambda session: ledger.verify(session, ledger_id=self.ledger_id))
        assert report.ok, report.summary()


def test_the_ledger_behaves_like_its_model_under_random_operations(engine):
    run_state_machine_as_test(
        lambda: LedgerMachine(engine),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
