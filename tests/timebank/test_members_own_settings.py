"""A person reads their own settings and memberships (members.own_settings)."""

from __future__ import annotations

import pytest

from tests.world import START
from timebank import errors, members
from timebank.access import Actor


def test_a_person_reads_their_settings_and_every_membership_they_hold(world, other_world, db):
    ans = world.ans
    db.run(members.update_user_settings, actor=ans.actor, notification_mode="weekly")
    elsewhere = db.run(
        members.apply_to_join, actor=ans.actor, community_id=other_world.community_id, display_name="Ans", now=START
    )
    db.run(members.decline_member, actor=other_world.coordinator.actor, membership_id=elsewhere.id, reason="full")
    own = db.read(members.own_settings, actor=ans.actor)
    assert own.user.id == ans.user.id and own.user.notification_mode == "weekly"
    assert [(item.id, item.status) for item in own.memberships] == [(ans.id, "active"), (elsewhere.id, "declined")]


def test_a_partner_key_has_no_settings_of_its_own(world, db):
    partner = Actor.partner(key_id=1, community_id=world.community_id)
    with pytest.raises(errors.NotAllowed):
        db.read(members.own_settings, actor=partner)
