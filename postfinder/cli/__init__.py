"""The ``postfinder`` command line: a thin adapter over `postfinder.operations`.

Each command parses its options, calls one operation and renders the result; the
commands are grouped by module (`channel_commands`, `eval_commands`, `admin_commands`)
and all register on the one Typer application in `common`.
"""

from postfinder.cli import admin_commands, channel_commands, eval_commands
from postfinder.cli.common import cli

__all__ = ["cli", "main", "admin_commands", "channel_commands", "eval_commands"]


def main() -> None:
    """Entry point of the ``postfinder`` console script."""
    cli()
