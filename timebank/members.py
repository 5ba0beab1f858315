"""People and membership: users, applications, approval with the welcome credit, suspension, leaving,
offline members managed by a coordinator, profiles, limits and roles."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from ledger.core import utc_now
from ledger.models import account_table
from timebank import access, audit, bookkeeping, errors, notifications, passwords, validation
from timebank.access import Actor
from timebank.communities import MEMBER_KIND
from timebank.models import Community, Membership, MembershipStatus, Role, User

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("morning", "afternoon", "evening")
AVAILABILITY_SLOTS = tuple(f"{day}-{part}" for day in WEEKDAYS for part in PARTS_OF_DAY)
# What a member may show others beyond first name and neighbourhood.
VISIBILITY_FIELDS = ("likes_to_do", "availability", "languages", "interests", "thank_you_notes")
PROFILE_FIELDS = (
    "display_name",
    "neighbourhood",
    "likes_to_do",
    "interests",
    "availability",
    "languages",
    "visibility",
)
MAX_PAGE_SIZE = 100


# --- users ----------------------------------------------------------------------------------------------------


def register_user(
    *, session: Session, email: str, password: str, preferred_language: str = "nl", now: datetime | None = None
) -> User:
    """A new login identity. The email is stored lower-case and must be new."""
    user = _new_user(session, email=email, password=password, preferred_language=preferred_language, now=now)
    session.commit()
    return user


def _new_user(session: Session, *, email: str, password: str, preferred_language: str, now: datetime | None) -> User:
    email = validation.email(email)
    language = validation.language(preferred_language, "preferred_language")
    password_hash = passwords.hash_password(password)
    if session.execute(sa.select(User.id).where(User.email == email)).first():
        raise errors.EmailTaken("an account with this email exists already", field="email")
    user = User(email=email, password_hash=password_hash, preferred_language=language, created_at=utc_now(now))
    session.add(user)
    session.flush()
    return user


def create_administrator(
    *, session: Session, email: str, password: str, preferred_language: str = "nl", now: datetime | None = None
) -> User:
    """An administrator of the installation (who creates communities and names safeguarding officers). Only the
    command line offers this: whoever runs it already controls the server."""
    user = register_user(
        session=session, email=email, password=password, preferred_language=preferred_language, now=now
    )
    user.is_administrator = True
    session.commit()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None; upgrades a weaker stored hash on success."""
    if not isinstance(email, str) or len(email) > 254:
        return None
    user = session.execute(sa.select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    if user is None or user.erased_at is not None or not user.password_hash:
        passwords.verify_password(passwords.dummy_hash(), password)  # the same work whether or not they exist
        return None
    old_hash = user.password_hash
    if not passwords.verify_password(old_hash, password):
        return None
    if passwords.needs_rehash(old_hash):
        # Only over the hash just verified: of two logins at once, the first upgrade stands and both sessions
        # carry its fingerprint (the second's update finds no row and reads the first's hash).
        session.execute(
            sa.update(User)
            .where(User.id == user.id, User.password_hash == old_hash)
            .values(password_hash=passwords.HASHER.hash(password))
            .execution_options(synchronize_session=False)
        )
        session.refresh(user)
    session.commit()
    return user


def update_user_settings(
    *, session: Session, actor: Actor, preferred_language: str | None = None, notification_mode: str | None = None
) -> User:
    """A person's own language and how they want to hear from the time bank (immediately or weekly)."""
    user = session.get(User, actor.user_id)
    if user is None:
        raise errors.NotFound("no such user")
    if preferred_language is not None:
        user.preferred_language = validation.language(preferred_language, "preferred_language")
    if notification_mode is not None:
        user.notification_mode = validation.choice("notification_mode", notification_mode, ("immediate", "weekly"))
    session.commit()
    return user


def change_password(*, session: Session, actor: Actor, current_password: str, new_password: str) -> User:
    user = session.get(User, actor.user_id)
    if user is None or not passwords.verify_password(user.password_hash, current_password):
        raise errors.NotAllowed("the current password is not right", field="current_password")
    user.password_hash = passwords.hash_password(new_password)
    session.commit()
    return user


def password_fingerprint(user: User) -> str:
    """A short digest of the user's stored password hash (``passwords.fingerprint``). A link to set a new
    password carries it, so the link dies as soon as the password changes (it works once)."""
    return passwords.fingerprint(user.password_hash)


def request_password_reset(
    *, session: Session, email: str, make_link: Callable[[int, str], str], now: datetime | None = None
) -> None:
    """Mail a link to set a new password to the account with ``email``, if there is one that can log in.

    ``make_link(user_id, fingerprint)`` writes the link (signed, with an expiry, by the caller). Nothing tells
    whether an account was found: the caller answers the same either way."""
    if not isinstance(email, str) or len(email) > 254:
        return
    user = session.execute(
        sa.select(User).where(
            User.email == email.strip().lower(), User.erased_at.is_(None), User.password_hash.is_not(None)
        )
    ).scalar_one_or_none()
    if user is None:
        return
    link = make_link(user.id, password_fingerprint(user))
    notifications.notify(session, user_id=user.id, kind="password_reset", context={"link": link}, now=now)
    session.commit()


def password_reset_is_current(*, session: Session, user_id: int, fingerprint: str) -> bool:
    """Whether a link to set a new password still works: the account is there and its password unchanged."""
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    return _reset_fits(user, fingerprint)


def reset_password(*, session: Session, user_id: int, fingerprint: str, new_password: str) -> User:
    """Set a new password with a link from ``request_password_reset`` (whose signature and age the caller
    checked): only while the password is still the one the link was made for, so a link works once."""
    password_hash = passwords.hash_password(new_password)  # the slow part, before any row is locked
    user = session.get(User, user_id, with_for_update=True) if isinstance(user_id, int) else None
    if not _reset_fits(user, fingerprint):
        raise errors.NotAllowed("this link to set a new password no longer works", field="link")
    user.password_hash = password_hash
    session.commit()
    return user


def _reset_fits(user: User | None, fingerprint: str) -> bool:
    if user is None or user.erased_at is not None or not user.email or not user.password_hash:
        return False
    return isinstance(fingerprint, str) and hmac.compare_digest(password_fingerprint(user), fingerprint)


# --- joining --------------------------------------------------------------------------------------------------


def _open_member_account(session: Session, community: Community, *, name: str, now: datetime) -> int:
    account = ledger.open_account(
        session,
        ledger_id=community.ledger_id,
        kind=MEMBER_KIND,
        name=name,
        floor=community.default_floor_minutes,
        ceiling=community.default_ceiling_minutes,
        now=now,
    )
    return account.id


def apply_to_join(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    display_name: str,
    neighbourhood: str = "",
    note: str = "",
    now: datetime | None = None,
) -> Membership:
    """Ask to join a community. Where the community needs no approval, the member is admitted at once."""
    membership = _apply(
        session, actor, community_id, display_name=display_name, neighbourhood=neighbourhood, note=note, now=now
    )
    session.commit()
    return membership


def register_and_apply(
    *,
    session: Session,
    email: str,
    password: str,
    community_id: int,
    display_name: str,
    neighbourhood: str = "",
    note: str = "",
    preferred_language: str = "nl",
    now: datetime | None = None,
) -> Membership:
    """A newcomer's first step: an account and an application to join a community, both or neither (where the
    community needs no approval, the member is admitted at once)."""
    user = _new_user(session, email=email, password=password, preferred_language=preferred_language, now=now)
    membership = _apply(
        session,
        Actor.for_user(user),
        community_id,
        display_name=display_name,
        neighbourhood=neighbourhood,
        note=note,
        now=now,
    )
    session.commit()
    return membership


def _apply(
    session: Session,
    actor: Actor,
    community_id: int,
    *,
    display_name: str,
    neighbourhood: str,
    note: str,
    now: datetime | None,
) -> Membership:
    now = utc_now(now)
    community = access.get_community(session, community_id)
    if actor.user_id is None:
        raise errors.NotAllowed("log in to apply")
    existing = access.membership_of(session, actor, community_id)
    if existing is not None and existing.status != MembershipStatus.DECLINED.value:
        raise errors.AlreadyMember(f"you already have a membership here ({existing.status})", membership_id=existing.id)
    display_name = validation.text("display_name", display_name, maximum=80, required=True)
    neighbourhood = validation.text("neighbourhood", neighbourhood, maximum=80)
    note = validation.text("note", note, maximum=1000)
    if existing is not None:  # declined before: apply again with the same account
        membership = existing
        membership.status, membership.applied_at, membership.decision_reason = "applicant", now, ""
        membership.display_name, membership.neighbourhood, membership.application_note = (
            display_name,
            neighbourhood,
            note,
        )
    else:
        membership = Membership(
            community_id=community_id,
            user_id=actor.user_id,
            account_id=_open_member_account(session, community, name=display_name, now=now),
            display_name=display_name,
            neighbourhood=neighbourhood,
            application_note=note,
            applied_at=now,
        )
        session.add(membership)
    session.flush()
    if not community.approval_required:
        _admit(session, community, membership, actor=actor, now=now)
    return membership


def _admit(session: Session, community: Community, membership: Membership, *, actor: Actor, now: datetime) -> None:
    """Make the membership active and post the welcome credit from the issuance account, once."""
    membership.status = MembershipStatus.ACTIVE.value
    membership.joined_at = membership.joined_at or now
    if community.welcome_credit_minutes > 0:
        command = ledger.transfer(
            ledger_id=community.ledger_id,
            debit_account_id=community.issuance_account_id,
            credit_account_id=membership.account_id,
            amount=community.welcome_credit_minutes,
            kind="welcome_credit",
            memo="welcome credit",
            actor=actor.label,
            details={"membership_id": membership.id},
            idempotency_scope=f"community:{community.id}",
            idempotency_key=f"welcome:{membership.id}",
        )
        ledger.post(session, command, now=now)


def _applicant(session: Session, actor: Actor, membership_id: int) -> tuple[Community, Membership]:
    membership = access.get_membership(session, actor, membership_id)
    access.require_coordinator(session, actor, membership.community_id)
    if membership.status != MembershipStatus.APPLICANT.value:
        raise errors.Conflict(f"this membership is {membership.status}, not an application", status=membership.status)
    return access.get_community(session, membership.community_id), membership


def approve_member(*, session: Session, actor: Actor, membership_id: int, now: datetime | None = None) -> Membership:
    """Admit an applicant (coordinators), posting the community's welcome credit."""
    now = utc_now(now)
    community, membership = _applicant(session, actor, membership_id)
    _admit(session, community, membership, actor=actor, now=now)
    audit.record(
        session,
        actor=actor,
        community_id=community.id,
        action="member.approved",
        subject_type="membership",
        subject_id=membership.id,
        now=now,
    )
    _tell_applicant(session, community, membership, kind="application_approved", now=now)
    session.commit()
    return membership


def decline_member(
    *, session: Session, actor: Actor, membership_id: int, reason: str, now: datetime | None = None
) -> Membership:
    """Decline an application with a reason the applicant can read."""
    reason = validation.text("reason", reason, maximum=500, required=True)
    community, membership = _applicant(session, actor, membership_id)
    membership.status, membership.decision_reason = MembershipStatus.DECLINED.value, reason
    audit.record(
        session,
        actor=actor,
        community_id=community.id,
        action="member.declined",
        subject_type="membership",
        subject_id=membership.id,
        reason=reason,
        now=now,
    )
    _tell_applicant(session, community, membership, kind="application_declined", now=now, reason=reason)
    session.commit()
    return membership


def _tell_applicant(session, community, membership, *, kind: str, now, **context) -> None:
    notifications.notify(
        session,
        user_id=membership.user_id,
        kind=kind,
        context={"community_name": community.name, **context},
        community_id=community.id,
        now=now,
    )


def _managed_member(session: Session, actor: Actor, membership_id: int) -> Membership:
    membership = access.get_membership(session, actor, membership_id)
    access.require_coordinator(session, actor, membership.community_id)
    return membership


def _switch_status(
    session: Session, actor: Actor, membership_id: int, reason: str, *, to: MembershipStatus, now: datetime | None
) -> Membership:
    """Suspend an active member or reinstate a suspended one: the status, the account frozen or open again, and
    the audit log, with the coordinator's reason."""
    reason = validation.text("reason", reason, maximum=500, required=True)
    membership = _managed_member(session, actor, membership_id)
    suspending = to is MembershipStatus.SUSPENDED
    expected = MembershipStatus.ACTIVE if suspending else MembershipStatus.SUSPENDED
    if membership.status != expected.value:
        verb = "suspended" if suspending else "reinstated"
        raise errors.Conflict(f"only a member who is {expected.value} can be {verb}; this one is {membership.status}")
    membership.status, membership.decision_reason = to.value, reason
    (ledger.freeze_account if suspending else ledger.unfreeze_account)(session, account_id=membership.account_id)
    audit.record(
        session,
        actor=actor,
        community_id=membership.community_id,
        action="member.suspended" if suspending else "member.reinstated",
        subject_type="membership",
        subject_id=membership.id,
        reason=reason,
        now=now,
    )
    session.commit()
    return membership


def suspend_member(
    *, session: Session, actor: Actor, membership_id: int, reason: str, now: datetime | None = None
) -> Membership:
    """Suspend an active member (coordinators): the account is frozen until reinstated."""
    return _switch_status(session, actor, membership_id, reason, to=MembershipStatus.SUSPENDED, now=now)


def reinstate_member(
    *, session: Session, actor: Actor, membership_id: int, reason: str, now: datetime | None = None
) -> Membership:
    """Reinstate a suspended member (coordinators): the account is open again."""
    return _switch_status(session, actor, membership_id, reason, to=MembershipStatus.ACTIVE, now=now)


def leave_community(
    *,
    session: Session,
    actor: Actor,
    membership_id: int,
    settle_with_pot: bool = False,
    reason: str = "",
    now: datetime | None = None,
) -> Membership:
    """Leave a community. A member leaves with a zero balance (donate what is left to the pot first); a
    coordinator may settle a non-zero balance with the pot (``settle_with_pot``), with a reason."""
    now = utc_now(now)
    membership = access.get_membership(session, actor, membership_id)
    own = membership.user_id == actor.user_id
    coordinator = access.is_coordinator(session, actor, membership.community_id)
    if not own and not coordinator:
        raise errors.NotAllowed("only the member or a coordinator can end a membership")
    if membership.status in (MembershipStatus.LEFT.value, MembershipStatus.DECLINED.value):
        raise errors.Conflict(f"this membership is {membership.status} already")
    community = access.get_community(session, membership.community_id)
    account = ledger.get_account(session, membership.account_id)
    if account.pending_debits or account.pending_credits:
        raise errors.Conflict("settle the exchanges waiting for confirmation first", account_id=account.id)
    if account.balance != 0:
        if not (coordinator and settle_with_pot):
            raise errors.BalanceNotSettled(
                "the balance must be zero to leave: donate it to the pot, or ask a coordinator to settle it",
                balance_minutes=account.balance,
            )
        reason = validation.text("reason", reason, maximum=500, required=True)
        _settle_with_pot(session, community, membership, balance=account.balance, actor=actor, reason=reason, now=now)
    if account.status == "frozen":
        ledger.unfreeze_account(session, account_id=account.id)
    ledger.close_account(session, account_id=account.id)
    membership.status, membership.left_at = MembershipStatus.LEFT.value, now
    if coordinator and not own:
        audit.record(
            session,
            actor=actor,
            community_id=community.id,
            action="member.left",
            subject_type="membership",
            subject_id=membership.id,
            reason=reason,
            now=now,
        )
    session.commit()
    return membership


def _settle_with_pot(session, community, membership, *, balance: int, actor: Actor, reason: str, now) -> None:
    """A positive balance goes to the pot; a negative one is covered by it."""
    if balance > 0:
        payer, payee = membership.account_id, community.pot_account_id
    else:
        payer, payee = community.pot_account_id, membership.account_id
    ledger.post(
        session,
        ledger.transfer(
            ledger_id=community.ledger_id,
            debit_account_id=payer,
            credit_account_id=payee,
            amount=abs(balance),
            kind="leaving_settlement",
            memo=reason,
            actor=actor.label,
            details={"membership_id": membership.id},
        ),
        now=now,
    )


def add_offline_member(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    display_name: str,
    neighbourhood: str = "",
    preferred_language: str = "nl",
    now: datetime | None = None,
) -> Membership:
    """A neighbour without a login whom a coordinator manages: active at once, with the welcome credit."""
    now = utc_now(now)
    access.require_coordinator(session, actor, community_id)
    community = access.get_community(session, community_id)
    display_name = validation.text("display_name", display_name, maximum=80, required=True)
    neighbourhood = validation.text("neighbourhood", neighbourhood, maximum=80)
    user = User(preferred_language=validation.language(preferred_language), created_at=now)
    session.add(user)
    session.flush()
    membership = Membership(
        community_id=community_id,
        user_id=user.id,
        account_id=_open_member_account(session, community, name=display_name, now=now),
        display_name=display_name,
        neighbourhood=neighbourhood,
        managed_offline=True,
        applied_at=now,
    )
    session.add(membership)
    session.flush()
    _admit(session, community, membership, actor=actor, now=now)
    audit.record(
        session,
        actor=actor,
        community_id=community_id,
        action="member.offline_added",
        subject_type="membership",
        subject_id=membership.id,
        now=now,
    )
    session.commit()
    return membership


# --- profile, limits, roles ------------------------------------------------------------------------------------


def _checked_profile(changes: dict) -> dict:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise errors.InvalidInput(f"unknown profile fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    checks = {
        "display_name": lambda value: validation.text("display_name", value, maximum=80, required=True),
        "neighbourhood": lambda value: validation.text("neighbourhood", value, maximum=80),
        "likes_to_do": lambda value: validation.text("likes_to_do", value, maximum=1000),
        "interests": lambda value: validation.string_list("interests", value, maximum_items=50, maximum_length=60),
        "availability": lambda value: validation.string_list(
            "availability",
            value,
            maximum_items=len(AVAILABILITY_SLOTS),
            maximum_length=16,
            allowed=AVAILABILITY_SLOTS,
        ),
        "languages": lambda value: validation.string_list("languages", value, maximum_items=20, maximum_length=40),
        "visibility": _checked_visibility,
    }
    return {name: checks[name](value) for name, value in changes.items()}


def _checked_visibility(value) -> dict:
    if not isinstance(value, dict) or set(value) - set(VISIBILITY_FIELDS):
        raise errors.InvalidInput(f"visibility names some of: {', '.join(VISIBILITY_FIELDS)}", field="visibility")
    if not all(isinstance(flag, bool) for flag in value.values()):
        raise errors.InvalidInput("visibility values are true or false", field="visibility")
    return dict(value)


def update_profile(
    *, session: Session, actor: Actor, membership_id: int, now: datetime | None = None, **changes
) -> Membership:
    """Change a profile: the member's own, or an offline member's by a coordinator."""
    membership = access.get_membership(session, actor, membership_id)
    own = membership.user_id == actor.user_id
    if not own and not (membership.managed_offline and access.is_coordinator(session, actor, membership.community_id)):
        raise errors.NotAllowed("you can change only your own profile")
    for name, value in _checked_profile(changes).items():
        setattr(membership, name, value)
    if not own:
        audit.record(
            session,
            actor=actor,
            community_id=membership.community_id,
            action="member.profile_changed",
            subject_type="membership",
            subject_id=membership.id,
            details={"fields": sorted(changes)},
            now=now,
        )
    session.commit()
    return membership


def set_member_limits(
    *,
    session: Session,
    actor: Actor,
    membership_id: int,
    floor_minutes: int,
    ceiling_minutes: int,
    reason: str,
    now: datetime | None = None,
) -> Membership:
    """A floor and ceiling for one member (coordinators), with the reason recorded in the audit log."""
    reason = validation.text("reason", reason, maximum=500, required=True)
    floor = validation.whole_number("floor_minutes", floor_minutes, minimum=-validation.MAX_LIMIT_MINUTES, maximum=0)
    ceiling = validation.whole_number(
        "ceiling_minutes", ceiling_minutes, minimum=0, maximum=validation.MAX_LIMIT_MINUTES
    )
    membership = _managed_member(session, actor, membership_id)
    before = ledger.get_account(session, membership.account_id)
    ledger.set_limits(session, account_id=membership.account_id, floor=floor, ceiling=ceiling)
    audit.record(
        session,
        actor=actor,
        community_id=membership.community_id,
        action="member.limits_set",
        subject_type="membership",
        subject_id=membership.id,
        reason=reason,
        details={"floor_minutes": [before.floor, floor], "ceiling_minutes": [before.ceiling, ceiling]},
        now=now,
    )
    session.commit()
    return membership


def set_role(
    *,
    session: Session,
    actor: Actor,
    membership_id: int,
    role: str | None = None,
    safeguarding_officer: bool | None = None,
    now: datetime | None = None,
) -> Membership:
    """Make a member a coordinator or a safeguarding officer, or take it back. Coordinators may change roles;
    only an administrator may name a safeguarding officer."""
    membership = _managed_member(session, actor, membership_id)
    if membership.status != MembershipStatus.ACTIVE.value:
        raise errors.Conflict("only an active member can have a role")
    changes = {}
    if role is not None:
        membership.role = changes["role"] = validation.choice("role", role, [item.value for item in Role])
    if safeguarding_officer is not None:
        if not actor.is_administrator:
            raise errors.NotAllowed("only an administrator may name safeguarding officers")
        if not isinstance(safeguarding_officer, bool):
            raise errors.InvalidInput("safeguarding_officer must be true or false", field="safeguarding_officer")
        membership.is_safeguarding_officer = changes["safeguarding_officer"] = safeguarding_officer
    audit.record(
        session,
        actor=actor,
        community_id=membership.community_id,
        action="member.role_changed",
        subject_type="membership",
        subject_id=membership.id,
        details=changes,
        now=now,
    )
    session.commit()
    return membership


# --- reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    """What one member may see of another: first name and neighbourhood, plus what the member chose to show."""

    membership_id: int
    community_id: int
    display_name: str
    neighbourhood: str
    status: str
    role: str
    shown: dict


def first_name(display_name: str) -> str:
    return display_name.split()[0] if display_name.split() else display_name


def view_member(*, session: Session, actor: Actor, membership_id: int) -> MemberView:
    """A member as the actor may see them: everything for themselves and coordinators, else what is shown."""
    membership = access.get_membership(session, actor, membership_id)
    # A partner app sees what members see: first names and what each member chose to show.
    full = membership.user_id == actor.user_id or (
        actor.partner_key_id is None and access.is_coordinator(session, actor, membership.community_id)
    )
    return _member_view(membership, full=full)


def view_own_profile_as_others_see_it(*, session: Session, actor: Actor, membership_id: int) -> MemberView:
    """The actor's own membership as another member sees it (a preview on the profile page): the first name,
    the neighbourhood and what the member chose to show. Anyone else's membership is not found."""
    membership = access.get_membership(session, actor, membership_id)
    if membership.user_id != actor.user_id:
        raise errors.NotFound("no such member", membership_id=membership_id)
    return _member_view(membership, full=False)


def _member_view(membership: Membership, *, full: bool) -> MemberView:
    visible = {name for name in VISIBILITY_FIELDS if full or membership.visibility.get(name)}
    shown = {
        name: getattr(membership, name)
        for name in ("likes_to_do", "availability", "languages", "interests")
        if name in visible
    }
    return MemberView(
        membership_id=membership.id,
        community_id=membership.community_id,
        display_name=membership.display_name if full else first_name(membership.display_name),
        neighbourhood=membership.neighbourhood,
        status=membership.status,
        role=membership.role,
        shown=shown,
    )


@dataclass(frozen=True)
class MemberPage:
    members: list[Membership]
    next_cursor: int | None


def list_members(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    status: str = MembershipStatus.ACTIVE.value,
    limit: int = 20,
    after: int | None = None,
) -> MemberPage:
    """Members of a community by id. Members see active members; coordinators any status (applicants too)."""
    validation.choice("status", status, [item.value for item in MembershipStatus])
    if status != MembershipStatus.ACTIVE.value and actor.partner_key_id is not None:
        raise errors.NotAllowed("partner apps see active members only", field="status")
    if status != MembershipStatus.ACTIVE.value or actor.administers(community_id):
        access.require_coordinator(session, actor, community_id)
    else:
        access.require_member(session, actor, community_id)
    validation.whole_number("limit", limit, minimum=1, maximum=MAX_PAGE_SIZE)
    query = sa.select(Membership).where(Membership.community_id == community_id, Membership.status == status)
    if after is not None:
        query = query.where(Membership.id > after)
    rows = list(session.execute(query.order_by(Membership.id).limit(limit + 1)).scalars())
    return MemberPage(members=rows[:limit], next_cursor=rows[limit - 1].id if len(rows) > limit else None)


@dataclass(frozen=True)
class MemberChoice:
    """An active member as another member may pick them from a list: first name and neighbourhood."""

    membership_id: int
    first_name: str
    neighbourhood: str


MAX_MEMBER_CHOICES = 1000


def member_choices(*, session: Session, actor: Actor, community_id: int) -> list[MemberChoice]:
    """The community's active members other than the actor, by name, for a member choosing whom to pay or to
    claim from (at most 1000): what members may see of each other, nothing more."""
    own = access.require_member(session, actor, community_id)
    rows = session.execute(
        sa.select(Membership.id, Membership.display_name, Membership.neighbourhood)
        .where(
            Membership.community_id == community_id,
            Membership.status == MembershipStatus.ACTIVE.value,
            Membership.id != own.id,
        )
        .order_by(Membership.display_name, Membership.id)
        .limit(MAX_MEMBER_CHOICES)
    ).all()
    return [
        MemberChoice(membership_id=row.id, first_name=first_name(row.display_name), neighbourhood=row.neighbourhood)
        for row in rows
    ]


@dataclass(frozen=True)
class OwnSettings:
    """A person's own settings and every membership they hold, in whatever state."""

    user: User
    memberships: list[Membership]


def own_settings(*, session: Session, actor: Actor) -> OwnSettings:
    """The acting person's settings (language, notifications) and their memberships, oldest first."""
    if actor.user_id is None:
        raise errors.NotAllowed("only a person has settings and memberships")
    user = session.get(User, actor.user_id)
    if user is None or user.erased_at is not None:
        raise errors.NotFound("no such user")
    memberships = session.execute(
        sa.select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
    ).scalars()
    return OwnSettings(user=user, memberships=list(memberships))


# --- a coordinator's view of the members ----------------------------------------------------------------------

ROSTER_ORDERS = ("name", "lowest_balance", "highest_balance")
# Everyone who was admitted once: the roster's default, without applicants and declined applications.
ADMITTED_STATUSES = (MembershipStatus.ACTIVE.value, MembershipStatus.SUSPENDED.value, MembershipStatus.LEFT.value)
MAX_ROSTER_SIZE = 500
MAX_ROSTER_OFFSET = 100_000


@dataclass(frozen=True)
class RosterRow:
    """A member as a coordinator's list shows them: the membership and the account's posted figures."""

    membership: Membership
    balance_minutes: int
    floor_minutes: int | None
    ceiling_minutes: int | None


@dataclass(frozen=True)
class Roster:
    """One page of the members that match, and how many match in all."""

    rows: list[RosterRow]
    total: int


def member_roster(
    *,
    session: Session,
    actor: Actor,
    community_id: int,
    name: str = "",
    status: str | None = None,
    order: str = "name",
    limit: int = 50,
    offset: int = 0,
) -> Roster:
    """The community's members with their balances, for its coordinators: whose name contains ``name`` (any
    case), of one ``status`` (default: everyone admitted once, so not applicants), by name or by balance."""
    access.require_coordinator(session, actor, community_id)
    name = validation.text("name", name, maximum=80)
    every_status = [item.value for item in MembershipStatus]
    statuses = ADMITTED_STATUSES if status is None else (validation.choice("status", status, every_status),)
    order = validation.choice("order", order, ROSTER_ORDERS)
    limit = validation.whole_number("limit", limit, minimum=1, maximum=MAX_ROSTER_SIZE)
    offset = validation.whole_number("offset", offset, minimum=0, maximum=MAX_ROSTER_OFFSET)
    account = account_table.c
    conditions = [Membership.community_id == community_id, Membership.status.in_(statuses)]
    if name:
        conditions.append(Membership.display_name.ilike(f"%{_escaped_like(name)}%", escape="\\"))
    by = {
        "name": (sa.func.lower(Membership.display_name), Membership.id),
        "lowest_balance": (account.balance, Membership.id),
        "highest_balance": (account.balance.desc(), Membership.id),
    }[order]
    rows = session.execute(
        sa.select(Membership, account.balance, account.floor, account.ceiling)
        .join(account_table, account.id == Membership.account_id)
        .where(*conditions)
        .order_by(*by)
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.execute(sa.select(sa.func.count(Membership.id)).where(*conditions)).scalar_one()
    found = [
        RosterRow(membership=member, balance_minutes=balance, floor_minutes=floor, ceiling_minutes=ceiling)
        for member, balance, floor, ceiling in rows
    ]
    return Roster(rows=found, total=total)


def _escaped_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def member_counts(*, session: Session, actor: Actor, community_id: int) -> dict[str, int]:
    """How many memberships of the community are in each status (every status named, zero or more); for its
    coordinators."""
    access.require_coordinator(session, actor, community_id)
    rows = session.execute(
        sa.select(Membership.status, sa.func.count(Membership.id))
        .where(Membership.community_id == community_id)
        .group_by(Membership.status)
    ).all()
    return {status.value: 0 for status in MembershipStatus} | {status: count for status, count in rows}


@dataclass(frozen=True)
class MemberDetails:
    """Everything a coordinator sees of one member: the membership and the account's figures."""

    membership: Membership
    figures: bookkeeping.AccountFigures


def member_details(*, session: Session, actor: Actor, community_id: int, membership_id: int) -> MemberDetails:
    """One member of the community (any status) with their balance and bounds, for its coordinators; a member
    of another community is not found."""
    access.require_coordinator(session, actor, community_id)
    membership_id = validation.whole_number("membership_id", membership_id, minimum=1, maximum=2**31 - 1)
    membership = access.get_in_community(session, Membership, membership_id, community_id, what="member")
    return MemberDetails(membership=membership, figures=bookkeeping.account_figures(session, membership.account_id))
