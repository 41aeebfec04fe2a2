"""Progress outside a terminal: a few plain lines, never a redrawn bar."""

from __future__ import annotations

import io
import subprocess
import sys

from typer.testing import CliRunner

from postfinder.cli import cli
from postfinder.progress import Progress


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_log_gets_one_line_per_interval_and_one_at_the_end() -> None:
    stream, clock = io.StringIO(), Clock()
    with Progress("Indexing", total=2240, unit="posts", stream=stream, clock=clock) as step:
        for done in range(1, 2241):
            clock.now = done * 0.025  # 56 s in all
            step.set(done)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Indexing: 400/2240 posts (18%)"
    assert lines[-1] == "Indexing: 2240/2240 posts in 56.0 s"
    assert len(lines) == 6  # at 10, 20, 30, 40 and 50 s, then the end
    assert "\r" not in stream.getvalue()


def test_quick_step_prints_only_its_closing_line() -> None:
    stream, clock = io.StringIO(), Clock()
    step = Progress("Calibrating", stream=stream, clock=clock)
    step.set(3, 10)
    clock.now = 1.5
    step.set(10, 10)
    step.close()
    step.close()  # closing twice prints nothing more
    assert stream.getvalue() == "Calibrating: 10/10 it in 1.5 s\n"


def test_disabled_step_prints_nothing() -> None:
    stream = io.StringIO()
    with Progress("Indexing", stream=stream, disable=True) as step:
        step.update(5)
    assert not stream.getvalue()


def test_terminal_gets_a_bar() -> None:
    stream = Terminal()
    with Progress("Indexing", total=4, unit="posts", stream=stream) as step:
        step.update(4)
    assert "\r" in stream.getvalue() and "4/4" in stream.getvalue()


def test_index_command_log_is_short(write_export, monkeypatch) -> None:
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    result = CliRunner().invoke(cli, ["index", str(write_export())])
    assert result.exit_code == 0, result.output
    progress = [
        line for line in result.stderr.splitlines() if line.startswith(("Indexing", "Calibrating"))
    ]
    assert progress and all(" in " in line for line in progress), result.stderr  # closing lines
    assert "\r" not in result.stderr and "|" not in result.stderr


def test_no_library_debug_lines_at_the_default_level(write_export, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    # A process of its own: under pytest the root logger already has handlers.
    index = [sys.executable, "-m", "postfinder", "index", str(write_export())]
    quiet = subprocess.run(index, capture_output=True, text=True, check=False, timeout=120)
    assert quiet.returncode == 0 and "6 added" in quiet.stdout, quiet.stderr
    assert "DEBUG" not in quiet.stderr  # bm25s sets its own logger to DEBUG on import
    monkeypatch.setenv("POSTFINDER_LOG_LEVEL", "DEBUG")  # control: asked for, they show
    monkeypatch.setenv("POSTFINDER_DATA_DIR", str(tmp_path / "loud"))
    loud = subprocess.run(index, capture_output=True, text=True, check=False, timeout=120)
    assert "DEBUG bm25s" in loud.stderr
