"""One writer per data directory: a second one is told at once who holds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postfinder.cli import cli
from postfinder.store.lock import DataDirBusyError, WriterLock

HOLD = (
    "import sys, time; from pathlib import Path; from postfinder.store.lock import WriterLock; "
    "WriterLock(Path(sys.argv[1]), 'reembed').acquire(); print('held', flush=True); "
    "time.sleep(60)"
)


def _holder(data: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_second_writer_gets_a_clear_error_at_once(
    isolated_state: Path, write_export, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(write_export())]).exit_code == 0
    holder = _holder(isolated_state)
    try:
        for args in (["index", str(write_export())], ["forget-post", "3"], ["reembed"]):
            started = time.monotonic()
            result = runner.invoke(cli, args)
            assert time.monotonic() - started < 1.0
            assert result.exit_code == 1, args
            assert f"(pid {holder.pid}: postfinder reembed, since " in result.stderr
            assert "Two writers would corrupt the index" in result.stderr
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed writer leaves nothing behind
        holder.wait()
    result = CliRunner().invoke(cli, ["index", str(write_export())])
    assert result.exit_code == 0, result.output


def test_the_lock_is_released_and_reentrant_per_block(tmp_path: Path) -> None:
    with WriterLock(tmp_path, "index"):
        with pytest.raises(DataDirBusyError) as busy:
            WriterLock(tmp_path, "index").acquire()
        assert busy.value.holder["pid"] == os.getpid()
    with WriterLock(tmp_path, "index"):
        pass
