"""The ledger's errors: each a refusal with a stable code and the figures a caller needs to act on it.

A refusal leaves the ledger as it was. ``LedgerCorrupted`` is different: an invariant that the code guarantees
was found broken, and it must be looked at by a person.
"""

from __future__ import annotations


class LedgerError(Exception):
    """A request the ledger refused. ``code`` is stable; ``details`` holds figures a program can act on."""

    code = "ledger_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.details!r})"


class InvalidRequest(LedgerError):
    code = "invalid_request"


class LedgerNotFound(LedgerError):
    code = "ledger_not_found"


class AccountNotFound(LedgerError):
    code = "account_not_found"


class AccountFrozen(LedgerError):
    code = "account_frozen"


class AccountClosed(LedgerError):
    code = "account_closed"


class AccountNotEmpty(LedgerError):
    code = "account_not_empty"


class LedgersDiffer(LedgerError):
    code = "ledgers_differ"


class TooFewEntries(LedgerError):
    code = "too_few_entries"


class TooManyEntries(LedgerError):
    code = "too_many_entries"


class AccountRepeated(LedgerError):
    code = "account_repeated"


class EntriesUnbalanced(LedgerError):
    code = "entries_unbalanced"


class AmountZero(LedgerError):
    code = "amount_zero"


class AmountTooLarge(LedgerError):
    code = "amount_too_large"


class LimitsInvalid(LedgerError):
    code = "limits_invalid"


class BalanceBelowFloor(LedgerError):
    code = "balance_below_floor"


class BalanceAboveCeiling(LedgerError):
    code = "balance_above_ceiling"


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"


class TransactionNotFound(LedgerError):
    code = "transaction_not_found"


class TransactionNotPosted(LedgerError):
    code = "transaction_not_posted"


class PendingNotFound(LedgerError):
    code = "pending_not_found"


class PendingAlreadyPosted(LedgerError):
    code = "pending_already_posted"


class PendingAlreadyVoided(LedgerError):
    code = "pending_already_voided"


class PendingExpired(LedgerError):
    code = "pending_expired"


class ExpiryNotInFuture(LedgerError):
    code = "expiry_not_in_future"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class BatchTooLarge(LedgerError):
    code = "batch_too_large"


class BatchItemNotApplied(LedgerError):
    """In an all-or-nothing batch, an item that was fine but rolled back because another item failed."""

    code = "batch_item_not_applied"


class LedgerCorrupted(RuntimeError):
    """An invariant the ledger guarantees is broken. Not a refusal: stop and have a person look."""


ERRORS_BY_CODE = {cls.code: cls for cls in LedgerError.__subclasses__()}
