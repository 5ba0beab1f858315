"""A double-entry ledger in integer units, on SQLite or PostgreSQL.

It knows nothing of time banks, Flask or HTTP: ledgers, accounts with floors and ceilings, balanced
transactions posted at once or held as pending, reversals, batches, idempotency keys, statements, and a
verification that recomputes everything from the entries and checks the hash chain.
"""

from ledger.accounts import (
    close_account,
    create_ledger,
    freeze_account,
    get_account,
    get_ledger,
    ledger_balance_total,
    open_account,
    set_limits,
    unfreeze_account,
)
from ledger.batches import post_batch
from ledger.commands import MAX_BATCH_SIZE, MAX_ENTRIES, EntryRequest, PostTransaction, transfer
from ledger.core import (
    BatchResult,
    Posting,
    expire_due,
    load_posting,
    post,
    post_pending,
    reverse,
    void_pending,
)
from ledger.database import create_engine, transact
from ledger.statements import StatementLine, StatementPage, balance_at, statement
from ledger.verify import VerificationReport, verify

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_ENTRIES",
    "BatchResult",
    "EntryRequest",
    "PostTransaction",
    "Posting",
    "StatementLine",
    "StatementPage",
    "VerificationReport",
    "balance_at",
    "close_account",
    "create_engine",
    "create_ledger",
    "expire_due",
    "freeze_account",
    "get_account",
    "get_ledger",
    "ledger_balance_total",
    "load_posting",
    "open_account",
    "post",
    "post_batch",
    "post_pending",
    "reverse",
    "set_limits",
    "statement",
    "transact",
    "transfer",
    "unfreeze_account",
    "verify",
    "void_pending",
]
