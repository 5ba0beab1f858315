"""`python -m bench`'s choice of benchmarks: the default run, groups, and refusals."""

import importlib

import pytest

from bench.__main__ import BENCHMARKS, FLOORS, RUNNABLE, chosen, main

ISSUE_SIX = ["post_pg", "post_batch_pg", "post_sqlite", "read_flat", "report", "memory"]


def test_the_default_run_is_the_six_benchmarks_with_targets():
    assert chosen([]) == ISSUE_SIX


def test_a_group_and_names_expand_in_the_order_given():
    assert chosen(["floors"]) == list(FLOORS)
    assert chosen(["memory,floors", "post_pg"]) == ["memory", *FLOORS, "post_pg"]
    assert chosen(["all"]) == ISSUE_SIX + list(FLOORS)


def test_an_unknown_name_is_refused_with_the_choices(capsys):
    with pytest.raises(ValueError, match="no benchmark named post_pgg; choose from post_pg, .*floors"):
        chosen(["post_pgg"])
    with pytest.raises(SystemExit) as exit_:
        main(["read_flat,nonsense"])
    assert exit_.value.code == 2
    assert "no benchmark named nonsense" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_every_registered_benchmark_is_a_function_of_its_module(name):
    module, function, needs_postgresql = RUNNABLE[name]
    assert callable(getattr(importlib.import_module(module), function))
    assert needs_postgresql == ("_pg" in name or name in ("read_flat", "report"))
    assert (name in BENCHMARKS) != (name in FLOORS)
