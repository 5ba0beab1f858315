"""The ledger's tables.

Four tables, all prefixed ``ledger_`` because they share a database with the application that uses the ledger:

- ``ledger_ledger``: one per book (one per community); the head of its hash chain and its last sequence number.
- ``ledger_account``: balance (posted), pending debits and credits, floor and ceiling, status.
- ``ledger_transaction``: a balanced set of entries; pending, posted or voided; hash-chained per ledger.
- ``ledger_entry``: one signed amount on one account; the account's balance after it once posted.

Amounts are signed integers in the ledger's unit: positive credits an account, negative debits it.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64

# Named constraints, so that later migrations (SQLite's batch mode above all) can find them by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
}
# 64-bit ids where history grows without end; SQLite's rowid alias must be spelled INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A moment in time, always timezone-aware UTC in Python.

    PostgreSQL stores it as ``timestamptz``; SQLite as ISO text without an offset (always UTC).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AccountStatus(enum.StrEnum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


class TransactionState(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class Ledger(SQLModel, table=True):
    __tablename__ = "ledger_ledger"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    unit: str = Field(default="minute", max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_sequence: int = Field(default=0)
    head_hash: str = Field(default=GENESIS_HASH, max_length=64)


class Account(SQLModel, table=True):
    __tablename__ = "ledger_account"
    __table_args__ = (
        sa.CheckConstraint("pending_debits >= 0 AND pending_credits >= 0", name="ck_ledger_account_pending_positive"),
        sa.CheckConstraint(
            "floor IS NULL OR ceiling IS NULL OR floor <= ceiling", name="ck_ledger_account_floor_below_ceiling"
        ),
        sa.CheckConstraint("status IN ('open', 'frozen', 'closed')", name="ck_ledger_account_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ledger_id: int = Field(foreign_key="ledger_ledger.id", index=True)
    kind: str = Field(max_length=32)
    name: str = Field(default="", max_length=200)
    balance: int = Field(default=0, sa_type=sa.BigInteger)
    pending_debits: int = Field(default=0, sa_type=sa.BigInteger)
    pending_credits: int = Field(default=0, sa_type=sa.BigInteger)
    floor: int | None = Field(default=None, sa_type=sa.BigInteger)
    ceiling: int | None = Field(default=None, sa_type=sa.BigInteger)
    status: str = Field(default=AccountStatus.OPEN.value, max_length=16)
    entry_count: int = Field(default=0, sa_type=sa.BigInteger)
    version: int = Field(default=1)
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def available(self) -> int:
        """What may still be debited before the floor: balance less what is pending against it."""
        return self.balance - self.pending_debits


class Transaction(SQLModel, table=True):
    __tablename__ = "ledger_transaction"
    __table_args__ = (
        sa.UniqueConstraint("ledger_id", "sequence", name="uq_ledger_transaction_sequence"),
        sa.UniqueConstraint("idempotency_scope", "idempotency_key", name="uq_ledger_transaction_idempotency"),
        sa.UniqueConstraint("reverses_id", name="uq_ledger_transaction_reverses"),
        sa.CheckConstraint("state IN ('pending', 'posted', 'voided')", name="ck_ledger_transaction_state"),
        sa.Index("ix_ledger_transaction_pending_expiry", "state", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    ledger_id: int = Field(foreign_key="ledger_ledger.id")
    sequence: int = Field(sa_type=sa.BigInteger)
    kind: str = Field(max_length=32)
    state: str = Field(max_length=16)
    memo: str = Field(default="", max_length=500)
    # ``metadata`` is taken by SQLAlchemy's declarative base.
    details: dict = Field(default_factory=dict, sa_type=sa.JSON)
    actor: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    void_reason: str = Field(default="", max_length=500)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_transaction.id", sa_type=sa.BigInteger)
    idempotency_scope: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_fingerprint: str | None = Field(default=None, sa_type=sa.Text)
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Entry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="ck_ledger_entry_amount_nonzero"),
        # Also the index by which a transaction's entries are found (migration 0006 dropped a second one).
        sa.UniqueConstraint("transaction_id", "account_id", name="uq_ledger_entry_account_once"),
        # Statements page through an account's posted entries by this key, newest first.
        sa.UniqueConstraint("account_id", "account_sequence", name="uq_ledger_entry_account_sequence"),
        sa.Index("ix_ledger_entry_account_posted_at", "account_id", "posted_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    ledger_id: int = Field(foreign_key="ledger_ledger.id")
    transaction_id: int = Field(foreign_key="ledger_transaction.id", sa_type=sa.BigInteger)
    account_id: int = Field(foreign_key="ledger_account.id")
    amount: int = Field(sa_type=sa.BigInteger)
    # Set when the entry posts: the account's running count of posted entries, and its balance right after.
    account_sequence: int | None = Field(default=None, sa_type=sa.BigInteger)
    balance_after: int | None = Field(default=None, sa_type=sa.BigInteger)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


metadata = SQLModel.metadata
ledger_table = Ledger.__table__
account_table = Account.__table__
transaction_table = Transaction.__table__
entry_table = Entry.__table__
