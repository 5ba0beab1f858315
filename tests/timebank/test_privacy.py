"""Privacy: a person's export of everything held about them, and their erasure with the books still adding up."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import ledger
from tests.timebank.test_reports import add_row, at, confirmed_exchange, listing, transfer
from tests.world import PASSWORD, Person, World, join
from timebank import audit, errors, members, privacy, reports
from timebank.models import (
    AuditEntry,
    Community,
    Exchange,
    ExchangeEvent,
    Invitation,
    Listing,
    Membership,
    OutboxMessage,
    SafeguardingCheck,
    ThankYou,
    User,
)


@dataclass
class Life:
    """Zeynep's life in two time banks; every personal string of hers contains ``tag``."""

    tag: str
    zeynep: Person
    elsewhere: Membership
    world: World
    other_world: World
    listing: Listing
    helped_bert: Exchange
    helped_by_bert: Exchange
    claim: Exchange

    @property
    def email(self) -> str:
        return self.zeynep.user.email


@pytest.fixture
def life(world, other_world) -> Life:
    tag = uuid.uuid4().hex[:10]
    name = f"Zeynep{tag} Kaya{tag}"
    zeynep = join(world.db, world.admin.actor, world.community_id, name, neighbourhood=f"Kattenburg{tag}")
    world.db.run(
        members.update_profile,
        actor=zeynep.actor,
        membership_id=zeynep.id,
        likes_to_do=f"knitting{tag}",
        languages=[f"Turks{tag}"],
        availability=["mon-morning"],
    )
    elsewhere = world.db.run(
        members.apply_to_join, actor=zeynep.actor, community_id=other_world.community_id, display_name=name
    )
    elsewhere = world.db.run(members.approve_member, actor=other_world.admin.actor, membership_id=elsewhere.id)
    transfer(other_world, other_world.ans, Person(user=zeynep.user, membership=elsewhere), 30, when=at(3, 4))

    request = listing(
        world, zeynep, created_at=at(3, 5), title=f"Help{tag} with shopping", description=f"Straat{tag} 5"
    )
    helped_bert = confirmed_exchange(world, helper=zeynep, helped=world.bert, minutes=60, confirmed_at=at(3, 6))
    helped_by_bert = confirmed_exchange(
        world, helper=world.bert, helped=zeynep, minutes=20, confirmed_at=at(3, 7), listing_id=request.id
    )
    held = transfer(world, zeynep, world.bert, 30, when=at(3, 8), pending=True)
    claim = add_row(
        world,
        Exchange(
            community_id=world.community_id,
            helper_membership_id=world.bert.id,
            helped_membership_id=zeynep.id,
            initiated_by_membership_id=world.bert.id,
            status="recorded",
            minutes=30,
            description=f"shopping{tag}",
            ledger_transaction_id=held,
            created_at=at(3, 8),
            recorded_at=at(3, 8),
            updated_at=at(3, 8),
        ),
    )
    _add_the_rest(world, zeynep, tag, helped_bert=helped_bert, helped_by_bert=helped_by_bert, claim=claim)
    return Life(tag, zeynep, elsewhere, world, other_world, request, helped_bert, helped_by_bert, claim)


def _add_the_rest(world: World, zeynep: Person, tag: str, *, helped_bert, helped_by_bert, claim) -> None:
    """Notes, invitations, a safeguarding check and messages that mention her."""
    bert_request = listing(world, world.bert, created_at=at(3, 5))
    community = world.community_id
    rows = [
        ThankYou(
            community_id=community,
            exchange_id=helped_bert.id,
            from_membership_id=world.bert.id,
            to_membership_id=zeynep.id,
            text=f"Dank je Zeynep{tag}!",
            created_at=at(3, 6),
        ),
        ThankYou(
            community_id=community,
            exchange_id=helped_by_bert.id,
            from_membership_id=zeynep.id,
            to_membership_id=world.bert.id,
            text=f"Thanks{tag}, Bert",
            created_at=at(3, 7),
        ),
        ExchangeEvent(
            community_id=community,
            exchange_id=claim.id,
            actor_membership_id=zeynep.id,
            kind="noted",
            note=f"note{tag}",
            at=at(3, 8),
        ),
        Invitation(
            community_id=community,
            listing_id=bert_request.id,
            membership_id=zeynep.id,
            invited_by_membership_id=world.coordinator.id,
            message=f"Zeynep{tag}, can you help Bert?",
            created_at=at(3, 5),
        ),
        SafeguardingCheck(
            community_id=community,
            membership_id=zeynep.id,
            scheme="vog",
            seen_on=date(2026, 3, 1),
            seen_by_membership_id=world.officer.id,
            review_on=date(2029, 3, 1),
            recorded_at=at(3, 2),
        ),
        OutboxMessage(
            user_id=zeynep.user.id,
            community_id=community,
            kind="invited",
            language="nl",
            subject=f"Hallo{tag}",
            body=f"Beste Zeynep{tag}, je bent uitgenodigd.",
            due_at=at(3, 5),
            created_at=at(3, 5),
        ),
        OutboxMessage(
            user_id=world.bert.user.id,
            community_id=community,
            kind="responded",
            language="nl",
            subject="Iemand reageerde",
            body=f"Zeynep{tag} Kaya{tag} reageerde op je vraag.",
            due_at=at(3, 5),
            created_at=at(3, 5),
        ),
    ]
    for row in rows:
        add_row(world, row)


def export(life: Life, person: Person, actor=None) -> dict:
    return life.world.db.read(privacy.export_user_data, actor=actor or person.actor, user_id=person.user.id)


def erase(life: Life, actor=None, **options):
    return life.world.db.run(
        privacy.erase_user, actor=actor or life.zeynep.actor, user_id=life.zeynep.user.id, now=at(4, 1), **options
    )


def rows_mentioning(db, *texts: str) -> list[str]:
    """Every row of every table that contains one of ``texts`` anywhere (case-insensitively)."""

    def scan(*, session):
        found = []
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa.select(table)):
                cells = " ".join(str(value) for value in row).lower()
                found.extend(f"{table.name}: {row}" for text in texts if text.lower() in cells)
        return found

    return db.read(scan)


# --- export -------------------------------------------------------------------------------------------------------


def test_a_person_can_export_everything_held_about_them_as_json(life):
    data = export(life, life.zeynep)
    text = json.dumps(data)

    assert data["user"]["email"] == life.email
    assert [membership["community_id"] for membership in data["memberships"]] == [
        life.world.community_id,
        life.other_world.community_id,
    ]
    here = data["memberships"][0]
    assert here["neighbourhood"] == f"Kattenburg{life.tag}"
    assert here["likes_to_do"] == f"knitting{life.tag}"
    assert here["account"]["balance_minutes"] == 120 + 60 - 20
    assert here["account"]["pending_debit_minutes"] == 30
    assert [item["title"] for item in data["listings"]] == [f"Help{life.tag} with shopping"]
    assert [(item["your_role"], item["other_party_first_name"], item["status"]) for item in data["exchanges"]] == [
        ("helper", "Bert", "confirmed"),
        ("helped", "Bert", "confirmed"),
        ("helped", "Bert", "recorded"),
    ]
    assert data["exchanges"][2]["events"] == [
        {"kind": "noted", "minutes": None, "by_you": True, "note": f"note{life.tag}", "at": at(3, 8).isoformat()}
    ]
    assert [note["text"] for note in data["thank_you_notes"]["received"]] == [f"Dank je Zeynep{life.tag}!"]
    assert [note["to_first_name"] for note in data["thank_you_notes"]["given"]] == ["Bert"]
    assert data["invitations"]["received"][0]["from_first_name"] == "Carla"
    assert data["safeguarding_checks"] == [
        {
            "membership_id": life.zeynep.id,
            "scheme": "vog",
            "seen_on": "2026-03-01",
            "review_on": "2029-03-01",
            "recorded_at": at(3, 2).isoformat(),
        }
    ]
    subjects = [message["subject"] for message in data["messages"]]
    # One welcome message per community Zeynep was admitted to, then the message planted in the fixture.
    assert subjects == ["Welkom bij Buurtbank Test"] * 2 + [f"Hallo{life.tag}"]
    assert "member.approved" in [decision["action"] for decision in data["decisions"]]
    assert "Jansen" not in text  # the other party by first name only
    assert life.zeynep.user.password_hash not in text


def test_the_export_holds_the_ledger_entries_with_their_balances(life):
    entries = [item for item in export(life, life.zeynep)["ledger_entries"] if item["membership_id"] == life.zeynep.id]

    assert [
        (item["kind"], item["state"], item["amount_minutes"], item["balance_after_minutes"]) for item in entries
    ] == [
        ("welcome_credit", "posted", 120, 120),
        ("exchange", "posted", 60, 180),
        ("exchange", "posted", -20, 160),
        ("exchange", "pending", -30, None),
    ]


def test_an_administrator_may_export_a_persons_data(life):
    assert export(life, life.zeynep, actor=life.world.admin.actor)["user"]["email"] == life.email


@pytest.mark.parametrize("who", ["bert", "coordinator", "other_coordinator"])
def test_nobody_else_may_export_a_persons_data(life, who):
    actor = {
        "bert": life.world.bert.actor,
        "coordinator": life.world.coordinator.actor,
        "other_coordinator": life.other_world.coordinator.actor,
    }[who]

    with pytest.raises(errors.NotFound):
        export(life, life.zeynep, actor=actor)


def test_exporting_a_user_that_does_not_exist_is_not_found(world):
    with pytest.raises(errors.NotFound):
        world.db.read(privacy.export_user_data, actor=world.admin.actor, user_id=10**9)


# --- erasure ------------------------------------------------------------------------------------------------------


def test_after_erasure_the_books_still_verify_and_every_community_sums_to_zero(life):
    erase(life)

    def books(*, session):
        results = []
        for world in (life.world, life.other_world):
            community = session.get(Community, world.community_id)
            report = ledger.verify(session, ledger_id=community.ledger_id)
            results.append((report.ok, report.summary(), ledger.ledger_balance_total(session, community.ledger_id)))
        return results

    for ok, summary, total in life.world.db.read(books):
        assert ok, summary
        assert total == 0


def test_after_erasure_no_row_holds_anything_personal_of_the_person(life):
    assert rows_mentioning(life.world.db, life.tag, life.email)  # the scan finds them before

    erase(life)

    assert rows_mentioning(life.world.db, life.tag, life.email) == []


def test_after_erasure_the_person_can_no_longer_log_in(life):
    assert life.world.db.run(members.authenticate, email=life.email, password=PASSWORD) is not None

    erase(life)

    assert life.world.db.run(members.authenticate, email=life.email, password=PASSWORD) is None
    user = life.world.db.read(lambda *, session: session.get(User, life.zeynep.user.id))
    assert (user.email, user.password_hash, user.erased_at) == (None, None, at(4, 1))


def test_erasure_keeps_the_balances_under_the_same_anonymous_frozen_accounts(life):
    result = erase(life)

    def state(*, session):
        memberships = [session.get(Membership, life.zeynep.id), session.get(Membership, life.elsewhere.id)]
        accounts = [ledger.get_account(session, membership.account_id) for membership in memberships]
        return memberships, accounts

    memberships, accounts = life.world.db.read(state)
    assert [(item.status, item.display_name, item.neighbourhood, item.languages) for item in memberships] == [
        ("left", "Erased member", "", []),
        ("left", "Erased member", "", []),
    ]
    assert [(account.name, account.balance, account.pending_debits, account.status) for account in accounts] == [
        ("", 160, 0, "frozen"),
        ("", 150, 0, "frozen"),
    ]
    assert (result.memberships_left, result.holds_voided, result.exchanges_called_off) == (2, 1, 1)


def test_erasure_voids_the_pending_claim_and_closes_and_blanks_the_listings(life):
    erase(life)

    def state(*, session):
        claim = session.get(Exchange, life.claim.id)
        transaction = ledger.load_posting(session, claim.ledger_transaction_id).transaction
        return claim, transaction, session.get(Listing, life.listing.id)

    claim, transaction, request = life.world.db.read(state)
    assert (claim.status, claim.description, transaction.state) == ("voided", "", "voided")
    assert (request.status, request.title, request.description) == ("closed", "", "")
    bert = life.world.db.read(lambda *, session: ledger.get_account(session, life.world.bert.account_id))
    assert bert.pending_credits == 0


def test_other_members_keep_their_data_with_the_erased_person_named_erased_member(life):
    cor_before = export(life, life.world.cor)
    bert_before = export(life, life.world.bert)

    erase(life)

    assert export(life, life.world.cor) == cor_before
    bert_after = export(life, life.world.bert)
    # Bert's claim on her was voided with her other holds: only his pending credit changed.
    bert_before["memberships"][0]["account"]["pending_credit_minutes"] -= 30
    assert bert_after["memberships"] == bert_before["memberships"]
    assert bert_after["listings"] == bert_before["listings"]
    posted = [entry for entry in bert_after["ledger_entries"] if entry["state"] == "posted"]
    assert posted == [entry for entry in bert_before["ledger_entries"] if entry["state"] == "posted"]
    assert {item["other_party_first_name"] for item in bert_after["exchanges"]} == {"Erased member"}
    assert life.tag not in json.dumps(bert_after)


def test_a_statement_names_an_erased_counterpart_erased_member(life):
    erase(life)

    result = life.world.db.read(
        reports.member_statement,
        actor=life.world.bert.actor,
        membership_id=life.world.bert.id,
        start=at(3, 6),
        end=at(3, 8),
    )

    assert [line.other_party_first_name for line in result.lines] == ["Erased member", "Erased member"]


def test_erasure_is_refused_while_an_exchange_is_disputed_and_nothing_changes(life):
    def dispute(*, session):
        session.get(Exchange, life.claim.id).status = "disputed"
        session.commit()

    life.world.db.run(dispute)

    with pytest.raises(errors.Conflict):
        erase(life)

    user = life.world.db.read(lambda *, session: session.get(User, life.zeynep.user.id))
    membership = life.world.db.read(lambda *, session: session.get(Membership, life.zeynep.id))
    assert (user.email, user.erased_at) == (life.email, None)
    assert (membership.status, membership.display_name) == ("active", f"Zeynep{life.tag} Kaya{life.tag}")
    account = life.world.db.read(lambda *, session: ledger.get_account(session, life.zeynep.account_id))
    assert (account.pending_debits, account.status, account.name) == (30, "open", f"Zeynep{life.tag} Kaya{life.tag}")


def test_an_administrator_may_erase_a_person_with_a_reason_written_to_the_audit_log(life):
    erase(life, actor=life.world.admin.actor, reason="asked by letter")

    def entries(*, session):
        return list(
            session.execute(
                sa.select(AuditEntry.community_id, AuditEntry.action, AuditEntry.reason).where(
                    AuditEntry.action.in_(["user.erased", "member.erased"]),
                    sa.or_(
                        sa.and_(AuditEntry.subject_type == "user", AuditEntry.subject_id == life.zeynep.user.id),
                        sa.and_(
                            AuditEntry.subject_type == "membership",
                            AuditEntry.subject_id.in_([life.zeynep.id, life.elsewhere.id]),
                        ),
                    ),
                )
            )
        )

    assert sorted(life.world.db.read(entries), key=str) == sorted(
        [
            (None, "user.erased", "asked by letter"),
            (life.world.community_id, "member.erased", "asked by letter"),
            (life.other_world.community_id, "member.erased", "asked by letter"),
        ],
        key=str,
    )
    coordinator_view = life.world.db.read(
        audit.audit_log, actor=life.world.coordinator.actor, community_id=life.world.community_id
    )
    assert "member.erased" in [entry.action for entry in coordinator_view.entries]


def test_an_administrator_must_give_a_reason_to_erase_someone(life):
    with pytest.raises(errors.InvalidInput) as refusal:
        erase(life, actor=life.world.admin.actor)

    assert refusal.value.details["field"] == "reason"
    assert life.world.db.run(members.authenticate, email=life.email, password=PASSWORD) is not None


@pytest.mark.parametrize("who", ["bert", "coordinator"])
def test_nobody_but_the_person_or_an_administrator_may_erase_them(life, who):
    actor = {"bert": life.world.bert.actor, "coordinator": life.world.coordinator.actor}[who]

    with pytest.raises(errors.NotFound):
        erase(life, actor=actor, reason="because")

    assert life.world.db.run(members.authenticate, email=life.email, password=PASSWORD) is not None


def test_a_person_cannot_be_erased_twice(life):
    erase(life)

    with pytest.raises(errors.Conflict):
        life.world.db.run(privacy.erase_user, actor=life.world.admin.actor, user_id=life.zeynep.user.id, reason="x")


def test_an_erased_person_can_still_be_exported_with_nothing_personal_left(life):
    erase(life)

    data = export(life, life.zeynep, actor=life.world.admin.actor)

    assert data["user"]["email"] is None
    assert data["user"]["erased_at"] == at(4, 1).isoformat()
    assert data["messages"] == [] and data["safeguarding_checks"] == []
    assert life.tag not in json.dumps(data)


def test_a_person_erases_their_own_data_by_confirming_with_their_password(life):
    with pytest.raises(errors.NotAllowed) as refused:
        life.world.db.run(privacy.erase_own_data, actor=life.zeynep.actor, password="not my password", now=at(4, 1))
    assert refused.value.details == {"field": "password"}
    assert life.world.db.read(lambda *, session: session.get(User, life.zeynep.user.id)).erased_at is None

    result = life.world.db.run(privacy.erase_own_data, actor=life.zeynep.actor, password=PASSWORD, now=at(4, 1))

    assert result.user_id == life.zeynep.user.id
    assert life.world.db.run(members.authenticate, email=life.email, password=PASSWORD) is None
