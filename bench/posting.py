"""Posting benchmarks: direct payments through the HTTP API under gunicorn (PostgreSQL and SQLite) and transfers
through the batch endpoint, each against a baseline run on the same machine in the same run.

- ``post_pg``: 16 clients paying random members of a 1,000-member community; transfers/s and p50/p99 latency;
  baseline: pgbench's built-in tpcb-like (scale 10, 8 clients) on the same server, run right before and right
  after the API's turn (the mean of the two).
- ``post_batch_pg``: the same transfers, 500 to a request (each on its own, ``atomic: false``); the same baseline.
- ``post_sqlite``: ``post_pg`` on the embedded default, SQLite; baseline: a plain ``sqlite3`` loop making the
  ledger's writes for each transfer (chain, both balances with their rules, the transaction and its two entries)
  in one transaction each, with the same settings (WAL, ``synchronous=FULL``), before and after the API's turn.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from bench.common import (
    Pgbench,
    Result,
    cpu_shares,
    group_processes,
    number_setting,
    percentile,
    postgresql_database,
    postgresql_processes,
    say,
)
from bench.http_load import Outcome, run_clients
from bench.town import Town, build_town
from tests.system.servers import running_gunicorn
from timebank import schema

AMOUNTS = (5, 10, 15, 20, 30, 45, 60)
BATCH_SIZE = 500


def seconds() -> float:
    return number_setting("BENCH_SECONDS", 10)


def members() -> int:
    return int(number_setting("BENCH_MEMBERS", 1000))


def workers() -> int:
    """gunicorn's workers: BENCH_WORKERS, else gunicorn.conf.py's default for this machine."""
    return int(number_setting("BENCH_WORKERS", 0)) or _configured_workers()


def _configured_workers() -> int:
    import os

    cores = len(os.sched_getaffinity(0))
    return min(2 * cores + 1, 8)


# --- the plans ----------------------------------------------------------------------------------------------------


def payment_plan(town: Town, seed: int):
    generators = {}
    lock = threading.Lock()

    def plan(index: int):
        with lock:
            if index not in generators:
                rng = random.Random(seed * 1000 + index)
                generators[index] = (rng, town.pairs(rng))
        rng, pairs = generators[index]
        payer, payee = next(pairs)
        body = {"payee_membership_id": str(payee.membership_id), "minutes": rng.choice(AMOUNTS), "description": "b"}
        return "POST", f"/api/v1/communities/{town.community_id}/payments", payer.token, body

    return plan


def payment_units(status: int, body) -> int:
    return 1 if status == 201 else 0


def batch_plan(town: Town, seed: int):
    def plan(index: int):
        rng = random.Random(seed * 1000 + index + int(time.perf_counter_ns() % 1000003))
        transfers = []
        for _, (payer, payee) in zip(range(BATCH_SIZE), town.pairs(rng), strict=False):
            transfers.append(
                {
                    "payer_membership_id": str(payer.membership_id),
                    "payee_membership_id": str(payee.membership_id),
                    "minutes": rng.choice(AMOUNTS),
                    "description": "b",
                }
            )
        body = {"atomic": False, "transfers": transfers}
        return "POST", f"/api/v1/communities/{town.community_id}/transfers/batch", town.coordinator.token, body

    return plan


def batch_units(status: int, body) -> int:
    return body["posted_count"] if status == 200 and body else 0


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


class PostgresqlStage:
    """One database with a town and a gunicorn on it, and pgbench's database, shared by post_pg and
    post_batch_pg in one run."""

    def __init__(self):
        self.stack = contextlib.ExitStack()
        self.directory = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="timebank-bench-")))
        url = self.stack.enter_context(postgresql_database("timebank_bench"))
        schema.upgrade(url)
        self.town = build_town(url, members())
        self.pgbench = Pgbench(self.stack.enter_context(postgresql_database("timebank_pgbench")))
        self.pgbench.initialise()
        say(f"gunicorn: {workers()} workers on PostgreSQL")
        self.server = self.stack.enter_context(running_gunicorn(url, self.directory, workers=workers()))
        self.url = url

    def close(self) -> None:
        self.stack.close()


class SqliteStage:
    """A SQLite database with a town, and the plain sqlite3 loop's database, shared by post_sqlite and
    post_sqlite_floor in one run."""

    def __init__(self):
        self.stack = contextlib.ExitStack()
        self.directory = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="timebank-bench-")))
        self.url = f"sqlite:///{self.directory / 'timebank.sqlite'}"
        schema.upgrade(self.url)
        self.town = build_town(self.url, int(number_setting("BENCH_SQLITE_MEMBERS", members())))
        self.loop = SqliteLoop(self.directory / "plain.sqlite", [member.account_id for member in self.town.members])
        self.stack.callback(self.loop.close)

    def close(self) -> None:
        self.stack.close()


_stages: dict[type, PostgresqlStage | SqliteStage] = {}


def _stage(kind):
    """The run's stage of this kind, made on first use."""
    if kind not in _stages:
        _stages[kind] = kind()
    return _stages[kind]


def postgresql_stage() -> PostgresqlStage:
    return _stage(PostgresqlStage)


def sqlite_stage() -> SqliteStage:
    return _stage(SqliteStage)


def close_stages() -> None:
    while _stages:
        _stages.popitem()[1].close()


def _interleaved(baseline, measured) -> tuple[float, Outcome, list[float]]:
    """baseline, measured, baseline: the measured outcome and the baselines' mean (and both)."""
    before = baseline()
    outcome = measured()
    after = baseline()
    return (before + after) / 2, outcome, [before, after]


def _warm_up(base_url: str, plan, units, clients: int) -> None:
    run_clients(base_url, clients=clients, seconds=min(3.0, seconds()), plan=plan, units=units)


PAYING_CLIENTS = 16


def post_pg() -> Result:
    stage = postgresql_stage()
    return postgresql_payments("post_pg", stage.server, seed=1, target=">= 0.20, p99 < 100 ms")


def postgresql_payments(name: str, server, *, seed: int, target: str, **details) -> Result:
    """Payments by 16 clients to ``server`` (on the PostgreSQL stage's town) between pgbench's two runs."""
    stage = postgresql_stage()
    plan = payment_plan(stage.town, seed=seed)
    _warm_up(server.url, plan, payment_units, PAYING_CLIENTS)
    tps, (outcome, cpu), baselines = _interleaved(
        lambda: stage.pgbench.tps(clients=8, seconds=seconds()),
        lambda: _metered(server, plan, payment_units, PAYING_CLIENTS),
    )
    # Every payment holds its ledger's row lock until its commit is on disk (the hash chain's order), so one
    # community's payments are at most as many per second as one client's commits: pgbench with 1 client.
    serial = stage.pgbench.tps(clients=1, seconds=max(3.0, seconds() / 3))
    return _posting_result(
        name, outcome, tps, baselines, PAYING_CLIENTS, cpu, target=target, pgbench_one_client_tps=serial, **details
    )


def post_batch_pg() -> Result:
    stage = postgresql_stage()
    clients = int(number_setting("BENCH_BATCH_CLIENTS", 4))
    plan = batch_plan(stage.town, seed=2)
    _warm_up(stage.server.url, plan, batch_units, clients)
    tps, (outcome, cpu), baselines = _interleaved(
        lambda: stage.pgbench.tps(clients=8, seconds=seconds()),
        lambda: _metered(stage.server, plan, batch_units, clients),
    )
    return _posting_result("post_batch_pg", outcome, tps, baselines, clients, cpu, target=">= 1.5", batch=BATCH_SIZE)


def _metered(server, plan, units, clients: int) -> tuple[Outcome, dict[str, float]]:
    """The clients' run against ``server``, and the CPU seconds its processes, PostgreSQL's, the clients and the
    machine used meanwhile."""
    groups = {"app": (lambda: group_processes(server.group), True), "postgresql": (postgresql_processes, False)}
    return cpu_shares(
        groups, lambda: run_clients(server.url, clients=clients, seconds=seconds(), plan=plan, units=units)
    )


def _cpu_details(outcome: Outcome, cpu: dict[str, float]) -> dict:
    """CPU milliseconds per transfer by whom (the app's workers, PostgreSQL, the benchmark's client threads, and
    everything else on the machine), and how idle the machine's cores were."""
    units = max(outcome.units, 1)
    per_unit = {name: round(cpu[name] / units * 1000, 2) for name in ("app", "postgresql", "clients")}
    per_unit["other"] = round(
        (cpu["machine"] - sum(cpu[name] for name in ("app", "postgresql", "clients"))) / units * 1000, 2
    )
    return {
        "cpu_ms_per_transfer": per_unit,
        "idle_share": round(cpu["idle"] / max(cpu["idle"] + cpu["machine"], 1e-9), 3),
    }


def _posting_result(name, outcome: Outcome, baseline, baselines, clients, cpu=None, *, target, **details) -> Result:
    return Result(
        name=name,
        value=outcome.rate,
        unit="transfers/s",
        baseline="pgbench tpcb-like, scale 10, 8 clients (tps)",
        baseline_value=baseline,
        target=target,
        details={
            "clients": clients,
            "workers": workers(),
            "members": members(),
            "seconds": round(outcome.seconds, 2),
            "transfers": outcome.units,
            "p50_ms": round(percentile(outcome.latencies, 0.50) * 1000, 1),
            "p99_ms": round(percentile(outcome.latencies, 0.99) * 1000, 1),
            "statuses": {str(status): count for status, count in sorted(outcome.statuses.items(), key=str)},
            "baseline_runs": [round(value, 1) for value in baselines],
            **{name: round(value, 1) if isinstance(value, float) else value for name, value in details.items()},
            **(_cpu_details(outcome, cpu) if cpu else {}),
        },
    )


# --- SQLite -------------------------------------------------------------------------------------------------------


def post_sqlite() -> Result:
    return sqlite_payments("post_sqlite", seed=3, target=">= 0.20")


def sqlite_payments(name: str, *, app: str = "wsgi:app", seed: int, target: str) -> Result:
    """Payments by 16 clients to a gunicorn serving ``app`` on the SQLite stage's town, between two runs of the
    plain sqlite3 loop."""
    stage = sqlite_stage()
    directory = stage.directory / name
    directory.mkdir()
    say(f"gunicorn: {workers()} workers serving {app} on SQLite")
    with running_gunicorn(stage.url, directory, workers=workers(), app=app) as server:
        plan = payment_plan(stage.town, seed=seed)
        _warm_up(server.url, plan, payment_units, PAYING_CLIENTS)
        rate, (outcome, cpu), baselines = _interleaved(
            lambda: stage.loop.rate(seconds()), lambda: _metered(server, plan, payment_units, PAYING_CLIENTS)
        )
    result = _posting_result(name, outcome, rate, baselines, PAYING_CLIENTS, cpu, target=target)
    result.baseline = "plain sqlite3 loop, the ledger's writes per transfer, WAL + synchronous=FULL (transfers/s)"
    return result


class SqliteLoop:
    """The ledger's writes for one transfer, in one ``BEGIN IMMEDIATE`` transaction, with Python's sqlite3 and
    nothing else: advance the chain, debit and credit with the floor and ceiling in the WHERE clause, insert the
    transaction and its two entries, set the chain's head. The same tables and indexes as timebank's."""

    def __init__(self, path: Path, account_ids: list[int]):
        url = f"sqlite:///{path}"
        schema.upgrade(url)
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.connection.execute(f"PRAGMA {pragma}")
        execute = self.connection.execute
        execute("BEGIN IMMEDIATE")
        execute(
            "INSERT INTO ledger_ledger (name, unit, created_at, last_sequence, head_hash) "
            "VALUES ('plain', 'minute', '2026-01-01 00:00:00', 0, ?)",
            ("0" * 64,),
        )
        self.ledger_id = execute("SELECT max(id) FROM ledger_ledger").fetchone()[0]
        self.accounts = []
        for _ in account_ids:
            execute(
                "INSERT INTO ledger_account (ledger_id, kind, name, balance, pending_debits, pending_credits, floor, "
                "ceiling, status, entry_count, version, created_at) "
                "VALUES (?, 'member', '', 60, 0, 0, -600, 1200, 'open', 0, 1, '2026-01-01 00:00:00')",
                (self.ledger_id,),
            )
            self.accounts.append(execute("SELECT last_insert_rowid()").fetchone()[0])
        execute("COMMIT")
        self.rng = random.Random(4)

    def transfer(self) -> bool:
        execute = self.connection.execute
        payer, payee = self.rng.sample(self.accounts, 2)
        amount = self.rng.choice(AMOUNTS)
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        execute("BEGIN IMMEDIATE")
        try:
            sequence, head = execute(
                "UPDATE ledger_ledger SET last_sequence = last_sequence + 1 WHERE id = ? "
                "RETURNING last_sequence, head_hash",
                (self.ledger_id,),
            ).fetchone()
            figures = {}
            for account, change in sorted(((payer, -amount), (payee, amount))):
                rule = (
                    "balance - pending_debits + ? >= floor"
                    if change < 0
                    else "balance + pending_credits + ? <= ceiling"
                )
                row = execute(
                    "UPDATE ledger_account SET balance = balance + ?, entry_count = entry_count + 1, "
                    f"version = version + 1 WHERE id = ? AND ledger_id = ? AND status = 'open' AND {rule} "
                    "RETURNING balance, entry_count",
                    (change, account, self.ledger_id, change),
                ).fetchone()
                if row is None:
                    execute("ROLLBACK")
                    return False
                figures[account] = (change, *row)
            digest = f"{sequence:064d}"
            transaction_id = execute(
                "INSERT INTO ledger_transaction (ledger_id, sequence, kind, state, memo, details, actor, created_at, "
                "posted_at, void_reason, previous_hash, hash) "
                "VALUES (?, ?, 'payment', 'posted', 'b', '{}', 'user:1', ?, ?, '', ?, ?) RETURNING id",
                (self.ledger_id, sequence, now, now, head, digest),
            ).fetchone()[0]
            for account, (change, balance, count) in figures.items():
                execute(
                    "INSERT INTO ledger_entry (ledger_id, transaction_id, account_id, amount, account_sequence, "
                    "balance_after, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (self.ledger_id, transaction_id, account, change, count, balance, now),
                )
            execute("UPDATE ledger_ledger SET head_hash = ? WHERE id = ?", (digest, self.ledger_id))
            execute("COMMIT")
            return True
        except BaseException:
            execute("ROLLBACK")
            raise

    def rate(self, duration: float) -> float:
        """Transfers per second posted by the loop in ``duration`` seconds."""
        posted, deadline = 0, time.perf_counter() + duration
        began = time.perf_counter()
        while time.perf_counter() < deadline:
            posted += self.transfer()
        return posted / (time.perf_counter() - began)

    def close(self) -> None:
        self.connection.close()
