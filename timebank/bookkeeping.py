"""The time bank's way into the ledger: transfers between a community's accounts, in minutes, on behalf of an
actor, and an account's figures as people read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

import ledger
from timebank.access import Actor
from timebank.models import Community


def post_transfer(
    session: Session,
    *,
    community: Community,
    debit_account_id: int,
    credit_account_id: int,
    minutes: int,
    kind: str,
    actor: Actor,
    memo: str = "",
    details: dict | None = None,
    pending: bool = False,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """Move ``minutes`` from one account of the community to another (held as pending when ``pending``).
    An idempotency key is scoped to the actor, as api.md says keys are."""
    command = ledger.transfer(
        ledger_id=community.ledger_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount=minutes,
        kind=kind,
        memo=memo,
        actor=actor.label,
        details=details or {},
        pending=pending,
        expires_at=expires_at,
        idempotency_scope=None if idempotency_key is None else actor.label,
        idempotency_key=idempotency_key,
    )
    return ledger.post(session, command, now=now)


@dataclass(frozen=True)
class AccountFigures:
    """An account as people read it, in minutes."""

    account_id: int
    balance_minutes: int
    pending_debit_minutes: int
    pending_credit_minutes: int
    available_minutes: int
    floor_minutes: int | None
    ceiling_minutes: int | None
    status: str

    @property
    def room_below_ceiling_minutes(self) -> int | None:
        if self.ceiling_minutes is None:
            return None
        return self.ceiling_minutes - self.balance_minutes - self.pending_credit_minutes


def account_figures(session: Session, account_id: int) -> AccountFigures:
    account = ledger.get_account(session, account_id)
    return AccountFigures(
        account_id=account.id,
        balance_minutes=account.balance,
        pending_debit_minutes=account.pending_debits,
        pending_credit_minutes=account.pending_credits,
        available_minutes=account.balance - account.pending_debits,
        floor_minutes=account.floor,
        ceiling_minutes=account.ceiling,
        status=account.status,
    )
