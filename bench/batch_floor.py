"""The floor of ``post_batch_pg``: PostgreSQL alone making a batch's writes, with no app (no HTTP, no Flask, no
marshmallow, no SQLAlchemy) — what the batch endpoint could reach on this machine if the app cost nothing.

``post_batch_pg_floor``: on the town of the PostgreSQL stage (bench/posting.py ``postgresql_stage``, shared with
``post_pg`` and ``post_batch_pg``), BENCH_BATCH_CLIENTS (4) client threads, each with its own psycopg 3 connection
(every statement prepared), send batches of 500 random transfers as ``batch_plan`` picks them (``atomic: false``)
for BENCH_SECONDS, between two runs of pgbench's tpcb-like (8 clients). Each batch is ONE database transaction with
the app's durability (the server's default ``synchronous_commit``) making the reads, checks and writes the real
batch makes (api/auth.py, api/idempotency.py, timebank/batches.py ``post_transfer_batch``, ledger/batches.py
``post_batch``), in 3 round trips:

1. (before any lock) BEGIN; the throttle's recent bearer failures for the address, the token and its user, the
   community and the caller's membership of it (one statement); claim the request's Idempotency-Key
   (``api_idempotency``, insert ... on conflict do nothing); the memberships the batch names; which of the items'
   ledger keys (scope ``user:N:batch:<index>``, the request's key) a transaction holds already. The client then
   checks the token (SHA-256, constant time), the coordinator and each item (1 to 720 minutes, a description of at
   most 500 characters, two different active members of the community, neither of them the caller) and makes each
   item's fingerprint and hashed text up to the chain's part (``ledger.hashing.content_prefix``);
2. lock the ledger's row (the chain) and read its head; lock the accounts the batch names (ascending id, FOR
   UPDATE) and read their figures. The client applies the items in order with the ledger's rules (open, the floor
   counting pending debits, the ceiling counting pending credits: a refused item is refused as the app refuses
   it), numbers each transaction and hashes it (``ledger.hashing.chained_hash``), numbers each entry on its
   account with its balance after;
3. one statement of CTEs fed by two JSON documents (the items, the changed accounts): the transactions, their
   entries, each changed account once (guarded: the version read, open, within the rules checked), the ledger's
   head (guarded by the sequence read), the confirmed exchanges and their "recorded on behalf" events, the audit
   entry, the idempotency record finished with the answer (the JSON the app answers, built by the database around
   the ids it gives) — then COMMIT, sent together.

The result says, besides ``post_batch_pg``'s figures, each phase's client-side p50/p99 (``phases_ms``: round trip
1, the client's work before the lock, round trip 2 with the wait for the ledger's lock, the client's work under
it, round trip 3 with the commit; ``held``: the last two, the lock's hold as the client sees it), the share of the
run some batch held the lock (``lock_held_share``: 1.0 means the batches of the one community queue behind each
other) and the rate that hold allows at most (``transfers_per_s_if_lock_bound``). ``app`` CPU is 0: there is none.

Left out of the real request: the app's separate read-only transaction for authentication (here the same reads
are part of round trip 1), categories (the bench sends none), partner keys, administrators acting without a
coordinator's membership, the request log and request ids, and a retried batch whose items' keys exist already
(the bench's keys are new; the floor refuses to go on rather than replay them). A replayed request key answers the
stored answer, as the app does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from bench.common import Result, cpu_shares, number_setting, percentile, postgresql_processes, say
from bench.http_load import Outcome, run_together
from bench.posting import BATCH_SIZE, _interleaved, _posting_result, batch_plan, postgresql_stage, seconds
from ledger.hashing import chained_hash, content_prefix

TARGET = "reference: PostgreSQL alone making the batch's writes (no target)"
ROUND_TRIPS = 3
MEMBER_PREFIX = "tb_m_"
KIND = "exchange"  # timebank.exchanges.EXCHANGE_KIND
VIA = "batch"  # timebank.batches.VIA
MAX_MINUTES = 12 * 60  # timebank.validation.minutes
MAX_DESCRIPTION = 500  # timebank.exchanges.MAX_NOTE_LENGTH
MAX_ID = 2**31 - 1
THROTTLE_LIMIT, THROTTLE_WINDOW = 20, timedelta(minutes=15)  # timebank/web/throttle.py, kind "bearer"
EVENT_NOTE = "attested: both agreed (batch)"
# PostTransaction.fingerprint's text for a batch's transfer (kind KIND, details "via" VIA).
FINGERPRINT = (
    '{{"operation":"post","ledger_id":{ledger},"kind":"exchange","entries":{entries},"memo":{memo},'
    '"details":{{"category_id":null,"helped_membership_id":{helped},"helper_membership_id":{helper},"via":"batch"}},'
    '"expires_at":null}}'
)


class Refusal(Exception):
    """A whole request refused: its status and problem+json body (as api/problems.py ``problem`` makes it)."""

    def __init__(self, status: int, code: str, detail: str, **extensions):
        super().__init__(detail)
        self.status = status
        self.body = json.dumps(_problem(status, code, detail, **extensions))


def _problem(status: int, code: str, detail: str, **extensions) -> dict:
    title = code.replace("_", " ").capitalize()
    return {"type": "/api/v1/problems/" + code.replace("_", "-"), "title": title, "status": status} | {
        "detail": detail,
        "code": code,
        **extensions,
    }


@dataclass
class Timings:
    """Client-side seconds of one batch's phases: round trip 1, the client's work before the lock, round trip 2
    (waiting for the ledger's lock, then locking the accounts), the client's work under the lock, round trip 3
    (the writes and the commit). ``held``: from the lock's answer to the commit's, the part of the ledger's lock
    the client sees (the lock is taken at the start of round trip 2's server time)."""

    read: float = 0.0
    before_lock: float = 0.0
    lock: float = 0.0
    under_lock: float = 0.0
    write: float = 0.0

    @property
    def held(self) -> float:
        return self.under_lock + self.write


@dataclass
class Answer:
    status: int
    body: str
    posted: int = 0
    timings: Timings = field(default_factory=Timings)


@dataclass
class _Account:
    id: int
    status: str
    balance: int
    pending_debits: int
    pending_credits: int
    floor: int | None
    ceiling: int | None
    entry_count: int
    version: int
    written_version: int
    debited: bool = False
    credited: bool = False


# --- the statements -------------------------------------------------------------------------------------------

# Round trip 1. The throttle counts the latest failures in the window, as LoginThrottle.wait_seconds_in reads them.
READ = """
SELECT throttle.failures, throttle.oldest, t.secret_hash, t.revoked_at, u.id, u.is_administrator, u.erased_at,
       c.id, c.ledger_id, m.id, m.status, m.role
FROM (SELECT count(*) AS failures, min(recent.at) AS oldest
      FROM (SELECT at FROM web_login_failure WHERE kind = 'bearer' AND key = %s AND at > %s
            ORDER BY at DESC LIMIT %s) AS recent) AS throttle
LEFT JOIN api_token AS t ON t.id = %s
LEFT JOIN user_account AS u ON u.id = t.user_id
LEFT JOIN community AS c ON c.id = %s
LEFT JOIN membership AS m ON m.community_id = c.id AND m.user_id = u.id
"""
# The caller's label comes from the token's user: known to the database in this round trip, checked after it.
CLAIM = """
INSERT INTO api_idempotency (caller, key, method, path, request_hash, state, created_at)
SELECT 'user:' || user_id, %s, 'POST', %s, %s, 'in_flight', %s FROM api_token WHERE id = %s
ON CONFLICT (caller, key) DO NOTHING RETURNING id
"""
MEMBERS = "SELECT id, account_id, status FROM membership WHERE community_id = %s AND id = ANY(%s)"
EXISTING_KEYS = """
SELECT idempotency_scope FROM ledger_transaction
WHERE idempotency_key = %s
  AND idempotency_scope = ANY(ARRAY(SELECT 'user:' || a.user_id || ':batch:' || g
                                    FROM api_token AS a, generate_series(0, %s - 1) AS g WHERE a.id = %s))
"""
RECORD = (
    "SELECT request_hash, state, response_status, response_body FROM api_idempotency WHERE caller = %s AND key = %s"
)
FINISH_REFUSED = """
UPDATE api_idempotency SET state = 'done', completed_at = %s, response_status = %s, response_body = %s
WHERE caller = %s AND key = %s
"""

# Round trip 2: ledger.core's lock order, the ledger's row first, then the accounts in ascending id order.
LOCK_LEDGER = "SELECT last_sequence, head_hash FROM ledger_ledger WHERE id = %s FOR UPDATE"
LOCK_ACCOUNTS = """
SELECT id, status, balance, pending_debits, pending_credits, floor, ceiling, entry_count, version
FROM ledger_account WHERE id = ANY(%s) AND ledger_id = %s ORDER BY id FOR UPDATE
"""

# Round trip 3: every write in one statement. A guarded update that matched fewer rows than it must aborts the
# statement (a failed cast naming it), so that the COMMIT queued behind it never runs.
MISMATCH = "batch_floor_mismatch"
WRITE = f"""
WITH items AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(items)s::json) AS x(
        item integer, sequence bigint, memo varchar, details json, scope varchar, fingerprint text,
        previous varchar, hash varchar, payer_account integer, payee_account integer, minutes bigint,
        payer_sequence bigint, payer_balance bigint, payee_sequence bigint, payee_balance bigint,
        helper integer, helped integer)
), tx AS (
    INSERT INTO ledger_transaction (ledger_id, sequence, kind, state, memo, details, actor, created_at, posted_at,
                                    voided_at, void_reason, expires_at, reverses_id, idempotency_scope,
                                    idempotency_key, request_fingerprint, previous_hash, hash)
    SELECT %(ledger)s, sequence, '{KIND}', 'posted', memo, details, %(actor)s, %(now)s, %(now)s, NULL, '', NULL, NULL,
           scope, %(key)s, fingerprint, previous, hash
    FROM items ORDER BY sequence
    RETURNING id, sequence
), entries AS (
    INSERT INTO ledger_entry (ledger_id, transaction_id, account_id, amount, account_sequence, balance_after,
                              posted_at)
    SELECT %(ledger)s, tx.id, e.account_id, e.amount, e.account_sequence, e.balance_after, %(now)s
    FROM items JOIN tx USING (sequence)
    CROSS JOIN LATERAL (VALUES (1, items.payer_account, -items.minutes, items.payer_sequence, items.payer_balance),
                               (2, items.payee_account, items.minutes, items.payee_sequence, items.payee_balance))
         AS e(side, account_id, amount, account_sequence, balance_after)
    ORDER BY items.sequence, e.side
    RETURNING 1
), accounts AS (
    UPDATE ledger_account AS a
    SET balance = c.balance, pending_debits = c.pending_debits, pending_credits = c.pending_credits,
        entry_count = c.entry_count, version = c.version
    FROM json_to_recordset(%(accounts)s::json) AS c(id integer, written_version integer, debited boolean,
        credited boolean, balance bigint, pending_debits bigint, pending_credits bigint, entry_count bigint,
        version integer)
    WHERE a.id = c.id AND a.ledger_id = %(ledger)s AND a.version = c.written_version AND a.status = 'open'
      AND (NOT c.debited OR a.floor IS NULL OR c.balance - c.pending_debits >= a.floor)
      AND (NOT c.credited OR a.ceiling IS NULL OR c.balance + c.pending_credits <= a.ceiling)
    RETURNING 1
), head AS (
    UPDATE ledger_ledger SET last_sequence = %(last_sequence)s, head_hash = %(head_hash)s
    WHERE id = %(ledger)s AND last_sequence = %(read_sequence)s AND %(posted)s > 0
    RETURNING 1
), exchange_rows AS (
    INSERT INTO exchange (community_id, listing_id, category_id, helper_membership_id, helped_membership_id,
                          initiated_by_membership_id, status, helper_agreed, helped_agreed, parent_accepted_helper,
                          minutes, description, recorded_by_membership_id, attested_by_coordinator,
                          ledger_transaction_id, auto_confirm_at, dispute_reason, settlement_reason, created_at,
                          recorded_at, confirmed_at, updated_at)
    SELECT %(community)s, NULL, NULL, items.helper, items.helped, %(coordinator)s, 'confirmed', true, true, false,
           items.minutes, items.memo, %(coordinator)s, true, tx.id, NULL, '', '', %(now)s, %(now)s, %(now)s, %(now)s
    FROM items JOIN tx USING (sequence) ORDER BY items.sequence
    RETURNING id, ledger_transaction_id, minutes
), events AS (
    INSERT INTO exchange_event (community_id, exchange_id, actor_membership_id, kind, minutes, note, at)
    SELECT %(community)s, id, %(coordinator)s, 'recorded_on_behalf', minutes, '{EVENT_NOTE}', %(now)s
    FROM exchange_rows ORDER BY id
    RETURNING 1
), results AS (
    SELECT items.item,
           format('{{"exchange_id":"%%s","index":%%s,"status":"posted","transaction_id":"%%s"}}',
                  exchange_rows.id, items.item, tx.id) AS result
    FROM exchange_rows JOIN tx ON tx.id = exchange_rows.ledger_transaction_id JOIN items USING (sequence)
    UNION ALL
    SELECT item, result FROM json_to_recordset(%(refused)s::json) AS r(item integer, result text)
), answer AS (
    SELECT %(answer_head)s || coalesce(string_agg(result, ',' ORDER BY item), '') || %(answer_tail)s AS body
    FROM results
), audit AS (
    INSERT INTO audit_entry (community_id, actor_user_id, action, subject_type, subject_id, reason, details, at)
    SELECT %(community)s, %(user)s, 'transfers.batch_posted', 'community', %(community)s, '',
           json_build_object('actor', %(actor)s::text, 'atomic', %(atomic)s::boolean,
                             'item_count', %(items_count)s::int,
                             'posted_count', %(posted)s::int, 'refused_count', %(refused_count)s::int,
                             'minutes', %(minutes)s::bigint,
                             'transaction_ids', (SELECT json_agg(id ORDER BY sequence) FROM tx)),
           %(now)s
    WHERE %(posted)s > 0
    RETURNING 1
), finished AS (
    UPDATE api_idempotency
    SET state = 'done', completed_at = %(now)s, response_status = 200, response_body = answer.body
    FROM answer WHERE caller = %(actor)s AND key = %(key)s
    RETURNING response_body
)
SELECT CASE WHEN (SELECT count(*) FROM accounts) = %(accounts_count)s
             AND (SELECT count(*) FROM head) = sign(%(posted)s)
             AND (SELECT count(*) FROM entries) = 2 * %(posted)s
             AND (SELECT count(*) FROM events) = %(posted)s
             AND (SELECT count(*) FROM audit) = sign(%(posted)s)
            THEN (SELECT response_body FROM finished)
            ELSE CAST('{MISMATCH}: accounts ' || (SELECT count(*) FROM accounts) || ' of ' || %(accounts_count)s
                      || ', head ' || (SELECT count(*) FROM head) AS integer)::text END
"""


# --- one batch ------------------------------------------------------------------------------------------------


@dataclass
class BatchRequest:
    """What the client sends: the path, the coordinator's token, the Idempotency-Key and the raw JSON body."""

    path: str
    token: str
    key: str
    raw: bytes
    address: str = "127.0.0.1"


def request_hash(path: str, raw: bytes) -> str:
    """api/idempotency.py ``_request_hash``: method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (b"POST", path.encode(), b"", raw):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _as_id(value) -> int | None:
    """A row id as the API takes one (a string of digits, or a whole number), else None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if type(value) is int and 1 <= value <= MAX_ID:
        return value
    return None


def _refused_item(index: int, status: int, code: str, detail: str, **extensions) -> str:
    """A refused item of the answer, as api/accounts/routes.py ``_batch_item`` renders it (sorted, compact)."""
    item = {"index": index, "problem": _problem(status, code, detail, **extensions), "status": "refused"}
    return json.dumps(item, sort_keys=True, separators=(",", ":"))


def _balance_refusal(account: _Account | None, account_id: int, amount: int) -> tuple:
    """ledger.core._refusal's code, detail and figures."""
    if account is None:
        return 404, "account_not_found", "no such account", {"account_id": account_id}
    if account.status in ("frozen", "closed"):
        return 422, f"account_{account.status}", f"the account is {account.status}", {"account_id": account_id}
    if amount < 0:
        available = account.balance - account.pending_debits
        figures = {"amount": -amount, "available": available, "floor": account.floor}
        figures["available_above_floor"] = available - account.floor
        return (
            422,
            "balance_below_floor",
            "this would take the account below its floor",
            {"account_id": account_id} | figures,
        )
    reach = account.balance + account.pending_credits
    figures = {"amount": amount, "balance_with_pending": reach, "ceiling": account.ceiling}
    figures["room_below_ceiling"] = account.ceiling - reach
    return (
        422,
        "balance_above_ceiling",
        "this would take the account above its ceiling",
        {"account_id": account_id} | figures,
    )


def _holds(account: _Account, amount: int) -> bool:
    """ledger.core._guard_holds."""
    if account.status != "open":
        return False
    if amount < 0:
        return account.floor is None or account.balance - account.pending_debits + amount >= account.floor
    return account.ceiling is None or account.balance + account.pending_credits + amount <= account.ceiling


class BatchFloor:
    """One psycopg connection (autocommit, so that BEGIN and COMMIT are statements sent in the pipeline)."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg = psycopg
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.connection = psycopg.connect(self.url, autocommit=True, prepare_threshold=0)

    def close(self) -> None:
        self.connection.close()

    def post(self, request: BatchRequest) -> Answer:
        try:
            return self._post(request)
        except BaseException:
            self._reset()
            raise

    def _reset(self) -> None:
        """After an error: a fresh connection (the old one may be mid-transaction)."""
        try:
            self.connection.close()
        finally:
            self.connection = self.psycopg.connect(self.url, autocommit=True, prepare_threshold=0)

    def _post(self, request: BatchRequest) -> Answer:
        timings = Timings()
        began = time.perf_counter()
        now = datetime.now(UTC)
        scheme_token = request.token
        identifier, _, secret = scheme_token.removeprefix(MEMBER_PREFIX).partition("_")
        if not scheme_token.startswith(MEMBER_PREFIX) or not identifier.isdigit() or not secret:
            raise Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")
        token_id = int(identifier)
        community_id = _as_id(request.path.split("/")[4])
        body = orjson.loads(request.raw)
        atomic, transfers = body["atomic"], body["transfers"]
        if atomic is not False:
            raise ValueError("the floor posts batches with atomic: false")
        named = sorted(
            {
                member
                for transfer in transfers
                for member in (_as_id(transfer["payer_membership_id"]), _as_id(transfer["payee_membership_id"]))
                if member is not None
            }
        )
        execute = self.connection.execute
        with self.connection.pipeline():
            execute("BEGIN")
            since = now - THROTTLE_WINDOW
            read = execute(READ, (request.address, since, THROTTLE_LIMIT, token_id, community_id))
            hashed = request_hash(request.path, request.raw)
            claimed = execute(CLAIM, (request.key, request.path[:500], hashed, now, token_id))
            members = execute(MEMBERS, (community_id, named))
            existing = execute(EXISTING_KEYS, (request.key, len(transfers), token_id))
            row = read.fetchone()  # round trip 1
            timings.read = time.perf_counter() - began
            mark = time.perf_counter()
            failures, oldest, secret_hash, revoked_at, user_id, administrator, erased_at = row[:7]
            found_community, ledger_id, coordinator_id, coordinator_status, role = row[7:]
            self._authenticate(now, failures, oldest, secret_hash, revoked_at, erased_at, secret)
            actor = f"user:{user_id}"
            if claimed.fetchone() is None:
                execute("ROLLBACK")
                return self._replay(actor, request.key, hashed)
            refusal = self._coordinator_refusal(
                community_id, found_community, administrator, coordinator_id, coordinator_status, role
            )
            if refusal is not None:
                return self._finish_refused(now, actor, request.key, refusal)
            memberships = {member_id: (account_id, status) for member_id, account_id, status in members.fetchall()}
            if existing.fetchall():
                raise RuntimeError("the floor posts new batches only: an item's key is held by a transaction")
            items, refused = self._check(now, transfers, memberships, coordinator_id, ledger_id, actor, request.key)
            timings.before_lock = time.perf_counter() - mark

            mark = time.perf_counter()
            chain = execute(LOCK_LEDGER, (ledger_id,))
            locked = execute(LOCK_ACCOUNTS, (sorted({a for item in items for a in item[2:4]}), ledger_id))
            read_sequence, head = chain.fetchone()  # round trip 2
            accounts = {row[0]: _Account(*row, written_version=row[8]) for row in locked.fetchall()}
            timings.lock = time.perf_counter() - mark

            mark = time.perf_counter()
            rows, changed, minutes = [], {}, 0
            sequence = read_sequence
            for index, prefix, payer_account, payee_account, amount, memo, details, scope, fingerprint in items:
                payer, payee = accounts.get(payer_account), accounts.get(payee_account)
                refusal = None
                for account, account_id, change in sorted(
                    ((payer, payer_account, -amount), (payee, payee_account, amount)), key=lambda side: side[1]
                ):
                    if account is None or not _holds(account, change):
                        refusal = _balance_refusal(account, account_id, change)
                        break
                if refusal is not None:
                    status, code, detail, extensions = refusal
                    refused.append({"item": index, "result": _refused_item(index, status, code, detail, **extensions)})
                    continue
                payer.balance -= amount
                payer.entry_count += 1
                payer.version += 1
                payer.debited = True
                payee.balance += amount
                payee.entry_count += 1
                payee.version += 1
                payee.credited = True
                changed[payer_account], changed[payee_account] = payer, payee
                sequence += 1
                digest = chained_hash(prefix, previous_hash=head, reverses_id=None, sequence=sequence)
                rows.append(
                    {
                        "item": index,
                        "sequence": sequence,
                        "memo": memo,
                        "details": details,
                        "scope": scope,
                        "fingerprint": fingerprint,
                        "previous": head,
                        "hash": digest,
                        "payer_account": payer_account,
                        "payee_account": payee_account,
                        "minutes": amount,
                        "payer_sequence": payer.entry_count,
                        "payer_balance": payer.balance,
                        "payee_sequence": payee.entry_count,
                        "payee_balance": payee.balance,
                        "helper": details["helper_membership_id"],
                        "helped": details["helped_membership_id"],
                    }
                )
                head = digest
                minutes += amount
            posted = len(rows)
            changes = [
                {
                    "id": account.id,
                    "written_version": account.written_version,
                    "debited": account.debited,
                    "credited": account.credited,
                    "balance": account.balance,
                    "pending_debits": account.pending_debits,
                    "pending_credits": account.pending_credits,
                    "entry_count": account.entry_count,
                    "version": account.version,
                }
                for account in sorted(changed.values(), key=lambda account: account.id)
            ]
            parameters = {
                "items": orjson.dumps(rows).decode(),
                "accounts": orjson.dumps(changes).decode(),
                "refused": orjson.dumps(refused).decode(),
                "ledger": ledger_id,
                "actor": actor,
                "user": user_id,
                "now": now,
                "key": request.key,
                "last_sequence": sequence,
                "head_hash": head,
                "read_sequence": read_sequence,
                "community": community_id,
                "coordinator": coordinator_id,
                "posted": posted,
                "atomic": False,
                "items_count": len(transfers),
                "refused_count": len(transfers) - posted,
                "minutes": minutes,
                "accounts_count": len(changes),
                "answer_head": (
                    f'{{"atomic":false,"posted_count":{posted},"refused_count":{len(transfers) - posted},"results":['
                ),
                "answer_tail": "]}\n",
            }
            timings.under_lock = time.perf_counter() - mark
            mark = time.perf_counter()
            written = execute(WRITE, parameters)
            execute("COMMIT")
        # Leaving the pipeline sent the statement, the COMMIT and a Sync together: round trip 3.
        answer = written.fetchone()[0]
        timings.write = time.perf_counter() - mark
        return Answer(200, answer, posted, timings)

    @staticmethod
    def _authenticate(now, failures, oldest, secret_hash, revoked_at, erased_at, secret) -> None:
        """api/auth.py: the address's throttle, then the token (its SHA-256 compared in constant time)."""
        if failures >= THROTTLE_LIMIT:
            wait = max(1, int(-(-(oldest + THROTTLE_WINDOW - now).total_seconds() // 1)))
            raise Refusal(
                429,
                "too_many_requests",
                f"too many wrong tokens from your address; try again in {wait} seconds",
                retry_after_seconds=wait,
            )
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if secret_hash is None or revoked_at is not None or erased_at is not None:
            raise Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")
        if not hmac.compare_digest(secret_hash, digest):
            raise Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")

    @staticmethod
    def _coordinator_refusal(community_id, found, administrator, membership_id, status, role) -> Refusal | None:
        """timebank.access.require_coordinator (an administrator needs a membership here: see the docstring)."""
        if found is None:
            return Refusal(404, "not_found", "no such community", community_id=community_id)
        if membership_id is None:
            if administrator:
                raise ValueError("the floor posts batches as a coordinator with a membership")
            return Refusal(404, "not_found", "no such community", community_id=community_id)
        if administrator:
            return None
        if status != "active":
            return Refusal(
                403, "membership_not_active", f"your membership is {status}", membership_id=membership_id, status=status
            )
        if role != "coordinator":
            return Refusal(403, "not_allowed", "only a coordinator may do this", community_id=community_id)
        return None

    @staticmethod
    def _check(now, transfers, memberships, coordinator_id, ledger_id, actor, key) -> tuple[list, list]:
        """timebank.batches._check for each item, and for the items that pass, what the ledger makes of them
        before its lock (ledger.batches._request): (index, hash prefix, payer account, payee account, minutes,
        memo, details, scope, fingerprint); the refused items' answers."""
        items, refused = [], []
        for index, transfer in enumerate(transfers):
            minutes, description = transfer["minutes"], transfer.get("description", "")
            problem = None
            if type(minutes) is not int or not 1 <= minutes <= MAX_MINUTES:
                problem = (
                    422,
                    "invalid_input",
                    f"minutes are whole minutes from 1 to {MAX_MINUTES}",
                    {"field": "minutes"},
                )
            elif not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
                problem = (422, "invalid_input", "description is too long", {"field": "description"})
            elif transfer.get("category_id") is not None:
                raise ValueError("the floor posts transfers without a category")
            else:
                sides = []
                for name in ("payer_membership_id", "payee_membership_id"):
                    member_id = _as_id(transfer[name])
                    found = memberships.get(member_id)
                    if found is None:
                        problem = (404, "not_found", "no such member", {"membership_id": member_id, "field": name})
                        break
                    if found[1] != "active":
                        problem = (
                            403,
                            "membership_not_active",
                            f"this member's membership is {found[1]}",
                            {"membership_id": member_id, "membership_status": found[1], "field": name},
                        )
                        break
                    sides.append((member_id, found[0]))
                if problem is None:
                    (payer, payer_account), (payee, payee_account) = sides
                    if payer == payee:
                        problem = (
                            422,
                            "invalid_input",
                            "a transfer is between two different members",
                            {"field": "payee_membership_id"},
                        )
                    elif coordinator_id in (payer, payee):
                        problem = (
                            403,
                            "not_allowed",
                            "record your own exchanges as a member: pay directly or claim the minutes",
                            {},
                        )
            if problem is not None:
                status, code, detail, extensions = problem
                refused.append({"item": index, "result": _refused_item(index, status, code, detail, **extensions)})
                continue
            details = {"via": VIA, "helper_membership_id": payee, "helped_membership_id": payer, "category_id": None}
            scope = f"{actor}:batch:{index}"
            entries = ((payer_account, -minutes), (payee_account, minutes))
            prefix = content_prefix(
                ledger_id=ledger_id,
                kind=KIND,
                memo=description,
                details=details,
                actor=actor,
                created_at=now,
                expires_at=None,
                idempotency_scope=scope,
                idempotency_key=key,
                entries=entries,
            )
            # PostTransaction.fingerprint's text (ledger.commands.fingerprint: the fields in order, the details in
            # canonical order), made from a template: 500 of them through the ledger's function cost ~15 ms.
            (first, first_amount), (second, second_amount) = sorted(entries)
            fingerprint = FINGERPRINT.format(
                ledger=ledger_id,
                entries=f"[[{first},{first_amount}],[{second},{second_amount}]]",
                memo=json.dumps(description),
                helped=payer,
                helper=payee,
            )
            items.append(
                (index, prefix, payer_account, payee_account, minutes, description, details, scope, fingerprint)
            )
        return items, refused

    def _finish_refused(self, now, actor: str, key: str, refusal: Refusal) -> Answer:
        """A request refused after its key was claimed: the answer kept under the key, as api/idempotency.py does."""
        execute = self.connection.execute
        execute(FINISH_REFUSED, (now, refusal.status, refusal.body, actor, key))
        execute("COMMIT")
        return Answer(refusal.status, refusal.body)

    def _replay(self, actor: str, key: str, hashed: str) -> Answer:
        stored_hash, state, status, body = self.connection.execute(RECORD, (actor, key)).fetchone()
        if stored_hash != hashed:
            refusal = Refusal(422, "idempotency_key_reused", "this Idempotency-Key was used with another request")
            return Answer(refusal.status, refusal.body)
        if state != "done":
            refusal = Refusal(409, "idempotency_request_in_flight", "the first request with this key is still running")
            return Answer(refusal.status, refusal.body)
        return Answer(status, body)


def post_batch(floor: BatchFloor, request: BatchRequest) -> Answer:
    """``floor.post``, with a whole request's refusal as its answer."""
    try:
        return floor.post(request)
    except Refusal as refusal:
        return Answer(refusal.status, refusal.body)


# --- the benchmark --------------------------------------------------------------------------------------------


def run_floor_clients(floors: list[BatchFloor], plan, *, duration: float) -> tuple[Outcome, list[Timings]]:
    """A thread for each of ``floors`` (a connection each), posting ``plan(i)``'s batches one after the other for
    ``duration`` seconds (every batch under a new Idempotency-Key). The connections stay open: their backends'
    CPU is counted by ``cpu_shares`` only while they exist."""
    outcome = Outcome(seconds=duration)
    timings: list[Timings] = []
    lock = threading.Lock()

    def client(index: int, running) -> None:
        floor = floors[index]
        latencies, statuses, done, seen = [], Counter(), 0, []
        try:
            while running():
                _, path, token, body = plan(index)
                request = BatchRequest(path, token, uuid.uuid4().hex, orjson.dumps(body))
                began = time.perf_counter()
                answer = post_batch(floor, request)
                elapsed = time.perf_counter() - began
                statuses[answer.status] += 1
                if answer.posted:
                    latencies.append(elapsed)
                    seen.append(answer.timings)
                    done += answer.posted
        finally:
            with lock:
                outcome.latencies.extend(latencies)
                outcome.statuses.update(statuses)
                outcome.units += done
                timings.extend(seen)

    outcome.seconds = run_together(client, clients=len(floors), seconds=duration)
    return outcome, timings


def _phases(timings: list[Timings]) -> dict:
    """Each phase's p50 and p99 in ms (client-side), and the ledger lock's hold."""
    phases = {}
    for name in ("read", "before_lock", "lock", "under_lock", "write", "held"):
        values = [getattr(timing, name) for timing in timings]
        phases[name] = {
            "p50": round(percentile(values, 0.5) * 1000, 1),
            "p99": round(percentile(values, 0.99) * 1000, 1),
        }
    return phases


def post_batch_pg_floor() -> Result:
    stage = postgresql_stage()
    clients = int(number_setting("BENCH_BATCH_CLIENTS", 4))
    plan = batch_plan(stage.town, seed=7)
    say(f"batch floor: {clients} client threads, each with a psycopg connection, {BATCH_SIZE} transfers a batch")
    floors = [BatchFloor(stage.url) for _ in range(clients)]
    try:
        run_floor_clients(floors, plan, duration=min(3.0, seconds()))  # warm up: connections, prepared statements

        def measured():
            groups = {"postgresql": (postgresql_processes, False)}
            return cpu_shares(groups, lambda: run_floor_clients(floors, plan, duration=seconds()))

        tps, ((outcome, timings), cpu), baselines = _interleaved(
            lambda: stage.pgbench.tps(clients=8, seconds=seconds()), measured
        )
    finally:
        for floor in floors:
            floor.close()
    cpu["app"] = 0.0
    held = sum(timing.held for timing in timings)
    result = _posting_result(
        "post_batch_pg_floor",
        outcome,
        tps,
        baselines,
        clients,
        cpu,
        target=TARGET,
        batch=BATCH_SIZE,
        round_trips_per_batch=ROUND_TRIPS,
        batches=len(timings),
        phases_ms=_phases(timings),
        # The ledger's row lock serialises the batches: the share of the run some batch held it (client-side, a
        # lower bound), and what one lock's hold allows at most.
        lock_held_share=round(held / max(outcome.seconds, 1e-9), 3),
        transfers_per_s_if_lock_bound=round(BATCH_SIZE / (held / len(timings)), 1) if timings else None,
    )
    result.details["workers"] = 0
    return result
