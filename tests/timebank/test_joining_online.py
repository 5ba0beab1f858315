"""Joining from the web and a forgotten password: an account and an application together or not at all, the
list of time banks anyone may see, and a link to set a new password that works once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.world import PASSWORD, START
from timebank import communities, errors, members, passwords
from timebank.models import Membership, OutboxMessage, User

NEW_PASSWORD = "a long new passphrase for the bank"


def new_email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.org"


def users_with(db, email: str) -> int:
    return db.read(lambda *, session: session.scalar(sa.select(sa.func.count()).where(User.email == email)))


def outbox(db, user_id: int, kind: str) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.user_id == user_id, OutboxMessage.kind == kind)
    return db.read(lambda *, session: list(session.scalars(query)))


# --- an account and an application together ---------------------------------------------------------------------


def test_a_newcomer_registers_and_applies_in_one_go(world, db):
    email = new_email()
    membership = db.run(
        members.register_and_apply,
        email=email.upper(),
        password=PASSWORD,
        community_id=world.community_id,
        display_name="Fatima El Amrani",
        neighbourhood="Transvaal",
        note="Koken en Arabisch vertalen",
        preferred_language="en",
        now=START,
    )
    assert membership.status == "applicant" and membership.display_name == "Fatima El Amrani"
    assert (membership.neighbourhood, membership.application_note) == ("Transvaal", "Koken en Arabisch vertalen")
    user = db.read(lambda *, session: session.get(User, membership.user_id))
    assert user.email == email and user.preferred_language == "en"
    assert passwords.verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("changes", "refusal", "field"),
    [
        ({"password": "short"}, errors.InvalidInput, "password"),
        ({"password": "password123"}, errors.InvalidInput, "password"),
        ({"email": "not an email"}, errors.InvalidInput, "email"),
        ({"display_name": "   "}, errors.InvalidInput, "display_name"),
        ({"note": "x" * 1001}, errors.InvalidInput, "note"),
        ({"community_id": -1}, errors.NotFound, None),
    ],
)
def test_a_refused_application_leaves_no_account_behind(world, db, changes, refusal, field):
    email = new_email()
    arguments = {
        "email": email,
        "password": PASSWORD,
        "community_id": world.community_id,
        "display_name": "Fatima",
        **changes,
    }
    with pytest.raises(refusal) as refused:
        db.run(members.register_and_apply, **arguments)
    assert refused.value.details.get("field") == field
    assert users_with(db, email) == 0


def test_a_taken_email_is_refused_and_nothing_is_added(world, db):
    count = db.read(lambda *, session: session.scalar(sa.select(sa.func.count(Membership.id))))
    with pytest.raises(errors.EmailTaken) as refused:
        db.run(
            members.register_and_apply,
            email=world.ans.user.email,
            password=PASSWORD,
            community_id=world.community_id,
            display_name="Ans",
        )
    assert refused.value.details == {"field": "email"}
    assert db.read(lambda *, session: session.scalar(sa.select(sa.func.count(Membership.id)))) == count


def test_where_no_approval_is_needed_the_newcomer_is_a_member_at_once(world, db):
    db.run(
        communities.update_settings,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        approval_required=False,
    )
    membership = db.run(
        members.register_and_apply,
        email=new_email(),
        password=PASSWORD,
        community_id=world.community_id,
        display_name="Gijs",
        now=START,
    )
    assert membership.status == "active" and membership.joined_at == START


def test_anyone_sees_the_names_of_the_time_banks_to_join_and_nothing_more(world, other_world, db):
    listed = db.read(communities.communities_to_join)
    assert [community.name for community in listed] == sorted(community.name for community in listed)
    assert set(vars(listed[0])) == {"slug", "name"}
    assert len(listed) <= communities.MAX_OPEN_COMMUNITIES
    for community in (world.community, other_world.community):
        found = db.read(communities.communities_to_join, search=community.slug.upper())
        assert [c.slug for c in found] == [community.slug], "found by (part of) its short name, whatever the case"
    by_name = db.read(communities.communities_to_join, search="bank tes")
    assert by_name and all("bank tes" in c.name.lower() for c in by_name)
    assert db.read(communities.communities_to_join, search="%_%") == [], "like wildcards are taken literally"
    with pytest.raises(errors.InvalidInput):
        db.read(communities.communities_to_join, search="x" * 121)


# --- a forgotten password ---------------------------------------------------------------------------------------


def test_a_reset_link_is_mailed_to_an_account_that_can_log_in(world, db):
    made = []

    def make_link(user_id: int, fingerprint: str) -> str:
        made.append((user_id, fingerprint))
        return f"https://tijdbank.example.org/password/reset/{user_id}-{fingerprint}"

    db.run(members.request_password_reset, email=f"  {world.bert.user.email.upper()} ", make_link=make_link, now=START)

    user = db.read(lambda *, session: session.get(User, world.bert.user.id))
    assert made == [(user.id, members.password_fingerprint(user))]
    [message] = outbox(db, user.id, "password_reset")
    assert f"https://tijdbank.example.org/password/reset/{user.id}-" in message.body
    assert message.due_at == START and not message.digest


@pytest.mark.parametrize("who", ["unknown", "erased", "offline", "malformed"])
def test_nobody_gets_a_link_for_an_address_without_an_account_that_can_log_in(world, db, who):
    def make_link(user_id: int, fingerprint: str) -> str:
        raise AssertionError("no link is made")

    if who == "erased":

        def erase(*, session):
            session.get(User, world.cor.user.id).erased_at = START
            session.commit()

        db.run(erase)
        email = world.cor.user.email
    elif who == "offline":
        email = None
    else:
        email = "nobody-here@example.org" if who == "unknown" else "x" * 300
    before = db.read(lambda *, session: session.scalar(sa.select(sa.func.count(OutboxMessage.id))))
    assert db.run(members.request_password_reset, email=email, make_link=make_link) is None
    assert db.read(lambda *, session: session.scalar(sa.select(sa.func.count(OutboxMessage.id)))) == before


def test_a_new_password_is_set_once_with_the_fingerprint_of_the_old_one(world, db):
    user = world.ans.user
    fingerprint = members.password_fingerprint(user)
    assert db.read(members.password_reset_is_current, user_id=user.id, fingerprint=fingerprint)

    db.run(members.reset_password, user_id=user.id, fingerprint=fingerprint, new_password=NEW_PASSWORD)

    assert db.run(members.authenticate, email=user.email, password=NEW_PASSWORD) is not None
    assert db.run(members.authenticate, email=user.email, password=PASSWORD) is None
    assert not db.read(members.password_reset_is_current, user_id=user.id, fingerprint=fingerprint)
    with pytest.raises(errors.NotAllowed):
        db.run(members.reset_password, user_id=user.id, fingerprint=fingerprint, new_password="another passphrase!")
    assert db.run(members.authenticate, email=user.email, password=NEW_PASSWORD) is not None


def test_a_weak_new_password_is_refused_and_the_old_one_still_works(world, db):
    user = world.bert.user
    fingerprint = members.password_fingerprint(user)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(members.reset_password, user_id=user.id, fingerprint=fingerprint, new_password="qwertyuiop")
    assert refused.value.details["field"] == "password"
    assert db.run(members.authenticate, email=user.email, password=PASSWORD) is not None
    assert db.read(members.password_reset_is_current, user_id=user.id, fingerprint=fingerprint)


@pytest.mark.parametrize("case", ["wrong fingerprint", "no such user", "erased", "not a number"])
def test_a_reset_for_the_wrong_fingerprint_or_account_is_refused(world, db, case):
    user = world.cor.user
    user_id, fingerprint = user.id, members.password_fingerprint(user)
    if case == "wrong fingerprint":
        fingerprint = "0" * 32
    elif case == "no such user":
        user_id = 10**9
    elif case == "not a number":
        user_id = str(user.id)
    else:

        def erase(*, session):
            session.get(User, user.id).erased_at = START
            session.commit()

        db.run(erase)
    assert not db.read(members.password_reset_is_current, user_id=user_id, fingerprint=fingerprint)
    with pytest.raises(errors.NotAllowed):
        db.run(members.reset_password, user_id=user_id, fingerprint=fingerprint, new_password=NEW_PASSWORD)
