"""The bank test's load and its audit, shared by test_bank (a steady server) and test_crash (a server killed
with SIGKILL mid-run).

- ``build_bank(url)``: communities with a few dozen members each, built through the use cases (as a coordinator
  centre would), a personal API token per member and per coordinator, and the books as they stand before the load.
- ``Load``: 32 client threads send random operations through the public API — direct payments, claims, the
  payer's confirmations, the coordinator's reversals and balance reads — every write with its own
  ``Idempotency-Key``. Every request is recorded with every attempt and its final answer. A request whose answer
  the client never got (connection refused or reset, timeout) is sent again, same key, same body, until it is
  answered; so is one answered "still in flight" (409).
- ``audit(url, bank, load)``: the books afterwards against what the clients were told, see its docstring.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

import ledger
from ledger.models import account_table, transaction_table
from tests.system.servers import REPOSITORY
from tests.world import add_user, join
from timebank import communities, credentials
from timebank.access import Actor
from timebank.database import Database
from timebank.models import Community, Exchange, ExchangeEvent

FLOOR, CEILING, WELCOME = -300, 600, 60
AMOUNTS = (5, 15, 30, 45, 60, 90, 120, 180, 240, 360)
# What each write may be refused with, and nothing else: a balance rule (422), or a state another client changed
# first (409: the claim was confirmed, the transaction reversed).
LIMITS = {(422, "balance_below_floor"), (422, "balance_above_ceiling")}
EXPECTED_REFUSALS = {
    "pay": LIMITS,
    "claim": LIMITS,
    "confirm": {(409, "conflict"), (409, "pending_already_posted")},
    "reverse": LIMITS | {(409, "already_reversed")},
}
SUCCESS = {"pay": 201, "claim": 201, "confirm": 200, "reverse": 201, "balance": 200}
WEIGHTS = {"pay": 33, "claim": 20, "confirm": 17, "reverse": 5, "balance": 25}
IN_FLIGHT = "idempotency_request_in_flight"


def environment_number(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- the bank -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    membership_id: int
    account_id: int
    community_id: int
    label: str  # the caller's name, which scopes its idempotency keys ("user:5")
    token: str


@dataclass
class Town:
    """One community of the bank and the people acting in it."""

    community_id: int
    ledger_id: int
    coordinator: Member
    members: list[Member]


@dataclass
class Bank:
    towns: list[Town]
    # account id -> (balance, pending debits, pending credits) before the load, for every account of the towns
    opening: dict[int, tuple[int, int, int]]
    opening_transactions: dict[int, int]  # ledger id -> transactions
    opening_exchanges: dict[int, int]  # community id -> exchanges
    opening_last_transaction_id: int  # the newest transaction before the load

    def member(self, membership_id: int) -> Member:
        for town in self.towns:
            for member in [town.coordinator, *town.members]:
                if member.membership_id == membership_id:
                    return member
        raise KeyError(membership_id)


def build_bank(url: str, *, sizes: tuple[int, ...] = (24, 12)) -> Bank:
    """Communities of ``sizes`` members (and a coordinator each), joined and approved through the use cases."""
    engine = ledger.create_engine(url)
    try:
        db = Database(engine)
        towns = [build_town(db, size) for size in sizes]
        return Bank(towns=towns, **_books(engine, towns))
    finally:
        engine.dispose()


def build_town(
    db: Database,
    size: int,
    *,
    floor: int = FLOOR,
    ceiling: int = CEILING,
    welcome: int = WELCOME,
    progress: Callable[[int], None] | None = None,
) -> Town:
    """A community of ``size`` members and a coordinator, each with a personal API token, through the use cases;
    ``progress(n)`` is told after every 250th member."""
    admin = add_user(db, administrator=True)
    admin_actor = Actor.for_user(admin)
    community = db.run(
        communities.create_community,
        actor=admin_actor,
        slug=f"sys-{uuid.uuid4().hex[:8]}",
        name="Buurtbank Belasting",
        default_floor_minutes=floor,
        default_ceiling_minutes=ceiling,
        welcome_credit_minutes=welcome,
        auto_confirm_days=7,
    )

    def person(name: str, role: str | None = None) -> Member:
        joined = join(db, admin_actor, community.id, name, role=role)
        issued = db.run(credentials.create_personal_token, actor=joined.actor, name="system test")
        return Member(joined.id, joined.account_id, community.id, joined.actor.label, issued.secret)

    coordinator = person("Carla Coördinator", role="coordinator")
    members = []
    for number in range(1, size + 1):
        members.append(person(f"Lid {number}"))
        if progress is not None and number % 250 == 0:
            progress(number)
    return Town(community.id, community.ledger_id, coordinator, members)


def _books(engine, towns: list[Town]) -> dict:
    ledger_ids = [town.ledger_id for town in towns]
    with engine.connect() as connection:
        accounts = connection.execute(
            sa.select(account_table.c.id, account_table.c.balance, account_table.c.pending_debits)
            .add_columns(account_table.c.pending_credits)
            .where(account_table.c.ledger_id.in_(ledger_ids))
        ).all()
        transactions = dict(
            connection.execute(
                sa.select(transaction_table.c.ledger_id, sa.func.count())
                .where(transaction_table.c.ledger_id.in_(ledger_ids))
                .group_by(transaction_table.c.ledger_id)
            ).all()
        )
        last_transaction_id = connection.execute(sa.select(sa.func.max(transaction_table.c.id))).scalar_one()
        exchanges = dict(
            connection.execute(
                sa.select(Exchange.community_id, sa.func.count())
                .where(Exchange.community_id.in_([town.community_id for town in towns]))
                .group_by(Exchange.community_id)
            ).all()
        )
    return {
        "opening": {row.id: (row.balance, row.pending_debits, row.pending_credits) for row in accounts},
        "opening_transactions": {ledger_id: transactions.get(ledger_id, 0) for ledger_id in ledger_ids},
        "opening_exchanges": {town.community_id: exchanges.get(town.community_id, 0) for town in towns},
        "opening_last_transaction_id": last_transaction_id or 0,
    }


# --- the client ---------------------------------------------------------------------------------------------------


class Unanswered(Exception):
    """The request may or may not have reached the server: the client never learned its outcome."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict | None


class Client:
    """One client's HTTP/1.1 connection (reopened whenever the server closes it)."""

    def __init__(self, base_url: str, *, timeout: float):
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        body=None,
        key: str | None = None,
        abandon: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send a request and read its answer; ``abandon`` hangs up as soon as the request is sent, as a client
        whose patience ran out would (the server goes on with it). ``token`` None sends no Authorization header;
        ``headers`` adds to (or replaces) the usual ones."""
        headers = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.connection.request(method, path, body=data, headers=headers)
            if abandon:
                self.close()
                raise Unanswered("abandoned: the client hung up without waiting for the answer")
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise Unanswered(f"{type(error).__name__}: {error}") from error
        if response.will_close:
            self.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = {"unparsed": raw[:500].decode(errors="replace")}
        return Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, parsed)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# --- the load -----------------------------------------------------------------------------------------------------


@dataclass
class Record:
    """One request the clients meant to make, with every attempt, and the answer they finally got."""

    number: int
    operation: str
    caller: Member
    method: str
    path: str
    body: dict | None = None
    key: str | None = None
    subject: int | None = None  # the claim's exchange id (confirm) or the transaction id (reverse)
    attempts: int = 0
    abandon: bool = False  # the first attempt hangs up without waiting for the answer
    unanswered: list[str] = field(default_factory=list)
    in_flight_waits: int = 0
    status: int | None = None
    answer: dict | None = None
    replayed: bool = False

    @property
    def code(self) -> str | None:
        return (self.answer or {}).get("code")

    @property
    def acknowledged(self) -> bool:
        return self.status == SUCCESS[self.operation]

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500

    def describe(self) -> str:
        unanswered = dict(Counter(self.unanswered))
        return (
            f"#{self.number} {self.operation} by {self.caller.label}: {self.method} {self.path} key={self.key} "
            f"body={self.body} -> {self.status} {self.answer} (attempts {self.attempts}, unanswered {unanswered}, "
            f"in flight {self.in_flight_waits})"
        )


@dataclass(frozen=True)
class Claim:
    exchange_id: int
    transaction_id: int
    payer: Member


class Load:
    """``requests`` random operations from ``clients`` threads against the server at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        bank: Bank,
        *,
        requests: int,
        clients: int = 32,
        seed: int | None = None,
        replay_share: float = 0.05,
        abandon_share: float = 0.03,
        patience: float = 180,
    ):
        self.base_url, self.bank, self.requests, self.clients = base_url, bank, requests, clients
        self.seed = random.randrange(2**32) if seed is None else seed
        self.replay_share, self.abandon_share = replay_share, abandon_share
        self.patience = patience  # how long one request may keep going unanswered before the test gives up
        self.lock = threading.Lock()
        self.numbers = itertools.count()
        self.records: list[Record] = []
        self.reads: list[tuple[Member, dict]] = []  # every balance read's answer
        # acknowledged writes sent again with the same key, and how the answer differed (None: it did not)
        self.replays: list[tuple[Record, str | None]] = []
        self.failures: list[str] = []  # what went wrong in a client thread (an exception, a lost request)
        self.open_claims: dict[int, Claim] = {}
        self.confirmed_claims: list[Claim] = []
        self.reversible: dict[int, int] = {}  # posted transaction id -> community id
        self.reversed: list[tuple[int, int]] = []
        self.finished = 0
        self.started_at = self.ended_at = 0.0
        self.abort = threading.Event()  # set when the test cannot go on (the server did not come back)

    # -- running

    def run(self) -> None:
        self.started_at = time.monotonic()
        threads = [threading.Thread(target=self._client, args=(index,), daemon=True) for index in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.ended_at = time.monotonic()

    @property
    def progress(self) -> int:
        with self.lock:
            return self.finished

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        client = Client(self.base_url, timeout=45)
        try:
            while (number := next(self.numbers)) < self.requests and not self.abort.is_set():
                record = self._plan(rng, number)
                record.abandon = record.key is not None and rng.random() < self.abandon_share
                self._send_until_answered(client, record)
                with self.lock:
                    self.records.append(record)
                    self.finished += 1
                    self._learn(record)
                if record.key is not None and record.acknowledged and rng.random() < self.replay_share:
                    self._replay(client, record)
        except Exception as error:  # noqa: BLE001 - reported by the test, with the thread's request
            with self.lock:
                self.failures.append(f"client {index}: {type(error).__name__}: {error}")
        finally:
            client.close()

    def _plan(self, rng: random.Random, number: int) -> Record:
        operation = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        town = rng.choice(self.bank.towns)
        with self.lock:
            claims = [claim for claim in self.open_claims.values() if claim.payer.community_id == town.community_id]
            # Now and then a claim confirmed already or a transaction reversed already, to be refused.
            if self.confirmed_claims and rng.random() < 0.1:
                claims = [claim for claim in self.confirmed_claims if claim.payer.community_id == town.community_id]
            reversible = [tx for tx, community in self.reversible.items() if community == town.community_id]
            if self.reversed and rng.random() < 0.1:
                reversible = [tx for tx, community in self.reversed if community == town.community_id]
        if operation == "confirm" and claims:
            claim = rng.choice(claims)
            return Record(
                number,
                "confirm",
                claim.payer,
                "POST",
                f"/api/v1/exchanges/{claim.exchange_id}/confirm",
                body={},
                key=_key(),
                subject=claim.exchange_id,
            )
        if operation == "reverse" and reversible:
            transaction_id = rng.choice(reversible)
            return Record(
                number,
                "reverse",
                town.coordinator,
                "POST",
                f"/api/v1/transactions/{transaction_id}/reversal",
                body={"reason": f"load test correction {number}"},
                key=_key(),
                subject=transaction_id,
            )
        if operation == "balance":
            reader = rng.choice(town.members)
            caller = town.coordinator if rng.random() < 0.3 else reader
            return Record(number, "balance", caller, "GET", f"/api/v1/members/{reader.membership_id}/balance")
        first, second = rng.sample(town.members, 2)
        minutes = rng.choice(AMOUNTS)
        if operation == "claim":
            body = {"payer_membership_id": str(second.membership_id), "minutes": minutes, "description": "geholpen"}
            return Record(
                number, "claim", first, "POST", f"/api/v1/communities/{town.community_id}/claims", body, _key()
            )
        body = {"payee_membership_id": str(second.membership_id), "minutes": minutes, "description": "bedankt"}
        return Record(number, "pay", first, "POST", f"/api/v1/communities/{town.community_id}/payments", body, _key())

    def _send_until_answered(self, client: Client, record: Record) -> None:
        """Send, and again with the same key and body while no answer came or the first is still in flight."""
        deadline = time.monotonic() + self.patience
        while True:
            record.attempts += 1
            abandon = record.abandon and record.attempts == 1
            try:
                answer = client.send(
                    record.method,
                    record.path,
                    token=record.caller.token,
                    body=record.body,
                    key=record.key,
                    abandon=abandon,
                )
            except Unanswered as error:
                record.unanswered.append(str(error))
                answer = None
            if answer is not None and not (answer.status == 409 and (answer.body or {}).get("code") == IN_FLIGHT):
                record.status, record.answer = answer.status, answer.body
                record.replayed = answer.headers.get("idempotent-replayed") == "true"
                return
            if answer is not None:
                record.in_flight_waits += 1
            if time.monotonic() > deadline or self.abort.is_set():
                raise RuntimeError(f"no answer after {self.patience} s (or aborted): {record.describe()}")
            time.sleep(0.5 if abandon else 0.2 if answer is None else float(answer.headers.get("retry-after", 1)))

    def _replay(self, client: Client, record: Record) -> None:
        """The same request again with the same key: the same answer, marked as a replay, and nothing more."""
        again = Record(record.number, record.operation, record.caller, record.method, record.path)
        again.body, again.key = record.body, record.key
        self._send_until_answered(client, again)
        same = again.replayed and (again.status, again.answer) == (record.status, record.answer)
        with self.lock:
            self.replays.append((record, None if same else again.describe()))

    def _learn(self, record: Record) -> None:
        """What the next operations may act on (called under the lock)."""
        if record.operation == "balance" and record.status == 200:
            self.reads.append((record.caller, record.answer))
        if not record.acknowledged:
            return
        answer = record.answer
        if record.operation == "pay":
            self.reversible[int(answer["transaction_id"])] = int(answer["community_id"])
        elif record.operation == "claim":
            payer = self.bank.member(int(answer["helped_membership_id"]))
            claim = Claim(int(answer["id"]), int(answer["transaction_id"]), payer)
            self.open_claims[claim.exchange_id] = claim
        elif record.operation == "confirm":
            claim = self.open_claims.pop(record.subject, None)
            if claim is not None:
                self.confirmed_claims.append(claim)
                self.reversible[claim.transaction_id] = claim.payer.community_id
        elif record.operation == "reverse":
            community = self.reversible.pop(record.subject, None)
            if community is not None:
                self.reversed.append((record.subject, community))

    # -- figures

    def figures(self) -> dict:
        outcomes = Counter(
            f"{record.operation} {record.status}{' ' + record.code if record.code else ''}" for record in self.records
        )
        seconds = self.ended_at - self.started_at
        return {
            "requests": len(self.records),
            "seconds": round(seconds, 1),
            "requests_per_second": round(len(self.records) / seconds, 1) if seconds else None,
            "outcomes": dict(sorted(outcomes.items())),
            "writes_acknowledged": sum(1 for r in self.records if r.key and r.acknowledged),
            "writes_refused": sum(1 for r in self.records if r.key and r.refused),
            "balance_reads": len(self.reads),
            "replays_checked": len(self.replays),
            "writes_abandoned_at_first": sum(1 for r in self.records if r.abandon),
            "requests_unanswered_at_first": sum(1 for r in self.records if r.unanswered),
            "unanswered_attempts": sum(len(r.unanswered) for r in self.records),
            # A retry answered with the first attempt's answer: the first one was applied, once, unbeknownst.
            "answered_by_replay_after_retry": sum(1 for r in self.records if r.unanswered and r.replayed),
            "answered_by_replay_after_a_crash": sum(
                1 for r in self.records if r.unanswered and r.replayed and not r.abandon
            ),
            "in_flight_waits": sum(r.in_flight_waits for r in self.records),
        }


def _key() -> str:
    return f"sys-{uuid.uuid4()}"


# --- the audit ----------------------------------------------------------------------------------------------------


def audit(url: str, bank: Bank, load: Load) -> dict:
    """The books after the load, against everything the clients were told. Returns figures; raises on a problem.

    - The clients were never refused for anything but a balance rule or a state another client changed first, and
      never got a 5xx; an acknowledged write sent again with its key got the same answer, marked as a replay.
    - No balance read ever showed a member past the floor or the ceiling (with or without pending minutes).
    - Every acknowledged payment, claim, confirmation and reversal is in the books exactly once, as answered; no
      refused one left a transaction or an exchange; the books hold nothing else.
    - Every account's balance and pending minutes are exactly what the acknowledged writes make of the opening
      books; every community's ledger sums to zero; and ``timebank verify`` passes.
    """
    problems = list(load.failures)
    problems += _check_answers(load)
    problems += _check_reads(load)
    engine = ledger.create_engine(url)
    try:
        with engine.connect() as connection:
            problems += _check_rows(connection, bank, load)
            problems += _check_money(connection, bank, load)
    finally:
        engine.dispose()
    verified = verify(url)
    if not verified.startswith("OK"):
        problems.append(f"timebank verify: {verified}")
    assert not problems, f"{len(problems)} problem(s), seed {load.seed}:\n" + "\n".join(problems[:40])
    writes = [record for record in load.records if record.key is not None]
    return {
        "acknowledged_writes_found_exactly_once": sum(1 for record in writes if record.acknowledged),
        "refused_writes_without_a_trace": sum(1 for record in writes if record.refused),
        "balance_reads_within_bounds": len(load.reads),
        "accounts_matching_the_answers": len(bank.opening),
        "verify": verified,
    }


def _check_answers(load: Load) -> list[str]:
    problems = []
    for record in load.records:
        if record.acknowledged or record.operation == "balance" and record.status == 200:
            continue
        expected = EXPECTED_REFUSALS.get(record.operation, set())
        if (record.status, record.code) not in expected:
            problems.append(f"unexpected answer: {record.describe()}")
    for original, mismatch in load.replays:
        if mismatch is not None:
            problems.append(f"a replay was not the original answer: {original.describe()} then {mismatch}")
    return problems


def _check_reads(load: Load) -> list[str]:
    problems = []
    for reader, figures in load.reads:
        balance, floor, ceiling = figures["balance_minutes"], figures["floor_minutes"], figures["ceiling_minutes"]
        low = balance - figures["pending_debit_minutes"]
        high = balance + figures["pending_credit_minutes"]
        if not (floor <= low <= balance <= high <= ceiling) or figures["available_minutes"] != low:
            problems.append(f"a balance read past a bound, by {reader.label}: {figures}")
    return problems


def _new_transactions(connection, bank: Bank) -> list[sa.Row]:
    """The towns' transactions made since the opening books."""
    columns = transaction_table.c
    return connection.execute(
        sa.select(columns.id, columns.ledger_id, columns.state, columns.reverses_id)
        .add_columns(columns.idempotency_scope, columns.idempotency_key)
        .where(
            columns.ledger_id.in_([town.ledger_id for town in bank.towns]),
            columns.id > bank.opening_last_transaction_id,
        )
    ).all()


def _check_rows(connection, bank: Bank, load: Load) -> list[str]:
    problems = []
    new = _new_transactions(connection, bank)
    keyed = {(row.idempotency_scope, row.idempotency_key): row for row in new if row.idempotency_key is not None}
    ledgers = {town.community_id: town.ledger_id for town in bank.towns}
    writes = [record for record in load.records if record.key is not None and record.operation != "confirm"]
    acknowledged = {(r.caller.label, r.key): r for r in writes if r.acknowledged}
    for record in writes:
        row = keyed.get((record.caller.label, record.key))
        if record.refused and row is not None:
            problems.append(f"a refused write left transaction {row.id}: {record.describe()}")
        if record.acknowledged:
            answered = record.answer["transaction_id" if record.operation != "reverse" else "id"]
            if row is None or str(row.id) != answered:
                problems.append(f"an acknowledged write is not in the books as answered ({row}): {record.describe()}")
    for row in new:
        if (row.idempotency_scope, row.idempotency_key) not in acknowledged:
            problems.append(f"transaction {row.id} ({row}) was never acknowledged to a client")

    confirms = defaultdict(list)
    for record in load.records:
        if record.operation == "confirm" and record.acknowledged:
            confirms[record.subject].append(record)
    exchanges = {
        row.id: row
        for row in connection.execute(
            sa.select(Exchange.id, Exchange.community_id, Exchange.status, Exchange.ledger_transaction_id)
            .add_columns(Exchange.minutes, Exchange.helper_membership_id, Exchange.helped_membership_id)
            .where(Exchange.community_id.in_(list(ledgers)))
        ).all()
    }
    confirmed_events = Counter(
        connection.execute(
            sa.select(ExchangeEvent.exchange_id).where(
                ExchangeEvent.community_id.in_(list(ledgers)), ExchangeEvent.kind == "confirmed"
            )
        ).scalars()
    )
    states = {row.id: row.state for row in new}
    created = [r for r in writes if r.acknowledged and r.operation in ("pay", "claim")]
    for record in created:
        answer = record.answer
        row = exchanges.get(int(answer["id"]))
        answered = (answer["minutes"], answer["transaction_id"])
        if row is None or (row.minutes, str(row.ledger_transaction_id)) != answered:
            problems.append(f"exchange {answer['id']} is not as answered ({row}): {record.describe()}")
            continue
        confirmed = len(confirms.get(row.id, []))
        if record.operation == "claim":
            if confirmed > 1:
                problems.append(f"claim {row.id} was confirmed {confirmed} times: {confirms[row.id]}")
            if confirmed_events[row.id] != confirmed:
                problems.append(f"claim {row.id}: {confirmed_events[row.id]} confirmed events, {confirmed} confirms")
        want = ("confirmed", "posted") if record.operation == "pay" or confirmed else ("recorded", "pending")
        have = (row.status, states.get(row.ledger_transaction_id))
        if have != want:
            problems.append(f"exchange {row.id} is {have}, expected {want}: {record.describe()}")

    reversals = Counter(row.reverses_id for row in new if row.reverses_id is not None)
    for transaction_id, count in reversals.items():
        if count > 1:
            problems.append(f"transaction {transaction_id} was reversed {count} times")
    for town in bank.towns:
        mine = [r for r in writes if r.acknowledged and r.caller.community_id == town.community_id]
        made = Counter(r.operation for r in mine)
        have_exchanges = sum(1 for row in exchanges.values() if row.community_id == town.community_id)
        want_exchanges = bank.opening_exchanges[town.community_id] + made["pay"] + made["claim"]
        have_transactions = connection.execute(
            sa.select(sa.func.count()).where(transaction_table.c.ledger_id == town.ledger_id)
        ).scalar_one()
        want_transactions = bank.opening_transactions[town.ledger_id] + made["pay"] + made["claim"] + made["reverse"]
        if (have_exchanges, have_transactions) != (want_exchanges, want_transactions):
            problems.append(
                f"community {town.community_id}: {have_exchanges} exchanges and {have_transactions} transactions, "
                f"the clients were told of {want_exchanges} and {want_transactions}"
            )
    return problems


def _check_money(connection, bank: Bank, load: Load) -> list[str]:
    """Replays every acknowledged write on the opening books; the database must hold exactly the result."""
    expected = {account: list(figures) for account, figures in bank.opening.items()}
    claims = {}
    for record in sorted(load.records, key=lambda r: r.operation != "claim"):
        if not record.acknowledged or record.operation == "balance":
            continue
        answer = record.answer
        if record.operation in ("pay", "claim"):
            helper = bank.member(int(answer["helper_membership_id"])).account_id
            helped = bank.member(int(answer["helped_membership_id"])).account_id
            minutes = answer["minutes"]
            if record.operation == "pay":
                expected[helped][0] -= minutes
                expected[helper][0] += minutes
            else:
                claims[int(answer["id"])] = (helped, helper, minutes)
                expected[helped][1] += minutes
                expected[helper][2] += minutes
        elif record.operation == "confirm":
            helped, helper, minutes = claims[record.subject]
            expected[helped][0] -= minutes
            expected[helped][1] -= minutes
            expected[helper][0] += minutes
            expected[helper][2] -= minutes
        elif record.operation == "reverse":
            for entry in answer["entries"]:
                expected[int(entry["account_id"])][0] += entry["amount_minutes"]
    problems = []
    rows = connection.execute(
        sa.select(account_table.c.id, account_table.c.ledger_id, account_table.c.balance)
        .add_columns(account_table.c.pending_debits, account_table.c.pending_credits)
        .add_columns(account_table.c.floor, account_table.c.ceiling)
        .where(account_table.c.id.in_(list(expected)))
    ).all()
    sums = Counter()
    for row in rows:
        have = [row.balance, row.pending_debits, row.pending_credits]
        if have != expected[row.id]:
            problems.append(f"account {row.id}: (balance, pending debits, credits) {have}, expected {expected[row.id]}")
        if row.floor is not None and row.balance - row.pending_debits < row.floor:
            problems.append(f"account {row.id} is below its floor: {row}")
        if row.ceiling is not None and row.balance + row.pending_credits > row.ceiling:
            problems.append(f"account {row.id} is above its ceiling: {row}")
        sums[row.ledger_id] += row.balance
    for town in bank.towns:
        if sums[town.ledger_id] != 0:
            problems.append(f"community {town.community_id}'s ledger sums to {sums[town.ledger_id]}, not zero")
    communities_found = connection.execute(
        sa.select(sa.func.count()).where(Community.id.in_([town.community_id for town in bank.towns]))
    ).scalar_one()
    if communities_found != len(bank.towns):
        problems.append(f"{communities_found} of {len(bank.towns)} communities found")
    return problems


def verify(url: str) -> str:
    """``timebank verify`` on the database, as an operator runs it: its summary line, or its whole output."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TIMEBANK_")}
    environment.update(TIMEBANK_ENV="testing", TIMEBANK_DATABASE_URL=url)
    result = subprocess.run(
        [str(REPOSITORY / ".venv" / "bin" / "timebank"), "verify"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 0 and result.stdout.startswith("OK"):
        return result.stdout.strip()
    return f"exit {result.returncode}: {result.stdout}{result.stderr[-2000:]}"
