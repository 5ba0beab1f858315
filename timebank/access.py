"""Who is acting, and what they may do in a community.

Every use case takes an ``Actor`` and looks up objects through these functions, scoped by community: an object
of a community the actor does not belong to is reported as not found, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from timebank import errors
from timebank.models import Community, Membership, MembershipStatus, Role, User


@dataclass(frozen=True)
class Actor:
    """The person (or system job) on whose behalf a use case runs."""

    user_id: int | None
    is_administrator: bool = False
    # A system job (tick, demo data) acts with the rights of an administrator, under this name.
    system: str | None = None
    # A partner app's key: it administers one community, within the scopes the API checks; no member, no user.
    partner_key_id: int | None = None
    partner_community_id: int | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(user_id=user.id, is_administrator=user.is_administrator)

    @classmethod
    def system_job(cls, name: str) -> Actor:
        return cls(user_id=None, is_administrator=True, system=name)

    @classmethod
    def partner(cls, *, key_id: int, community_id: int) -> Actor:
        return cls(user_id=None, partner_key_id=key_id, partner_community_id=community_id)

    @property
    def label(self) -> str:
        """How the ledger and the audit log name this actor."""
        if self.system:
            return f"system:{self.system}"
        if self.partner_key_id is not None:
            return f"partner:{self.partner_key_id}"
        return f"user:{self.user_id}"

    def administers(self, community_id: int) -> bool:
        """Whether the actor has a coordinator's reach in this community without being a member of it: an
        administrator of the installation anywhere, a partner key in its own community."""
        return self.is_administrator or (
            self.partner_community_id is not None and self.partner_community_id == community_id
        )


def get_community(session: Session, community_id: int) -> Community:
    community = session.get(Community, community_id)
    if community is None:
        raise errors.NotFound("no such community", community_id=community_id)
    return community


# Built once: every request of a member runs it (building and keying a statement costs more than running it).
_MEMBERSHIP_OF = sa.select(Membership).where(
    Membership.community_id == sa.bindparam("b_community"), Membership.user_id == sa.bindparam("b_user")
)


def membership_of(session: Session, actor: Actor, community_id: int) -> Membership | None:
    """The actor's membership of the community, in whatever state, or None."""
    if actor.user_id is None:
        return None
    return session.execute(_MEMBERSHIP_OF, {"b_community": community_id, "b_user": actor.user_id}).scalar_one_or_none()


def require_member(session: Session, actor: Actor, community_id: int) -> Membership:
    """The actor's active membership; a non-member is told the community does not exist."""
    membership = membership_of(session, actor, community_id)
    if membership is None:
        raise errors.NotFound("no such community", community_id=community_id)
    if membership.status != MembershipStatus.ACTIVE.value:
        raise errors.MembershipNotActive(
            f"your membership is {membership.status}", membership_id=membership.id, status=membership.status
        )
    return membership


def require_coordinator(session: Session, actor: Actor, community_id: int) -> Membership | None:
    """The actor's coordinator membership (None for an administrator of the installation or a partner key)."""
    get_community(session, community_id)
    if actor.administers(community_id):
        return membership_of(session, actor, community_id)
    membership = require_member(session, actor, community_id)
    if membership.role != Role.COORDINATOR.value:
        raise errors.NotAllowed("only a coordinator may do this", community_id=community_id)
    return membership


def require_safeguarding_officer(session: Session, actor: Actor, community_id: int) -> Membership | None:
    """Safeguarding records are for safeguarding officers and administrators only."""
    get_community(session, community_id)
    if actor.is_administrator:
        return membership_of(session, actor, community_id)
    membership = require_member(session, actor, community_id)
    if not membership.is_safeguarding_officer:
        raise errors.NotAllowed("only a safeguarding officer may see or record checks", community_id=community_id)
    return membership


def is_coordinator(session: Session, actor: Actor, community_id: int) -> bool:
    if actor.administers(community_id):
        return True
    membership = membership_of(session, actor, community_id)
    return (
        membership is not None
        and membership.status == MembershipStatus.ACTIVE.value
        and membership.role == Role.COORDINATOR.value
    )


def get_membership(session: Session, actor: Actor, membership_id: int) -> Membership:
    """A membership in a community the actor belongs to (or any, for an administrator)."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise errors.NotFound("no such member", membership_id=membership_id)
    if actor.administers(membership.community_id):
        return membership
    own = membership_of(session, actor, membership.community_id)
    if own is None or own.status != MembershipStatus.ACTIVE.value:
        raise errors.NotFound("no such member", membership_id=membership_id)
    return membership


def get_in_community(session: Session, model, object_id: int, community_id: int, *, what: str):
    """A row of ``model`` by id, only if it belongs to ``community_id``."""
    found = session.get(model, object_id)
    if found is None or found.community_id != community_id:
        raise errors.NotFound(f"no such {what}", **{f"{what}_id": object_id})
    return found
