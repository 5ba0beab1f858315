"""What every benchmark shares: its result line, the PostgreSQL server, databases made and dropped for one run,
timing and percentiles, and a community of many members with a personal API token each."""

from __future__ import annotations

import contextlib
import cProfile
import os
import platform
import pstats
import pwd
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

import ledger
from tests.system.servers import throwaway_postgresql_database

T = TypeVar("T")
REPOSITORY = Path(__file__).resolve().parent.parent
PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")
# The PostgreSQL server the benchmarks use: a database on it to connect to first; each benchmark makes its own.
SERVER_URL_VARIABLE = "TIMEBANK_BENCH_DATABASE_URL"
DEFAULT_SERVER_URL = "postgresql://root@/postgres?host=/var/run/postgresql"


@dataclass
class Result:
    """One benchmark's figure against its baseline; ``ratio`` is value / baseline_value."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    target: str
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("inf")

    def line(self) -> dict:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_value": round(self.baseline_value, 3),
            "ratio": round(self.ratio, 4),
            "target": self.target,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            **{name: value for name, value in asdict(self).items() if name == "details"},
        }


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def say(message: str) -> None:
    """Progress, on stderr (stdout carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def number_setting(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, not {raw!r}") from None


def print_profile(work, count: int, what: str, *, unit: str = "ms") -> None:
    """Run ``work()`` ``count`` times under cProfile and print the time each took and where it went."""
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        work()
    profiler.disable()
    elapsed = time.perf_counter() - began
    print(f"--- {count} {what} in {elapsed:.2f} s: {elapsed / count * 1000:.2f} {unit} each (under cProfile)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- where the CPU went --------------------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int, *, reaped: bool) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone), and with ``reaped`` those of its children
    that ended and were waited for (a gunicorn master's recycled workers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # pid (comm) state ...: utime, stime, cutime and cstime are the 12th to 15th fields after the ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(value) for value in fields[11 : 15 if reaped else 13]) / TICKS


def _machine_cpu() -> tuple[float, float]:
    """All CPUs' busy and idle seconds so far (/proc/stat), idle counting I/O wait."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS, idle / TICKS


def postgresql_processes() -> list[int]:
    """The PostgreSQL server's processes on this machine (those of the ``postgres`` user)."""
    try:
        owner = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == owner:
                    found.append(int(entry.name))
    return found


def cpu_shares(
    groups: dict[str, tuple[Callable[[], list[int]], bool]], work: Callable[[], T]
) -> tuple[T, dict[str, float]]:
    """Run ``work()`` and say how many CPU seconds each group of processes used meanwhile, the benchmark process
    itself (``clients``), the machine's busy total (``machine``) and idle seconds. ``groups``: name -> (its pids,
    asked before and after, and whether the group holds the parent of every process of it that ends).

    A group that holds the parent (a gunicorn master, whose recycled workers end): the parent's count includes its
    children that ended and were waited for, so the group's total after less its total before is what it used,
    provided the pids include children that ended and were not yet waited for (``group_processes``). Any other
    group (PostgreSQL, where the backends of a pgbench run end just before or after): each process's own time, for
    the processes there after; one that ended in between is not counted."""

    def snapshot() -> dict[str, dict[int, float]]:
        return {
            name: {pid: _cpu_seconds(pid, reaped=reaped) for pid in pids()} for name, (pids, reaped) in groups.items()
        }

    before, own, (busy, idle) = snapshot(), time.process_time(), _machine_cpu()
    result = work()
    after = snapshot()
    shares = {}
    for name, (_, reaped) in groups.items():
        if reaped:
            shares[name] = sum(after[name].values()) - sum(before[name].values())
        else:
            shares[name] = sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items())
    shares["clients"] = time.process_time() - own
    now_busy, now_idle = _machine_cpu()
    shares["machine"], shares["idle"] = now_busy - busy, now_idle - idle
    return result, shares


def group_processes(group: int) -> list[int]:
    """Every process of process group ``group``, those that ended and wait for their parent included."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[2]) == group:
                    found.append(int(entry.name))
    return found


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def server_url() -> str:
    return os.environ.get(SERVER_URL_VARIABLE) or DEFAULT_SERVER_URL


def server_reachable() -> str | None:
    """None when the server answers, else why not."""
    engine = ledger.create_engine(server_url())
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.OperationalError as error:
        return f"PostgreSQL at {server_url()} ({SERVER_URL_VARIABLE}) cannot be reached: {error.orig}"
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgresql_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards; yields its URL."""
    with throwaway_postgresql_database(server_url(), prefix) as url:
        yield url


def libpq_arguments(url: str) -> tuple[list[str], dict[str, str]]:
    """pgbench's connection options (and environment) for a SQLAlchemy URL."""
    parsed = sa.make_url(url)
    arguments = []
    host = parsed.host or parsed.query.get("host")
    if host:
        arguments += ["-h", host]
    if parsed.port:
        arguments += ["-p", str(parsed.port)]
    if parsed.username:
        arguments += ["-U", parsed.username]
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = parsed.password
    return [*arguments, parsed.database], environment


class Pgbench:
    """pgbench's built-in tpcb-like script (scale 10) in a database of its own, for as many runs as asked."""

    def __init__(self, url: str, *, scale: int = 10):
        self.url = url
        self.scale = scale
        self.connection, self.environment = libpq_arguments(url)

    def initialise(self) -> None:
        say(f"pgbench: initialising scale {self.scale}")
        self._pgbench(["-i", "-q", "-s", str(self.scale)])

    def tps(self, *, clients: int = 8, seconds: float) -> float:
        """Transactions per second of ``clients`` clients running tpcb-like for ``seconds``."""
        output = self._pgbench(
            ["-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(max(1, round(seconds)))]
        )
        for line in output.splitlines():
            if line.startswith("tps = "):
                return float(line.split()[2])
        raise RuntimeError(f"pgbench printed no tps:\n{output}")

    def _pgbench(self, arguments: list[str]) -> str:
        if not PGBENCH.exists():
            raise SystemExit(f"{PGBENCH} is missing (Debian's postgresql-15 package has it)")
        done = subprocess.run(
            [str(PGBENCH), *arguments, *self.connection],
            env=self.environment,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pgbench {' '.join(arguments)} failed:\n{done.stderr}")
        return done.stdout + done.stderr
