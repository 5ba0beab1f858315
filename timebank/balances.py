"""The ledger as partner apps address it: a member's account figures, the pot's, and payments, claims and
reversals named by the community or the transaction they belong to.

Reads follow the statement's rule (``reports.member_statement``): a member sees their own account, in whatever
state their membership is; a coordinator (or the community's partner key) sees any member's of their community;
to anyone else the member does not exist. The writes here only find the community an object belongs to and
check that it is the one named, then hand over to the use case that holds the rules (``payments``,
``corrections``), which commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.models import transaction_table
from timebank import access, bookkeeping, corrections, errors, payments, validation
from timebank.access import Actor
from timebank.bookkeeping import AccountFigures
from timebank.models import Community, Exchange, Membership

MAX_ID = 2**63 - 1
# The time bank's own tables (communities, memberships, categories) have 32-bit ids on PostgreSQL, which refuses a
# larger number in a query outright; such an id names nothing.
MAX_ROW_ID = 2**31 - 1


def require_row_id(value, *, what: str, field: str) -> int:
    """An id given for a community's member or category: a whole number; one too large to exist is not found."""
    value = validation.whole_number(field, value, minimum=1, maximum=MAX_ID)
    if value > MAX_ROW_ID:
        raise errors.NotFound(f"no such {what}", **{field: value})
    return value


@dataclass(frozen=True)
class MemberBalance:
    """A member's account as people read it, in minutes."""

    membership_id: int
    community_id: int
    figures: AccountFigures


@dataclass(frozen=True)
class PotFigures:
    """The community pot's account, in minutes."""

    community_id: int
    figures: AccountFigures


def _visible_member(session: Session, actor: Actor, membership_id: int) -> Membership:
    """The actor's own membership, or one a coordinator of its community may see; else not found."""
    membership_id = require_row_id(membership_id, what="member", field="membership_id")
    membership = session.get(Membership, membership_id)
    if membership is None or (
        membership.user_id != actor.user_id and not access.is_coordinator(session, actor, membership.community_id)
    ):
        raise errors.NotFound("no such member", membership_id=membership_id)
    return membership


def member_balance(*, session: Session, actor: Actor, membership_id: int) -> MemberBalance:
    """A member's balance, pending debits and credits, available minutes, floor and ceiling: the member's own,
    or any member's for a coordinator of the community."""
    membership = _visible_member(session, actor, membership_id)
    return MemberBalance(
        membership_id=membership.id,
        community_id=membership.community_id,
        figures=bookkeeping.account_figures(session, membership.account_id),
    )


def pot_figures(*, session: Session, actor: Actor, community_id: int) -> PotFigures:
    """The community pot's balance and limits (coordinators)."""
    community_id = require_row_id(community_id, what="community", field="community_id")
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    return PotFigures(community_id=community.id, figures=bookkeeping.account_figures(session, community.pot_account_id))


def _require_member_of(
    session: Session, community_id: int, membership_id, *, field: str
) -> tuple[Community, Membership]:
    """The other member of a payment or claim belongs to the community it is addressed to; a member of another
    community is reported as not found, as if they did not exist. Returns both: while the caller holds them, the
    session has them at hand (its identity map holds rows weakly) and the use case reads neither again."""
    community = access.get_community(session, require_row_id(community_id, what="community", field="community_id"))
    membership_id = require_row_id(membership_id, what="member", field=field)
    return community, access.get_in_community(session, Membership, membership_id, community_id, what="member")


def pay_in_community(
    *, session: Session, actor: Actor, community_id: int, payee_membership_id: int, **payment
) -> Exchange:
    """``payments.pay_directly``, addressed to a community: the payee must be one of its members."""
    # Both held while the payment runs, so that it finds them in the session (see _require_member_of).
    _community, _payee = _require_member_of(session, community_id, payee_membership_id, field="payee_membership_id")
    return payments.pay_directly(session=session, actor=actor, payee_membership_id=payee_membership_id, **payment)


def claim_in_community(
    *, session: Session, actor: Actor, community_id: int, payer_membership_id: int, **claim
) -> Exchange:
    """``payments.claim_minutes``, addressed to a community: the payer must be one of its members."""
    _community, _payer = _require_member_of(session, community_id, payer_membership_id, field="payer_membership_id")
    return payments.claim_minutes(session=session, actor=actor, payer_membership_id=payer_membership_id, **claim)


def _community_of_transaction(session: Session, actor: Actor, transaction_id: int) -> Community:
    """The community whose ledger holds the transaction. A caller with no coordinator's reach there is told the
    transaction does not exist, so that ids of other communities' transactions reveal nothing."""
    missing = errors.NotFound("no such transaction", transaction_id=transaction_id)
    ledger_id = session.execute(
        sa.select(transaction_table.c.ledger_id).where(transaction_table.c.id == transaction_id)
    ).scalar_one_or_none()
    community = None
    if ledger_id is not None:
        community = session.execute(sa.select(Community).where(Community.ledger_id == ledger_id)).scalar_one_or_none()
    if community is None:
        raise missing
    try:
        access.require_coordinator(session, actor, community.id)
    except errors.NotFound:
        raise missing from None
    return community


def reverse_transaction_by_id(
    *,
    session: Session,
    actor: Actor,
    transaction_id: int,
    reason: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ledger.Posting:
    """``corrections.reverse_transaction`` for a transaction named by its id alone: the community is the one
    whose ledger holds it (a coordinator's, or the community's partner key's)."""
    transaction_id = validation.whole_number("transaction_id", transaction_id, minimum=1, maximum=MAX_ID)
    community = _community_of_transaction(session, actor, transaction_id)
    return corrections.reverse_transaction(
        session=session,
        actor=actor,
        community_id=community.id,
        transaction_id=transaction_id,
        reason=reason,
        idempotency_key=idempotency_key,
        now=now,
    )
