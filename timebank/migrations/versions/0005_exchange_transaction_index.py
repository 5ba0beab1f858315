"""Reads that stay flat as history grows: an index on the exchange's ledger transaction, by which a statement
page names the other member of each of its lines.

Revision ID: 0005
Revises: 0004
Created: 2026-11-28 03:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_ledger_transaction_id"), ["ledger_transaction_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exchange", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_ledger_transaction_id"))
