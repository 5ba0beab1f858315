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


def content_prefix(
    *,
    ledger_id: int,
    kind: str,
    memo: str,
    details: Mapping,
    actor: str,
    created_at: datetime,
    expires_at: datetime | None,
    idempotency_scope: str | None,
    idempotency_key: str | None,
    entries: Iterable[tuple[int, int]],
) -> str:
    """The hashed text of a transaction up to its predecessor's hash: everything known before its ledger is locked
    (a batch makes it before taking the lock). The keys sort before ``previous_hash``, ``reverses_id`` and
    ``sequence``, so the whole text is this prefix followed by ``chained_hash``'s tail."""
    content = {
        "ledger_id": ledger_id,
        "kind": kind,
        "memo": memo,
        "details": dict(details),
        "actor": actor,
        "created_at": _moment(created_at),
        "expires_at": _moment(expires_at),
        "idempotency": [idempotency_scope, idempotency_key],
        "entries": sorted([account_id, amount] for account_id, amount in entries),
    }
    return canonical_json(content)[:-1] + ',"previous_hash":'


def chained_hash(prefix: str, *, previous_hash: str, reverses_id: int | None, sequence: int) -> str:
    """The SHA-256 of the transaction whose ``content_prefix`` is ``prefix``, as the ``sequence``-th of its ledger
    after ``previous_hash``, as 64 hex digits."""
    tail = f'{canonical_json(previous_hash)},"reverses_id":{canonical_json(reverses_id)},"sequence":{sequence:d}}}'
    return hashlib.sha256((prefix + tail).encode("utf-8")).hexdigest()


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
    """The SHA-256 of the canonical JSON of a transaction's content and its predecessor's hash (one object of all
    these fields, ``entries`` sorted, moments in ISO format with microseconds), as 64 hex digits; made as
    ``content_prefix`` followed by ``chained_hash``'s tail."""
    prefix = content_prefix(
        ledger_id=ledger_id,
        kind=kind,
        memo=memo,
        details=details,
        actor=actor,
        created_at=created_at,
        expires_at=expires_at,
        idempotency_scope=idempotency_scope,
        idempotency_key=idempotency_key,
        entries=entries,
    )
    return chained_hash(prefix, previous_hash=previous_hash, reverses_id=reverses_id, sequence=sequence)
