"""Notifications: an outbox of messages in each member's language, delivered reliably.

Use cases call ``notify`` inside their own transaction: the message is written out in the recipient's language
and queued in the outbox together with the change it tells about, so it exists exactly when the change does.
A member who asked for a weekly digest gets an entry due at the next Monday 08:00 in the community's time zone.

``deliver_due`` (run by ``timebank tick``) sends what is due. A message is never lost and never sent twice:

1. it is claimed in a transaction of its own (``claimed_at`` set, ``attempts`` counted), which two ticks cannot
   both win; a claim older than ``CLAIM_LEASE`` counts as abandoned by a crashed tick and may be claimed again;
2. it is sent, outside any transaction;
3. it is marked sent in another transaction; a failed send records the error, releases the claim and sets the
   message due again later (``retry_delay``), until after ``MAX_ATTEMPTS`` it is marked failed and kept for a
   person to look at.

The one window for a second delivery is a crash between a successful send and step 3: then the claim expires and
the message goes out again. Sending at least once is the price of never losing one. The transport's timeout is
far shorter than the lease, so a slow send never lets a second tick take over a message that is still going out.

Digest entries of one recipient are sent as one mail, claimed and marked together.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ledger.core import utc_now
from timebank import messages, validation
from timebank.config import FALSE_WORDS, TRUE_WORDS, ConfigError
from timebank.database import Database
from timebank.messages import MessageError, hours_and_minutes
from timebank.models import Community, MessageStatus, OutboxMessage, User

__all__ = [
    "CLAIM_LEASE",
    "MAX_ATTEMPTS",
    "DeliveryReport",
    "Email",
    "LogTransport",
    "MessageError",
    "SmtpTransport",
    "deliver_due",
    "hours_and_minutes",
    "next_digest_moment",
    "notify",
    "retry_delay",
    "transport_from_settings",
]

IMMEDIATE, WEEKLY = "immediate", "weekly"
DEFAULT_TIME_ZONE = "Europe/Amsterdam"
DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time_of_day(8, 0)
CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(minutes=5)
MAX_RETRY_DELAY = timedelta(hours=6)
# One digest mail holds at most this many entries; any more go out in a second mail.
MAX_DIGEST_ENTRIES = 50
MAX_BATCH_SIZE = 1000
MAX_ERROR_LENGTH = 500
# Far below CLAIM_LEASE: a send that hangs gives up long before another tick may claim its message again.
SMTP_TIMEOUT_SECONDS = 30
DEFAULT_SMTP_PORT = 587

logger = logging.getLogger(__name__)
mail_logger = logging.getLogger("timebank.mail")


# --- queueing ---------------------------------------------------------------------------------------------------


def next_digest_moment(now: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> datetime:
    """The next Monday 08:00 in ``time_zone`` strictly after ``now``, in UTC (08:00 local in summer and winter
    time alike)."""
    zone = ZoneInfo(time_zone)
    local = utc_now(now).astimezone(zone)
    monday = local.date() + timedelta(days=(DIGEST_WEEKDAY - local.weekday()) % 7)
    moment = datetime.combine(monday, DIGEST_TIME, tzinfo=zone)
    if moment <= local:
        moment = datetime.combine(monday + timedelta(days=7), DIGEST_TIME, tzinfo=zone)
    return moment.astimezone(UTC)


def notify(
    session: Session,
    *,
    user_id: int,
    kind: str,
    context: dict,
    community_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Queue a message of ``kind`` for a user, written in their preferred language, in the caller's transaction
    (it does not commit). Due now for "immediate"; a digest entry due at the next Monday 08:00 in the community's
    time zone for "weekly" (except ``messages.IMMEDIATE_KINDS``, due now for everyone). Users without an email
    (offline members) and erased users get nothing: None.

    ``messages.REQUIRED_CONTEXT[kind]`` lists the context values a kind needs; an unknown kind or a missing
    value raises ``MessageError`` (a programming error), also for a user who gets nothing."""
    now = utc_now(now)
    user = session.get(User, user_id)
    if user is None:
        raise MessageError(f"no user with id {user_id!r} to notify")
    community = None
    if community_id is not None:
        community = session.get(Community, community_id)
        if community is None:
            raise MessageError(f"no community with id {community_id!r}")
    language = user.preferred_language if user.preferred_language in messages.LANGUAGES else "nl"
    text = messages.render(kind, language, context)
    if not user.email or user.erased_at is not None:
        return None
    urgent = kind in messages.IMMEDIATE_KINDS
    weekly = user.notification_mode == WEEKLY and not urgent
    if weekly:
        due_at = next_digest_moment(now, community.time_zone if community else DEFAULT_TIME_ZONE)
        body = text.body
    else:
        due_at = now
        community_name = community.name if community else None
        body = messages.letter(language, text.body, community_name=community_name, weekly_note=not urgent)
    message = OutboxMessage(
        user_id=user.id,
        community_id=community_id,
        kind=kind,
        language=language,
        subject=text.subject,
        body=body,
        due_at=due_at,
        digest=weekly,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


# --- delivering -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    """One mail to send: to whom, what, in which language, and the outbox messages it delivers."""

    recipient: str
    subject: str
    body: str
    language: str
    message_ids: tuple[int, ...]


class Transport(Protocol):
    def send(self, email: Email) -> None:
        """Deliver the mail or raise; any exception counts as a failed attempt."""


@dataclass
class DeliveryReport:
    """What one run of ``deliver_due`` did."""

    emails_sent: int = 0
    messages_sent: int = 0
    retries_scheduled: int = 0
    messages_failed: int = 0


@dataclass(frozen=True)
class _Claim:
    email: Email
    claimed_at: datetime


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 5 minutes, doubling, at most 6 hours."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def _as_database(database: Database | Engine) -> Database:
    if isinstance(database, Database):
        return database
    if isinstance(database, Engine):
        return Database(database)
    raise TypeError(f"deliver_due needs a Database or an Engine, not {type(database).__name__}")


def deliver_due(
    database: Database | Engine, *, now: datetime | None, transport: Transport, batch_size: int = 100
) -> DeliveryReport:
    """Send the outbox messages due at ``now``: each immediate message in a mail of its own, each recipient's
    due digest entries in one mail. At most ``batch_size`` mails per run; the next run goes on.

    Safe to run from several processes at once: each message is claimed by one run only."""
    database = _as_database(database)
    batch_size = validation.whole_number("batch_size", batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
    now = utc_now(now)
    started = time.monotonic()

    def clock() -> datetime:
        # ``now`` plus the time this run has taken: a claim carries the moment it was really made.
        return now + timedelta(seconds=time.monotonic() - started)

    report = DeliveryReport()
    report.messages_failed += database.run(_fail_undeliverable, now=now, moment=clock())
    for number in range(batch_size):
        # Alternate, so a flood of immediate messages does not hold back the weekly digests, nor the reverse.
        claim = database.run(_claim_next, now=now, moment=clock(), digest_first=number % 2 == 1)
        if claim is None:
            break
        _send(database, claim, transport, clock, report)
    return report


def _send(
    database: Database, claim: _Claim, transport: Transport, clock: Callable[[], datetime], report: DeliveryReport
) -> None:
    email = claim.email
    try:
        transport.send(email)
    except Exception as error:  # any failure of the transport is a failed attempt, never a lost message
        description = messages.shorten(f"{type(error).__name__}: {error}", MAX_ERROR_LENGTH)
        logger.warning("sending outbox messages %s failed: %s", email.message_ids, description)
        retried, failed = database.run(
            _record_failure, ids=email.message_ids, claimed_at=claim.claimed_at, error=description, moment=clock()
        )
        report.retries_scheduled += retried
        report.messages_failed += failed
        return
    database.run(_mark_sent, ids=email.message_ids, moment=clock())
    report.emails_sent += 1
    report.messages_sent += len(email.message_ids)


def _claimable(*, now: datetime, moment: datetime):
    """Queued, due, with tries left, and not claimed by a run that may still be sending it."""
    return sa.and_(
        OutboxMessage.status == MessageStatus.QUEUED.value,
        OutboxMessage.due_at <= now,
        OutboxMessage.attempts < MAX_ATTEMPTS,
        sa.or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < moment - CLAIM_LEASE),
    )


def _deliverable_users():
    return sa.select(User.id).where(User.email.is_not(None), User.erased_at.is_(None))


def _fail_undeliverable(*, session: Session, now: datetime, moment: datetime) -> int:
    """Mark failed what can never go out: messages whose recipient lost their email or was erased, and messages
    whose last allowed attempt was interrupted by a crash."""
    queued = OutboxMessage.status == MessageStatus.QUEUED.value
    no_recipient = session.execute(
        sa.update(OutboxMessage)
        .where(queued, OutboxMessage.due_at <= now, OutboxMessage.user_id.not_in(_deliverable_users()))
        .values(status=MessageStatus.FAILED.value, claimed_at=None, last_error="the recipient has no email address")
        .execution_options(synchronize_session=False)
    ).rowcount
    interrupted = session.execute(
        sa.update(OutboxMessage)
        .where(queued, OutboxMessage.attempts >= MAX_ATTEMPTS, OutboxMessage.claimed_at < moment - CLAIM_LEASE)
        .values(
            status=MessageStatus.FAILED.value,
            claimed_at=None,
            last_error=f"delivery was interrupted; {MAX_ATTEMPTS} attempts made",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return no_recipient + interrupted


def _take(session: Session, ids: list[int], *, now: datetime, moment: datetime) -> list[int]:
    """Claim the messages ``ids`` that are still claimable; the guard makes a lost race claim nothing."""
    if not ids:
        return []
    claimed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _claimable(now=now, moment=moment))
        .values(claimed_at=moment, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


def _claim_immediate(session: Session, *, now: datetime, moment: datetime) -> _Claim | None:
    row = session.execute(
        sa.select(OutboxMessage.id, User.email)
        .join(User, User.id == OutboxMessage.user_id)
        .where(
            _claimable(now=now, moment=moment),
            OutboxMessage.digest.is_(False),
            User.email.is_not(None),
            User.erased_at.is_(None),
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(1)
        # PostgreSQL: a message another run is claiming right now is skipped, not waited for.
        .with_for_update(of=OutboxMessage, skip_locked=True)
    ).first()
    if row is None or not _take(session, [row.id], now=now, moment=moment):
        return None
    message = session.get(OutboxMessage, row.id)
    email = Email(row.email, message.subject, message.body, message.language, (message.id,))
    return _Claim(email=email, claimed_at=moment)


def _claim_digest(session: Session, *, now: datetime, moment: datetime) -> _Claim | None:
    due_digests = (OutboxMessage.digest.is_(True), _claimable(now=now, moment=moment))
    # PostgreSQL: lock the recipient, so two runs never split one person's digest into two mails.
    user = session.execute(
        sa.select(User)
        .where(User.id.in_(sa.select(OutboxMessage.user_id).where(*due_digests)), User.id.in_(_deliverable_users()))
        .order_by(User.id)
        .limit(1)
        .with_for_update(skip_locked=True, key_share=True)
    ).scalar_one_or_none()
    if user is None:
        return None
    candidates = session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.user_id == user.id, *due_digests)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(MAX_DIGEST_ENTRIES)
    ).all()
    ids = _take(session, list(candidates), now=now, moment=moment)
    if not ids:
        return None
    entries = session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.due_at, OutboxMessage.id)
    ).all()
    language = user.preferred_language if user.preferred_language in messages.LANGUAGES else "nl"
    summary = messages.digest(language, [messages.Text(entry.subject, entry.body) for entry in entries])
    email = Email(user.email, summary.subject, summary.body, language, tuple(entry.id for entry in entries))
    return _Claim(email=email, claimed_at=moment)


def _claim_next(*, session: Session, now: datetime, moment: datetime, digest_first: bool) -> _Claim | None:
    """Claim the next mail's worth of due messages and commit the claim; None when nothing is left to claim."""
    order = (_claim_digest, _claim_immediate) if digest_first else (_claim_immediate, _claim_digest)
    for claim_some in order:
        claim = claim_some(session, now=now, moment=moment)
        if claim is not None:
            session.commit()
            return claim
    session.commit()
    return None


def _mark_sent(*, session: Session, ids: tuple[int, ...], moment: datetime) -> None:
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == MessageStatus.QUEUED.value)
        .values(status=MessageStatus.SENT.value, sent_at=moment)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _record_failure(
    *, session: Session, ids: tuple[int, ...], claimed_at: datetime, error: str, moment: datetime
) -> tuple[int, int]:
    """Release our claim with the error: due again after a pause, or failed for good after the last attempt.
    Returns (retried, failed)."""
    rows = session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.claimed_at == claimed_at,
            OutboxMessage.status == MessageStatus.QUEUED.value,
        )
    ).all()
    retried = failed = 0
    for row in rows:
        row.claimed_at = None
        row.last_error = error
        if row.attempts >= MAX_ATTEMPTS:
            row.status = MessageStatus.FAILED.value
            failed += 1
        else:
            row.due_at = moment + retry_delay(row.attempts)
            retried += 1
    session.commit()
    return retried, failed


# --- transports -------------------------------------------------------------------------------------------------


class LogTransport:
    """Writes each mail to the ``timebank.mail`` logger: for development, and when no SMTP server is set.

    With ``include_body=False`` (in production) only who it was for and its subject, as a warning that it was not
    sent: a mail's body can hold a link that sets a new password, and a log is read by more people than a mailbox.
    """

    def __init__(self, logger: logging.Logger | None = None, *, include_body: bool = True):
        self.logger = logger or mail_logger
        self.include_body = include_body

    def send(self, email: Email) -> None:
        """Log the mail (recipient, subject, body) at INFO level; without its body, as a warning, if so made."""
        if not self.include_body:
            self.logger.warning(
                "mail to %s (%s, outbox %s) not sent, TIMEBANK_SMTP_HOST is not set: %s",
                email.recipient,
                email.language,
                ",".join(map(str, email.message_ids)),
                email.subject,
            )
            return
        self.logger.info(
            "mail to %s (%s, outbox %s)\nSubject: %s\n\n%s",
            email.recipient,
            email.language,
            ",".join(map(str, email.message_ids)),
            email.subject,
            email.body,
        )


class SmtpTransport:
    """Sends each mail over SMTP (standard library), optionally upgraded with STARTTLS and logged in."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        use_starttls: bool,
        sender: str,
        *,
        timeout_seconds: float = SMTP_TIMEOUT_SECONDS,
    ):
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.use_starttls = use_starttls
        self.sender = sender
        self.timeout_seconds = timeout_seconds

    def message(self, email: Email) -> EmailMessage:
        """The mail as an RFC 5322 message: plain UTF-8 text, marked as sent automatically."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.recipient
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "timebank.invalid"
        # The same id on every retry, so a receiving server can recognise a mail it already has.
        message["Message-ID"] = f"<outbox-{email.message_ids[0]}-{email.message_ids[-1]}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.body)
        # After the content: setting the content replaces every Content-* header.
        message["Content-Language"] = email.language
        return message

    def send(self, email: Email) -> None:
        """Connect, say hello, upgrade to TLS and log in where configured, and hand over the mail."""
        message = self.message(email)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as connection:
            if self.use_starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password or "")
            connection.send_message(message)


def _flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ConfigError(f"{name} must be one of {sorted(TRUE_WORDS | FALSE_WORDS)}, not {value!r}")
    return word in TRUE_WORDS


def transport_from_settings(settings: Mapping) -> LogTransport | SmtpTransport:
    """SMTP when ``SMTP_HOST`` is set (with ``SMTP_PORT`` (587), ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
    ``SMTP_STARTTLS`` (on) and ``SMTP_SENDER``, which is then required); otherwise the log."""
    host = str(settings.get("SMTP_HOST") or "").strip()
    if not host:
        # In production the log gets no mail bodies (links that set a password): set SMTP_HOST to send them.
        return LogTransport(include_body=settings.get("ENV") != "production")
    try:
        port = int(settings.get("SMTP_PORT") or DEFAULT_SMTP_PORT)
    except (TypeError, ValueError):
        raise ConfigError(f"SMTP_PORT must be a whole number, not {settings.get('SMTP_PORT')!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"SMTP_PORT must be between 1 and 65535, not {port}")
    sender = str(settings.get("SMTP_SENDER") or "").strip()
    if "@" not in sender:
        raise ConfigError("SMTP_SENDER must be the address mails come from (for example tijdbank@example.org)")
    starttls = settings.get("SMTP_STARTTLS")
    return SmtpTransport(
        host=host,
        port=port,
        username=settings.get("SMTP_USERNAME") or None,
        password=settings.get("SMTP_PASSWORD") or None,
        use_starttls=True if starttls is None or starttls == "" else _flag("SMTP_STARTTLS", starttls),
        sender=sender,
    )
