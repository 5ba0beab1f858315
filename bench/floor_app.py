"""The floor: the lightest server that does a direct payment's job. A measuring instrument for bench/floor.py, never
used by the app.

A bare WSGI application (no Flask, no SQLAlchemy, no marshmallow: ``json``, ``hashlib``, and ``psycopg`` 3 or
``sqlite3``, chosen by ``TIMEBANK_DATABASE_URL`` as tests/system/servers.py's ``Gunicorn`` passes it) serving

- ``GET /healthz``: 200;
- ``POST /api/v1/communities/<id>/payments``: the body, token and ``Idempotency-Key`` of the real route
  (api/accounts/routes.py ``Payments``), answered 201 with the real answer's JSON (the exchange).

A payment makes, against the real schema and in ONE database transaction with the app's durability (PostgreSQL's
default ``synchronous_commit``; SQLite in WAL with ``synchronous=FULL`` and ``BEGIN IMMEDIATE``), the reads and
writes the real one makes (api/auth.py, api/idempotency.py, timebank/payments.py ``pay_directly``,
ledger/core.py ``_insert``):

1. read the throttle's recent bearer failures for the address, the token and its user (the SHA-256 of the secret
   compared in constant time, revoked and erased refused), the community, the payer's membership and the payee's
   (both active members of the community, two different members) — one statement;
2. claim the Idempotency-Key (insert ... on conflict do nothing), advance the ledger's chain (its row lock is held
   from here to the commit), debit and credit the two accounts in ascending id order with the balance rules in
   the WHERE clause (status open, floor counting pending debits, ceiling counting pending credits);
3. insert the transaction (its hash by ``ledger.hashing.transaction_hash``, its request fingerprint as
   ``PostTransaction.fingerprint`` gives it), its two entries with account_sequence and balance_after, set the
   ledger's head, insert the exchange (confirmed, as ``pay_directly``) and its "paid" event, finish the
   idempotency record with the answer; commit.

On PostgreSQL each step is one round trip (psycopg's pipeline mode sends a step's statements together, step 3 is
one statement of CTEs sent with the COMMIT): 3 round trips, all statements prepared, one connection per worker
process. On SQLite the same statements run one by one in process. A replayed key rolls back and answers the
stored answer; a refusal (a balance rule, a missing or inactive member) rolls back and stores its answer under the
key, as the app does. What it leaves out of the real route: categories (``category_id`` must be absent or null),
partner keys (403), the request log and request ids, recording a wrong token's failure, taking over a key left
in flight by an older version.

``FLOOR_CHAIN=sql`` (PostgreSQL): a variant for what the ledger's lock would cost with no client round trip under
it: the database advances the chain and computes the same hash (``sha256`` of the same canonical JSON), and the
lock, the whole write and the COMMIT go in one round trip after (BEGIN, read, claim): 2 round trips.

``ledger.hashing`` is loaded from its file: importing it the usual way imports the ``ledger`` package, whose
``__init__`` brings SQLAlchemy and SQLModel into every worker (and into every recycled one).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

_spec = importlib.util.spec_from_file_location(
    "_floor_ledger_hashing", Path(__file__).resolve().parent.parent / "ledger" / "hashing.py"
)
hashing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hashing)

DATABASE_URL_VARIABLE = "TIMEBANK_DATABASE_URL"
PAYMENTS_PATH = re.compile(r"^/api/v1/communities/([^/]+)/payments$")
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
MEMBER_PREFIX = "tb_m_"
MAX_ID = 2**31 - 1
MAX_MINUTES = 12 * 60
MAX_DESCRIPTION = 500
THROTTLE_LIMIT, THROTTLE_WINDOW = 20, timedelta(minutes=15)  # timebank/web/throttle.py: FAILED_TOKENS_PER_ADDRESS
PROBLEM = "application/problem+json"


class Refusal(Exception):
    """An answer other than 201: a problem+json body."""

    def __init__(self, status: int, code: str, detail: str, *, headers=None, **extensions):
        super().__init__(detail)
        self.status, self.headers = status, headers or {}
        body = {"type": "/api/v1/problems/" + code.replace("_", "-"), "title": code.replace("_", " ").capitalize()}
        self.body = json.dumps({**body, "status": status, "detail": detail, "code": code, **extensions})


@dataclass
class Payment:
    """One request, checked for shape; ``now`` is the moment of every timestamp it writes."""

    community_id: int
    payee_id: int
    minutes: int
    description: str
    token_id: int
    secret: str
    key: str
    address: str
    request_hash: str
    path: str
    now: datetime


@dataclass
class Parties:
    """What step 1 found: the caller and the two members, checked."""

    user_id: int
    ledger_id: int
    payer_id: int
    payer_account: int
    payee_account: int

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


# --- the request ----------------------------------------------------------------------------------------------


def _as_id(value) -> int | None:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def credentials(authorization: str, key: str | None) -> tuple[int, str, str]:
    """The member token's id and secret and the Idempotency-Key from the request's headers, or the refusal the
    real route gives before reading its body (api/auth.py, then api/idempotency.py)."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    unauthenticated = Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise unauthenticated
    if token.startswith("tb_p_"):
        raise Refusal(403, "not_allowed", "this operation is for members' personal tokens, not partner keys")
    identifier, _, secret = token.removeprefix(MEMBER_PREFIX).partition("_")
    if not token.startswith(MEMBER_PREFIX) or not (identifier.isascii() and identifier.isdigit()) or not secret:
        raise unauthenticated
    if len(identifier) > 12:
        raise unauthenticated
    if key is None:
        raise Refusal(400, "idempotency_key_missing", "send an Idempotency-Key header")
    if not KEY_PATTERN.match(key):
        raise Refusal(400, "malformed_request", "Idempotency-Key is 1 to 200 visible ASCII characters")
    return int(identifier), secret, key


def new_payment(
    community_id: int,
    payee_id: int,
    minutes: int,
    description: str,
    credentials: tuple[int, str, str],
    *,
    address: str | None,
    path: str,
    query: str,
    raw: bytes,
) -> Payment:
    """A payment from already checked values: the community, the body's fields, ``credentials()``, and what the
    request fingerprint digests (the WSGI path and query string, as latin-1 text, and the raw body)."""
    token_id, secret, key = credentials
    digest = hashlib.sha256()  # api/idempotency.py _request_hash
    for part in (b"POST", path.encode("latin-1"), query.encode("latin-1"), raw):
        digest.update(part)
        digest.update(b"\0")
    return Payment(
        community_id=community_id,
        payee_id=payee_id,
        minutes=minutes,
        description=description,
        token_id=token_id,
        secret=secret,
        key=key,
        address=address or "unknown",
        request_hash=digest.hexdigest(),
        path=path.encode("latin-1").decode("utf-8", "replace")[:500],
        now=datetime.now(UTC),
    )


def parse(environ, community_text: str) -> Payment:
    """The request's token, key and body, or the refusal the real route gives before touching its data."""
    checked = credentials(environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_IDEMPOTENCY_KEY"))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw)
    except ValueError:
        raise Refusal(400, "malformed_request", "the body is not JSON") from None
    if not isinstance(body, dict) or set(body) - {"payee_membership_id", "minutes", "description", "category_id"}:
        raise Refusal(422, "validation_failed", "unknown or missing fields")
    payee_id, minutes = _as_id(body.get("payee_membership_id")), body.get("minutes")
    description = body.get("description", "")
    if payee_id is None or not isinstance(minutes, int) or isinstance(minutes, bool):
        raise Refusal(422, "validation_failed", "payee_membership_id and minutes are required")
    if not 1 <= minutes <= MAX_MINUTES or not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise Refusal(422, "validation_failed", "minutes are 1 to 720, a description at most 500 characters")
    if body.get("category_id") is not None:
        raise Refusal(422, "validation_failed", "the floor makes payments without a category")
    community_id = _as_id(community_text)
    if community_id is None:
        raise Refusal(404, "not_found", "no such community")
    return new_payment(
        community_id,
        payee_id,
        minutes,
        description,
        checked,
        address=environ.get("REMOTE_ADDR"),
        path=environ.get("PATH_INFO", ""),
        query=environ.get("QUERY_STRING", ""),
        raw=raw,
    )


def check_parties(payment: Payment, row) -> Parties:
    """Step 1's row as api/auth.py, timebank/balances.py and timebank/payments.py judge it."""
    (failures, oldest, secret_hash, revoked_at, user_id, administrator, erased_at, ledger_id) = row[:8]
    payer_id, payer_account, payer_status, payee_id, payee_account, payee_status = row[8:]
    if failures >= THROTTLE_LIMIT:
        oldest = oldest if isinstance(oldest, datetime) else datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        wait = max(1, int(-(-(oldest + THROTTLE_WINDOW - payment.now).total_seconds() // 1)))
        raise Refusal(
            429,
            "too_many_requests",
            f"too many wrong tokens from your address; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
            retry_after_seconds=wait,
        )
    secret = hashlib.sha256(payment.secret.encode()).hexdigest()
    if secret_hash is None or revoked_at is not None or erased_at is not None:
        raise Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")
    if not hmac.compare_digest(secret_hash, secret):
        raise Refusal(401, "unauthenticated", "send a valid token: Authorization: Bearer <token>")
    if ledger_id is None:
        raise Refusal(404, "not_found", "no such community", community_id=payment.community_id)
    missing = Refusal(404, "not_found", "no such member", membership_id=payment.payee_id, field="payee_membership_id")
    if payee_id is None:
        raise missing
    if payer_id is None:
        if administrator:
            raise Refusal(403, "not_allowed", "only members of this community take part in its exchanges")
        raise missing
    if payer_status != "active":
        raise Refusal(403, "membership_not_active", f"your membership is {payer_status}", membership_id=payer_id)
    if payer_id == payee_id:
        raise Refusal(422, "invalid_input", "an exchange is between two different members", field="payee_membership_id")
    if payee_status != "active":
        raise Refusal(
            403, "membership_not_active", f"the other member's membership is {payee_status}", membership_id=payee_id
        )
    return Parties(user_id, ledger_id, payer_id, payer_account, payee_account)


def ledger_content(payment: Payment, parties: Parties, sequence: int, previous_hash: str) -> tuple[str, str, str]:
    """(details as JSON, request fingerprint, hash) of the payment's transaction, as ledger.core.transaction_row
    and PostTransaction.fingerprint make them for ``bookkeeping.post_transfer``."""
    details = {
        "via": "payment",
        "helper_membership_id": payment.payee_id,
        "helped_membership_id": parties.payer_id,
        "category_id": None,
    }
    entries = [[parties.payer_account, -payment.minutes], [parties.payee_account, payment.minutes]]
    fingerprint = json.dumps(
        {
            "operation": "post",
            "ledger_id": parties.ledger_id,
            "kind": "exchange",
            "entries": sorted(entries),
            "memo": payment.description,
            "details": json.loads(hashing.canonical_json(details)),
            "expires_at": None,
        },
        separators=(",", ":"),
    )
    digest = hashing.transaction_hash(
        ledger_id=parties.ledger_id,
        sequence=sequence,
        kind="exchange",
        memo=payment.description,
        details=details,
        actor=parties.actor,
        created_at=payment.now,
        expires_at=None,
        reverses_id=None,
        idempotency_scope=parties.actor,
        idempotency_key=payment.key,
        entries=entries,
        previous_hash=previous_hash,
    )
    return json.dumps(details), fingerprint, digest


def answer_parts(payment: Payment, parties: Parties) -> tuple[str, str, str]:
    """The 201 body as Flask writes the real one (sorted keys, compact, a newline), in three parts around the
    exchange id and the transaction id, which the database gives: head + id + middle + transaction id + tail."""
    moment = json.dumps(payment.now.isoformat())
    before = {
        "auto_confirm_at": None,
        "category_id": None,
        "community_id": str(payment.community_id),
        "confirmed_at": payment.now.isoformat(),
        "description": payment.description,
        "helped_membership_id": str(parties.payer_id),
        "helper_membership_id": str(payment.payee_id),
    }
    head = json.dumps(before, separators=(",", ":"), sort_keys=True)[:-1] + ',"id":"'
    middle = f'","minutes":{payment.minutes},"recorded_at":{moment},"status":"confirmed","transaction_id":"'
    return head, middle, '"}\n'


def write_values(payment: Payment, parties: Parties, *, details: str, fingerprint: str) -> dict:
    """The parameters both PostgreSQL floors' write statements take (each adds its chain's own)."""
    head, middle, tail = answer_parts(payment, parties)
    return {
        "ledger": parties.ledger_id,
        "memo": payment.description,
        "details": details,
        "actor": parties.actor,
        "now": payment.now,
        "key": payment.key,
        "fingerprint": fingerprint,
        "payer_account": parties.payer_account,
        "payee_account": parties.payee_account,
        "minutes": payment.minutes,
        "community": payment.community_id,
        "payer": parties.payer_id,
        "payee": payment.payee_id,
        "head_text": head,
        "middle_text": middle,
        "tail_text": tail,
    }


def balance_refusal(account, *, account_id: int, amount: int) -> Refusal:
    """ledger.core._refusal: which rule refused ``amount`` on the account (balance, pending debits and credits,
    floor, ceiling, status)."""
    if account is None:
        return Refusal(404, "account_not_found", "no such account", account_id=account_id)
    balance, pending_debits, pending_credits, floor, ceiling, status = account
    if status in ("frozen", "closed"):
        return Refusal(422, f"account_{status}", f"the account is {status}", account_id=account_id)
    if amount < 0:
        available = balance - pending_debits
        return Refusal(
            422,
            "balance_below_floor",
            "this would take the account below its floor",
            account_id=account_id,
            amount=-amount,
            available=available,
            floor=floor,
            available_above_floor=available - floor,
        )
    reach = balance + pending_credits
    return Refusal(
        422,
        "balance_above_ceiling",
        "this would take the account above its ceiling",
        account_id=account_id,
        amount=amount,
        balance_with_pending=reach,
        ceiling=ceiling,
        room_below_ceiling=ceiling - reach,
    )


def replay(record, request_hash: str) -> tuple[int, str, str, dict]:
    """api/idempotency.py ``_replay``: the stored answer, or why not."""
    stored_hash, state, status, body = record
    if stored_hash != request_hash:
        refusal = Refusal(422, "idempotency_key_reused", "this Idempotency-Key was used with another request")
        return refusal.status, refusal.body, PROBLEM, {}
    if state != "done":
        refusal = Refusal(409, "idempotency_request_in_flight", "the first request with this key is still running")
        return refusal.status, refusal.body, PROBLEM, {"Retry-After": "1"}
    return status, body, PROBLEM if status >= 400 else "application/json", {"Idempotent-Replayed": "true"}


# --- the statements -------------------------------------------------------------------------------------------

# Step 1: the throttle, the token, the community and both memberships, one row (``?`` placeholders; psycopg's
# are ``%s``). The throttle counts the latest failures in the window, as LoginThrottle.wait_seconds_in reads them.
READ = """
SELECT throttle.failures, throttle.oldest, t.secret_hash, t.revoked_at, u.id, u.is_administrator, u.erased_at,
       c.ledger_id, payer.id, payer.account_id, payer.status, payee.id, payee.account_id, payee.status
FROM (SELECT count(*) AS failures, min(recent.at) AS oldest
      FROM (SELECT at FROM web_login_failure WHERE kind = 'bearer' AND key = ? AND at > ?
            ORDER BY at DESC LIMIT ?) AS recent) AS throttle
LEFT JOIN api_token AS t ON t.id = ?
LEFT JOIN user_account AS u ON u.id = t.user_id
LEFT JOIN community AS c ON c.id = ?
LEFT JOIN membership AS payer ON payer.community_id = c.id AND payer.user_id = u.id
LEFT JOIN membership AS payee ON payee.id = ? AND payee.community_id = c.id
"""
CLAIM = """
INSERT INTO api_idempotency (caller, key, method, path, request_hash, state, created_at)
VALUES (?, ?, 'POST', ?, ?, 'in_flight', ?) ON CONFLICT (caller, key) DO NOTHING RETURNING id
"""
CLAIM_ANSWERED = """
INSERT INTO api_idempotency (caller, key, method, path, request_hash, state, created_at, completed_at,
                             response_status, response_body)
VALUES (?, ?, 'POST', ?, ?, 'done', ?, ?, ?, ?) ON CONFLICT (caller, key) DO NOTHING RETURNING id
"""
RECORD = "SELECT request_hash, state, response_status, response_body FROM api_idempotency WHERE caller = ? AND key = ?"
ADVANCE = "UPDATE ledger_ledger SET last_sequence = last_sequence + 1 WHERE id = ? RETURNING last_sequence, head_hash"
_MOVE = """
UPDATE ledger_account SET balance = balance + ?, entry_count = entry_count + 1, version = version + 1
WHERE id = ? AND ledger_id = ? AND status = 'open' AND ({rule}) RETURNING balance, entry_count
"""
DEBIT = _MOVE.format(rule="floor IS NULL OR balance - pending_debits + ? >= floor")
CREDIT = _MOVE.format(rule="ceiling IS NULL OR balance + pending_credits + ? <= ceiling")
ACCOUNT = "SELECT balance, pending_debits, pending_credits, floor, ceiling, status FROM ledger_account WHERE id = ?"
_TRANSACTION_COLUMNS = (
    "ledger_id, sequence, kind, state, memo, details, actor, created_at, posted_at, void_reason, "
    "idempotency_scope, idempotency_key, request_fingerprint, previous_hash, hash"
)
_EXCHANGE_COLUMNS = (
    "community_id, helper_membership_id, helped_membership_id, initiated_by_membership_id, status, helper_agreed, "
    "helped_agreed, parent_accepted_helper, minutes, description, recorded_by_membership_id, attested_by_coordinator, "
    "ledger_transaction_id, dispute_reason, settlement_reason, created_at, recorded_at, confirmed_at, updated_at"
)
_ENTRY_COLUMNS = "ledger_id, transaction_id, account_id, amount, account_sequence, balance_after, posted_at"
FINISH = """
UPDATE api_idempotency SET state = 'done', completed_at = ?, response_status = 201, response_body = ?
WHERE caller = ? AND key = ?
"""

# Step 3 on PostgreSQL: every write after the balances in one statement (named parameters).
# The exchange and its "paid" event, as CTEs after the transaction's (``tx``), in both PostgreSQL floors' writes.
_EXCHANGE_WRITES = f"""exchange_row AS (
    INSERT INTO exchange ({_EXCHANGE_COLUMNS})
    SELECT %(community)s, %(payee)s, %(payer)s, %(payer)s, 'confirmed', true, true, false, %(minutes)s, %(memo)s,
           %(payer)s, false, tx.id, '', '', %(now)s, %(now)s, %(now)s, %(now)s
    FROM tx RETURNING id
), event AS (
    INSERT INTO exchange_event (community_id, exchange_id, actor_membership_id, kind, minutes, note, at)
    SELECT %(community)s, exchange_row.id, %(payer)s, 'paid', %(minutes)s, '', %(now)s FROM exchange_row
)"""
WRITE_PG = f"""
WITH tx AS (
    INSERT INTO ledger_transaction ({_TRANSACTION_COLUMNS})
    VALUES (%(ledger)s, %(sequence)s, 'exchange', 'posted', %(memo)s, %(details)s::json, %(actor)s, %(now)s,
            %(now)s, '', %(actor)s, %(key)s, %(fingerprint)s, %(previous)s, %(hash)s)
    RETURNING id
), entries AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS})
    SELECT %(ledger)s, tx.id, e.account_id, e.amount, e.account_sequence, e.balance_after, %(now)s
    FROM tx, (VALUES (1, %(payer_account)s::integer, -%(minutes)s::bigint, %(payer_count)s::bigint,
                      %(payer_balance)s::bigint),
                     (2, %(payee_account)s, %(minutes)s, %(payee_count)s, %(payee_balance)s))
             AS e(position, account_id, amount, account_sequence, balance_after)
    ORDER BY e.position
), head AS (
    UPDATE ledger_ledger SET head_hash = %(hash)s WHERE id = %(ledger)s
), {_EXCHANGE_WRITES}
UPDATE api_idempotency
SET state = 'done', completed_at = %(now)s, response_status = 201,
    response_body = %(head_text)s || exchange_row.id || %(middle_text)s || tx.id || %(tail_text)s
FROM tx, exchange_row
WHERE caller = %(actor)s AND key = %(key)s
RETURNING response_body
"""


def read_arguments(payment: Payment, since) -> tuple:
    """READ's parameters: the throttle's address, window and limit, the token, the community, the payee."""
    return (payment.address[:254], since, THROTTLE_LIMIT, payment.token_id, payment.community_id, payment.payee_id)


def _pg(statement: str) -> str:
    return statement.replace("?", "%s")


# --- PostgreSQL -----------------------------------------------------------------------------------------------


class PostgresqlFloor:
    """One psycopg connection (autocommit, so that BEGIN and COMMIT are statements sent in the pipeline)."""

    def __init__(self, url: str):
        import psycopg

        self.psycopg, self.url = psycopg, url.replace("postgresql+psycopg://", "postgresql://")
        self.connection = psycopg.connect(self.url, autocommit=True)

    def pay(self, payment: Payment) -> tuple[int, str, str, dict]:
        execute = self.connection.execute
        try:
            with self.connection.pipeline():
                execute("BEGIN")
                since = payment.now - THROTTLE_WINDOW
                row = execute(_pg(READ), read_arguments(payment, since), prepare=True).fetchone()  # round trip 1
                try:
                    parties = check_parties(payment, row)
                except Refusal as refusal:
                    return self._refuse(payment, refusal, row)
                actor, ledger_id = parties.actor, parties.ledger_id
                claimed = execute(
                    _pg(CLAIM), (actor, payment.key, payment.path, payment.request_hash, payment.now), prepare=True
                )
                chain = execute(_pg(ADVANCE), (ledger_id,), prepare=True)
                moves = {
                    account: execute(_pg(rule), (amount, account, ledger_id, amount), prepare=True)
                    for account, amount, rule in _moves(parties, payment.minutes)
                }
                if claimed.fetchone() is None:  # round trip 2 (all four statements)
                    execute("ROLLBACK")
                    return self._replay(actor, payment)
                sequence, previous = chain.fetchone()
                figures = {account: cursor.fetchone() for account, cursor in moves.items()}
                for account, amount, _ in _moves(parties, payment.minutes):
                    if figures[account] is None:
                        execute("ROLLBACK")
                        found = execute(_pg(ACCOUNT), (account,)).fetchone()
                        return self._refuse(payment, balance_refusal(found, account_id=account, amount=amount), row)
                details, fingerprint, digest = ledger_content(payment, parties, sequence, previous)
                (payer_balance, payer_count), (payee_balance, payee_count) = (
                    figures[parties.payer_account],
                    figures[parties.payee_account],
                )
                written = execute(
                    WRITE_PG,
                    write_values(payment, parties, details=details, fingerprint=fingerprint)
                    | {
                        "sequence": sequence,
                        "previous": previous,
                        "hash": digest,
                        "payer_count": payer_count,
                        "payer_balance": payer_balance,
                        "payee_count": payee_count,
                        "payee_balance": payee_balance,
                    },
                    prepare=True,
                )
                execute("COMMIT")
            # Leaving the pipeline sent the statement, the COMMIT and a Sync together: round trip 3.
            return 201, written.fetchone()[0], "application/json", {}
        except BaseException:
            self._reset()
            raise

    def _refuse(self, payment: Payment, refusal: Refusal, row) -> tuple[int, str, str, dict]:
        """Roll back; a refusal after the caller was known is kept under the key, as api/idempotency.py keeps it."""
        execute = self.connection.execute
        execute("ROLLBACK")
        if refusal.status in (401, 429):
            return refusal.status, refusal.body, PROBLEM, refusal.headers
        actor = f"user:{row[4]}"
        execute("BEGIN")
        now = payment.now
        arguments = (actor, payment.key, payment.path, payment.request_hash, now, now, refusal.status, refusal.body)
        if execute(_pg(CLAIM_ANSWERED), arguments).fetchone() is None:
            execute("ROLLBACK")
            return self._replay(actor, payment)
        execute("COMMIT")
        return refusal.status, refusal.body, PROBLEM, refusal.headers

    def _replay(self, actor: str, payment: Payment) -> tuple[int, str, str, dict]:
        record = self.connection.execute(_pg(RECORD), (actor, payment.key)).fetchone()
        return replay(record, payment.request_hash)

    def close(self) -> None:
        self.connection.close()

    def _reset(self) -> None:
        """After an error: a fresh connection for the next request (the old one may be mid-transaction)."""
        try:
            self.connection.close()
        finally:
            self.connection = self.psycopg.connect(self.url, autocommit=True)


def _moves(parties: Parties, minutes: int):
    """(account, amount, guarded update) for both sides, in ascending account id order (the locking order)."""
    moves = [(parties.payer_account, -minutes, DEBIT), (parties.payee_account, minutes, CREDIT)]
    return sorted(moves, key=lambda move: move[0])


# --- PostgreSQL, the chain in the database (a variant) ---------------------------------------------------------

# ``FLOOR_CHAIN=sql``: what the lock would cost if no client round trip happened under it. The hash's canonical
# JSON is known to the client but for two values only the locked ledger row gives (the previous hash and the
# sequence), so the database computes it (``sha256``), and everything from the chain's advance to the COMMIT is
# sent at once. A refusal aborts the statement (a failed cast naming it), so that the COMMIT queued behind it
# never runs.
CLAIM_BY_TOKEN = """
INSERT INTO api_idempotency (caller, key, method, path, request_hash, state, created_at)
SELECT 'user:' || user_id, %s, 'POST', %s, %s, 'in_flight', %s FROM api_token WHERE id = %s
ON CONFLICT (caller, key) DO NOTHING RETURNING caller
"""
LOCK = "SELECT id FROM ledger_ledger WHERE id = %s FOR UPDATE"
REFUSED = "floor_refused"
WRITE_PG_CHAIN = f"""
WITH debit AS (
    UPDATE ledger_account SET balance = balance + %(debit)s, entry_count = entry_count + 1, version = version + 1
    WHERE id = %(payer_account)s AND ledger_id = %(ledger)s AND status = 'open'
      AND (floor IS NULL OR balance - pending_debits + %(debit)s >= floor)
    RETURNING balance, entry_count
), credit AS (
    UPDATE ledger_account SET balance = balance + %(minutes)s, entry_count = entry_count + 1, version = version + 1
    WHERE id = %(payee_account)s AND ledger_id = %(ledger)s AND status = 'open'
      AND (ceiling IS NULL OR balance + pending_credits + %(minutes)s <= ceiling)
    RETURNING balance, entry_count
), chain AS (
    UPDATE ledger_ledger AS l
    SET last_sequence = o.last_sequence + 1,
        head_hash = encode(sha256(convert_to(
            %(hash_head)s || o.head_hash || %(hash_middle)s || (o.last_sequence + 1) || '}}', 'UTF8')), 'hex')
    FROM ledger_ledger AS o
    WHERE l.id = %(ledger)s AND o.id = l.id AND EXISTS (SELECT FROM debit) AND EXISTS (SELECT FROM credit)
    RETURNING l.last_sequence AS sequence, o.head_hash AS previous, l.head_hash AS hash
), tx AS (
    INSERT INTO ledger_transaction ({_TRANSACTION_COLUMNS})
    SELECT %(ledger)s, chain.sequence, 'exchange', 'posted', %(memo)s, %(details)s::json, %(actor)s, %(now)s,
           %(now)s, '', %(actor)s, %(key)s, %(fingerprint)s, chain.previous, chain.hash
    FROM chain RETURNING id
), entries AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS})
    SELECT %(ledger)s, tx.id, %(payer_account)s, %(debit)s, debit.entry_count, debit.balance, %(now)s FROM tx, debit
    UNION ALL
    SELECT %(ledger)s, tx.id, %(payee_account)s, %(minutes)s, credit.entry_count, credit.balance, %(now)s
    FROM tx, credit
), {_EXCHANGE_WRITES}, finished AS (
    UPDATE api_idempotency
    SET state = 'done', completed_at = %(now)s, response_status = 201,
        response_body = %(head_text)s || exchange_row.id || %(middle_text)s || tx.id || %(tail_text)s
    FROM tx, exchange_row
    WHERE caller = %(actor)s AND key = %(key)s
    RETURNING response_body
)
SELECT CASE WHEN count(*) = 1 THEN min(response_body)
            ELSE CAST('{REFUSED}: debit ' || (SELECT count(*) FROM debit)
                      || ', credit ' || (SELECT count(*) FROM credit) AS integer)::text END
FROM finished
"""


def chain_hash_parts(payment: Payment, parties: Parties, details: dict) -> tuple[str, str]:
    """The text ``ledger.hashing.transaction_hash`` digests, around the previous hash and the sequence: the
    digest is the SHA-256 of head + previous hash + middle + sequence + "}" (canonical JSON sorts the keys, and
    "previous_hash" comes just before "reverses_id" and "sequence")."""
    slot = "PREVIOUS_HASH_SLOT"
    text = hashing.canonical_json(
        {
            "ledger_id": parties.ledger_id,
            "sequence": 0,
            "kind": "exchange",
            "memo": payment.description,
            "details": details,
            "actor": parties.actor,
            "created_at": payment.now.isoformat(timespec="microseconds"),
            "expires_at": None,
            "reverses_id": None,
            "idempotency": [parties.actor, payment.key],
            "entries": sorted([[parties.payer_account, -payment.minutes], [parties.payee_account, payment.minutes]]),
            "previous_hash": slot,
        }
    )
    head, rest = text.split(slot)
    assert rest.endswith(',"sequence":0}')
    return head, rest[: -len("0}")]


class PostgresqlChainFloor(PostgresqlFloor):
    """2 round trips: (BEGIN, read, claim) and (lock the ledger, everything else in one statement, COMMIT)."""

    def pay(self, payment: Payment) -> tuple[int, str, str, dict]:
        execute = self.connection.execute
        try:
            with self.connection.pipeline():
                execute("BEGIN")
                since = payment.now - THROTTLE_WINDOW
                read = execute(_pg(READ), read_arguments(payment, since), prepare=True)
                claim = (payment.key, payment.path, payment.request_hash, payment.now, payment.token_id)
                claimed = execute(CLAIM_BY_TOKEN, claim, prepare=True)
                row = read.fetchone()  # round trip 1
                try:
                    parties = check_parties(payment, row)
                except Refusal as refusal:
                    return self._refuse(payment, refusal, row)
                if claimed.fetchone() is None:
                    execute("ROLLBACK")
                    return self._replay(parties.actor, payment)
                details, fingerprint, _ = ledger_content(payment, parties, 0, "")
                hash_head, hash_middle = chain_hash_parts(payment, parties, json.loads(details))
                execute(LOCK, (parties.ledger_id,), prepare=True)
                written = execute(
                    WRITE_PG_CHAIN,
                    write_values(payment, parties, details=details, fingerprint=fingerprint)
                    | {"hash_head": hash_head, "hash_middle": hash_middle, "debit": -payment.minutes},
                    prepare=True,
                )
                execute("COMMIT")
            # Leaving the pipeline sent the lock, the statement, the COMMIT and a Sync together: round trip 2.
            return 201, written.fetchone()[0], "application/json", {}
        except self.psycopg.errors.InvalidTextRepresentation as error:
            if REFUSED not in str(error):
                self._reset()
                raise
            execute("ROLLBACK")
            # The failed cast names the side whose guarded update matched no row.
            if f"{REFUSED}: debit 0" in str(error):
                account, amount = parties.payer_account, -payment.minutes
            else:
                account, amount = parties.payee_account, payment.minutes
            found = execute(_pg(ACCOUNT), (account,)).fetchone()
            return self._refuse(payment, balance_refusal(found, account_id=account, amount=amount), row)
        except BaseException:
            self._reset()
            raise


# --- SQLite ---------------------------------------------------------------------------------------------------


def _sqlite_moment(moment: datetime) -> str:
    """As ledger.models.UTCDateTime stores a moment in SQLite (SQLAlchemy's format, UTC, no offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteFloor:
    """One sqlite3 connection with ledger/database.py's settings; every payment in ``BEGIN IMMEDIATE``."""

    def __init__(self, path: str):
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=10000"):
            self.connection.execute(f"PRAGMA {pragma}")

    def pay(self, payment: Payment) -> tuple[int, str, str, dict]:
        execute = self.connection.execute
        now = _sqlite_moment(payment.now)
        execute("BEGIN IMMEDIATE")
        try:
            since = _sqlite_moment(payment.now - THROTTLE_WINDOW)
            row = execute(READ, read_arguments(payment, since)).fetchone()
            try:
                parties = check_parties(payment, row)
            except Refusal as refusal:
                return self._refuse(payment, refusal, row)
            actor, ledger_id = parties.actor, parties.ledger_id
            if execute(CLAIM, (actor, payment.key, payment.path, payment.request_hash, now)).fetchone() is None:
                execute("ROLLBACK")
                return self._replay(actor, payment)
            sequence, previous = execute(ADVANCE, (ledger_id,)).fetchone()
            figures = {}
            for account, amount, rule in _moves(parties, payment.minutes):
                figures[account] = execute(rule, (amount, account, ledger_id, amount)).fetchone()
                if figures[account] is None:
                    found = execute(ACCOUNT, (account,)).fetchone()
                    execute("ROLLBACK")
                    return self._refuse(payment, balance_refusal(found, account_id=account, amount=amount), row)
            details, fingerprint, digest = ledger_content(payment, parties, sequence, previous)
            transaction_id = execute(
                f"INSERT INTO ledger_transaction ({_TRANSACTION_COLUMNS}) "
                "VALUES (?, ?, 'exchange', 'posted', ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?) RETURNING id",
                (ledger_id, sequence, payment.description, details, actor, now, now, actor, payment.key)
                + (fingerprint, previous, digest),
            ).fetchone()[0]
            (payer_balance, payer_count), (payee_balance, payee_count) = (
                figures[parties.payer_account],
                figures[parties.payee_account],
            )
            execute(
                f"INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
                (ledger_id, transaction_id, parties.payer_account, -payment.minutes, payer_count, payer_balance, now)
                + (ledger_id, transaction_id, parties.payee_account, payment.minutes, payee_count, payee_balance, now),
            )
            execute("UPDATE ledger_ledger SET head_hash = ? WHERE id = ?", (digest, ledger_id))
            exchange_id = execute(
                f"INSERT INTO exchange ({_EXCHANGE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, 'confirmed', 1, 1, 0, ?, ?, ?, 0, ?, '', '', ?, ?, ?, ?) RETURNING id",
                (payment.community_id, payment.payee_id, parties.payer_id, parties.payer_id, payment.minutes)
                + (payment.description, parties.payer_id, transaction_id, now, now, now, now),
            ).fetchone()[0]
            execute(
                "INSERT INTO exchange_event (community_id, exchange_id, actor_membership_id, kind, minutes, note, at) "
                "VALUES (?, ?, ?, 'paid', ?, '', ?)",
                (payment.community_id, exchange_id, parties.payer_id, payment.minutes, now),
            )
            head, middle, tail = answer_parts(payment, parties)
            body = f"{head}{exchange_id}{middle}{transaction_id}{tail}"
            execute(FINISH, (now, body, actor, payment.key))
            execute("COMMIT")
            return 201, body, "application/json", {}
        except BaseException:
            if self.connection.in_transaction:
                execute("ROLLBACK")
            raise

    def _refuse(self, payment: Payment, refusal: Refusal, row) -> tuple[int, str, str, dict]:
        execute = self.connection.execute
        if self.connection.in_transaction:
            execute("ROLLBACK")
        if refusal.status in (401, 429):
            return refusal.status, refusal.body, PROBLEM, refusal.headers
        actor, now = f"user:{row[4]}", _sqlite_moment(payment.now)
        execute("BEGIN IMMEDIATE")
        arguments = (actor, payment.key, payment.path, payment.request_hash, now, now, refusal.status, refusal.body)
        claimed = execute(CLAIM_ANSWERED, arguments).fetchone()
        execute("COMMIT")
        if claimed is None:
            return self._replay(actor, payment)
        return refusal.status, refusal.body, PROBLEM, refusal.headers

    def _replay(self, actor: str, payment: Payment) -> tuple[int, str, str, dict]:
        return replay(self.connection.execute(RECORD, (actor, payment.key)).fetchone(), payment.request_hash)

    def close(self) -> None:
        self.connection.close()


# --- WSGI -----------------------------------------------------------------------------------------------------


def connect(url: str):
    """The floor for a SQLAlchemy-style URL: ``postgresql[+psycopg]://...`` or ``sqlite:///path``."""
    if url.startswith("sqlite:///"):
        return SqliteFloor(unquote(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        return PostgresqlChainFloor(url) if os.environ.get("FLOOR_CHAIN") == "sql" else PostgresqlFloor(url)
    raise ValueError(f"the floor runs on PostgreSQL or SQLite, not {url}")


class FloorApp:
    """The WSGI application; its database connection is made at the first request, in the worker process."""

    def __init__(self, url: str | None = None):
        self.url = url
        self._floor = None
        self._pid = None

    def floor(self):
        if self._floor is None or self._pid != os.getpid():
            self._floor, self._pid = connect(self.url or os.environ[DATABASE_URL_VARIABLE]), os.getpid()
        return self._floor

    def close(self) -> None:
        if self._floor is not None:
            self._floor.close()
            self._floor = None

    def __call__(self, environ, start_response):
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        headers = {}
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body, media_type = 200, '{"status":"ok"}\n', "application/json"
        elif (match := PAYMENTS_PATH.match(path)) and method == "POST":
            try:
                payment = parse(environ, match.group(1))
                status, body, media_type, headers = self.floor().pay(payment)
            except Refusal as refusal:
                status, body, media_type, headers = refusal.status, refusal.body, PROBLEM, refusal.headers
        else:
            status, body, media_type = 404, Refusal(404, "not_found", "the floor serves payments only").body, PROBLEM
        data = body.encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Answer')}",
            [("Content-Type", media_type), ("Content-Length", str(len(data))), *headers.items()],
        )
        return [data]


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}

app = FloorApp()
