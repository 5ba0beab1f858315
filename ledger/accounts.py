"""Ledgers and accounts: opening them, their limits and their status."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger import errors
from ledger.commands import MAX_AMOUNT, check_text
from ledger.core import utc_now
from ledger.models import Account, AccountStatus, Ledger, account_table

MAX_NAME_LENGTH = 200
MAX_KIND_LENGTH = 32


def create_ledger(session: Session, *, name: str, unit: str = "minute", now: datetime | None = None) -> Ledger:
    """A new, empty ledger: one book with its own hash chain."""
    check_text("name", name, MAX_NAME_LENGTH)
    check_text("unit", unit, 32)
    ledger = Ledger(name=name, unit=unit, created_at=utc_now(now))
    session.add(ledger)
    session.flush()
    return ledger


def get_ledger(session: Session, ledger_id: int) -> Ledger:
    ledger = session.get(Ledger, ledger_id)
    if ledger is None:
        raise errors.LedgerNotFound("no such ledger", ledger_id=ledger_id)
    return ledger


def _check_limits(floor: int | None, ceiling: int | None) -> None:
    for name, value in (("floor", floor), ("ceiling", ceiling)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_AMOUNT):
            raise errors.LimitsInvalid(f"the {name} must be a whole number within ±{MAX_AMOUNT}", field=name)
    if floor is not None and ceiling is not None and floor > ceiling:
        raise errors.LimitsInvalid("the floor must not be above the ceiling", floor=floor, ceiling=ceiling)


def open_account(
    session: Session,
    *,
    ledger_id: int,
    kind: str,
    name: str = "",
    floor: int | None = None,
    ceiling: int | None = None,
    now: datetime | None = None,
) -> Account:
    """A new account in a ledger with a zero balance; ``floor`` and ``ceiling`` of None mean unbounded."""
    check_text("kind", kind, MAX_KIND_LENGTH)
    if not kind:
        raise errors.InvalidRequest("an account needs a kind", field="kind")
    check_text("name", name, MAX_NAME_LENGTH)
    _check_limits(floor, ceiling)
    if floor is not None and floor > 0 or ceiling is not None and ceiling < 0:
        raise errors.LimitsInvalid(
            "a new account's zero balance must lie within its limits", floor=floor, ceiling=ceiling
        )
    get_ledger(session, ledger_id)
    account = Account(ledger_id=ledger_id, kind=kind, name=name, floor=floor, ceiling=ceiling, created_at=utc_now(now))
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: int) -> Account:
    """The account as stored now (not a cached copy)."""
    row = session.execute(sa.select(account_table).where(account_table.c.id == account_id)).first()
    if row is None:
        raise errors.AccountNotFound("no such account", account_id=account_id)
    return Account(**row._mapping)


def _update_account(session: Session, account_id: int, values: dict, *conditions) -> Account:
    row = session.execute(
        account_table.update()
        .where(account_table.c.id == account_id, *conditions)
        .values(version=account_table.c.version + 1, **values)
        .returning(*account_table.c)
    ).first()
    if row is None:
        get_account(session, account_id)  # raises AccountNotFound
        return None
    return Account(**row._mapping)


def set_limits(session: Session, *, account_id: int, floor: int | None, ceiling: int | None) -> Account:
    """New limits for future postings and holds. A balance already outside them stays as it is, and may then
    only move back towards them."""
    _check_limits(floor, ceiling)
    return _update_account(session, account_id, {"floor": floor, "ceiling": ceiling})


def _change_status(session: Session, account_id: int, to: AccountStatus, *, allowed_from: set[str]) -> Account:
    account = _update_account(
        session, account_id, {"status": to.value}, account_table.c.status.in_(sorted(allowed_from))
    )
    if account is None:
        current = get_account(session, account_id)
        if current.status == AccountStatus.CLOSED.value:
            raise errors.AccountClosed("the account is closed", account_id=account_id)
        raise errors.InvalidRequest(
            f"an account that is {current.status} cannot become {to.value}", account_id=account_id, field="status"
        )
    return account


def freeze_account(session: Session, *, account_id: int) -> Account:
    """Stop new entries on the account (postings and holds); its pending holds may still be voided."""
    return _change_status(session, account_id, AccountStatus.FROZEN, allowed_from={"open", "frozen"})


def unfreeze_account(session: Session, *, account_id: int) -> Account:
    return _change_status(session, account_id, AccountStatus.OPEN, allowed_from={"open", "frozen"})


def close_account(session: Session, *, account_id: int) -> Account:
    """Close an account for good. Only an empty one: zero balance and nothing pending."""
    account = _update_account(
        session,
        account_id,
        {"status": AccountStatus.CLOSED.value},
        account_table.c.balance == 0,
        account_table.c.pending_debits == 0,
        account_table.c.pending_credits == 0,
        account_table.c.status != AccountStatus.CLOSED.value,
    )
    if account is None:
        current = get_account(session, account_id)
        if current.status == AccountStatus.CLOSED.value:
            raise errors.AccountClosed("the account is closed already", account_id=account_id)
        raise errors.AccountNotEmpty(
            "only an account with a zero balance and nothing pending can be closed",
            account_id=account_id,
            balance=current.balance,
            pending_debits=current.pending_debits,
            pending_credits=current.pending_credits,
        )
    return account


def ledger_balance_total(session: Session, ledger_id: int) -> int:
    """The sum of every balance in the ledger; zero unless the books are broken."""
    return session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(account_table.c.balance), 0)).where(
            account_table.c.ledger_id == ledger_id
        )
    ).scalar_one()
