"""Crash: the bank test's load while gunicorn's master and all its workers are killed with SIGKILL several times at
random moments, and started again. A request whose answer never came (refused connection, reset, timeout) is sent
again with the same Idempotency-Key and body until it is answered; afterwards every acknowledged write is in the
books exactly once, nothing refused left a trace, and the books verify (``tests.system.load.audit``).

Sizes: ``SYSTEM_CRASH_REQUESTS`` on PostgreSQL (default 1000), ``SYSTEM_CRASH_REQUESTS_SQLITE`` on SQLite (default
800), ``SYSTEM_CRASH_KILLS`` (default 4), ``SYSTEM_BANK_SEED`` to repeat a run's choices and moments.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time

import pytest

from tests.conftest import DATABASE_KINDS, UNDER_LOAD
from tests.system.load import Load, audit, build_bank, environment_number
from tests.system.servers import Gunicorn, running_gunicorn, system_database

CLIENTS = 32
WORKERS = 3
# Requests the restarted server answers before the next kill, so that every kill finds requests in flight.
MINIMUM_GAP = 20

pytestmark = [pytest.mark.slow, UNDER_LOAD]


def requests_for(kind: str) -> int:
    if kind == "sqlite":
        return environment_number("SYSTEM_CRASH_REQUESTS_SQLITE", 800)
    return environment_number("SYSTEM_CRASH_REQUESTS", 1000)


class Killer(threading.Thread):
    """Kills the whole server (master and workers, SIGKILL) when the load has done each of ``moments`` requests
    (and ``MINIMUM_GAP`` since the last restart), then starts it again after a short random pause."""

    def __init__(self, server: Gunicorn, load: Load, moments: list[int], rng: random.Random):
        super().__init__(daemon=True)
        self.server, self.load, self.moments, self.rng = server, load, moments, rng
        self.kills: list[dict] = []
        self.error: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            restarted_at = 0
            for moment in self.moments:
                while self.load.progress < max(moment, restarted_at + MINIMUM_GAP):
                    if self.stopping.wait(0.01):
                        return
                killed_at, processes = self.load.progress, len(self.server.workers()) + 1
                self.server.kill()
                down = time.monotonic()
                time.sleep(self.rng.uniform(0, 1.5))
                self.server.restart()
                restarted_at = self.load.progress
                self.kills.append(
                    {
                        "after_requests": killed_at,
                        "processes_killed": processes,
                        "seconds_until_healthy_again": round(time.monotonic() - down, 1),
                    }
                )
        except BaseException as error:  # noqa: BLE001 - the test reports it
            self.error = error
            self.load.abort.set()


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_acknowledged_writes_survive_sigkill_exactly_once(kind, tmp_path, request):
    requests = requests_for(kind)
    kills = environment_number("SYSTEM_CRASH_KILLS", 4)
    seed = os.environ.get("SYSTEM_BANK_SEED")
    with system_database(kind, tmp_path) as url:
        bank = build_bank(url)
        with running_gunicorn(url, tmp_path, workers=WORKERS) as server:
            load = Load(server.url, bank, requests=requests, clients=CLIENTS, seed=int(seed) if seed else None)
            rng = random.Random(load.seed)
            moments = sorted(rng.sample(range(requests // 10, requests * 9 // 10), kills))
            killer = Killer(server, load, moments, rng)
            killer.start()
            try:
                load.run()
            finally:
                killer.stopping.set()
                killer.join()  # before the server is stopped: no restart may come after it
        assert killer.error is None, f"killing or restarting the server failed: {killer.error!r}"
        figures = load.figures() | {"kills": killer.kills}
        print(f"\ncrash test on {kind} (seed {load.seed}): {json.dumps(figures, indent=1)}")
        assert len(killer.kills) == kills, f"only {len(killer.kills)} of {kills} kills happened"
        assert figures["requests"] == requests, load.failures
        # The kills cut requests off: their clients never learned the outcome and sent them again; and some requests
        # were applied although their client never heard (it hung up): the retry got the first attempt's answer.
        assert figures["requests_unanswered_at_first"] > figures["writes_abandoned_at_first"], figures
        assert figures["answered_by_replay_after_retry"] > 0 or not figures["writes_abandoned_at_first"], figures
        audited = audit(url, bank, load)
        print(f"audit: {json.dumps(audited)}")
        request.node.user_properties.append((request.node.name, figures | audited))
