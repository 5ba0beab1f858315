"""The time bank's tables. Every row carries its community (the tenant) where it belongs to one, so that every
query can be scoped by it. Amounts are integer minutes; the balances themselves live in the ledger's accounts.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ledger.models import BigId, UTCDateTime


class MembershipStatus(enum.StrEnum):
    APPLICANT = "applicant"
    ACTIVE = "active"
    DECLINED = "declined"
    SUSPENDED = "suspended"
    LEFT = "left"


class Role(enum.StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"


class ListingKind(enum.StrEnum):
    OFFER = "offer"
    REQUEST = "request"


class ListingStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXPIRED = "expired"


class Place(enum.StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    AT_HOME = "at_home"
    ONLINE = "online"


class ExchangeStatus(enum.StrEnum):
    PROPOSED = "proposed"  # a response or an accepted invitation, not yet agreed by both
    AGREED = "agreed"  # both agreed; nobody has recorded minutes yet
    RECORDED = "recorded"  # minutes recorded and held as pending in the ledger, waiting for the other side
    DISPUTED = "disputed"  # the other side disputes the recorded minutes; a coordinator settles it
    CONFIRMED = "confirmed"  # posted in the ledger
    VOIDED = "voided"  # recorded minutes voided by a coordinator's settlement
    CANCELLED = "cancelled"  # called off before any minutes were recorded


class CheckScheme(enum.StrEnum):
    VOG = "vog"
    DBS = "dbs"
    OTHER = "other"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # retries exhausted; kept, never lost, for a person to look at


class Community(SQLModel, table=True):
    __tablename__ = "community"
    __table_args__ = (
        sa.CheckConstraint(
            "default_floor_minutes <= 0 AND default_ceiling_minutes >= 0", name="ck_community_default_limits"
        ),
        sa.CheckConstraint("auto_confirm_days BETWEEN 1 AND 90", name="ck_community_auto_confirm_days"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=120)
    language: str = Field(default="nl", max_length=8)
    time_zone: str = Field(default="Europe/Amsterdam", max_length=64)
    default_floor_minutes: int = Field(default=-600)
    default_ceiling_minutes: int = Field(default=2400)
    welcome_credit_minutes: int = Field(default=0)
    auto_confirm_days: int = Field(default=7)
    approval_required: bool = Field(default=True)
    ledger_id: int = Field(foreign_key="ledger_ledger.id", unique=True)
    pot_account_id: int = Field(foreign_key="ledger_account.id")
    issuance_account_id: int = Field(foreign_key="ledger_account.id")
    clearing_account_id: int = Field(foreign_key="ledger_account.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Category(SQLModel, table=True):
    __tablename__ = "category"
    __table_args__ = (sa.UniqueConstraint("community_id", "slug", name="uq_category_community_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    slug: str = Field(max_length=60)
    name_en: str = Field(max_length=80)
    name_nl: str = Field(max_length=80)
    involves_children: bool = Field(default=False)
    active: bool = Field(default=True)


class User(SQLModel, table=True):
    """One login identity. Offline neighbours managed by a coordinator have no email and no password."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    password_hash: str | None = Field(default=None, max_length=200)
    preferred_language: str = Field(default="nl", max_length=8)
    # "immediate" or "weekly": how this person wants to hear about what happens.
    notification_mode: str = Field(default="immediate", max_length=16)
    is_administrator: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    """A person in one community, with an account in its ledger and a profile others may see (in part)."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("community_id", "user_id", name="uq_membership_community_user"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    account_id: int = Field(foreign_key="ledger_account.id", unique=True)
    status: str = Field(default=MembershipStatus.APPLICANT.value, max_length=16)
    role: str = Field(default=Role.MEMBER.value, max_length=16)
    is_safeguarding_officer: bool = Field(default=False)
    # Managed by a coordinator on the member's behalf: no login of their own.
    managed_offline: bool = Field(default=False)
    display_name: str = Field(max_length=80)
    neighbourhood: str = Field(default="", max_length=80)
    likes_to_do: str = Field(default="", max_length=1000)
    # Category slugs the member likes to help with (willing, for matching).
    interests: list = Field(default_factory=list, sa_type=sa.JSON)
    # Slots such as "mon-morning", "sat-evening": when the member is usually available.
    availability: list = Field(default_factory=list, sa_type=sa.JSON)
    languages: list = Field(default_factory=list, sa_type=sa.JSON)
    # What others may see beyond first name and neighbourhood: {"likes_to_do": bool, "availability": bool, ...}.
    visibility: dict = Field(default_factory=dict, sa_type=sa.JSON)
    application_note: str = Field(default="", max_length=1000)
    decision_reason: str = Field(default="", max_length=500)
    applied_at: datetime = Field(sa_type=UTCDateTime)
    joined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Listing(SQLModel, table=True):
    __tablename__ = "listing"
    __table_args__ = (
        sa.CheckConstraint("estimated_minutes > 0", name="ck_listing_estimated_minutes_positive"),
        sa.Index("ix_listing_community_status_created", "community_id", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    membership_id: int = Field(foreign_key="membership.id", index=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    category_id: int = Field(foreign_key="category.id")
    estimated_minutes: int
    # Both None: any time, at your own pace.
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    place: str = Field(default=Place.NEIGHBOURHOOD.value, max_length=16)
    neighbourhood: str = Field(default="", max_length=80)
    status: str = Field(default=ListingStatus.OPEN.value, max_length=16)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    """A member asked personally to help with a request."""

    __tablename__ = "invitation"
    __table_args__ = (sa.UniqueConstraint("listing_id", "membership_id", name="uq_invitation_listing_member"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    listing_id: int = Field(foreign_key="listing.id")
    membership_id: int = Field(foreign_key="membership.id", index=True)
    invited_by_membership_id: int = Field(foreign_key="membership.id")
    message: str = Field(default="", max_length=500)
    # "open", "accepted", "declined"
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Exchange(SQLModel, table=True):
    """Help agreed between two members, from first contact to confirmed credits.

    The helper earns the minutes; the helped member pays them."""

    __tablename__ = "exchange"
    __table_args__ = (
        sa.CheckConstraint("helper_membership_id <> helped_membership_id", name="ck_exchange_two_people"),
        sa.CheckConstraint("minutes IS NULL OR minutes > 0", name="ck_exchange_minutes_positive"),
        # The funder report reads one period of confirmed exchanges of one community.
        sa.Index("ix_exchange_community_status_confirmed", "community_id", "status", "confirmed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    listing_id: int | None = Field(default=None, foreign_key="listing.id", index=True)
    category_id: int | None = Field(default=None, foreign_key="category.id")
    helper_membership_id: int = Field(foreign_key="membership.id", index=True)
    helped_membership_id: int = Field(foreign_key="membership.id", index=True)
    # Who started it: the membership that responded, invited, paid or claimed.
    initiated_by_membership_id: int = Field(foreign_key="membership.id")
    status: str = Field(default=ExchangeStatus.PROPOSED.value, max_length=16)
    helper_agreed: bool = Field(default=False)
    helped_agreed: bool = Field(default=False)
    # For a category involving children: the parent (helped member) accepted this helper explicitly.
    parent_accepted_helper: bool = Field(default=False)
    minutes: int | None = Field(default=None)
    description: str = Field(default="", max_length=500)
    recorded_by_membership_id: int | None = Field(default=None, foreign_key="membership.id")
    # Recorded by a coordinator who attests that both agreed: posted at once.
    attested_by_coordinator: bool = Field(default=False)
    # A statement names the other member of each of its lines' transactions through this index.
    ledger_transaction_id: int | None = Field(
        default=None, foreign_key="ledger_transaction.id", sa_type=sa.BigInteger, index=True
    )
    auto_confirm_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispute_reason: str = Field(default="", max_length=500)
    settlement_reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ExchangeEvent(SQLModel, table=True):
    """One step in an exchange's history, in order."""

    __tablename__ = "exchange_event"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    community_id: int = Field(foreign_key="community.id")
    exchange_id: int = Field(foreign_key="exchange.id", index=True)
    actor_membership_id: int | None = Field(default=None, foreign_key="membership.id")
    kind: str = Field(max_length=32)
    minutes: int | None = Field(default=None)
    note: str = Field(default="", max_length=500)
    at: datetime = Field(sa_type=UTCDateTime)


class ThankYou(SQLModel, table=True):
    __tablename__ = "thank_you"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    exchange_id: int = Field(foreign_key="exchange.id", unique=True)
    from_membership_id: int = Field(foreign_key="membership.id")
    to_membership_id: int = Field(foreign_key="membership.id", index=True)
    text: str = Field(max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SafeguardingCheck(SQLModel, table=True):
    """That a coordinator saw a certificate of conduct: never the document, never its contents."""

    __tablename__ = "safeguarding_check"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id")
    membership_id: int = Field(foreign_key="membership.id", index=True)
    scheme: str = Field(max_length=16)
    seen_on: date
    seen_by_membership_id: int = Field(foreign_key="membership.id")
    review_on: date
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class SafeguardingRead(SQLModel, table=True):
    """Every read of safeguarding records: who read whose, and when."""

    __tablename__ = "safeguarding_read"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    community_id: int = Field(foreign_key="community.id", index=True)
    reader_user_id: int = Field(foreign_key="user_account.id")
    # None when a list of every member's checks was read.
    subject_membership_id: int | None = Field(default=None, foreign_key="membership.id")
    at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """A coordinator's (or administrator's) action: who, what, on what, when, and why."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_community_at", "community_id", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    action: str = Field(max_length=64)
    subject_type: str = Field(default="", max_length=32)
    subject_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    reason: str = Field(default="", max_length=500)
    details: dict = Field(default_factory=dict, sa_type=sa.JSON)
    at: datetime = Field(sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be delivered, already written in the recipient's language."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id")
    kind: str = Field(max_length=48)
    language: str = Field(max_length=8)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    # When it may be sent: now for "immediate", the next digest moment for "weekly".
    due_at: datetime = Field(sa_type=UTCDateTime)
    digest: bool = Field(default=False)
    status: str = Field(default=MessageStatus.QUEUED.value, max_length=16)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=500)
    # Set when a delivery starts, so two ticks never send the same message twice.
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A member's personal token for the API: acts as that person. Only a hash of the secret is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=80)
    secret_hash: str = Field(max_length=64)
    # The first characters of the secret, so that a person can tell their tokens apart.
    hint: str = Field(max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PartnerKey(SQLModel, table=True):
    """A partner app's key: belongs to one community and carries scopes. Only a hash of the secret is kept."""

    __tablename__ = "partner_key"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    name: str = Field(max_length=80)
    scopes: list = Field(default_factory=list, sa_type=sa.JSON)
    secret_hash: str = Field(max_length=64)
    hint: str = Field(max_length=12)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """An API request made with an Idempotency-Key: while it runs, and the response a retry gets afterwards."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        sa.UniqueConstraint("caller", "key", name="uq_api_idempotency_caller_key"),
        sa.Index("ix_api_idempotency_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    # Whose key it is: "user:5" or "partner:3"; keys are scoped to the caller.
    caller: str = Field(max_length=80)
    key: str = Field(max_length=200)
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    # "in_flight" while the first request runs, then "done".
    state: str = Field(default="in_flight", max_length=16)
    response_status: int | None = Field(default=None)
    response_body: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RevokedSession(SQLModel, table=True):
    """A web session that was ended (logout, new login): its cookie, and every copy of it, opens an empty session
    until ``expires_at``, when the cookie would have expired anyway and the row may go."""

    __tablename__ = "web_revoked_session"

    session_id: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class LoginFailure(SQLModel, table=True):
    """A failed login, counted against an email and against an address ("email" / "address" in ``kind``).

    Shared by every worker; rows older than the throttle's window are deleted as new ones come."""

    __tablename__ = "web_login_failure"
    __table_args__ = (sa.Index("ix_web_login_failure_kind_key_at", "kind", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    kind: str = Field(max_length=8)
    key: str = Field(max_length=254)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
