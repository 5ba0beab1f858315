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


def run_clients(base_url: str, *, clients: int, seconds: float, plan: Plan, units: Units) -> Outcome:
    """``clients`` threads, each sending ``plan(i)``'s requests one after the other for ``seconds``; every write
    carries a new Idempotency-Key, as a partner app's would."""
    outcome = Outcome(seconds=seconds)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]
    failures: list[BaseException] = []

    def client(index: int) -> None:
        connection = Client(base_url, timeout=60)
        latencies, statuses, done = [], Counter(), 0
        try:
            start.wait()
            while time.perf_counter() < deadline[0]:
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
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)
        finally:
            connection.close()
            with lock:
                outcome.latencies.extend(latencies)
                outcome.statuses.update(statuses)
                outcome.units += done

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - began
    if failures:
        raise failures[0]
    return outcome
