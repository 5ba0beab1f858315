"""The time bank: communities, members, listings, exchanges, safeguarding, audit log, outbox.

Revision ID: 0002
Revises: 0001
Created: 2026-11-27 21:16:35.717531
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("preferred_language", sa.String(length=8), nullable=False),
        sa.Column("notification_mode", sa.String(length=16), nullable=False),
        sa.Column("is_administrator", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("default_floor_minutes", sa.Integer(), nullable=False),
        sa.Column("default_ceiling_minutes", sa.Integer(), nullable=False),
        sa.Column("welcome_credit_minutes", sa.Integer(), nullable=False),
        sa.Column("auto_confirm_days", sa.Integer(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("pot_account_id", sa.Integer(), nullable=False),
        sa.Column("issuance_account_id", sa.Integer(), nullable=False),
        sa.Column("clearing_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("auto_confirm_days BETWEEN 1 AND 90", name="ck_community_auto_confirm_days"),
        sa.CheckConstraint(
            "default_floor_minutes <= 0 AND default_ceiling_minutes >= 0", name="ck_community_default_limits"
        ),
        sa.ForeignKeyConstraint(
            ["clearing_account_id"], ["ledger_account.id"], name=op.f("fk_community_clearing_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(
            ["issuance_account_id"], ["ledger_account.id"], name=op.f("fk_community_issuance_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(["ledger_id"], ["ledger_ledger.id"], name=op.f("fk_community_ledger_id_ledger_ledger")),
        sa.ForeignKeyConstraint(
            ["pot_account_id"], ["ledger_account.id"], name=op.f("fk_community_pot_account_id_ledger_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("ledger_id", name=op.f("uq_community_ledger_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_community_slug")),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["user_account.id"], name=op.f("fk_audit_entry_actor_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_audit_entry_community_id_community")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_community_at", ["community_id", "at"], unique=False)

    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("name_nl", sa.String(length=80), nullable=False),
        sa.Column("involves_children", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_category_community_id_community")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("community_id", "slug", name="uq_category_community_slug"),
    )
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_category_community_id"), ["community_id"], unique=False)

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_safeguarding_officer", sa.Boolean(), nullable=False),
        sa.Column("managed_offline", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("neighbourhood", sa.String(length=80), nullable=False),
        sa.Column("likes_to_do", sa.String(length=1000), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("availability", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.JSON(), nullable=False),
        sa.Column("application_note", sa.String(length=1000), nullable=False),
        sa.Column("decision_reason", sa.String(length=500), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_account.id"], name=op.f("fk_membership_account_id_ledger_account")
        ),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_membership_community_id_community")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_membership_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint("account_id", name=op.f("uq_membership_account_id")),
        sa.UniqueConstraint("community_id", "user_id", name="uq_membership_community_user"),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_membership_user_id"), ["user_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=5000), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_outbox_message_community_id_community")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_outbox_message_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_user_id"), ["user_id"], unique=False)

    op.create_table(
        "listing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("estimated_minutes", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=16), nullable=False),
        sa.Column("neighbourhood", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("estimated_minutes > 0", name="ck_listing_estimated_minutes_positive"),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_listing_category_id_category")),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_listing_community_id_community")),
        sa.ForeignKeyConstraint(["membership_id"], ["membership.id"], name=op.f("fk_listing_membership_id_membership")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing")),
    )
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.create_index(
            "ix_listing_community_status_created", ["community_id", "status", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_listing_membership_id"), ["membership_id"], unique=False)

    op.create_table(
        "safeguarding_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("seen_by_membership_id", sa.Integer(), nullable=False),
        sa.Column("review_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_safeguarding_check_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["membership.id"], name=op.f("fk_safeguarding_check_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["seen_by_membership_id"],
            ["membership.id"],
            name=op.f("fk_safeguarding_check_seen_by_membership_id_membership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_check")),
    )
    with op.batch_alter_table("safeguarding_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safeguarding_check_membership_id"), ["membership_id"], unique=False)

    op.create_table(
        "safeguarding_read",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("reader_user_id", sa.Integer(), nullable=False),
        sa.Column("subject_membership_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_safeguarding_read_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["reader_user_id"], ["user_account.id"], name=op.f("fk_safeguarding_read_reader_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["subject_membership_id"],
            ["membership.id"],
            name=op.f("fk_safeguarding_read_subject_membership_id_membership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_read")),
    )
    with op.batch_alter_table("safeguarding_read", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safeguarding_read_community_id"), ["community_id"], unique=False)

    op.create_table(
        "exchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("helper_membership_id", sa.Integer(), nullable=False),
        sa.Column("helped_membership_id", sa.Integer(), nullable=False),
        sa.Column("initiated_by_membership_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("helper_agreed", sa.Boolean(), nullable=False),
        sa.Column("helped_agreed", sa.Boolean(), nullable=False),
        sa.Column("parent_accepted_helper", sa.Boolean(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_membership_id", sa.Integer(), nullable=True),
        sa.Column("attested_by_coordinator", sa.Boolean(), nullable=False),
        sa.Column("ledger_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("auto_confirm_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispute_reason", sa.String(length=500), nullable=False),
        sa.Column("settlement_reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("helper_membership_id <> helped_membership_id", name="ck_exchange_two_people"),
        sa.CheckConstraint("minutes IS NULL OR minutes > 0", name="ck_exchange_minutes_positive"),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_exchange_category_id_category")),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_exchange_community_id_community")),
        sa.ForeignKeyConstraint(
            ["helped_membership_id"], ["membership.id"], name=op.f("fk_exchange_helped_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["helper_membership_id"], ["membership.id"], name=op.f("fk_exchange_helper_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["initiated_by_membership_id"],
            ["membership.id"],
            name=op.f("fk_exchange_initiated_by_membership_id_membership"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transaction_id"],
            ["ledger_transaction.id"],
            name=op.f("fk_exchange_ledger_transaction_id_ledger_transaction"),
        ),
        sa.ForeignKeyConstraint(["listing_id"], ["listing.id"], name=op.f("fk_exchange_listing_id_listing")),
        sa.ForeignKeyConstraint(
            ["recorded_by_membership_id"],
            ["membership.id"],
            name=op.f("fk_exchange_recorded_by_membership_id_membership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange")),
    )
    with op.batch_alter_table("exchange", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_community_status_confirmed", ["community_id", "status", "confirmed_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exchange_helped_membership_id"), ["helped_membership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_helper_membership_id"), ["helper_membership_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_listing_id"), ["listing_id"], unique=False)

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("invited_by_membership_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_invitation_community_id_community")),
        sa.ForeignKeyConstraint(
            ["invited_by_membership_id"],
            ["membership.id"],
            name=op.f("fk_invitation_invited_by_membership_id_membership"),
        ),
        sa.ForeignKeyConstraint(["listing_id"], ["listing.id"], name=op.f("fk_invitation_listing_id_listing")),
        sa.ForeignKeyConstraint(
            ["membership_id"], ["membership.id"], name=op.f("fk_invitation_membership_id_membership")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("listing_id", "membership_id", name="uq_invitation_listing_member"),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invitation_membership_id"), ["membership_id"], unique=False)

    op.create_table(
        "exchange_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("actor_membership_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_membership_id"], ["membership.id"], name=op.f("fk_exchange_event_actor_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_exchange_event_community_id_community")
        ),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchange.id"], name=op.f("fk_exchange_event_exchange_id_exchange")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_event")),
    )
    with op.batch_alter_table("exchange_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_event_exchange_id"), ["exchange_id"], unique=False)

    op.create_table(
        "thank_you",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("from_membership_id", sa.Integer(), nullable=False),
        sa.Column("to_membership_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], name=op.f("fk_thank_you_community_id_community")),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchange.id"], name=op.f("fk_thank_you_exchange_id_exchange")),
        sa.ForeignKeyConstraint(
            ["from_membership_id"], ["membership.id"], name=op.f("fk_thank_you_from_membership_id_membership")
        ),
        sa.ForeignKeyConstraint(
            ["to_membership_id"], ["membership.id"], name=op.f("fk_thank_you_to_membership_id_membership")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thank_you")),
        sa.UniqueConstraint("exchange_id", name=op.f("uq_thank_you_exchange_id")),
    )
    with op.batch_alter_table("thank_you", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thank_you_to_membership_id"), ["to_membership_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thank_you", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thank_you_to_membership_id"))

    op.drop_table("thank_you")
    with op.batch_alter_table("exchange_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_event_exchange_id"))

    op.drop_table("exchange_event")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_membership_id"))
        batch_op.drop_index(batch_op.f("ix_invitation_community_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("exchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_listing_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_helper_membership_id"))
        batch_op.drop_index(batch_op.f("ix_exchange_helped_membership_id"))
        batch_op.drop_index("ix_exchange_community_status_confirmed")

    op.drop_table("exchange")
    with op.batch_alter_table("safeguarding_read", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safeguarding_read_community_id"))

    op.drop_table("safeguarding_read")
    with op.batch_alter_table("safeguarding_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safeguarding_check_membership_id"))

    op.drop_table("safeguarding_check")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listing_membership_id"))
        batch_op.drop_index("ix_listing_community_status_created")

    op.drop_table("listing")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_user_id"))
        batch_op.drop_index("ix_outbox_message_status_due")

    op.drop_table("outbox_message")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_community_id"))

    op.drop_table("membership")
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_category_community_id"))

    op.drop_table("category")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_community_at")

    op.drop_table("audit_entry")
    op.drop_table("community")
    op.drop_table("user_account")
