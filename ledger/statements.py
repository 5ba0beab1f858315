"""Reading an account's history: its statement, newest first, and its balance at any past moment.

Both read one account's entries through the index on (account, account sequence) or (account, posted at), so
they take the same time whether the account has a thousand entries or a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger import errors
from ledger.core import utc_now
from ledger.models import account_table, entry_table, transaction_table

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class StatementLine:
    account_sequence: int
    transaction_id: int
    kind: str
    memo: str
    details: dict
    amount: int
    balance_after: int
    posted_at: datetime
    reverses_id: int | None


@dataclass(frozen=True)
class StatementPage:
    lines: list[StatementLine]
    # Pass as ``before`` for the next (older) page; None on the last page.
    next_cursor: int | None


def statement(session: Session, *, account_id: int, limit: int = 20, before: int | None = None) -> StatementPage:
    """An account's posted entries, newest first, each with the balance right after it.

    Keyset pagination on the account's entry sequence: new entries arriving while a reader pages never cause a
    duplicate or a gap."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise errors.InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    if before is not None and (not isinstance(before, int) or before < 1):
        raise errors.InvalidRequest("the cursor is not valid", field="cursor")
    if session.execute(sa.select(account_table.c.id).where(account_table.c.id == account_id)).first() is None:
        raise errors.AccountNotFound("no such account", account_id=account_id)
    entry, transaction = entry_table.c, transaction_table.c
    query = (
        sa.select(
            entry.account_sequence,
            entry.transaction_id,
            transaction.kind,
            transaction.memo,
            transaction.details,
            entry.amount,
            entry.balance_after,
            entry.posted_at,
            transaction.reverses_id,
        )
        .join(transaction_table, transaction.id == entry.transaction_id)
        .where(entry.account_id == account_id, entry.account_sequence.is_not(None))
        .order_by(entry.account_sequence.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(entry.account_sequence < before)
    rows = session.execute(query).all()
    lines = [StatementLine(**row._mapping) for row in rows[:limit]]
    next_cursor = lines[-1].account_sequence if len(rows) > limit else None
    return StatementPage(lines=lines, next_cursor=next_cursor)


def balance_at(session: Session, *, account_id: int, moment: datetime) -> int:
    """The account's posted balance as it stood at ``moment`` (zero before its first entry)."""
    moment = utc_now(moment)
    if session.execute(sa.select(account_table.c.id).where(account_table.c.id == account_id)).first() is None:
        raise errors.AccountNotFound("no such account", account_id=account_id)
    entry = entry_table.c
    balance = session.execute(
        sa.select(entry.balance_after)
        .where(entry.account_id == account_id, entry.posted_at.is_not(None), entry.posted_at <= moment)
        .order_by(entry.posted_at.desc(), entry.account_sequence.desc())
        .limit(1)
    ).scalar_one_or_none()
    return 0 if balance is None else balance
