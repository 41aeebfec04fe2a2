"""Documentation that must match the code."""

from __future__ import annotations

from pathlib import Path

from postfinder.config_doc import config_table, replace_table

ROOT = Path(__file__).resolve().parent.parent


def test_readme_config_table_matches_the_settings_model() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert replace_table(readme) == readme, "run: python scripts/gen_config_table.py"


def test_table_lists_every_variable_of_postfinder_config() -> None:
    from typer.testing import CliRunner  # pylint: disable=import-outside-toplevel

    from postfinder.cli import cli  # pylint: disable=import-outside-toplevel

    out = CliRunner().invoke(cli, ["config"]).stdout
    variables = [line.split("=", 1)[0] for line in out.splitlines()]
    table = config_table()
    assert variables and all(f"`{v}`" in table for v in variables)
