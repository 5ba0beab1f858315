"""``memory``: one gunicorn worker's resident memory after 10,000 requests (the baseline) and after 100,000 (the
value), with a partner app's mix of requests; target: the ratio at most 1.10.

One worker (``workers=1``) that is never recycled (``GUNICORN_MAX_REQUESTS=0``; gunicorn.conf.py's default of
1,000 would replace it, and with it any leak), so that every request lands in the same process; its pid is checked
at every reading and the benchmark fails if it changed. The database is the embedded default, SQLite: what the
worker's memory does over many requests is the app's own (caches, logging, Flask, SQLAlchemy), and PostgreSQL
would only add the driver. ``TIMEBANK_TRUSTED_PROXIES=1``, as behind the reverse proxy of a real installation, so
that the wrong tokens can come from many addresses (``X-Forwarded-For``) without the token throttle answering 429
to every client on 127.0.0.1.

The mix (``MIX``, weights per 100 requests): the partner app's reads (balances, statement pages with cursors,
listing searches and listings, ``/me``), payments with an Idempotency-Key, replays of them with the same key and
the same key with another body, payments refused by the balance rules, bodies refused by the schema, payments
without a key, other members' balances, unknown members and routes (404), malformed and wrong tokens (401),
new listings, the web front's login page in several languages and ``/healthz``. One sync worker answers only some
110 requests of that mix a second on the 2-core machine (4.7 ms of its CPU each, and the fsyncs of SQLite's
``synchronous=FULL``): 100,000 of them would take 15 minutes. So 5 % of the requests (``BENCH_MEMORY_MIX_SHARE``)
follow the mix and the bulk are cheap error paths (``FILLER``: malformed tokens, unknown paths; ~1.2 ms of CPU),
every kind spread evenly over the run. The worker's RSS (VmRSS in /proc/<pid>/status) is read when the clients
are paused, after every tenth of the requests; the first reading, the baseline, comes after 10,000 requests of the
very load measured, which is the warm-up (imports, caches of compiled statements and templates, the allocator's
pools). What still grows after it is mostly SQLite's page cache following the database's growth (at most 2 MiB per
connection, its default ``cache_size``) and the allocator's fragmentation.

``BENCH_MEMORY_REQUESTS`` (100,000) sets the number of requests, the baseline's being a tenth of it;
``BENCH_MEMORY_MEMBERS`` (60) the town's size; ``BENCH_MEMORY_CLIENTS`` (4) the client threads;
``BENCH_MEMORY_MIX_SHARE`` (0.05) the share of the requests that follow the mix.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import ledger
from api.common import encode_cursor
from bench.common import Result, number_setting, say
from bench.town import Town, build_town
from tests.system.load import Client, Unanswered
from tests.system.servers import running_gunicorn
from timebank import communities, credentials, schema
from timebank.database import Database

TARGET = 1.10
DEFAULT_SHARE = 0.05
READINGS = 10  # the RSS is read after every tenth of the requests; the first reading is the baseline

# kind -> weight in 100 requests
MIX = {
    "balance": 24,
    "statement": 12,
    "listings": 10,
    "listing": 5,
    "me": 3,
    "pay": 14,
    "pay_replay": 3,
    "pay_key_reused": 1,
    "pay_refused": 3,
    "pay_bad_body": 2,
    "pay_no_key": 1,
    "other_balance": 3,
    "unknown_member": 3,
    "unknown_route": 1,
    "malformed_token": 5,
    "wrong_token": 3,
    "post_listing": 2,
    "web_login": 3,
    "healthz": 2,
}
# The cheap requests that make up the bulk when the whole mix is too slow to send 100,000 times in the time a
# benchmark has (one sync worker answers some 110 requests of the mix a second on the 2-core machine): 401s for
# malformed tokens and 404s for unknown paths, error paths all the same. BENCH_MEMORY_MIX_SHARE is the share of
# requests that follow MIX; the rest alternate between these.
FILLER = ("malformed_token", "unknown_route")
AMOUNTS = (5, 10, 15, 20, 30, 45, 60)
LANGUAGES = ("nl-NL,nl;q=0.9,en;q=0.8", "en-GB,en;q=0.9", "de-DE,de;q=0.9,en;q=0.5", "fr", "nl", "", "*")


def memory() -> Result:
    total = int(number_setting("BENCH_MEMORY_REQUESTS", 100_000))
    if total < READINGS * 10:
        raise SystemExit(f"BENCH_MEMORY_REQUESTS must be at least {READINGS * 10}")
    size = int(number_setting("BENCH_MEMORY_MEMBERS", 60))
    clients = int(number_setting("BENCH_MEMORY_CLIENTS", 4))
    share = number_setting("BENCH_MEMORY_MIX_SHARE", DEFAULT_SHARE)
    if not 0 < share <= 1:
        raise SystemExit("BENCH_MEMORY_MIX_SHARE must be more than 0 and at most 1")
    with tempfile.TemporaryDirectory(prefix="timebank-bench-memory-") as directory:
        directory = Path(directory)
        url = f"sqlite:///{directory / 'timebank.sqlite'}"
        schema.upgrade(url)
        town = build_town(url, size)
        categories = _categories(url, town)
        settings = {"GUNICORN_MAX_REQUESTS": "0", "TIMEBANK_TRUSTED_PROXIES": "1"}
        with running_gunicorn(url, directory, workers=1, **settings) as server:
            pid = _only_worker(server)
            booted = rss(pid)
            say(f"memory: one worker, pid {pid}, {booted['VmRSS'] / 1024:.1f} MiB after booting")
            load = Load(server.url, town, categories, clients=clients, share=share)
            readings = []
            started, cpu_before = time.perf_counter(), cpu_seconds(pid)
            for reading in range(1, READINGS + 1):
                load.run_until(total * reading // READINGS)
                if _only_worker(server) != pid:
                    raise RuntimeError(f"the worker changed: pid {pid} is gone, now {server.workers()}")
                figures = rss(pid)
                readings.append({"requests": load.sent, **figures})
                say(
                    f"memory: {load.sent:,} requests, RSS {figures['VmRSS'] / 1024:.1f} MiB "
                    f"({load.sent / (time.perf_counter() - started):.0f} requests/s, "
                    f"worker CPU {(cpu_seconds(pid) - cpu_before) / load.sent * 1000:.2f} ms a request)"
                )
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(pid) - cpu_before
    load.check()
    baseline, last = readings[0], readings[-1]
    return Result(
        name="memory",
        value=last["VmRSS"] / 1024,
        unit=f"MiB RSS after {last['requests']:,} requests",
        baseline=f"RSS after {baseline['requests']:,} requests (MiB)",
        baseline_value=baseline["VmRSS"] / 1024,
        target=f"<= {TARGET:.2f}",
        details={
            "database": "sqlite",
            "workers": 1,
            "clients": clients,
            "mix_share": share,
            "members": size,
            "requests": load.sent,
            "seconds": round(seconds, 1),
            "requests_per_second": round(load.sent / seconds, 1),
            # The worker's own CPU time a request: what the rate would be on an idle core, whatever else runs.
            "worker_cpu_ms_per_request": round(cpu / load.sent * 1000, 2),
            "rss_after_boot_mib": round(booted["VmRSS"] / 1024, 1),
            "rss_mib": {str(r["requests"]): round(r["VmRSS"] / 1024, 2) for r in readings},
            "rss_anon_mib": {str(r["requests"]): round(r["RssAnon"] / 1024, 2) for r in readings},
            "kinds": dict(sorted(load.kinds.items())),
            "statuses": {f"{kind} {status}": count for (kind, status), count in sorted(load.statuses.items())},
        },
    )


def rss(pid: int) -> dict[str, int]:
    """The process's resident memory in KiB: VmRSS, RssAnon and RssFile from /proc/<pid>/status."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            figures[name] = int(value.split()[0])
    return figures


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user and system), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _only_worker(server) -> int:
    workers = server.workers()
    if len(workers) != 1:
        raise RuntimeError(f"expected exactly one gunicorn worker, found {workers}")
    return workers[0]


def _categories(url: str, town: Town) -> list[int]:
    """Two categories for the town's listings, added by its coordinator."""
    engine = ledger.create_engine(url)
    try:
        db = Database(engine)
        coordinator = db.read(credentials.authenticate_bearer, token=town.coordinator.token).actor
        made = []
        for slug, en, nl in (("errands", "Errands", "Boodschappen"), ("garden", "Garden", "Tuin")):
            spec = communities.CategorySpec(slug=slug, name_en=en, name_nl=nl)
            made.append(
                db.run(communities.add_category, actor=coordinator, community_id=town.community_id, spec=spec).id
            )
        return made
    finally:
        engine.dispose()


class Load:
    """Client threads sending the mix until a number of requests has been sent; each thread keeps its own
    connection, random numbers and recent payments (to replay)."""

    def __init__(
        self, base_url: str, town: Town, categories: list[int], *, clients: int, share: float = 1.0, connect=None
    ):
        self.base_url, self.town, self.categories, self.clients = base_url, town, categories, clients
        # How a client thread connects: an HTTP connection to base_url, or (for a probe in one process) whatever
        # has the same ``send`` and ``close``.
        self.connect = connect or (lambda: Client(base_url, timeout=60))
        mixed = [kind for kind, weight in MIX.items() for _ in range(weight)]
        filler = round(len(mixed) * (1 / share - 1))
        # Request n is of kind cycle[n * step % len(cycle)]: every kind spread evenly over the run.
        self.cycle = mixed + [FILLER[index % len(FILLER)] for index in range(filler)]
        self.step = next(step for step in range(37, 10**6) if math.gcd(step, len(self.cycle)) == 1)
        self.sent = 0
        self.lock = threading.Lock()
        self.kinds: Counter = Counter()
        self.statuses: Counter = Counter()
        self.listing_ids: list[int] = []
        self.failures: list[str] = []
        now = datetime.now(UTC)
        self.window = {"start": (now - timedelta(days=365)).isoformat(), "end": (now + timedelta(days=1)).isoformat()}
        self.states = [ClientState(random.Random(index)) for index in range(clients)]

    def run_until(self, target: int) -> None:
        threads = [threading.Thread(target=self._client, args=(state, target), daemon=True) for state in self.states]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.failures:
            raise RuntimeError(f"{len(self.failures)} unexpected answers, e.g.:\n" + "\n".join(self.failures[:10]))

    def check(self) -> None:
        missing = [kind for kind in MIX if not self.kinds[kind]]
        if missing:
            raise RuntimeError(f"kinds of request never sent: {missing}")

    def _next(self, target: int) -> int | None:
        with self.lock:
            if self.sent >= target:
                return None
            self.sent += 1
            return self.sent

    def _client(self, state: ClientState, target: int) -> None:
        client = self.connect()
        try:
            while (number := self._next(target)) is not None:
                kind = self.cycle[(number * self.step) % len(self.cycle)]
                method, path, token, body, key, headers = getattr(self, f"_{kind}")(state)
                try:
                    answer = client.send(method, path, token=token, body=body, key=key, headers=headers)
                except Unanswered as error:
                    with self.lock:
                        self.failures.append(f"{kind} {method} {path}: unanswered ({error})")
                    continue
                if kind == "pay" and answer.status == 201:
                    state.payments.append((token, body, key))
                if kind == "post_listing" and answer.status == 201:
                    with self.lock:
                        self.listing_ids.append(int(answer.body["id"]))
                with self.lock:
                    self.kinds[kind] += 1
                    self.statuses[(kind, answer.status)] += 1
                    if answer.status >= 500:
                        self.failures.append(f"{kind} {method} {path}: {answer.status} {answer.body}")
        finally:
            client.close()

    # -- the requests: (method, path, token, body, idempotency key, extra headers)

    def _member(self, state: ClientState):
        return state.rng.choice(self.town.members)

    def _balance(self, state):
        member = self._member(state)
        return "GET", f"/api/v1/members/{member.membership_id}/balance", member.token, None, None, None

    def _statement(self, state):
        member = self._member(state)
        query = {**self.window, "limit": state.rng.choice((5, 20, 50))}
        if state.rng.random() < 0.3:  # a later page: the cursor a partner app would have been handed
            query["cursor"] = encode_cursor(state.rng.randint(1, 10_000))
        path = f"/api/v1/members/{member.membership_id}/statement?{urlencode(query)}"
        return "GET", path, member.token, None, None, None

    def _listings(self, state):
        query = {"limit": state.rng.choice((10, 20))}
        if state.rng.random() < 0.5:
            query["kind"] = state.rng.choice(("offer", "request"))
        if state.rng.random() < 0.3:
            query["text"] = state.rng.choice(("tuin", "boodschappen", "fiets", f"woord{state.rng.randint(1, 10**6)}"))
        path = f"/api/v1/communities/{self.town.community_id}/listings?{urlencode(query)}"
        return "GET", path, self._member(state).token, None, None, None

    def _listing(self, state):
        with self.lock:
            known = list(self.listing_ids[-200:])
        listing_id = state.rng.choice(known) if known else 1
        return "GET", f"/api/v1/listings/{listing_id}", self._member(state).token, None, None, None

    def _me(self, state):
        return "GET", "/api/v1/me", self._member(state).token, None, None, None

    def _payment(self, state, minutes: int):
        payer, payee = state.rng.sample(self.town.members, 2)
        body = {"payee_membership_id": str(payee.membership_id), "minutes": minutes, "description": "bench"}
        return f"/api/v1/communities/{self.town.community_id}/payments", payer.token, body

    def _pay(self, state):
        path, token, body = self._payment(state, state.rng.choice(AMOUNTS))
        return "POST", path, token, body, uuid.uuid4().hex, None

    def _pay_replay(self, state):
        if not state.payments:
            return self._pay(state)
        token, body, key = state.rng.choice(state.payments)
        return "POST", f"/api/v1/communities/{self.town.community_id}/payments", token, body, key, None

    def _pay_key_reused(self, state):
        if not state.payments:
            return self._pay(state)
        token, body, key = state.rng.choice(state.payments)
        other = {**body, "minutes": body["minutes"] + 1}
        return "POST", f"/api/v1/communities/{self.town.community_id}/payments", token, other, key, None

    def _pay_refused(self, state):
        path, token, body = self._payment(state, 100_000)  # past the payer's floor
        return "POST", path, token, body, uuid.uuid4().hex, None

    def _pay_bad_body(self, state):
        path, token, body = self._payment(state, 10)
        bad = state.rng.choice(({**body, "minutes": "tien"}, {**body, "colour": "red"}, {"minutes": 10}))
        return "POST", path, token, bad, uuid.uuid4().hex, None

    def _pay_no_key(self, state):
        path, token, body = self._payment(state, 10)
        return "POST", path, token, body, None, None

    def _other_balance(self, state):
        reader, other = state.rng.sample(self.town.members, 2)
        return "GET", f"/api/v1/members/{other.membership_id}/balance", reader.token, None, None, None

    def _unknown_member(self, state):
        path = f"/api/v1/members/{state.rng.randint(10**6, 10**9)}/balance"
        return "GET", path, self._member(state).token, None, None, None

    def _unknown_route(self, state):
        path = f"/api/v1/nothing/{state.rng.randint(1, 10**9)}"
        return "GET", path, self._member(state).token, None, None, None

    def _malformed_token(self, state):
        token = state.rng.choice(("nonsense", f"tb_m_x_{uuid.uuid4().hex}", "Basic Zm9vOmJhcg=="))
        return "GET", f"/api/v1/members/{self._member(state).membership_id}/balance", token, None, None, None

    def _wrong_token(self, state):
        """A well-formed token that names no live token, from an address of its own (counted by the throttle)."""
        member = self._member(state)
        token = f"tb_m_{state.rng.randint(1, 10**6)}_{uuid.uuid4().hex}"
        rng = state.rng
        address = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        path = f"/api/v1/members/{member.membership_id}/balance"
        return "GET", path, token, None, None, {"X-Forwarded-For": address}

    def _post_listing(self, state):
        body = {
            "kind": state.rng.choice(("offer", "request")),
            "title": f"Hulp gezocht {state.rng.randint(1, 10**6)}",
            "description": "Twee tassen naar de derde verdieping.",
            "category_id": str(state.rng.choice(self.categories)),
            "estimated_minutes": state.rng.choice(AMOUNTS),
        }
        path = f"/api/v1/communities/{self.town.community_id}/listings"
        return "POST", path, self._member(state).token, body, uuid.uuid4().hex, None

    def _web_login(self, state):
        headers = {"Accept": "text/html", "Accept-Language": state.rng.choice(LANGUAGES)}
        return "GET", "/login", None, None, None, headers

    def _healthz(self, state):
        return "GET", "/healthz", None, None, None, None


class ClientState:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.payments: deque = deque(maxlen=100)
