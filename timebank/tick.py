"""``timebank tick``: the periodic jobs, safe to run from cron every few minutes, and twice at once.

Each job runs in its own transactions and is idempotent: listings past their expiry are marked expired, recorded
claims past the community's confirmation period confirm themselves, ledger holds past their expiry are voided,
the members whose claim confirms itself within a day are reminded once, and the outbox is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from timebank import listings, notifications, payments
from timebank.database import Database
from timebank.models import Exchange, ExchangeEvent, IdempotencyRecord, Membership

REMINDER_EVENT = "reminded"
# api.md promises to keep idempotency keys at least 24 hours.
IDEMPOTENCY_KEPT_FOR = timedelta(hours=48)
REMINDER_HOURS = 24


@dataclass(frozen=True)
class TickReport:
    listings_expired: int
    exchanges_confirmed: int
    confirmation_failures: list
    holds_expired: int
    reminders_queued: int
    delivery: notifications.DeliveryReport

    def summary(self) -> str:
        return (
            f"listings expired: {self.listings_expired}; exchanges confirmed: {self.exchanges_confirmed} "
            f"({len(self.confirmation_failures)} refused, retried later); holds voided: {self.holds_expired}; "
            f"reminders queued: {self.reminders_queued}; messages sent: {self.delivery.messages_sent} in "
            f"{self.delivery.emails_sent} emails ({self.delivery.retries_scheduled} to retry, "
            f"{self.delivery.messages_failed} failed)"
        )


def expire_holds(*, session: Session, now: datetime | None = None) -> int:
    """Void the ledger holds whose expiry has passed, in every community; returns how many."""
    voided = ledger.expire_due(session, now=utc_now(now))
    session.commit()
    return len(voided)


def forget_idempotency_keys(*, session: Session, now: datetime | None = None) -> int:
    """Forget the API's idempotency records older than 48 hours; returns how many."""
    result = session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utc_now(now) - IDEMPOTENCY_KEPT_FOR)
    )
    session.commit()
    return result.rowcount


def queue_confirmation_reminders(*, session: Session, now: datetime | None = None) -> int:
    """Tell the member who must confirm a recorded claim that it confirms itself within a day — once per
    exchange (an exchange event marks the reminder as queued)."""
    now = utc_now(now)
    queued = 0
    for exchange in payments.exchanges_confirming_within(session=session, now=now, hours=REMINDER_HOURS):
        already = session.execute(
            sa.select(ExchangeEvent.id).where(
                ExchangeEvent.exchange_id == exchange.id, ExchangeEvent.kind == REMINDER_EVENT
            )
        ).first()
        if already or exchange.recorded_by_membership_id is None:
            continue
        _remind(session, exchange, now=now)
        queued += 1
    session.commit()
    return queued


def _remind(session: Session, exchange: Exchange, *, now: datetime) -> None:
    recorder = session.get(Membership, exchange.recorded_by_membership_id)
    other_id = (
        exchange.helped_membership_id
        if exchange.recorded_by_membership_id == exchange.helper_membership_id
        else exchange.helper_membership_id
    )
    other = session.get(Membership, other_id)
    notifications.notify(
        session,
        user_id=other.user_id,
        kind="confirms_tomorrow",
        context={"recorder_name": recorder.display_name, "minutes": exchange.minutes},
        community_id=exchange.community_id,
        now=now,
    )
    session.add(
        ExchangeEvent(
            community_id=exchange.community_id,
            exchange_id=exchange.id,
            kind=REMINDER_EVENT,
            at=now,
            minutes=exchange.minutes,
        )
    )


def run_tick(database: Database, *, transport, now: datetime | None = None) -> TickReport:
    """Every periodic job once, in order; each commits on its own, so a failure in one leaves the others done."""
    now = utc_now(now)
    expired = database.run(listings.expire_listings, now=now)
    confirmation = database.run(payments.confirm_due_exchanges, now=now)
    holds = database.run(expire_holds, now=now)
    reminders = database.run(queue_confirmation_reminders, now=now)
    database.run(forget_idempotency_keys, now=now)
    delivery = notifications.deliver_due(database, now=now, transport=transport)
    return TickReport(
        listings_expired=expired,
        exchanges_confirmed=len(confirmation.confirmed_exchange_ids),
        confirmation_failures=list(confirmation.failures),
        holds_expired=holds,
        reminders_queued=reminders,
        delivery=delivery,
    )
