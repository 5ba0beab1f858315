"""What a caller asks of the ledger, as plain values, checked for shape before anything touches the database."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ledger import errors
from ledger.hashing import canonical_json

MAX_ENTRIES = 1000
MAX_BATCH_SIZE = 1000
# About 1,900 years in minutes: far beyond any real exchange, far inside a 64-bit integer even when summed.
MAX_AMOUNT = 1_000_000_000
MAX_KIND_LENGTH = 32
MAX_MEMO_LENGTH = 500
MAX_ACTOR_LENGTH = 200
MAX_KEY_LENGTH = 200
MAX_DETAILS_LENGTH = 4000


@dataclass(frozen=True)
class EntryRequest:
    """One side of a transaction: ``amount`` credits the account when positive, debits it when negative."""

    account_id: int
    amount: int


@dataclass(frozen=True)
class PostTransaction:
    """Post a balanced transaction at once, or hold it as pending (``pending=True``) until posted or voided."""

    ledger_id: int
    entries: tuple[EntryRequest, ...]
    kind: str = "transfer"
    memo: str = ""
    details: Mapping = field(default_factory=dict)
    actor: str = ""
    pending: bool = False
    expires_at: datetime | None = None
    idempotency_scope: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """The request as a retry must repeat it, field by field in a fixed order (actor and key excluded)."""
        return fingerprint(
            {
                "operation": "hold" if self.pending else "post",
                "ledger_id": self.ledger_id,
                "kind": self.kind,
                "entries": sorted([entry.account_id, entry.amount] for entry in self.entries),
                "memo": self.memo,
                "details": self.details,
                "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            }
        )


def fingerprint(fields: dict) -> str:
    """A request's fields as JSON in the given order (so the first difference is the first field that a caller
    would name), with nested mappings in canonical order."""
    return json.dumps({name: _canonical(value) for name, value in fields.items()}, separators=(",", ":"))


def _canonical(value):
    """``value`` as its canonical JSON reads back: text, whole numbers and null read back as they are (a batch
    fingerprints hundreds of requests, so the round trip is kept for what it changes)."""
    if value is None or isinstance(value, str | int):
        return value
    return json.loads(canonical_json(value))


def transfer(
    *, ledger_id: int, debit_account_id: int, credit_account_id: int, amount: int, **options
) -> PostTransaction:
    """The common case: move ``amount`` from one account to another."""
    return PostTransaction(
        ledger_id=ledger_id,
        entries=(
            EntryRequest(account_id=debit_account_id, amount=-amount),
            EntryRequest(account_id=credit_account_id, amount=amount),
        ),
        **options,
    )


def check_text(name: str, value, maximum: int) -> None:
    if not isinstance(value, str):
        raise errors.InvalidRequest(f"{name} must be text", field=name)
    if len(value) > maximum:
        raise errors.InvalidRequest(f"{name} is longer than {maximum} characters", field=name, maximum=maximum)


def check_idempotency(scope: str | None, key: str | None) -> None:
    if (scope is None) != (key is None):
        raise errors.InvalidRequest("an idempotency key needs a scope, and a scope a key", field="idempotency_key")
    if key is not None:
        check_text("idempotency_scope", scope, MAX_KEY_LENGTH)
        check_text("idempotency_key", key, MAX_KEY_LENGTH)
        if not key or not scope:
            raise errors.InvalidRequest("an idempotency key and its scope may not be empty", field="idempotency_key")


def _check_details(details) -> None:
    if not isinstance(details, Mapping) or not all(isinstance(key, str) for key in details):
        raise errors.InvalidRequest("details must be a mapping with text keys", field="details")
    try:
        encoded = json.dumps(dict(details), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise errors.InvalidRequest(f"details must be plain JSON: {error}", field="details") from None
    if len(encoded) > MAX_DETAILS_LENGTH:
        raise errors.InvalidRequest(f"details are longer than {MAX_DETAILS_LENGTH} characters as JSON", field="details")


def _check_entries(entries) -> None:
    if len(entries) < 2:
        raise errors.TooFewEntries("a transaction needs at least two entries", entry_count=len(entries))
    if len(entries) > MAX_ENTRIES:
        raise errors.TooManyEntries(
            f"a transaction may have at most {MAX_ENTRIES} entries", entry_count=len(entries), maximum=MAX_ENTRIES
        )
    seen: set[int] = set()
    for entry in entries:
        if not isinstance(entry.account_id, int) or isinstance(entry.account_id, bool):
            raise errors.InvalidRequest("account ids are integers", field="account_id")
        if not isinstance(entry.amount, int) or isinstance(entry.amount, bool):
            raise errors.InvalidRequest("amounts are whole numbers of the ledger's unit", field="amount")
        if entry.amount == 0:
            raise errors.AmountZero("an entry's amount may not be zero", account_id=entry.account_id)
        if abs(entry.amount) > MAX_AMOUNT:
            raise errors.AmountTooLarge(
                f"an entry's amount may be at most {MAX_AMOUNT}", account_id=entry.account_id, maximum=MAX_AMOUNT
            )
        if entry.account_id in seen:
            raise errors.AccountRepeated("an account appears twice in one transaction", account_id=entry.account_id)
        seen.add(entry.account_id)
    total = sum(entry.amount for entry in entries)
    if total != 0:
        raise errors.EntriesUnbalanced("a transaction's entries must sum to zero", total=total)


def check_command(command: PostTransaction, now: datetime) -> None:
    """Refuse a malformed command before any database work, with the first thing wrong with it."""
    if not isinstance(command.ledger_id, int):
        raise errors.InvalidRequest("the ledger id is an integer", field="ledger_id")
    _check_entries(command.entries)
    check_text("kind", command.kind, MAX_KIND_LENGTH)
    if not command.kind:
        raise errors.InvalidRequest("a transaction needs a kind", field="kind")
    check_text("memo", command.memo, MAX_MEMO_LENGTH)
    check_text("actor", command.actor, MAX_ACTOR_LENGTH)
    _check_details(command.details)
    check_idempotency(command.idempotency_scope, command.idempotency_key)
    if command.expires_at is not None:
        if not command.pending:
            raise errors.InvalidRequest("only a pending transaction can expire", field="expires_at")
        if command.expires_at.tzinfo is None:
            raise errors.InvalidRequest("the expiry needs a time zone", field="expires_at")
        if command.expires_at <= now:
            raise errors.ExpiryNotInFuture(
                "a hold must expire in the future", expires_at=command.expires_at.isoformat(), now=now.isoformat()
            )
