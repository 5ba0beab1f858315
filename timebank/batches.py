"""Batches of transfers: a coordinator (or the community's partner key with the ledger scope) posts up to 500
exchanges between members in one request — the paper sheets of a community centre's afternoon, say.

Each transfer is an exchange the coordinator attests both members agreed to: it posts at once (payer to payee)
and is recorded as a confirmed ``Exchange`` with the payee as helper and the payer as the helped member, just as
``payments.record_on_behalf`` does with ``attested=True``. Every item is checked first (active members of this
community, two different people, neither of them the coordinator, 1 to 720 minutes, a category in use, a current
safeguarding check for tasks with children); then the ledger posts the valid ones in one database transaction.

``atomic=True``: all or nothing; if any item is refused, nothing is posted, the refused items carry their
errors and every other item is ``not_applied``. ``atomic=False``: each item is posted or refused on its own.
With an ``idempotency_key`` each item is posted under that key in a scope of its own (the actor and the item's
position), so a retried batch posts nothing twice, and a retry that changes an item is refused for that item.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

import ledger
from ledger import errors as ledger_errors
from ledger.core import utc_now
from ledger.database import insert_rows
from timebank import access, audit, errors, validation
from timebank.access import Actor
from timebank.balances import MAX_ROW_ID, require_row_id
from timebank.exchanges import (
    EXCHANGE_KIND,
    MAX_NOTE_LENGTH,
    EventKind,
    require_current_check,
)
from timebank.models import Category, Community, Exchange, ExchangeEvent, ExchangeStatus, Membership
from timebank.pot import active_member

MAX_TRANSFERS = 500
MAX_KEY_LENGTH = 200
VIA = "batch"


@dataclass(frozen=True)
class Transfer:
    """One transfer of a batch, as the caller asks for it: ``minutes`` from the payer to the payee."""

    payer_membership_id: int
    payee_membership_id: int
    minutes: int
    description: str = ""
    category_id: int | None = None


class TransferStatus(enum.StrEnum):
    POSTED = "posted"
    REFUSED = "refused"
    NOT_APPLIED = "not_applied"


@dataclass(frozen=True)
class TransferResult:
    """What became of one item, at its position in the batch: the exchange and transaction it was posted as, or
    the refusal (for ``not_applied``: the refusal of the item that stopped an all-or-nothing batch)."""

    index: int
    status: TransferStatus
    exchange: Exchange | None = None
    transaction_id: int | None = None
    error: errors.DomainError | ledger_errors.LedgerError | None = None


@dataclass(frozen=True)
class _Checked:
    """An item that passed the checks: what the ledger posts and the exchange records."""

    index: int
    payer: Membership
    payee: Membership
    minutes: int
    description: str
    category_id: int | None
    involves_children: bool


def _checked_transfers(transfers) -> list[Transfer]:
    if not isinstance(transfers, list | tuple) or not 1 <= len(transfers) <= MAX_TRANSFERS:
        raise errors.InvalidInput(
            f"a batch holds between 1 and {MAX_TRANSFERS} transfers", field="transfers", maximum=MAX_TRANSFERS
        )
    if not all(isinstance(transfer, Transfer) for transfer in transfers):
        raise errors.InvalidInput("each item of a batch is a transfer", field="transfers")
    return list(transfers)


def _member(session: Session, community: Community, membership_id, *, field: str) -> Membership:
    membership_id = require_row_id(membership_id, what="member", field=field)
    return active_member(session, community_id=community.id, membership_id=membership_id, field=field)


def _category(session: Session, community_id: int, category_id) -> Category | None:
    if category_id is None:
        return None
    category_id = require_row_id(category_id, what="category", field="category_id")
    category = access.get_in_community(session, Category, category_id, community_id, what="category")
    if not category.active:
        raise errors.InvalidInput("this category is no longer in use", field="category_id")
    return category


def _check(
    session: Session, community: Community, coordinator: Membership | None, index: int, transfer: Transfer, *, now
) -> _Checked:
    """One item, checked as ``record_on_behalf`` checks an attested record; raises the first thing wrong."""
    minutes = validation.minutes("minutes", transfer.minutes)
    description = validation.text("description", transfer.description, maximum=MAX_NOTE_LENGTH)
    payer = _member(session, community, transfer.payer_membership_id, field="payer_membership_id")
    payee = _member(session, community, transfer.payee_membership_id, field="payee_membership_id")
    if payer.id == payee.id:
        raise errors.InvalidInput("a transfer is between two different members", field="payee_membership_id")
    if coordinator is not None and coordinator.id in (payer.id, payee.id):
        raise errors.NotAllowed("record your own exchanges as a member: pay directly or claim the minutes")
    category = _category(session, community.id, transfer.category_id)
    children = category is not None and category.involves_children
    if children:
        require_current_check(session, community, helper_membership_id=payee.id, now=now)
    return _Checked(
        index=index,
        payer=payer,
        payee=payee,
        minutes=minutes,
        description=description,
        category_id=None if category is None else category.id,
        involves_children=children,
    )


def _named_ids(values) -> list[int]:
    return sorted({value for value in values if type(value) is int and 1 <= value <= MAX_ROW_ID})


def _load_named(session: Session, community_id: int, transfers: list[Transfer]) -> list:
    """Load the community's memberships and categories the batch names, one query each, into the session, where
    ``session.get`` finds them when each item is checked (instead of one query per member named), as long as the
    caller holds the list returned (the session keeps only the rows something refers to). A membership is loaded
    with the columns the checks read; any other column is loaded if something reads it."""
    loaded = []
    members = _named_ids(
        member for transfer in transfers for member in (transfer.payer_membership_id, transfer.payee_membership_id)
    )
    for start in range(0, len(members), 1000):
        loaded += session.scalars(
            sa.select(Membership)
            .options(load_only(Membership.id, Membership.community_id, Membership.account_id, Membership.status))
            .where(Membership.community_id == community_id, Membership.id.in_(members[start : start + 1000]))
        ).all()
    categories = _named_ids(transfer.category_id for transfer in transfers)
    if categories:
        loaded += session.scalars(
            sa.select(Category).where(Category.community_id == community_id, Category.id.in_(categories))
        ).all()
    return loaded


def _check_all(session, community, coordinator, transfers, *, now) -> tuple[list[_Checked], dict[int, TransferResult]]:
    loaded = _load_named(session, community.id, transfers)
    checked, refused = [], {}
    for index, transfer in enumerate(transfers):
        try:
            checked.append(_check(session, community, coordinator, index, transfer, now=now))
        except (errors.DomainError, ledger_errors.LedgerError) as error:
            refused[index] = TransferResult(index=index, status=TransferStatus.REFUSED, error=error)
    del loaded  # held until every item is checked
    return checked, refused


def _none_applied(count: int, refused: dict[int, TransferResult]) -> list[TransferResult]:
    """An all-or-nothing batch with refused items: nothing is posted; the others say why."""
    stopped = ledger_errors.BatchItemNotApplied(
        "not applied: another item of this all-or-nothing batch was refused", failed_index=min(refused)
    )
    return [
        refused.get(index) or TransferResult(index=index, status=TransferStatus.NOT_APPLIED, error=stopped)
        for index in range(count)
    ]


def _command(community: Community, item: _Checked, *, actor: Actor, idempotency_key) -> ledger.PostTransaction:
    return ledger.transfer(
        ledger_id=community.ledger_id,
        debit_account_id=item.payer.account_id,
        credit_account_id=item.payee.account_id,
        amount=item.minutes,
        kind=EXCHANGE_KIND,
        memo=item.description,
        # As payments' records keep them; stable for a given item, so that a retried batch matches.
        details={
            "via": VIA,
            "helper_membership_id": item.payee.id,
            "helped_membership_id": item.payer.id,
            "category_id": item.category_id,
        },
        actor=actor.label,
        idempotency_scope=None if idempotency_key is None else f"{actor.label}:batch:{item.index}",
        idempotency_key=idempotency_key,
    )


def _exchange_values(community: Community, item: _Checked, transaction_id: int, *, coordinator_id, now) -> dict:
    """The exchange of a posted item, every column but its id: confirmed, attested by the coordinator."""
    return {
        "community_id": community.id,
        "listing_id": None,
        "category_id": item.category_id,
        "helper_membership_id": item.payee.id,
        "helped_membership_id": item.payer.id,
        "initiated_by_membership_id": coordinator_id or item.payer.id,
        "status": ExchangeStatus.CONFIRMED.value,
        "helper_agreed": True,
        "helped_agreed": True,
        "parent_accepted_helper": item.involves_children,
        "minutes": item.minutes,
        "description": item.description,
        "recorded_by_membership_id": coordinator_id,
        "attested_by_coordinator": True,
        "ledger_transaction_id": transaction_id,
        "auto_confirm_at": None,
        "dispute_reason": "",
        "settlement_reason": "",
        "created_at": now,
        "recorded_at": now,
        "confirmed_at": now,
        "updated_at": now,
    }


class _WrittenExchange:
    """A new exchange of a batch as written: its id and its values, made into an ``Exchange`` only when something
    reads more than these (the answer reads the id; 500 models cost a batch ~10 ms)."""

    def __init__(self, exchange_id: int, values: dict):
        self.id = exchange_id
        self.minutes = values["minutes"]
        self._values = values

    @functools.cached_property
    def _model(self) -> Exchange:
        # model_construct: the values the ORM constructor would set, without its instrumentation (ten times faster).
        return Exchange.model_construct(id=self.id, **self._values)

    def __getattr__(self, name: str):
        return getattr(self._model, name)


def _record_exchanges(session, community, posted, *, coordinator, now) -> dict[int, Exchange]:
    """The exchanges of the posted items, by item index: new ones for new postings (inserted together, each with
    the event ``add_event`` would append: recorded on behalf), the first ones for replayed postings."""
    coordinator_id = None if coordinator is None else coordinator.id
    fresh = [(item, posting) for item, posting in posted if not posting.replayed]
    rows = [
        _exchange_values(community, item, posting.id, coordinator_id=coordinator_id, now=now) for item, posting in fresh
    ]
    ids = insert_rows(session, Exchange.__table__, rows, returning_ids=True)
    new = {
        item.index: _WrittenExchange(exchange_id, row)
        for (item, _), exchange_id, row in zip(fresh, ids, rows, strict=True)
    }
    events = [
        {
            "community_id": community.id,
            "exchange_id": exchange_id,
            "actor_membership_id": coordinator_id,
            "kind": EventKind.RECORDED_ON_BEHALF.value,
            "minutes": item.minutes,
            "note": "attested: both agreed (batch)",
            "at": now,
        }
        for (item, _), exchange_id in zip(fresh, ids, strict=True)
    ]
    insert_rows(session, ExchangeEvent.__table__, events)
    replayed = {posting.id: item.index for item, posting in posted if posting.replayed}
    if replayed:
        earlier = session.execute(
            sa.select(Exchange).where(
                Exchange.community_id == community.id, Exchange.ledger_transaction_id.in_(sorted(replayed))
            )
        ).scalars()
        new.update({replayed[exchange.ledger_transaction_id]: exchange for exchange in earlier})
    return new


def _results(session, community, checked, outcomes, *, coordinator, now) -> dict[int, TransferResult]:
    """The ledger's outcome of each checked item, with the exchange each posted one is recorded as."""
    results = {}
    for item, outcome in zip(checked, outcomes, strict=True):
        if not outcome.ok:
            stopped = isinstance(outcome.error, ledger_errors.BatchItemNotApplied)
            status = TransferStatus.NOT_APPLIED if stopped else TransferStatus.REFUSED
            results[item.index] = TransferResult(index=item.index, status=status, error=outcome.error)
    posted = [(item, outcome.posting) for item, outcome in zip(checked, outcomes, strict=True) if outcome.ok]
    exchanges = _record_exchanges(session, community, posted, coordinator=coordinator, now=now)
    for item, posting in posted:
        results[item.index] = TransferResult(
            index=item.index, status=TransferStatus.POSTED, exchange=exchanges[item.index], transaction_id=posting.id
        )
    return results


def _audit(session, actor, community, results: list[TransferResult], outcomes, *, atomic: bool, now) -> None:
    """One entry for the batch, if it posted anything new: how many, how many minutes, which transactions."""
    new = [outcome.posting for outcome in outcomes if outcome.ok and not outcome.posting.replayed]
    if not new:
        return
    posted = [result for result in results if result.status == TransferStatus.POSTED]
    audit.record(
        session,
        actor=actor,
        community_id=community.id,
        action="transfers.batch_posted",
        subject_type="community",
        subject_id=community.id,
        details={
            "atomic": atomic,
            "item_count": len(results),
            "posted_count": len(posted),
            "refused_count": len(results) - len(posted),
            "minutes": sum(result.exchange.minutes for result in posted),
            "transaction_ids": [posting.id for posting in new],
        },
        now=now,
    )


def post_transfer_batch(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    transfers: Sequence[Transfer],
    atomic: bool,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> list[TransferResult]:
    """A coordinator posts 1 to 500 transfers between members of the community, each attested as agreed by
    both, all or nothing (``atomic``) or each on its own; one result per transfer, in order. The ledger's
    floors, ceilings and frozen accounts apply to each. Written to the audit log."""
    now = utc_now(now)
    if not isinstance(atomic, bool):
        raise errors.InvalidInput("atomic must be true or false", field="atomic")
    transfers = _checked_transfers(transfers)
    if idempotency_key is not None:
        idempotency_key = validation.text("idempotency_key", idempotency_key, maximum=MAX_KEY_LENGTH, required=True)
    community_id = require_row_id(community_id, what="community", field="community_id")
    coordinator = access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    checked, refused = _check_all(session, community, coordinator, transfers, now=now)
    if atomic and refused:
        return _none_applied(len(transfers), refused)
    commands = [_command(community, item, actor=actor, idempotency_key=idempotency_key) for item in checked]
    outcomes = ledger.post_batch(session, commands, atomic=atomic, now=now)
    results = refused | _results(session, community, checked, outcomes, coordinator=coordinator, now=now)
    ordered = [results[index] for index in range(len(transfers))]
    _audit(session, actor, community, ordered, outcomes, atomic=atomic, now=now)
    session.commit()
    return ordered
