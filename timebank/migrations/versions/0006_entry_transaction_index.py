"""Cheaper postings: drop the index on the entry's transaction alone. The unique constraint on (transaction_id,
account_id) is an index that begins with the transaction, so it finds a transaction's entries as well; the second
index only cost every entry written one more index insertion (a batch of 500 transfers writes 1,000 entries).

Revision ID: 0006
Revises: 0005
Created: 2026-11-28 06:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_transaction_id")


def downgrade() -> None:
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entry_transaction_id", ["transaction_id"], unique=False)
