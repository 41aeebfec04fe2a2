"""The Typer application, its shared options and how errors reach the user."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from postfinder.app import App, build_app
from postfinder.errors import PostfinderError
from postfinder.progress import Progress
from postfinder.retrieval import SearchMode
from postfinder.settings import Settings, load_settings

cli = typer.Typer(
    help="PostFinder: find the posts of a Telegram channel that answer a question.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ChannelOpt = Annotated[
    Optional[str],
    typer.Option("--channel", "-c", help="Channel id, @username or name (optional if only one)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ModeOpt = Annotated[
    Optional[str], typer.Option("--mode", "-m", help="hybrid, bm25 or dense (default: settings).")
]
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn `PostfinderError` into a one-line message and exit status 1."""
    try:
        yield
    except PostfinderError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("Interrupted. Nothing is lost: run the same command again.", err=True)
        raise typer.Exit(130) from None


def open_app(ctx: typer.Context) -> App:
    """The wired components for this command, closed when it ends."""
    settings: Settings = ctx.obj
    app = build_app(settings)
    ctx.call_on_close(app.close)
    return app


def search_mode(value: str | None) -> SearchMode | None:
    """Check a ``--mode`` value."""
    if value is None:
        return None
    if value not in ("hybrid", "bm25", "dense"):
        raise typer.BadParameter(f"--mode must be hybrid, bm25 or dense, not {value!r}")
    return value  # type: ignore[return-value]


def echo_json(data: Any) -> None:
    """Print data as indented JSON, non-ASCII letters as they are."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@contextmanager
def progress_bar(
    desc: str, unit: str = "it", disable: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """A ``(done, total)`` callback showing progress on stderr, opened at its first call.

    Opened late so that a step which never reports (nothing to calibrate) shows nothing,
    and bars of consecutive steps do not overlap.
    """
    shown: list[Progress] = []

    def update(done: int, total: int) -> None:
        if not shown:
            shown.append(Progress(desc, unit=unit, disable=disable))
        shown[0].set(done, total)

    try:
        yield update
    finally:
        for opened in shown:
            opened.close()


@cli.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(help="Where PostFinder keeps its data [env: POSTFINDER_DATA_DIR]."),
    ] = None,
    config: Annotated[
        Optional[Path], typer.Option(help="TOML settings file [env: POSTFINDER_CONFIG].")
    ] = None,
) -> None:
    """Self-hosted question answering over a Telegram channel's own posts."""
    # Question texts are personal data: files 0600 and folders 0700 from the start.
    os.umask(0o077)
    # Nothing phones home once a model is present; only `models pull` goes online.
    for name in OFFLINE_ENV:
        os.environ.setdefault(name, "1")
    with user_errors():
        settings = load_settings(config, data_dir=data_dir)
    # The handler filters too: bm25s sets its own logger to DEBUG when it is imported.
    handler = logging.StreamHandler()
    handler.setLevel(settings.log_level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])
    ctx.obj = settings
