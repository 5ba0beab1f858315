"""Notifications: messages in each member's language, queued in the outbox, delivered once and never lost."""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import re
import smtplib
import socketserver
import string
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from tests.world import START
from timebank import errors, members, messages
from timebank.config import ConfigError
from timebank.database import Database
from timebank.messages import MessageError
from timebank.models import Community, MessageStatus, OutboxMessage, User
from timebank.notifications import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    DeliveryReport,
    Email,
    LogTransport,
    SmtpTransport,
    deliver_due,
    hours_and_minutes,
    next_digest_moment,
    notify,
    retry_delay,
    transport_from_settings,
)

AMSTERDAM_MONDAY_AFTER_START = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 CET
CONTEXTS = {
    "listing_response": {"responder_name": "Bert Jansen", "listing_title": "Fiets repareren"},
    "invitation": {"inviter_name": "Carla Coördinator", "listing_title": "Oppassen vrijdagavond"},
    "claim_waiting": {"recorder_name": "Ans de Vries", "minutes": 150},
    "claim_confirmed": {"confirmer_name": "Cor Bakker", "minutes": 90},
    "claim_disputed": {"disputer_name": "Bert Jansen", "minutes": 150, "reason": "Het was maar een uur."},
    "application_approved": {"community_name": "Buurtbank Oosterpark"},
    "application_declined": {"community_name": "Buurtbank Oosterpark", "reason": "U woont buiten de wijk."},
    "confirms_tomorrow": {"recorder_name": "Ans de Vries", "minutes": 45},
    "password_reset": {"link": "https://tijdbank.example.org/password/reset/eyJ1c2VyIjo3fQ.Zm9v.YmFy"},
}
SHOWN = {"minutes": {150: ("2 u 30 min", "2 h 30 min"), 90: ("1 u 30 min", "1 h 30 min"), 45: ("45 min",) * 2}}


# --- hours and minutes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "dutch", "english"),
    [
        (150, "2 u 30 min", "2 h 30 min"),
        (45, "45 min", "45 min"),
        (120, "2 u", "2 h"),
        (60, "1 u", "1 h"),
        (61, "1 u 1 min", "1 h 1 min"),
        (0, "0 min", "0 min"),
        (-75, "-1 u 15 min", "-1 h 15 min"),
        (-30, "-30 min", "-30 min"),
        (-600, "-10 u", "-10 h"),
        (2400, "40 u", "40 h"),
    ],
)
def test_minutes_are_shown_as_hours_and_minutes_in_both_languages(minutes, dutch, english):
    assert hours_and_minutes(minutes, "nl") == dutch
    assert hours_and_minutes(minutes, "en") == english


@pytest.mark.parametrize("value", [1.5, "90", None, True])
def test_hours_and_minutes_refuses_anything_but_whole_minutes(value):
    with pytest.raises(TypeError):
        hours_and_minutes(value, "nl")


def test_hours_and_minutes_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="language"):
        hours_and_minutes(90, "de")


# --- the texts --------------------------------------------------------------------------------------------------


def test_every_kind_the_issue_asks_for_has_a_text_in_both_languages():
    expected = {
        "listing_response",
        "invitation",
        "claim_waiting",
        "claim_confirmed",
        "claim_disputed",
        "application_approved",
        "application_declined",
        "confirms_tomorrow",
        "password_reset",
    }
    assert set(messages.KINDS) == expected == set(CONTEXTS)
    for kind in expected:
        assert set(messages.TEXTS[kind]) == set(messages.LANGUAGES)


@pytest.mark.parametrize("kind", sorted(messages.TEXTS))
def test_both_languages_ask_for_the_same_context(kind):
    asked = [
        {name for _, name, _, _ in string.Formatter().parse(text.subject + text.body) if name}
        for text in messages.TEXTS[kind].values()
    ]
    assert asked[0] == asked[1] == messages.REQUIRED_CONTEXT[kind]
    assert messages.REQUIRED_CONTEXT[kind] <= set(messages.FIELDS)


@pytest.mark.parametrize("language", messages.LANGUAGES)
@pytest.mark.parametrize("kind", sorted(messages.TEXTS))
def test_each_kind_renders_completely_in_each_language(kind, language):
    text = messages.render(kind, language, CONTEXTS[kind])
    written = text.subject + "\n" + text.body
    assert "{" not in written and "}" not in written
    assert "\n" not in text.subject and 0 < len(text.subject) <= messages.MAX_SUBJECT_LENGTH
    for name, value in CONTEXTS[kind].items():
        if name == "minutes":
            assert SHOWN["minutes"][value][messages.LANGUAGES.index(language)] in written
            assert not re.search(r"\d[.,]\d", written), "minutes are never shown as decimals"
        elif name.endswith("_name") and name != "community_name":
            assert value.split()[0] in written
            assert value not in written, "people are named by their first name only"
        else:
            assert value in written


def test_the_texts_are_really_in_two_languages():
    dutch = messages.render("claim_waiting", "nl", CONTEXTS["claim_waiting"])
    english = messages.render("claim_waiting", "en", CONTEXTS["claim_waiting"])
    assert "genoteerd" in dutch.body and "recorded" in english.body
    assert dutch.subject != english.subject


def test_an_unknown_kind_is_a_loud_error():
    with pytest.raises(MessageError, match="unknown kind"):
        messages.render("birthday", "nl", {})


def test_a_missing_context_value_is_a_loud_error_naming_it():
    with pytest.raises(MessageError, match="'minutes'"):
        messages.render("claim_confirmed", "nl", {"confirmer_name": "Cor"})


@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("claim_confirmed", {"confirmer_name": "Cor", "minutes": 1.5}),
        ("claim_confirmed", {"confirmer_name": "Cor", "minutes": "90"}),
        ("claim_confirmed", {"confirmer_name": 7, "minutes": 90}),
        ("claim_confirmed", {"confirmer_name": "   ", "minutes": 90}),
        ("claim_confirmed", ["Cor", 90]),
    ],
)
def test_a_malformed_context_value_is_a_loud_error(kind, context):
    with pytest.raises(MessageError):
        messages.render(kind, "nl", context)


def test_values_beyond_what_a_kind_needs_are_ignored():
    text = messages.render("claim_confirmed", "en", {"confirmer_name": "Cor", "minutes": 60, "exchange_id": 7})
    assert text.subject == "Cor confirmed 1 h"


def test_long_or_multi_line_values_are_cut_and_never_break_the_subject():
    title = "Bike\r\nBcc: everyone@example.org " + "x" * 300
    text = messages.render("listing_response", "en", {"responder_name": "Bert", "listing_title": title})
    assert "\n" not in text.subject and "\r" not in text.subject
    assert len(text.subject) <= messages.MAX_SUBJECT_LENGTH
    assert "x" * 119 not in text.body and "…" in text.body


def test_a_reason_keeps_its_line_breaks_but_loses_control_characters():
    context = {"disputer_name": "Bert", "minutes": 60, "reason": "Eén uur.\nNiet twee.\x07"}
    text = messages.render("claim_disputed", "nl", context)
    assert "Eén uur.\nNiet twee." in text.body and "\x07" not in text.body


@pytest.mark.parametrize(
    "link",
    [
        "https://tijdbank.example.org/" + "x" * 1000,
        "javascript:alert(1)",
        "https://tijdbank.example.org/reset\nBcc: everyone@example.org",
        "https://tijdbank.example.org/a b",
        "tijdbank.example.org/reset",
    ],
)
def test_a_link_is_never_cut_or_mangled_but_refused_loudly(link):
    with pytest.raises(MessageError, match="'link'"):
        messages.render("password_reset", "en", {"link": link})


def test_a_link_stays_whole_on_a_line_of_its_own():
    link = CONTEXTS["password_reset"]["link"]
    for language in messages.LANGUAGES:
        assert f"\n{link}\n" in messages.render("password_reset", language, {"link": link}).body


def test_a_digest_names_how_many_messages_it_holds():
    entries = [messages.Text("Eerste", "een"), messages.Text("Tweede", "twee")]
    assert messages.digest("nl", entries).subject.endswith("2 berichten")
    assert messages.digest("en", entries[:1]).subject.endswith("1 message")
    assert "• Eerste\neen" in messages.digest("nl", entries).body
    with pytest.raises(MessageError):
        messages.digest("nl", [])


# --- when a message is due --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # Monday 2 March 2026, 10:00 in Amsterdam (CET, UTC+1): the digest of next Monday.
        (START, datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
        # Monday 07:59 local: this morning's digest is still to come.
        (datetime(2026, 3, 2, 6, 59, tzinfo=UTC), datetime(2026, 3, 2, 7, 0, tzinfo=UTC)),
        # Monday 08:00 local exactly: that digest is going out; next week's.
        (datetime(2026, 3, 2, 7, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
        # Sunday 23:30 local.
        (datetime(2026, 3, 8, 22, 30, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
        # Summer time starts on Sunday 29 March: Monday 08:00 CEST is 06:00 UTC.
        (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        # Winter time returns on Sunday 25 October: Monday 08:00 CET is 07:00 UTC again.
        (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_a_weekly_digest_is_due_next_monday_at_eight_in_amsterdam(now, due):
    assert next_digest_moment(now) == due
    assert next_digest_moment(now, "Europe/Amsterdam") == due


def test_the_digest_moment_follows_the_communitys_time_zone():
    assert next_digest_moment(START, "Europe/London") == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    # 04:00 on Monday in New York: that morning, still in winter time; a day later: next Monday, in summer time.
    assert next_digest_moment(START, "America/New_York") == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    tuesday = START + timedelta(days=1)
    assert next_digest_moment(tuesday, "America/New_York") == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_retries_wait_longer_each_time_up_to_six_hours():
    waits = [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS + 1)]
    assert waits[:3] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert waits == sorted(waits) and waits[-1] == timedelta(hours=6)


# --- queueing ---------------------------------------------------------------------------------------------------


def outbox_of(session: Session, user_id: int) -> list[OutboxMessage]:
    """The user's messages, less the welcome message every member of the test world got when admitted."""
    return list(
        session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.user_id == user_id, OutboxMessage.kind != "application_approved"
            )
        )
    )


def test_an_immediate_member_gets_a_letter_due_now_in_their_language(world, session):
    bert = session.get(User, world.bert.user.id)
    bert.preferred_language = "en"
    session.flush()

    message = notify(
        session,
        user_id=bert.id,
        kind="claim_waiting",
        context=CONTEXTS["claim_waiting"],
        community_id=world.community_id,
        now=START,
    )

    assert outbox_of(session, bert.id) == [message]
    assert message.due_at == START and not message.digest
    assert message.status == MessageStatus.QUEUED and message.attempts == 0
    assert (message.kind, message.language, message.community_id) == ("claim_waiting", "en", world.community_id)
    assert message.subject == "Ans recorded 2 h 30 min: is that right?"
    assert message.body.startswith("Hello,\n\nAns recorded 2 h 30 min")
    assert "Buurtbank Test" in message.body, "signed by the community"
    assert "once a week" in message.body


def test_a_dutch_member_gets_dutch(world, session):
    message = notify(session, user_id=world.ans.user.id, kind="invitation", context=CONTEXTS["invitation"], now=START)
    assert message.language == "nl"
    assert message.subject == "Carla vraagt of je kunt helpen: “Oppassen vrijdagavond”"
    assert message.body.startswith("Hallo,") and "Je tijdbank" in message.body


def test_a_weekly_member_gets_a_digest_entry_due_next_monday_morning(world, session):
    cor = session.get(User, world.cor.user.id)
    cor.notification_mode = "weekly"
    session.flush()

    message = notify(
        session,
        user_id=cor.id,
        kind="claim_confirmed",
        context=CONTEXTS["claim_confirmed"],
        community_id=world.community_id,
        now=START,
    )

    assert message.digest
    assert message.due_at == AMSTERDAM_MONDAY_AFTER_START
    assert not message.body.startswith("Hallo"), "the digest adds the greeting once"


def test_a_password_link_goes_out_at_once_even_to_a_weekly_member_without_the_note_about_weekly_mail(world, session):
    cor = session.get(User, world.cor.user.id)
    cor.notification_mode = "weekly"
    session.flush()

    message = notify(session, user_id=cor.id, kind="password_reset", context=CONTEXTS["password_reset"], now=START)

    assert not message.digest and message.due_at == START
    assert message.body.startswith("Hallo,") and CONTEXTS["password_reset"]["link"] in message.body
    assert "één keer per week" not in message.body


def test_a_weekly_digest_follows_the_communitys_time_zone_also_in_the_week_summer_time_starts(world, session):
    session.get(User, world.cor.user.id).notification_mode = "weekly"
    session.get(Community, world.community_id).time_zone = "Europe/London"
    session.flush()
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)

    message = notify(
        session,
        user_id=world.cor.user.id,
        kind="claim_confirmed",
        context=CONTEXTS["claim_confirmed"],
        community_id=world.community_id,
        now=saturday,
    )
    without_community = notify(
        session, user_id=world.cor.user.id, kind="claim_confirmed", context=CONTEXTS["claim_confirmed"], now=saturday
    )

    assert message.due_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert without_community.due_at == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST, Amsterdam


def test_an_offline_member_without_an_email_gets_nothing(world, db):
    offline = db.run(
        members.add_offline_member,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        display_name="Opa Henk",
        now=START,
    )

    def notify_offline(*, session):
        result = notify(
            session,
            user_id=offline.user_id,
            kind="claim_waiting",
            context=CONTEXTS["claim_waiting"],
            community_id=world.community_id,
            now=START,
        )
        session.commit()
        return result

    assert db.run(notify_offline) is None
    assert db.read(lambda *, session: outbox_of(session, offline.user_id)) == []


def test_an_erased_user_gets_nothing(world, session):
    session.get(User, world.bert.user.id).erased_at = START
    session.flush()
    assert notify(session, user_id=world.bert.user.id, kind="invitation", context=CONTEXTS["invitation"]) is None
    assert outbox_of(session, world.bert.user.id) == []


def test_a_programming_error_is_loud_even_for_someone_who_would_get_nothing(world, session):
    session.get(User, world.bert.user.id).email = None
    session.flush()
    with pytest.raises(MessageError):
        notify(session, user_id=world.bert.user.id, kind="invitation", context={"inviter_name": "Carla"})
    with pytest.raises(MessageError, match="unknown kind"):
        notify(session, user_id=world.ans.user.id, kind="birthday", context={})
    with pytest.raises(MessageError, match="no user"):
        notify(session, user_id=-1, kind="invitation", context=CONTEXTS["invitation"])
    with pytest.raises(MessageError, match="no community"):
        notify(session, user_id=world.ans.user.id, kind="invitation", context=CONTEXTS["invitation"], community_id=-1)
    assert outbox_of(session, world.ans.user.id) == []


def test_notify_leaves_the_commit_to_the_use_case_that_calls_it(world, db):
    with Session(db.engine) as session:
        notify(session, user_id=world.ans.user.id, kind="invitation", context=CONTEXTS["invitation"], now=START)
        session.rollback()
    assert db.read(lambda *, session: outbox_of(session, world.ans.user.id)) == []


# --- delivering: helpers ----------------------------------------------------------------------------------------


@pytest.fixture
def outbox_db(fresh_database):
    """A database of its own, so that delivery sees only this test's messages."""
    engine = ledger.create_engine(fresh_database)
    yield Database(engine)
    engine.dispose()


def add_recipient(db: Database, *, language: str = "nl", mode: str = "immediate") -> int:
    def create(*, session):
        user = User(
            email=f"{uuid.uuid4().hex[:10]}@example.org",
            preferred_language=language,
            notification_mode=mode,
            created_at=START,
        )
        session.add(user)
        session.commit()
        return user.id

    return db.run(create)


def queue(db: Database, user_id: int, kind: str = "claim_confirmed", *, now: datetime = START) -> int:
    def work(*, session):
        message = notify(session, user_id=user_id, kind=kind, context=CONTEXTS[kind], now=now)
        session.commit()
        return message.id

    return db.run(work)


def load(db: Database, message_id: int) -> OutboxMessage:
    return db.read(lambda *, session: session.get(OutboxMessage, message_id))


def change(db: Database, model, object_id: int, **values) -> None:
    def work(*, session):
        row = session.get(model, object_id)
        for name, value in values.items():
            setattr(row, name, value)
        session.commit()

    db.run(work)


def email_of(db: Database, user_id: int) -> str:
    return db.read(lambda *, session: session.get(User, user_id).email)


class RecordingTransport:
    """Records every mail; fails the first ``failures`` sends as a mail server that is down would."""

    def __init__(self, *, failures: int = 0):
        self.failures = failures
        self.calls = 0
        self.sent: list[Email] = []
        self.lock = threading.Lock()

    def send(self, email: Email) -> None:
        with self.lock:
            self.calls += 1
            if self.failures:
                self.failures -= 1
                raise ConnectionRefusedError("the mail server is down")
            self.sent.append(email)

    def sent_ids(self) -> list[int]:
        return sorted(message_id for mail in self.sent for message_id in mail.message_ids)


# --- delivering -------------------------------------------------------------------------------------------------


def test_due_messages_are_sent_once_and_marked_sent(outbox_db):
    ans, bert = add_recipient(outbox_db), add_recipient(outbox_db, language="en")
    first, second = queue(outbox_db, ans, "invitation"), queue(outbox_db, bert, "claim_waiting")
    transport = RecordingTransport()

    report = deliver_due(outbox_db, now=START, transport=transport)

    assert report == DeliveryReport(emails_sent=2, messages_sent=2)
    by_recipient = {mail.recipient: mail for mail in transport.sent}
    assert by_recipient[email_of(outbox_db, ans)].subject == load(outbox_db, first).subject
    assert by_recipient[email_of(outbox_db, bert)].body == load(outbox_db, second).body
    assert by_recipient[email_of(outbox_db, bert)].language == "en"
    for message_id in (first, second):
        message = load(outbox_db, message_id)
        assert message.status == MessageStatus.SENT and message.attempts == 1
        assert START <= message.sent_at < START + timedelta(minutes=1)
    assert deliver_due(outbox_db, now=START + timedelta(days=1), transport=transport) == DeliveryReport()
    assert transport.calls == 2


def test_a_message_is_not_sent_before_it_is_due(outbox_db):
    queue(outbox_db, add_recipient(outbox_db), now=START + timedelta(hours=1))
    transport = RecordingTransport()
    assert deliver_due(outbox_db, now=START, transport=transport) == DeliveryReport()
    assert transport.calls == 0


def test_a_digest_groups_a_members_messages_of_the_week_into_one_mail(outbox_db):
    ans, bert = add_recipient(outbox_db, mode="weekly", language="en"), add_recipient(outbox_db, mode="weekly")
    ans_ids = [
        queue(outbox_db, ans, "invitation"),
        queue(outbox_db, ans, "claim_confirmed", now=START + timedelta(days=2)),
        queue(outbox_db, ans, "confirms_tomorrow", now=START + timedelta(days=3)),
    ]
    bert_id = queue(outbox_db, bert, "listing_response")
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START + timedelta(days=6), transport=transport) == DeliveryReport()
    report = deliver_due(outbox_db, now=AMSTERDAM_MONDAY_AFTER_START, transport=transport)

    assert report == DeliveryReport(emails_sent=2, messages_sent=4)
    mails = {mail.recipient: mail for mail in transport.sent}
    to_ans = mails[email_of(outbox_db, ans)]
    assert to_ans.message_ids == tuple(ans_ids)
    assert to_ans.subject == "Your week at the time bank: 3 messages"
    for message_id in ans_ids:
        assert load(outbox_db, message_id).subject in to_ans.body
    assert to_ans.body.count("Hello,") == 1
    assert mails[email_of(outbox_db, bert)].subject == "Je weekoverzicht van de tijdbank: 1 bericht"
    sent = [load(outbox_db, message_id) for message_id in [*ans_ids, bert_id]]
    assert {message.status for message in sent} == {MessageStatus.SENT}
    assert len({message.sent_at for message in sent[:3]}) == 1, "marked sent together"


def test_a_failed_send_is_recorded_and_retried_after_a_pause(outbox_db):
    message_id = queue(outbox_db, add_recipient(outbox_db))
    transport = RecordingTransport(failures=1)

    report = deliver_due(outbox_db, now=START, transport=transport)

    assert report == DeliveryReport(retries_scheduled=1)
    message = load(outbox_db, message_id)
    assert message.status == MessageStatus.QUEUED and message.attempts == 1 and message.claimed_at is None
    assert message.last_error == "ConnectionRefusedError: the mail server is down"
    assert START + retry_delay(1) <= message.due_at < START + retry_delay(1) + timedelta(minutes=1)
    assert deliver_due(outbox_db, now=START + timedelta(minutes=4), transport=transport) == DeliveryReport()

    report = deliver_due(outbox_db, now=START + timedelta(minutes=6), transport=transport)

    assert report == DeliveryReport(emails_sent=1, messages_sent=1)
    assert transport.sent_ids() == [message_id]
    message = load(outbox_db, message_id)
    assert message.status == MessageStatus.SENT and message.attempts == 2


def test_a_message_that_keeps_failing_is_marked_failed_after_the_last_attempt_and_kept(outbox_db):
    message_id = queue(outbox_db, add_recipient(outbox_db))
    transport = RecordingTransport(failures=1000)
    moment = START

    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver_due(outbox_db, now=moment, transport=transport)
        message = load(outbox_db, message_id)
        assert message.attempts == attempt
        moment = message.due_at + timedelta(seconds=1)

    assert message.status == MessageStatus.FAILED
    assert "mail server is down" in message.last_error and message.claimed_at is None
    assert deliver_due(outbox_db, now=START + timedelta(days=30), transport=transport) == DeliveryReport()
    assert transport.calls == MAX_ATTEMPTS and transport.sent == []
    assert load(outbox_db, message_id).body, "kept for a person to look at"


def test_a_claim_left_by_a_crashed_tick_is_taken_again_once_its_lease_ran_out(outbox_db):
    message_id = queue(outbox_db, add_recipient(outbox_db))
    change(outbox_db, OutboxMessage, message_id, claimed_at=START - CLAIM_LEASE - timedelta(minutes=1), attempts=1)
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START, transport=transport).messages_sent == 1

    assert transport.sent_ids() == [message_id]
    message = load(outbox_db, message_id)
    assert message.status == MessageStatus.SENT and message.attempts == 2


def test_a_fresh_claim_of_another_tick_is_left_alone_until_its_lease_runs_out(outbox_db):
    message_id = queue(outbox_db, add_recipient(outbox_db))
    change(outbox_db, OutboxMessage, message_id, claimed_at=START - timedelta(minutes=1), attempts=1)
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START, transport=transport) == DeliveryReport()
    assert load(outbox_db, message_id).attempts == 1

    assert deliver_due(outbox_db, now=START + CLAIM_LEASE, transport=transport).messages_sent == 1


def test_a_last_attempt_interrupted_by_a_crash_ends_as_failed_not_stranded(outbox_db):
    message_id = queue(outbox_db, add_recipient(outbox_db))
    change(outbox_db, OutboxMessage, message_id, claimed_at=START - timedelta(hours=1), attempts=MAX_ATTEMPTS)
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START, transport=transport) == DeliveryReport(messages_failed=1)

    message = load(outbox_db, message_id)
    assert message.status == MessageStatus.FAILED and "interrupted" in message.last_error
    assert transport.calls == 0


@pytest.mark.parametrize("lost", [{"email": None}, {"erased_at": START}])
def test_a_message_whose_recipient_lost_their_email_is_marked_failed_not_sent(outbox_db, lost):
    user_id = add_recipient(outbox_db)
    message_id = queue(outbox_db, user_id)
    change(outbox_db, User, user_id, **lost)
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START, transport=transport) == DeliveryReport(messages_failed=1)

    message = load(outbox_db, message_id)
    assert message.status == MessageStatus.FAILED and "no email" in message.last_error
    assert transport.calls == 0


def test_a_tick_sends_at_most_its_batch_and_the_next_tick_goes_on(outbox_db):
    user_id = add_recipient(outbox_db)
    ids = [queue(outbox_db, user_id) for _ in range(3)]
    transport = RecordingTransport()

    assert deliver_due(outbox_db, now=START, transport=transport, batch_size=2).emails_sent == 2
    assert deliver_due(outbox_db, now=START, transport=transport, batch_size=2).emails_sent == 1
    assert transport.sent_ids() == ids


@pytest.mark.parametrize("batch_size", [0, -1, 1001, 2.5])
def test_a_batch_size_out_of_bounds_is_refused(outbox_db, batch_size):
    with pytest.raises(errors.InvalidInput):
        deliver_due(outbox_db, now=START, transport=RecordingTransport(), batch_size=batch_size)


class RendezvousTransport(RecordingTransport):
    """Holds each thread's first send until the other thread sends too: both ticks are provably mid-delivery at
    the same moment, each with a claim of its own."""

    def __init__(self):
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=30)
        self.local = threading.local()
        self.threads: set[str] = set()

    def send(self, email: Email) -> None:
        if not getattr(self.local, "met", False):
            self.local.met = True
            self.barrier.wait()
        with self.lock:
            self.threads.add(threading.current_thread().name)
        super().send(email)


def test_two_ticks_running_at_once_send_each_message_exactly_once(outbox_db):
    recipients = [add_recipient(outbox_db) for _ in range(4)]
    weekly = [add_recipient(outbox_db, mode="weekly") for _ in range(3)]
    immediate_ids = [queue(outbox_db, recipients[number % 4]) for number in range(16)]
    digest_ids = [queue(outbox_db, weekly[number % 3], "invitation") for number in range(9)]
    transport = RendezvousTransport()
    failures = []

    def tick():
        try:
            deliver_due(outbox_db, now=AMSTERDAM_MONDAY_AFTER_START, transport=transport)
        except Exception as error:  # reported below; a thread's exception would otherwise vanish
            failures.append(error)

    threads = [threading.Thread(target=tick, name=f"tick-{number}") for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert transport.threads == {"tick-0", "tick-1"}
    assert transport.sent_ids() == sorted(immediate_ids + digest_ids)
    assert len(transport.sent) == 16 + 3, "one digest mail per weekly member"
    for message_id in immediate_ids + digest_ids:
        message = load(outbox_db, message_id)
        assert message.status == MessageStatus.SENT and message.attempts == 1


# --- transports -------------------------------------------------------------------------------------------------


class FakeSmtpServer(socketserver.ThreadingTCPServer):
    """Speaks just enough SMTP on 127.0.0.1 for ``smtplib``; keeps what it receives."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, *, refuse_data: bool = False):
        super().__init__(("127.0.0.1", 0), FakeSmtpHandler)
        self.refuse_data = refuse_data
        self.logins: list[bytes] = []
        self.received: list[tuple[str, list[str], bytes]] = []

    @property
    def port(self) -> int:
        return self.server_address[1]


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode())

    def handle(self) -> None:
        self.reply("220 fake.test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            verb, _, argument = line.decode().strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-fake.test", "250-8BITMIME", "250 AUTH PLAIN")
            elif verb == "AUTH":
                self.server.logins.append(base64.b64decode(argument.split()[1]))
                self.reply("235 2.7.0 accepted")
            elif verb == "MAIL":
                sender, recipients = argument.partition(":")[2].strip(" <>").split(">")[0], []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(argument.partition(":")[2].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA" and self.server.refuse_data:
                self.reply("554 5.7.1 not today")
            elif verb == "DATA":
                self.reply("354 go ahead")
                self.server.received.append((sender, recipients, self.read_data()))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK" if verb in ("HELO", "RSET", "NOOP") else "502 not implemented")

    def read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


@pytest.fixture
def smtp_server():
    servers = []

    def start(**options) -> FakeSmtpServer:
        server = FakeSmtpServer(**options)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def smtp_to(server: FakeSmtpServer, **options) -> SmtpTransport:
    settings = dict(
        host="127.0.0.1", port=server.port, username=None, password=None, use_starttls=False, sender="tijdbank@buurt.nl"
    )
    return SmtpTransport(**{**settings, **options}, timeout_seconds=10)


MAIL = Email("ans@example.org", "Carla vraagt of je kunt helpen", "Hallo,\n\nEén uur oppassen?\n", "nl", (7, 9))


def test_the_smtp_transport_hands_over_a_plain_utf8_mail_marked_as_automatic(smtp_server):
    server = smtp_server()

    smtp_to(server, username="tijdbank", password="geheim").send(MAIL)

    assert server.logins == [b"\0tijdbank\0geheim"]
    [(sender, recipients, data)] = server.received
    assert (sender, recipients) == ("tijdbank@buurt.nl", ["ans@example.org"])
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert mail["Subject"] == MAIL.subject and mail["To"] == "ans@example.org" and mail["From"] == "tijdbank@buurt.nl"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Content-Language"] == "nl"
    assert mail["Message-ID"] == "<outbox-7-9@buurt.nl>"
    assert mail.get_content().replace("\r\n", "\n") == MAIL.body  # SMTP carries lines ending in CRLF


def test_the_smtp_transport_raises_when_the_server_refuses(smtp_server):
    with pytest.raises(smtplib.SMTPDataError):
        smtp_to(smtp_server(refuse_data=True)).send(MAIL)


def test_the_smtp_transport_will_not_send_in_the_clear_when_starttls_is_asked_for_but_not_offered(smtp_server):
    server = smtp_server()
    with pytest.raises(smtplib.SMTPNotSupportedError):
        smtp_to(server, use_starttls=True).send(MAIL)
    assert server.received == []


def test_delivery_over_smtp_end_to_end_and_a_refusal_becomes_a_retry(outbox_db, smtp_server):
    message_id = queue(outbox_db, add_recipient(outbox_db), "application_approved")

    report = deliver_due(outbox_db, now=START, transport=smtp_to(smtp_server(refuse_data=True)))
    assert report == DeliveryReport(retries_scheduled=1)
    assert "SMTPDataError" in load(outbox_db, message_id).last_error

    server = smtp_server()
    report = deliver_due(outbox_db, now=START + timedelta(hours=1), transport=smtp_to(server))
    assert report == DeliveryReport(emails_sent=1, messages_sent=1)
    [(_, recipients, data)] = server.received
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert recipients == [email_of(outbox_db, load(outbox_db, message_id).user_id)]
    assert mail["Subject"] == "Welkom bij Buurtbank Oosterpark"
    assert "Je aanmelding bij Buurtbank Oosterpark is goedgekeurd" in mail.get_content()


def test_the_log_transport_writes_the_mail_to_the_timebank_mail_logger(caplog):
    with caplog.at_level(logging.INFO, logger="timebank.mail"):
        LogTransport().send(MAIL)
    [record] = caplog.records
    assert record.name == "timebank.mail"
    assert "ans@example.org" in record.getMessage() and MAIL.subject in record.getMessage()
    assert "Eén uur oppassen?" in record.getMessage()


def test_without_an_smtp_host_mail_goes_to_the_log():
    assert isinstance(transport_from_settings({}), LogTransport)
    assert isinstance(transport_from_settings({"SMTP_HOST": "  ", "SMTP_SENDER": "a@b.nl"}), LogTransport)


def test_with_an_smtp_host_mail_goes_over_smtp_with_the_settings():
    transport = transport_from_settings(
        {
            "SMTP_HOST": "smtp.buurt.nl",
            "SMTP_PORT": "2525",
            "SMTP_USERNAME": "tijdbank",
            "SMTP_PASSWORD": "geheim",
            "SMTP_STARTTLS": "off",
            "SMTP_SENDER": "tijdbank@buurt.nl",
        }
    )
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.username, transport.password) == (
        "smtp.buurt.nl",
        2525,
        "tijdbank",
        "geheim",
    )
    assert transport.use_starttls is False and transport.sender == "tijdbank@buurt.nl"
    defaults = transport_from_settings({"SMTP_HOST": "smtp.buurt.nl", "SMTP_SENDER": "tijdbank@buurt.nl"})
    assert defaults.port == 587 and defaults.use_starttls is True and defaults.username is None


@pytest.mark.parametrize(
    "settings",
    [
        {"SMTP_HOST": "smtp.buurt.nl"},
        {"SMTP_HOST": "smtp.buurt.nl", "SMTP_SENDER": "tijdbank"},
        {"SMTP_HOST": "smtp.buurt.nl", "SMTP_SENDER": "t@buurt.nl", "SMTP_PORT": "smtp"},
        {"SMTP_HOST": "smtp.buurt.nl", "SMTP_SENDER": "t@buurt.nl", "SMTP_PORT": "70000"},
        {"SMTP_HOST": "smtp.buurt.nl", "SMTP_SENDER": "t@buurt.nl", "SMTP_STARTTLS": "maybe"},
    ],
)
def test_incomplete_or_malformed_smtp_settings_are_refused(settings):
    with pytest.raises(ConfigError):
        transport_from_settings(settings)
