"""Read benchmarks on PostgreSQL, through the API in-process (the Flask test client: the same views, schemas, auth
and database code a partner app's request runs, without the HTTP server around them).

- ``read_flat``: a member's balance and the first page of their statement (``GET /api/v1/members/<id>/balance``
  and ``GET /api/v1/members/<id>/statement``) for an account with 1,000 posted entries and for one with 1,000,000
  (``BENCH_FLAT_ENTRIES``), alternated request by request. The statement's period covers the account's whole
  history (what a member opening "my statement" for everything sees); the current calendar month is timed too and
  reported in the details. value = the big account's median time for the two requests, baseline = the small one's.
- ``report``: the funder report (``GET /api/v1/communities/<id>/reports/funder``) over a community with
  1,000,000 confirmed exchanges, each with its posted ledger transaction and two entries
  (``BENCH_REPORT_TRANSACTIONS``), for a period covering them all (25 calendar months); baseline: one hand-written
  SQL aggregate over the same rows (see ``BASELINE_SQL``), alternated with the report; medians of each.

The data are written set-based (INSERT ... SELECT over generate_series) in one database shared by both benchmarks
of a run (made on first use, dropped by ``close_stage``). The rows are those the use cases would write: every
exchange confirmed and posted as a direct payment writes it (a posted ``exchange`` transaction in sequence, its
debit and credit entries with each account's running ``account_sequence`` and ``balance_after``, accounts'
``balance`` and ``entry_count`` to match, within floor and ceiling). Not written: the transactions' hash chain
(``previous_hash``/``hash`` are placeholders: no read measured here checks them; ``ledger verify`` would refuse
this ledger) and the exchanges' event rows (no read measured here looks at them).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import ledger
from bench.common import Result, median, number_setting, percentile, postgresql_database, say
from bench.town import Town, build_town
from timebank import schema

HISTORY = timedelta(days=700)
SMALL_ENTRIES = 1_000
CATEGORIES = 12
REPORT_MEMBERS = 100
# Every statement and report period ends a day from now and starts before the generated history.
PERIOD_END = timedelta(days=1)
# The hand-written baseline of the funder report: minutes and exchanges per local calendar month and category over
# the community's confirmed exchanges confirmed within the period (the report's first figure, by its definition).
BASELINE_SQL = """
SELECT date_trunc('month', confirmed_at AT TIME ZONE :zone) AS month, category_id,
       count(*) AS exchanges, sum(minutes) AS minutes
FROM exchange
WHERE community_id = :community AND status = 'confirmed' AND confirmed_at >= :start AND confirmed_at < :end
GROUP BY 1, 2 ORDER BY 1, 2
"""
# For reference (details only): the same rows per category alone, without the time-zone arithmetic of months.
SCAN_SQL = """
SELECT category_id, count(*) AS exchanges, sum(minutes) AS minutes
FROM exchange
WHERE community_id = :community AND status = 'confirmed' AND confirmed_at >= :start AND confirmed_at < :end
GROUP BY 1 ORDER BY 1
"""


def flat_entries() -> int:
    return int(number_setting("BENCH_FLAT_ENTRIES", 1_000_000))


def report_transactions() -> int:
    return int(number_setting("BENCH_REPORT_TRANSACTIONS", 1_000_000))


def flat_repetitions() -> int:
    return int(number_setting("BENCH_FLAT_REPETITIONS", 200))


def report_repetitions() -> int:
    return int(number_setting("BENCH_REPORT_REPETITIONS", 7))


# --- the shared stage ----------------------------------------------------------------------------------------------


@dataclass
class Stage:
    url: str
    engine: sa.Engine
    app: object
    now: datetime
    closing: contextlib.ExitStack
    flat: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    def close(self) -> None:
        self.app.extensions["timebank"].engine.dispose()
        self.engine.dispose()
        self.closing.close()


_stage: Stage | None = None


def stage() -> Stage:
    global _stage
    if _stage is None:
        from timebank.app import create_app

        closing = contextlib.ExitStack()
        url = closing.enter_context(postgresql_database("bench_reads"))
        schema.upgrade(url)
        instance = closing.enter_context(tempfile.TemporaryDirectory())
        app = create_app(
            {"ENV": "testing", "TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING"}
        )
        _stage = Stage(url, ledger.create_engine(url), app, datetime.now(UTC).replace(microsecond=0), closing)
    return _stage


def close_stage() -> None:
    global _stage
    if _stage is not None:
        _stage.close()
        _stage = None


# --- set-based history -------------------------------------------------------------------------------------------


def _move_history_back(connection, ledger_id: int, moment: datetime) -> None:
    """The town's welcome credits were posted at a fixed moment: move them (in their order) to before the generated
    history, so that posting times follow each account's sequence as they would have."""
    connection.execute(
        sa.text(
            "UPDATE ledger_transaction SET created_at = :at + sequence * interval '1 millisecond',"
            " posted_at = :at + sequence * interval '1 millisecond' WHERE ledger_id = :ledger"
        ),
        {"at": moment, "ledger": ledger_id},
    )
    connection.execute(
        sa.text(
            "UPDATE ledger_entry e SET posted_at = t.posted_at FROM ledger_transaction t"
            " WHERE t.id = e.transaction_id AND e.ledger_id = :ledger"
        ),
        {"ledger": ledger_id},
    )


def _write_exchanges(connection, *, community_id: int, ledger_id: int) -> int:
    """Write the confirmed exchanges planned in the temporary table ``plan`` (i, helper_m, helper_a, helped_m,
    helped_a, minutes, at, category_id, listing_id), each with its posted ledger transaction and two entries, in
    the order of ``i``; then the accounts' balances and entry counts and the ledger's last sequence. Returns how
    many."""
    run = connection.execute
    # The rows are consistent by construction: no foreign-key trigger per row (this transaction only).
    run(sa.text("SET LOCAL session_replication_role = replica"))
    run(
        sa.text(
            "CREATE TEMPORARY TABLE planned ON COMMIT DROP AS SELECT *, row_number() OVER (ORDER BY i) AS k FROM plan"
        )
    )
    count = run(sa.text("SELECT count(*) FROM planned")).scalar_one()
    base = run(sa.text("SELECT last_sequence FROM ledger_ledger WHERE id = :l"), {"l": ledger_id}).scalar_one()
    first_id = run(sa.text("SELECT coalesce(max(id), 0) FROM ledger_transaction")).scalar_one()
    run(
        sa.text(
            """
            INSERT INTO ledger_transaction (id, ledger_id, sequence, kind, state, memo, details, actor, created_at,
                posted_at, void_reason, previous_hash, hash)
            SELECT :first + k, :ledger, :base + k, 'exchange', 'posted', 'help',
                json_build_object('via', 'payment', 'helper_membership_id', helper_m,
                                  'helped_membership_id', helped_m, 'category_id', category_id),
                'user:' || helped_m, at, at, '', repeat('0', 64), repeat('0', 64)
            FROM planned
            """
        ),
        {"first": first_id, "ledger": ledger_id, "base": base},
    )
    run(sa.text("SELECT setval('ledger_transaction_id_seq', :last)"), {"last": first_id + count})
    # Each account's running sequence and balance continue from what it holds now.
    run(
        sa.text(
            """
            INSERT INTO ledger_entry (ledger_id, transaction_id, account_id, amount, account_sequence,
                                      balance_after, posted_at)
            SELECT :ledger, :first + s.k, s.account_id, s.amount,
                   a.entry_count + row_number() OVER w, a.balance + sum(s.amount) OVER w, s.at
            FROM (SELECT k, helped_a AS account_id, -minutes AS amount, at, 0 AS side FROM planned
                  UNION ALL SELECT k, helper_a, minutes, at, 1 FROM planned) s
            JOIN ledger_account a ON a.id = s.account_id
            WINDOW w AS (PARTITION BY s.account_id ORDER BY s.k ROWS UNBOUNDED PRECEDING)
            ORDER BY s.k, s.side
            """
        ),
        {"ledger": ledger_id, "first": first_id},
    )
    run(
        sa.text(
            """
            UPDATE ledger_account a SET balance = a.balance + d.total, entry_count = a.entry_count + d.entries
            FROM (SELECT account_id, sum(amount) AS total, count(*) AS entries
                  FROM (SELECT helped_a AS account_id, -minutes AS amount FROM planned
                        UNION ALL SELECT helper_a, minutes FROM planned) s GROUP BY account_id) d
            WHERE a.id = d.account_id
            """
        )
    )
    run(
        sa.text("UPDATE ledger_ledger SET last_sequence = last_sequence + :n WHERE id = :l"),
        {"n": count, "l": ledger_id},
    )
    run(
        sa.text(
            """
            INSERT INTO exchange (community_id, listing_id, category_id, helper_membership_id, helped_membership_id,
                initiated_by_membership_id, status, helper_agreed, helped_agreed, parent_accepted_helper, minutes,
                description, recorded_by_membership_id, attested_by_coordinator, ledger_transaction_id,
                dispute_reason, settlement_reason, created_at, recorded_at, confirmed_at, updated_at)
            SELECT :community, listing_id, category_id, helper_m, helped_m, helped_m, 'confirmed', true, true,
                false, minutes, 'help', helped_m, false, :first + k, '', '', at, at, at, at
            FROM planned ORDER BY k
            """
        ),
        {"community": community_id, "first": first_id},
    )
    return count


def _members_table(connection, name: str, town_members) -> None:
    connection.execute(sa.text(f"CREATE TEMPORARY TABLE {name} (n int, m int, a bigint) ON COMMIT DROP"))
    connection.execute(
        sa.text(f"INSERT INTO {name} VALUES (:n, :m, :a)"),
        [{"n": n, "m": member.membership_id, "a": member.account_id} for n, member in enumerate(town_members)],
    )


def _build_flat(current: Stage) -> dict:
    """A community of four: a member with SMALL_ENTRIES posted entries and one with ``flat_entries()``, each
    paying and being paid by a partner of their own, in turns (so balances stay between floor and ceiling),
    evenly over the last 700 days."""
    started = time.perf_counter()
    town = build_town(current.url, 4)
    small, small_partner, big, big_partner = town.members
    begin, finish = current.now - HISTORY, current.now - timedelta(hours=1)
    with current.engine.begin() as connection:
        _move_history_back(connection, town.ledger_id, begin - timedelta(days=1))
        parts = []
        for offset, (member, partner, entries) in enumerate(
            ((small, small_partner, SMALL_ENTRIES), (big, big_partner, flat_entries()))
        ):
            # The welcome credit is the account's first entry; the rest are exchanges with the partner.
            parts.append(
                f"""SELECT g * 2 + {offset} AS i,
                    CASE WHEN g % 2 = 0 THEN {member.membership_id} ELSE {partner.membership_id} END AS helper_m,
                    CASE WHEN g % 2 = 0 THEN {member.account_id} ELSE {partner.account_id} END AS helper_a,
                    CASE WHEN g % 2 = 0 THEN {partner.membership_id} ELSE {member.membership_id} END AS helped_m,
                    CASE WHEN g % 2 = 0 THEN {partner.account_id} ELSE {member.account_id} END AS helped_a,
                    30 AS minutes,
                    :begin + (:finish - :begin) * (g::float8 / {entries - 1}) AS at,
                    NULL::int AS category_id, NULL::int AS listing_id
                FROM generate_series(1, {entries - 1}) g"""
            )
        connection.execute(
            sa.text(f"CREATE TEMPORARY TABLE plan ON COMMIT DROP AS {' UNION ALL '.join(parts)}"),
            {"begin": begin, "finish": finish},
        )
        written = _write_exchanges(connection, community_id=town.community_id, ledger_id=town.ledger_id)
    _analyze(current)
    say(f"read_flat: {written:,} exchanges written in {time.perf_counter() - started:.1f} s")
    return {"town": town, "small": small, "big": big}


def _build_report(current: Stage) -> dict:
    """A community of 100 members and 12 categories with ``report_transactions()`` confirmed exchanges between
    them over the last 700 days: pairs taking turns (one helps the other, then the other way round, the same
    minutes), one exchange in eleven without a category, one pair in twenty answering a request listing posted a
    day or two before; plus 1% of exchanges proposed and never recorded."""
    started = time.perf_counter()
    town = build_town(current.url, REPORT_MEMBERS)
    count = report_transactions()
    begin, finish = current.now - HISTORY, current.now - timedelta(hours=2)
    size = len(town.members)
    with current.engine.begin() as connection:
        _move_history_back(connection, town.ledger_id, begin - timedelta(days=1))
        run = connection.execute
        run(
            sa.text(
                "INSERT INTO category (community_id, slug, name_en, name_nl, involves_children, active)"
                " SELECT :c, 'category-' || g, 'Category ' || g, 'Categorie ' || g, false, true"
                " FROM generate_series(1, :n) g"
            ),
            {"c": town.community_id, "n": CATEGORIES},
        )
        categories = [
            row[0]
            for row in run(
                sa.text("SELECT id FROM category WHERE community_id = :c ORDER BY id"), {"c": town.community_id}
            )
        ]
        _members_table(connection, "people", town.members)
        run(
            sa.text(
                "CREATE TEMPORARY TABLE cats ON COMMIT DROP AS"
                f" SELECT * FROM unnest(ARRAY{categories}) WITH ORDINALITY c(id, n)"
            )
        )
        # Pair p: two members (a, b) chosen by p; exchange 2p is a helping b, 2p+1 is b helping a.
        run(
            sa.text(
                f"""
                CREATE TEMPORARY TABLE plan ON COMMIT DROP AS
                SELECT g AS i, g / 2 AS p,
                       CASE WHEN g % 2 = 0 THEN x.m ELSE y.m END AS helper_m,
                       CASE WHEN g % 2 = 0 THEN x.a ELSE y.a END AS helper_a,
                       CASE WHEN g % 2 = 0 THEN y.m ELSE x.m END AS helped_m,
                       CASE WHEN g % 2 = 0 THEN y.a ELSE x.a END AS helped_a,
                       15 * (1 + (g / 2) % 8) AS minutes,
                       :begin + (:finish - :begin) * (g::float8 / :count) AS at,
                       CASE WHEN (g / 2) % 11 = 0 THEN NULL ELSE c.id END AS category_id,
                       NULL::int AS listing_id
                FROM generate_series(0::bigint, :count - 1) g
                JOIN people x ON x.n = ((g / 2) * 7919) % {size}
                JOIN people y ON y.n = (((g / 2) * 7919) % {size} + 1 + (g / 2) % {size - 1}) % {size}
                JOIN cats c ON c.n = 1 + (g / 2) % {CATEGORIES}
                """
            ),
            {"begin": begin, "finish": finish, "count": count},
        )
        # Requests answered: one pair in twenty, the listing posted by the helped member of its first exchange.
        run(
            sa.text(
                """
                WITH made AS (
                    INSERT INTO listing (community_id, membership_id, kind, title, description, category_id,
                        estimated_minutes, place, neighbourhood, status, created_at, updated_at)
                    SELECT :c, helped_m, 'request', 'request ' || p, '', coalesce(category_id, :fallback), minutes,
                        'neighbourhood', '', 'closed', at - interval '1 day' * (1 + p % 3), at
                    FROM plan WHERE p % 20 = 0 AND i % 2 = 0
                    RETURNING id, title)
                UPDATE plan SET listing_id = made.id FROM made
                WHERE made.title = 'request ' || plan.p AND plan.i % 2 = 0
                """
            ),
            {"c": town.community_id, "fallback": categories[0]},
        )
        written = _write_exchanges(connection, community_id=town.community_id, ledger_id=town.ledger_id)
        # Exchanges proposed and never recorded (no transaction): 1% more rows the report must pass over.
        run(
            sa.text(
                """
                INSERT INTO exchange (community_id, category_id, helper_membership_id, helped_membership_id,
                    initiated_by_membership_id, status, helper_agreed, helped_agreed, parent_accepted_helper,
                    description, attested_by_coordinator, dispute_reason, settlement_reason, created_at, updated_at)
                SELECT :c, category_id, helper_m, helped_m, helped_m, 'proposed', false, false, false, '', false,
                    '', '', at, at
                FROM plan WHERE i % 100 = 7
                """
            ),
            {"c": town.community_id},
        )
    _analyze(current)
    say(f"report: {written:,} exchanges written in {time.perf_counter() - started:.1f} s")
    return {"town": town}


def _analyze(current: Stage) -> None:
    with current.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))


def flat_data() -> dict:
    current = stage()
    if not current.flat:
        current.flat = _build_flat(current)
    return current.flat


def report_data() -> dict:
    current = stage()
    if not current.report:
        current.report = _build_report(current)
    return current.report


# --- timing ------------------------------------------------------------------------------------------------------


def _get(client, path: str, token: str, **query) -> dict:
    response = client.get(path, query_string=query, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
    return response.get_json()


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def read_flat() -> Result:
    data = flat_data()
    current = stage()
    client = current.app.test_client()
    whole = {"start": (current.now - timedelta(days=730)).isoformat(), "end": (current.now + PERIOD_END).isoformat()}
    month = {"start": _month_start(current.now).isoformat(), "end": (current.now + PERIOD_END).isoformat()}

    def reading(member, period) -> tuple[float, dict]:
        began = time.perf_counter()
        balance = _get(client, f"/api/v1/members/{member.membership_id}/balance", member.token)
        statement = _get(client, f"/api/v1/members/{member.membership_id}/statement", member.token, **period)
        elapsed = time.perf_counter() - began
        return elapsed, {"balance": balance, "statement": statement}

    small, big = data["small"], data["big"]
    for member in (small, big):
        _, seen = reading(member, whole)
        lines = seen["statement"]["data"]
        say(
            f"read_flat: member {member.membership_id}: balance {seen['balance']['balance_minutes']}, "
            f"{len(lines)} lines, opening {seen['statement']['opening_balance_minutes']}, "
            f"closing {seen['statement']['closing_balance_minutes']}"
        )
        if seen["statement"]["closing_balance_minutes"] != seen["balance"]["balance_minutes"] or not lines:
            raise RuntimeError("the statement over the whole history does not end at the balance")
    for _ in range(10):
        reading(small, whole), reading(big, whole), reading(small, month), reading(big, month)
    times = {("small", "whole"): [], ("big", "whole"): [], ("small", "month"): [], ("big", "month"): []}
    repetitions = flat_repetitions()
    say(f"read_flat: {repetitions} rounds of balance + first statement page, small and big in turn")
    for round_number in range(repetitions):
        order = [("small", small), ("big", big)] if round_number % 2 == 0 else [("big", big), ("small", small)]
        for name, member in order:
            times[(name, "whole")].append(reading(member, whole)[0])
        if round_number % 4 == 0:
            for name, member in order:
                times[(name, "month")].append(reading(member, month)[0])
    ms = {key: [value * 1000 for value in values] for key, values in times.items()}
    big_ms, small_ms = median(ms[("big", "whole")]), median(ms[("small", "whole")])
    month_big, month_small = median(ms[("big", "month")]), median(ms[("small", "month")])
    say(f"read_flat: whole history {big_ms:.2f} ms vs {small_ms:.2f} ms; month {month_big:.2f} vs {month_small:.2f}")
    return Result(
        name="read_flat",
        value=big_ms,
        unit="ms",
        baseline=f"the same reads for an account with {SMALL_ENTRIES:,} entries (median ms)",
        baseline_value=small_ms,
        target="<= 1.5",
        details={
            "big_entries": flat_entries(),
            "small_entries": SMALL_ENTRIES,
            "period": "whole history (730 days to tomorrow); the first page at the default page size",
            "rounds": repetitions,
            "via": "Flask test client, in-process",
            "p99_big_ms": round(percentile(ms[("big", "whole")], 0.99), 2),
            "p99_small_ms": round(percentile(ms[("small", "whole")], 0.99), 2),
            "current_month_big_ms": round(month_big, 2),
            "current_month_small_ms": round(month_small, 2),
            "current_month_ratio": round(month_big / month_small, 3),
        },
    )


def report() -> Result:
    data = report_data()
    current = stage()
    town: Town = data["town"]
    client = current.app.test_client()
    start, end = current.now - timedelta(days=729), current.now + PERIOD_END
    period = {"start": start.isoformat(), "end": end.isoformat()}
    path = f"/api/v1/communities/{town.community_id}/reports/funder"
    zone = "Europe/Amsterdam"
    arguments = {"zone": zone, "community": town.community_id, "start": start, "end": end}

    def reported() -> tuple[float, dict]:
        began = time.perf_counter()
        body = _get(client, path, town.coordinator.token, **period)
        return time.perf_counter() - began, body

    def baseline(sql: str = BASELINE_SQL) -> tuple[float, list]:
        began = time.perf_counter()
        with current.engine.connect() as connection:
            rows = connection.execute(sa.text(sql), arguments).all()
        return time.perf_counter() - began, rows

    _, body = reported()
    _, rows = baseline()
    if body["total_exchanges"] != sum(row.exchanges for row in rows):
        raise RuntimeError(f"the report counts {body['total_exchanges']} exchanges, the baseline {len(rows)}")
    say(f"report: {body['total_exchanges']:,} exchanges, {body['total_minutes']:,} minutes, {len(rows)} cells")
    report_times, baseline_times, scan_times = [], [], []
    for _ in range(report_repetitions()):
        baseline_times.append(baseline()[0] * 1000)
        report_times.append(reported()[0] * 1000)
        scan_times.append(baseline(SCAN_SQL)[0] * 1000)
    value, base, scan = median(report_times), median(baseline_times), median(scan_times)
    say(f"report: {value:.0f} ms vs the aggregate's {base:.0f} ms")
    return Result(
        name="report",
        value=value,
        unit="ms",
        baseline="one SQL aggregate: exchanges and minutes per month and category (median ms)",
        baseline_value=base,
        target="<= 5",
        details={
            "transactions": report_transactions(),
            "exchanges_reported": body["total_exchanges"],
            "period_months": len(body["minutes_by_month"]),
            "runs": len(report_times),
            "via": "Flask test client, in-process",
            "report_ms": [round(value) for value in report_times],
            "baseline_ms": [round(value) for value in baseline_times],
            "per_category_only_ms": round(scan),
            "ratio_to_per_category_only": round(value / scan, 3),
        },
    )
