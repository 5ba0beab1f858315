"""The web front: ended sessions and failed logins, shared by every worker.

Revision ID: 0004
Revises: 0003
Created: 2026-11-27 23:34:30.203622
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_login_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login_failure")),
    )
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_login_failure_at"), ["at"], unique=False)
        batch_op.create_index("ix_web_login_failure_kind_key_at", ["kind", "key", "at"], unique=False)

    op.create_table(
        "web_revoked_session",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_web_revoked_session")),
    )
    with op.batch_alter_table("web_revoked_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_revoked_session_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_revoked_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_revoked_session_expires_at"))

    op.drop_table("web_revoked_session")
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_web_login_failure_kind_key_at")
        batch_op.drop_index(batch_op.f("ix_web_login_failure_at"))

    op.drop_table("web_login_failure")
