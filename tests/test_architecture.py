"""The front ends stay thin adapters: small modules, short functions (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "postfinder"
ADAPTERS = sorted(
    [*(PACKAGE / "cli").glob("*.py"), *(PACKAGE / "bot").glob("*.py")]
    + [*(PACKAGE / "discord").glob("*.py")]
)
MAX_DISCORD_LINES = 599  # the Discord adapter is a thin one: under 600 lines in all
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def long_functions(path: Path, limit: int) -> list[str]:
    """Functions of ``path`` longer than ``limit`` lines, signature and docstring included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


@pytest.mark.parametrize("path", ADAPTERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_adapter_modules_are_small_and_their_functions_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    assert long_functions(path, MAX_FUNCTION_LINES) == []


def test_the_size_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path / "long.py", MAX_FUNCTION_LINES) == ["f (51 lines)"]


def test_the_adapters_are_found() -> None:
    names = {p.name for p in ADAPTERS}
    assert {"channel_commands.py", "handlers.py", "commands.py", "wiring.py"} <= names
    assert {"client.py", "replier.py"} <= names


def test_the_discord_adapter_stays_under_600_lines() -> None:
    files = sorted((PACKAGE / "discord").glob("*.py"))
    total = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in files)
    assert len(files) >= 5 and total <= MAX_DISCORD_LINES, f"{total} lines"
