"""The ledger's four tables: ledgers, accounts, transactions and entries.

Revision ID: 0001
Revises:
Created: 2026-11-27

Written out in full rather than imported from ``ledger.models``, so this revision stays as it was when the
models move on. Constraint and index names are the models' own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# 64-bit ids where history grows without end; SQLite's rowid alias must be spelled INTEGER.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, *, nullable: bool) -> sa.Column:
    """A UTC moment: ``ledger.models.UTCDateTime`` stores it as a timezone-aware timestamp."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    _create_ledger()
    _create_account()
    _create_transaction()
    _create_entry()


def _create_ledger() -> None:
    op.create_table(
        "ledger_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        _moment("created_at", nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_ledger"),
    )


def _create_account() -> None:
    op.create_table(
        "ledger_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("pending_debits", sa.BigInteger(), nullable=False),
        sa.Column("pending_credits", sa.BigInteger(), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=True),
        sa.Column("ceiling", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_count", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _moment("created_at", nullable=False),
        sa.CheckConstraint("pending_debits >= 0 AND pending_credits >= 0", name="ck_ledger_account_pending_positive"),
        sa.CheckConstraint(
            "floor IS NULL OR ceiling IS NULL OR floor <= ceiling", name="ck_ledger_account_floor_below_ceiling"
        ),
        sa.CheckConstraint("status IN ('open', 'frozen', 'closed')", name="ck_ledger_account_status"),
        sa.ForeignKeyConstraint(["ledger_id"], ["ledger_ledger.id"], name="fk_ledger_account_ledger_id_ledger_ledger"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_account"),
    )
    op.create_index("ix_ledger_account_ledger_id", "ledger_account", ["ledger_id"])


def _create_transaction() -> None:
    op.create_table(
        "ledger_transaction",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _moment("created_at", nullable=False),
        _moment("posted_at", nullable=True),
        _moment("voided_at", nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=False),
        _moment("expires_at", nullable=True),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_scope", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_fingerprint", sa.Text(), nullable=True),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("ledger_id", "sequence", name="uq_ledger_transaction_sequence"),
        sa.UniqueConstraint("idempotency_scope", "idempotency_key", name="uq_ledger_transaction_idempotency"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_transaction_reverses"),
        sa.CheckConstraint("state IN ('pending', 'posted', 'voided')", name="ck_ledger_transaction_state"),
        sa.ForeignKeyConstraint(
            ["ledger_id"], ["ledger_ledger.id"], name="fk_ledger_transaction_ledger_id_ledger_ledger"
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_transaction.id"], name="fk_ledger_transaction_reverses_id_ledger_transaction"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_transaction"),
    )
    op.create_index("ix_ledger_transaction_pending_expiry", "ledger_transaction", ["state", "expires_at"])


def _create_entry() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("account_sequence", sa.BigInteger(), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=True),
        _moment("posted_at", nullable=True),
        sa.CheckConstraint("amount <> 0", name="ck_ledger_entry_amount_nonzero"),
        sa.UniqueConstraint("transaction_id", "account_id", name="uq_ledger_entry_account_once"),
        sa.UniqueConstraint("account_id", "account_sequence", name="uq_ledger_entry_account_sequence"),
        sa.ForeignKeyConstraint(["ledger_id"], ["ledger_ledger.id"], name="fk_ledger_entry_ledger_id_ledger_ledger"),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transaction.id"], name="fk_ledger_entry_transaction_id_ledger_transaction"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_account.id"], name="fk_ledger_entry_account_id_ledger_account"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entry"),
    )
    op.create_index("ix_ledger_entry_transaction_id", "ledger_entry", ["transaction_id"])
    op.create_index("ix_ledger_entry_account_posted_at", "ledger_entry", ["account_id", "posted_at"])


def downgrade() -> None:
    for table in ("ledger_entry", "ledger_transaction", "ledger_account", "ledger_ledger"):
        op.drop_table(table)
