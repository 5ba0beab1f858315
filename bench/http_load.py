"""Many client threads sending requests to a server for a while, each request timed."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.system.load import Client, Unanswered


@dataclass
class Outcome:
    seconds: float
    latencies: list[float] = field(default_factory=list)  # of the requests that did what was asked, in seconds
    statuses: Counter = field(default_factory=Counter)
    units: int = 0  # transfers posted (a batch counts its posted transfers)

    @property
    def rate(self) -> float:
        return self.units / self.seconds


# A request: (method, path, token, body) for a client's next request; ``units`` tells from the answer how many
# units of work it did (0 for a refusal).
Plan = Callable[[int], tuple[str, str, str, dict | None]]
Units = Callable[[int, dict | None], int]


def run_together(work: Callable[[int, Callable[[], bool]], None], *, clients: int, seconds: float) -> float:
    """``clients`` threads calling ``work(index, running)`` at the same moment, ``running()`` true until ``seconds``
    have passed; the seconds they took, all joined, or the first error one of them raised."""
    start = threading.Barrier(clients + 1)
    deadline = [0.0]
    failures: list[BaseException] = []

    def thread(index: int) -> None:
        try:
            start.wait()
            work(index, lambda: time.perf_counter() < deadline[0])
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=thread, args=(index,), daemon=True) for index in range(clients)]
    for each in threads:
        each.start()
    deadline[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for each in threads:
        each.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - began


def run_clients(base_url: str, *, clients: int, seconds: float, plan: Plan, units: Units) -> Outcome:
    """``clients`` threads, each sending ``plan(i)``'s requests one after the other for ``seconds``; every write
    carries a new Idempotency-Key, as a partner app's would."""
    outcome = Outcome(seconds=seconds)
    lock = threading.Lock()

    def client(index: int, running: Callable[[], bool]) -> None:
        connection = Client(base_url, timeout=60)
        latencies, statuses, done = [], Counter(), 0
        try:
            while running():
                method, path, token, body = plan(index)
                began = time.perf_counter()
                try:
                    answer = connection.send(method, path, token=token, body=body, key=uuid.uuid4().hex)
                except Unanswered:
                    statuses["unanswered"] += 1
                    continue
                elapsed = time.perf_counter() - began
                statuses[answer.status] += 1
                did = units(answer.status, answer.body)
                if did:
                    latencies.append(elapsed)
                    done += did
        finally:
            connection.close()
            with lock:
                outcome.latencies.extend(latencies)
                outcome.statuses.update(statuses)
                outcome.units += done

    outcome.seconds = run_together(client, clients=clients, seconds=seconds)
    return outcome
