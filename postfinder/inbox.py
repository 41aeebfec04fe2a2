"""Hand an export to the running bot instead of writing beside it.

While `postfinder serve` runs it is the data directory's one writer. `postfinder index`
then copies the export into ``<data dir>/inbox/<request>/`` (made under a hidden name
and renamed, so the bot never sees half a copy) and waits; the bot indexes it one batch
at a time on its work queue, between members' questions, and writes the report next to
it. The export is deleted once indexed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from postfinder.errors import ExportError
from postfinder.indexer import IndexReport

INBOX_DIR = "inbox"
REQUEST_FILE = "request.json"
EXPORT_FILE = "result.json"
REPORT_FILE = "report.json"


def hand_over(
    data_dir: Path,
    export: Path,
    chat: str | None,
    username: str | None,
    keep_missing: bool,
    allow_non_channel: bool = False,
) -> Path:
    """Queue an export for the running bot; return the request's folder."""
    source = export / EXPORT_FILE if export.is_dir() else export
    if not source.is_file():
        raise ExportError(f"No export at {source}: give the path of result.json or its folder.")
    inbox = data_dir / INBOX_DIR
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    staging = inbox / f".{name}"
    staging.mkdir(parents=True, mode=0o700)
    shutil.copyfile(source, staging / EXPORT_FILE)
    request = {
        "chat": chat,
        "username": username,
        "keep_missing": keep_missing,
        "allow_non_channel": allow_non_channel,
    }
    (staging / REQUEST_FILE).write_text(json.dumps(request), encoding="utf-8")
    staging.rename(inbox / name)
    return inbox / name


def pending(data_dir: Path) -> list[Path]:
    """Requests waiting for the bot, oldest first."""
    inbox = data_dir / INBOX_DIR
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not (p / REPORT_FILE).exists()
    )


def read_request(folder: Path) -> dict[str, Any]:
    """The options `postfinder index` was given."""
    data = json.loads((folder / REQUEST_FILE).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def finish(folder: Path, report: IndexReport | None, error: str | None) -> None:
    """Record the outcome for the waiting command and drop the copied export."""
    outcome = {"report": asdict(report) if report else None, "error": error}
    partial = folder / f".{REPORT_FILE}"
    partial.write_text(json.dumps(outcome, ensure_ascii=False), encoding="utf-8")
    partial.rename(folder / REPORT_FILE)
    (folder / EXPORT_FILE).unlink(missing_ok=True)


def wait(folder: Path, poll_s: float = 0.5) -> dict[str, Any]:
    """Block until the bot has written the request's outcome; return it."""
    path = folder / REPORT_FILE
    while not path.is_file():
        time.sleep(poll_s)
    outcome = json.loads(path.read_text(encoding="utf-8"))
    shutil.rmtree(folder, ignore_errors=True)
    return outcome if isinstance(outcome, dict) else {}
