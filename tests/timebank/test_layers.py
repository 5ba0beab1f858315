"""Which way imports go (architecture.md): the ledger knows nothing of the web, the time bank or the API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_FRAMEWORKS = ("flask", "marshmallow", "werkzeug")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a Python file imports, anywhere in it (functions included)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def top_level(module: str) -> str:
    return module.split(".")[0]


def offending_imports(paths, forbidden, *, root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in paths
        for module in sorted(imported_modules(path))
        if top_level(module) in forbidden or top_level(module).startswith("flask_")
    ]


def test_the_ledger_imports_nothing_from_flask_marshmallow_timebank_or_api():
    paths = sorted((ROOT / "ledger").rglob("*.py"))
    assert paths, "no ledger package found"
    assert offending_imports(paths, {*WEB_FRAMEWORKS, "timebank", "api"}) == []


def test_the_time_banks_core_modules_import_no_web_framework():
    edge = {ROOT / "timebank" / "app.py", ROOT / "timebank" / "cli.py"}
    paths = [
        path
        for path in sorted((ROOT / "timebank").rglob("*.py"))
        if path not in edge and "web" not in path.relative_to(ROOT / "timebank").parts
    ]
    assert ROOT / "timebank" / "schema.py" in paths
    assert offending_imports(paths, set(WEB_FRAMEWORKS)) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import flask\n", ["x.py imports flask"]),
        ("from timebank.app import create_app\n", ["x.py imports timebank.app"]),
    ],
)
def test_the_import_check_catches_a_forbidden_import_even_inside_a_function(tmp_path, source, expected):
    (tmp_path / "x.py").write_text(f"def f():\n    {source}")
    assert offending_imports([tmp_path / "x.py"], {"flask", "timebank"}, root=tmp_path) == expected
