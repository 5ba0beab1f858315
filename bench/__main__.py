"""``python -m bench [NAME ...]``: run the benchmarks (all, or the ones named), print one JSON object per result
on stdout as each finishes, then a table. Progress goes to stderr. ``make bench`` and ``make bench ONLY=name``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback

from bench.common import Result, say, server_reachable

# name -> (module, function, needs PostgreSQL); in the order `make bench` runs them.
BENCHMARKS = {
    "post_pg": ("bench.posting", "post_pg", True),
    "post_batch_pg": ("bench.posting", "post_batch_pg", True),
    "post_sqlite": ("bench.posting", "post_sqlite", False),
    "read_flat": ("bench.reads", "read_flat", True),
    "report": ("bench.reads", "report", True),
    "memory": ("bench.memory", "memory", False),
}
# The floors (`make bench ONLY=floors`, or one by name): the same posting work done by the lightest thing that makes
# the same writes, with the same baselines. No target: they say how much of the distance to a target is the app's
# own, and what this machine allows at all. Not in the default run, which must stay under 10 minutes.
FLOORS = {
    "post_pg_floor": ("bench.floor", "post_pg_floor", True),
    "post_pg_flask_floor": ("bench.floor", "post_pg_flask_floor", True),
    "post_batch_pg_floor": ("bench.batch_floor", "post_batch_pg_floor", True),
    "post_sqlite_floor": ("bench.floor", "post_sqlite_floor", False),
    "post_sqlite_flask_floor": ("bench.floor", "post_sqlite_flask_floor", False),
}
GROUPS = {"floors": list(FLOORS), "all": [*BENCHMARKS, *FLOORS]}
RUNNABLE = {**BENCHMARKS, **FLOORS}
CLEAN_UPS = ("bench.posting:close_stages", "bench.reads:close_stage")


CHOICES = f"{', '.join(RUNNABLE)}, or a group: {', '.join(GROUPS)}"


def chosen(arguments: list[str]) -> list[str]:
    """The benchmarks the command line names, groups expanded, in its order (`make bench ONLY=a,b` passes "a,b");
    the default run when it names none. ``ValueError`` for a name that is neither a benchmark nor a group."""
    given = [name for argument in arguments for name in argument.split(",") if name]
    names = [name for each in given for name in GROUPS.get(each, [each])] or list(BENCHMARKS)
    unknown = [name for name in names if name not in RUNNABLE]
    if unknown:
        raise ValueError(f"no benchmark named {', '.join(unknown)}; choose from {CHOICES}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: {', '.join(BENCHMARKS)}): {CHOICES}")
    try:
        names = chosen(parser.parse_args(argv).names)
    except ValueError as error:
        parser.error(str(error))
    if any(RUNNABLE[name][2] for name in names) and (why := server_reachable()):
        print(f"cannot run {', '.join(n for n in names if RUNNABLE[n][2])}: {why}", file=sys.stderr)
        return 2
    results: list[Result] = []
    failed: list[str] = []
    began = time.perf_counter()
    try:
        for name in names:
            module, function, _ = RUNNABLE[name]
            say(f"{name}: starting")
            started = time.perf_counter()
            try:
                result = getattr(importlib.import_module(module), function)()
            except Exception:  # noqa: BLE001 (one benchmark's failure is reported; the others still run)
                traceback.print_exc()
                failed.append(name)
                continue
            say(f"{name}: done in {time.perf_counter() - started:.0f} s")
            results.append(result)
            print(json.dumps(result.line()), flush=True)
    finally:
        for clean_up in CLEAN_UPS:
            module, function = clean_up.split(":")
            if module in sys.modules:
                getattr(sys.modules[module], function)()
    print(table(results), flush=True)
    say(f"all done in {time.perf_counter() - began:.0f} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def table(results: list[Result]) -> str:
    rows = [("benchmark", "value", "baseline", "ratio", "target", "notes")]
    for result in results:
        notes = ", ".join(
            f"{key} {result.details[key]}" for key in ("p50_ms", "p99_ms", "clients") if key in result.details
        )
        rows.append(
            (
                result.name,
                f"{result.value:,.1f} {result.unit}",
                f"{result.baseline_value:,.1f}",
                f"{result.ratio:.3f}",
                result.target,
                notes,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
