"""Communities, people and membership: creating a time bank, joining it, and the coordinator's admissions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors as ledger_errors
from tests.world import CATEGORIES, PASSWORD, Person, add_user, join
from timebank import audit, communities, errors, members
from timebank.bookkeeping import account_figures, post_transfer
from timebank.models import AuditEntry, Membership


def figures(db, account_id):
    return db.read(lambda *, session: account_figures(session, account_id))


def audit_actions(db, world):
    page = db.read(audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id, limit=100)
    return [entry.action for entry in page.entries]


# --- communities ----------------------------------------------------------------------------------------------


def test_a_new_community_has_its_ledger_pot_issuance_and_clearing_accounts_and_categories(world, db):
    community = world.community
    kinds = db.read(
        lambda *, session: sorted(
            ledger.get_account(session, account_id).kind
            for account_id in (community.pot_account_id, community.issuance_account_id, community.clearing_account_id)
        )
    )
    assert kinds == ["clearing", "issuance", "pot"]
    assert set(world.categories) == {spec.slug for spec in CATEGORIES}
    assert figures(db, community.pot_account_id).floor_minutes == 0


def test_only_an_administrator_creates_a_community(world, db):
    with pytest.raises(errors.NotAllowed):
        db.run(communities.create_community, actor=world.coordinator.actor, slug="nope", name="Nope")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"default_floor_minutes": 10}, "default_floor_minutes"),
        ({"default_ceiling_minutes": -1}, "default_ceiling_minutes"),
        ({"auto_confirm_days": 0}, "auto_confirm_days"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"language": "fr"}, "language"),
        ({"welcome_credit_minutes": 3000}, "welcome_credit_minutes"),
        ({"approval_required": "yes"}, "approval_required"),
        ({"balance": 10}, "balance"),
    ],
)
def test_bad_community_settings_are_refused_naming_the_field(world, db, settings, field):
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(communities.update_settings, actor=world.coordinator.actor, community_id=world.community_id, **settings)
    assert refused.value.details["field"] == field
    unchanged = db.read(lambda *, session: session.get(type(world.community), world.community_id))
    assert unchanged.auto_confirm_days == 7 and unchanged.language == "nl"


def test_a_coordinator_changes_settings_and_categories_and_it_is_audited(world, db):
    db.run(
        communities.update_settings, actor=world.coordinator.actor, community_id=world.community_id, auto_confirm_days=3
    )
    category = db.run(
        communities.add_category,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        spec=communities.CategorySpec("koken", "Cooking", "Koken"),
    )
    db.run(
        communities.update_category,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        category_id=category.id,
        active=False,
    )
    assert "koken" not in {c.slug for c in db.read(communities.categories, community_id=world.community_id)}
    assert {"community.settings_changed", "category.added", "category.changed"} <= set(audit_actions(db, world))


def test_a_member_cannot_change_settings_and_another_community_is_not_found(world, other_world, db):
    with pytest.raises(errors.NotAllowed):
        db.run(communities.update_settings, actor=world.ans.actor, community_id=world.community_id, auto_confirm_days=3)
    with pytest.raises(errors.NotFound):
        db.run(
            communities.update_settings,
            actor=world.coordinator.actor,
            community_id=other_world.community_id,
            auto_confirm_days=3,
        )
    with pytest.raises(errors.NotFound):
        db.run(
            communities.update_category,
            actor=world.coordinator.actor,
            community_id=world.community_id,
            category_id=other_world.categories["klussen"],
            active=False,
        )


def test_a_member_sees_only_the_communities_they_belong_to(world, other_world, db):
    visible = db.read(communities.visible_communities, actor=world.ans.actor)
    assert [community.id for community in visible] == [world.community_id]


# --- users ----------------------------------------------------------------------------------------------------


def test_registration_hashes_the_password_with_argon2id_and_logs_in(db):
    email = "Nieuw.Lid@Example.org"
    user = db.run(members.register_user, email=email, password="a long passphrase " * 5, preferred_language="en")
    assert user.email == "nieuw.lid@example.org"
    assert user.password_hash.startswith("$argon2id$") and "m=19456,t=2" in user.password_hash
    assert db.run(members.authenticate, email=email, password="a long passphrase " * 5).id == user.id
    assert db.run(members.authenticate, email=email, password="wrong passphrase here") is None
    assert db.run(members.authenticate, email="nobody@example.org", password="whatever it is") is None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("a@example.org", "short", "password"),
        ("a@example.org", "password123", "password"),
        ("a@example.org", "x" * 1025, "password"),
    ],
)
def test_registration_refuses_bad_emails_and_weak_passwords(db, email, password, field):
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(members.register_user, email=email, password=password)
    assert refused.value.details["field"] == field


def test_an_email_registers_once(db):
    db.run(members.register_user, email="twice@example.org", password=PASSWORD)
    with pytest.raises(errors.EmailTaken):
        db.run(members.register_user, email="TWICE@example.org", password=PASSWORD)


# --- joining --------------------------------------------------------------------------------------------------


def test_an_approved_applicant_gets_the_welcome_credit_from_the_issuance_account_once(world, db):
    applicant = Person(user=add_user(db))
    membership = db.run(
        members.apply_to_join,
        actor=applicant.actor,
        community_id=world.community_id,
        display_name="Dewi",
        neighbourhood="Oost",
        note="Ik help graag met boodschappen",
    )
    assert membership.status == "applicant"
    assert figures(db, membership.account_id).balance_minutes == 0
    approved = db.run(members.approve_member, actor=world.coordinator.actor, membership_id=membership.id)
    assert approved.status == "active"
    assert figures(db, membership.account_id).balance_minutes == 120
    with pytest.raises(errors.Conflict):
        db.run(members.approve_member, actor=world.coordinator.actor, membership_id=membership.id)
    assert figures(db, membership.account_id).balance_minutes == 120
    assert "member.approved" in audit_actions(db, world)


def test_applying_twice_is_refused_but_a_declined_applicant_may_apply_again(world, db):
    applicant = Person(user=add_user(db))
    membership = db.run(members.apply_to_join, actor=applicant.actor, community_id=world.community_id, display_name="E")
    with pytest.raises(errors.AlreadyMember):
        db.run(members.apply_to_join, actor=applicant.actor, community_id=world.community_id, display_name="E")
    with pytest.raises(errors.InvalidInput):
        db.run(members.decline_member, actor=world.coordinator.actor, membership_id=membership.id, reason=" ")
    declined = db.run(members.decline_member, actor=world.coordinator.actor, membership_id=membership.id, reason="vol")
    assert declined.status == "declined" and declined.decision_reason == "vol"
    again = db.run(members.apply_to_join, actor=applicant.actor, community_id=world.community_id, display_name="E")
    assert again.id == membership.id and again.status == "applicant"


def test_a_community_without_approval_admits_at_once(world, db):
    db.run(
        communities.update_settings,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        approval_required=False,
    )
    applicant = Person(user=add_user(db))
    membership = db.run(members.apply_to_join, actor=applicant.actor, community_id=world.community_id, display_name="F")
    assert membership.status == "active" and figures(db, membership.account_id).balance_minutes == 120


def test_members_cannot_approve_and_coordinators_of_another_community_cannot_see_applicants(world, other_world, db):
    applicant = Person(user=add_user(db))
    membership = db.run(members.apply_to_join, actor=applicant.actor, community_id=world.community_id, display_name="G")
    with pytest.raises(errors.NotAllowed):
        db.run(members.approve_member, actor=world.ans.actor, membership_id=membership.id)
    with pytest.raises(errors.NotFound):
        db.run(members.approve_member, actor=other_world.coordinator.actor, membership_id=membership.id)
    with pytest.raises(errors.NotFound):  # an applicant sees no members yet, not even their own application
        db.run(members.approve_member, actor=applicant.actor, membership_id=membership.id)


def test_a_suspended_member_cannot_pay_until_reinstated(world, db):
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="onderzoek")

    def pay(*, session):
        community = session.get(type(world.community), world.community_id)
        post_transfer(
            session,
            community=community,
            debit_account_id=world.ans.account_id,
            credit_account_id=world.bert.account_id,
            minutes=30,
            kind="payment",
            actor=world.ans.actor,
        )
        session.commit()

    with pytest.raises(ledger_errors.AccountFrozen):
        db.run(pay)
    with pytest.raises(errors.Conflict):
        db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="again")
    db.run(members.reinstate_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="opgelost")
    db.run(pay)
    assert figures(db, world.ans.account_id).balance_minutes == 90
    assert {"member.suspended", "member.reinstated"} <= set(audit_actions(db, world))


def test_a_member_with_a_balance_cannot_leave_until_it_is_settled(world, db):
    with pytest.raises(errors.BalanceNotSettled) as refused:
        db.run(members.leave_community, actor=world.ans.actor, membership_id=world.ans.id)
    assert refused.value.details["balance_minutes"] == 120
    assert db.read(lambda *, session: session.get(Membership, world.ans.id)).status == "active"


def test_a_coordinator_settles_a_leaving_members_balance_with_the_pot(world, db):
    with pytest.raises(errors.InvalidInput):
        db.run(members.leave_community, actor=world.coordinator.actor, membership_id=world.ans.id, settle_with_pot=True)
    left = db.run(
        members.leave_community,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        settle_with_pot=True,
        reason="verhuisd",
    )
    assert left.status == "left"
    assert figures(db, world.ans.account_id).status == "closed"
    assert figures(db, world.community.pot_account_id).balance_minutes == 120
    assert db.read(lambda *, session: ledger.verify(session, ledger_id=world.community.ledger_id)).ok


def test_a_member_with_a_zero_balance_leaves_on_their_own(world, db):
    leaving = join(db, world.admin.actor, world.community_id, "Hans Nul")

    def give_everything_to_the_pot(*, session):
        post_transfer(
            session,
            community=session.get(type(world.community), world.community_id),
            debit_account_id=leaving.account_id,
            credit_account_id=world.community.pot_account_id,
            minutes=120,
            kind="donation",
            actor=leaving.actor,
        )
        session.commit()

    db.run(give_everything_to_the_pot)
    left = db.run(members.leave_community, actor=leaving.actor, membership_id=leaving.id)
    assert left.status == "left" and figures(db, leaving.account_id).status == "closed"


def test_an_offline_member_is_active_at_once_without_a_login(world, db):
    offline = db.run(
        members.add_offline_member,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        display_name="Mevrouw Jansen",
        neighbourhood="Oosterpark",
    )
    assert offline.managed_offline and offline.status == "active"
    assert figures(db, offline.account_id).balance_minutes == 120
    with pytest.raises(errors.NotAllowed):
        db.run(members.add_offline_member, actor=world.ans.actor, community_id=world.community_id, display_name="X")
    changed = db.run(
        members.update_profile, actor=world.coordinator.actor, membership_id=offline.id, likes_to_do="breien"
    )
    assert changed.likes_to_do == "breien"


def test_a_member_edits_only_their_own_profile_with_checked_fields(world, db):
    updated = db.run(
        members.update_profile,
        actor=world.ans.actor,
        membership_id=world.ans.id,
        availability=["mon-morning", "sat-evening"],
        interests=["boodschappen"],
        visibility={"likes_to_do": True},
        likes_to_do="boodschappen doen",
    )
    assert updated.availability == ["mon-morning", "sat-evening"]
    with pytest.raises(errors.NotAllowed):
        db.run(members.update_profile, actor=world.bert.actor, membership_id=world.ans.id, likes_to_do="x")
    for bad in ({"availability": ["someday"]}, {"visibility": {"address": True}}, {"role": "coordinator"}):
        with pytest.raises(errors.InvalidInput):
            db.run(members.update_profile, actor=world.ans.actor, membership_id=world.ans.id, **bad)
    assert db.read(lambda *, session: session.get(Membership, world.ans.id)).role == "member"


def test_others_see_a_first_name_and_only_what_the_member_shows(world, db):
    db.run(
        members.update_profile,
        actor=world.ans.actor,
        membership_id=world.ans.id,
        likes_to_do="fietsen maken",
        availability=["mon-morning"],
        visibility={"likes_to_do": True},
    )
    seen_by_bert = db.read(members.view_member, actor=world.bert.actor, membership_id=world.ans.id)
    assert seen_by_bert.display_name == "Ans"
    assert seen_by_bert.shown == {"likes_to_do": "fietsen maken"}
    seen_by_coordinator = db.read(members.view_member, actor=world.coordinator.actor, membership_id=world.ans.id)
    assert seen_by_coordinator.display_name == "Ans de Vries" and "availability" in seen_by_coordinator.shown


def test_a_member_previews_their_own_profile_as_others_see_it_and_nobody_elses(world, db):
    db.run(
        members.update_profile,
        actor=world.ans.actor,
        membership_id=world.ans.id,
        likes_to_do="fietsen maken",
        languages=["Nederlands"],
        visibility={"likes_to_do": True},
    )
    preview = db.read(members.view_own_profile_as_others_see_it, actor=world.ans.actor, membership_id=world.ans.id)
    seen_by_bert = db.read(members.view_member, actor=world.bert.actor, membership_id=world.ans.id)
    assert preview == seen_by_bert
    assert (preview.display_name, preview.shown) == ("Ans", {"likes_to_do": "fietsen maken"})
    with pytest.raises(errors.NotFound):
        db.read(members.view_own_profile_as_others_see_it, actor=world.bert.actor, membership_id=world.ans.id)


def test_a_coordinator_sets_a_members_limits_with_a_reason(world, db):
    with pytest.raises(errors.InvalidInput):
        db.run(
            members.set_member_limits,
            actor=world.coordinator.actor,
            membership_id=world.ans.id,
            floor_minutes=-1200,
            ceiling_minutes=3000,
            reason="",
        )
    db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=-1200,
        ceiling_minutes=3000,
        reason="gezin in nood",
    )
    assert (figures(db, world.ans.account_id).floor_minutes, figures(db, world.ans.account_id).ceiling_minutes) == (
        -1200,
        3000,
    )
    entry = db.read(
        lambda *, session: session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "member.limits_set", AuditEntry.subject_id == world.ans.id)
        ).scalar_one()
    )
    assert entry.reason == "gezin in nood" and entry.details["floor_minutes"] == [-600, -1200]
    with pytest.raises(errors.NotAllowed):
        db.run(
            members.set_member_limits,
            actor=world.bert.actor,
            membership_id=world.ans.id,
            floor_minutes=-1200,
            ceiling_minutes=3000,
            reason="x",
        )


def test_only_an_administrator_names_a_safeguarding_officer(world, db):
    with pytest.raises(errors.NotAllowed):
        db.run(members.set_role, actor=world.coordinator.actor, membership_id=world.ans.id, safeguarding_officer=True)
    promoted = db.run(members.set_role, actor=world.coordinator.actor, membership_id=world.ans.id, role="coordinator")
    assert promoted.role == "coordinator"


def test_members_are_listed_by_page_and_applicants_only_for_coordinators(world, db):
    first = db.read(members.list_members, actor=world.ans.actor, community_id=world.community_id, limit=2)
    assert len(first.members) == 2 and first.next_cursor is not None
    rest = db.read(
        members.list_members,
        actor=world.ans.actor,
        community_id=world.community_id,
        limit=100,
        after=first.next_cursor,
    )
    assert len(first.members) + len(rest.members) == 5 and rest.next_cursor is None
    with pytest.raises(errors.NotAllowed):
        db.read(members.list_members, actor=world.ans.actor, community_id=world.community_id, status="applicant")


def test_a_user_chooses_language_and_notification_mode(world, db):
    user = db.run(
        members.update_user_settings, actor=world.ans.actor, preferred_language="en", notification_mode="weekly"
    )
    assert (user.preferred_language, user.notification_mode) == ("en", "weekly")
    with pytest.raises(errors.InvalidInput):
        db.run(members.update_user_settings, actor=world.ans.actor, notification_mode="hourly")


def test_the_ledger_sums_to_zero_after_admissions(world, db):
    assert db.read(lambda *, session: ledger.ledger_balance_total(session, world.community.ledger_id)) == 0


def test_an_applicant_hears_of_the_decision_in_their_own_language(world, db):
    from timebank.models import OutboxMessage

    english = Person(user=add_user(db, language="en"))
    dutch = Person(user=add_user(db, language="nl"))
    for person in (english, dutch):
        person.membership = db.run(
            members.apply_to_join, actor=person.actor, community_id=world.community_id, display_name="Nieuw"
        )
    db.run(members.approve_member, actor=world.coordinator.actor, membership_id=english.id)
    db.run(members.decline_member, actor=world.coordinator.actor, membership_id=dutch.id, reason="de bank is vol")

    def messages_for(user_id):
        return db.read(
            lambda *, session: list(
                session.execute(sa.select(OutboxMessage).where(OutboxMessage.user_id == user_id)).scalars()
            )
        )

    (approved,) = messages_for(english.user.id)
    (declined,) = messages_for(dutch.user.id)
    assert approved.kind == "application_approved" and approved.language == "en"
    assert declined.kind == "application_declined" and declined.language == "nl"
    assert "de bank is vol" in declined.body


def test_a_member_chooses_among_the_other_active_members_by_first_name_and_neighbourhood(db, world, other_world):
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="away")
    choices = db.read(members.member_choices, actor=world.ans.actor, community_id=world.community_id)
    assert [(choice.first_name, choice.neighbourhood) for choice in choices] == [
        ("Bert", "Dapperbuurt"),
        ("Carla", "Oosterpark"),
        ("Olga", "Oosterpark"),
    ]
    assert {choice.membership_id for choice in choices} == {world.bert.id, world.coordinator.id, world.officer.id}
    with pytest.raises(errors.NotFound):
        db.read(members.member_choices, actor=other_world.ans.actor, community_id=world.community_id)
    with pytest.raises(errors.MembershipNotActive):
        db.read(members.member_choices, actor=world.cor.actor, community_id=world.community_id)
