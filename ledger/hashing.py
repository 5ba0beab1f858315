"""The hash chain: each transaction's hash covers its immutable content and the previous transaction's hash.

State changes of a pending transaction (posted, voided) are not covered: they are checked instead by recomputing
every balance and pending figure from the entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime


def canonical_json(value) -> str:
    """One text for one value: sorted keys, no spaces, so equal content always hashes alike."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def transaction_hash(
    *,
    ledger_id: int,
    sequence: int,
    kind: str,
    memo: str,
    details: Mapping,
    actor: str,
    created_at: datetime,
    expires_at: datetime | None,
    reverses_id: int | None,
    idempotency_scope: str | None,
    idempotency_key: str | None,
    entries: Iterable[tuple[int, int]],
    previous_hash: str,
) -> str:
    """The SHA-256 of a transaction's content and its predecessor's hash, as 64 hex digits."""
    content = {
        "ledger_id": ledger_id,
        "sequence": sequence,
        "kind": kind,
        "memo": memo,
        "details": dict(details),
        "actor": actor,
        "created_at": _moment(created_at),
        "expires_at": _moment(expires_at),
        "reverses_id": reverses_id,
        "idempotency": [idempotency_scope, idempotency_key],
        "entries": sorted([account_id, amount] for account_id, amount in entries),
        "previous_hash": previous_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
