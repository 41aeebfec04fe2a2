"""Is the installation healthy: every channel's stores, and the bot's heartbeat."""

from __future__ import annotations

import time

from postfinder.app import App
from postfinder.errors import PostfinderError
from postfinder.health import channel_problems

HEARTBEAT_FILE = "bot.heartbeat"


def check_channels(app: App) -> int:
    """Run a real BM25 and dense query on every channel and compare its stores.

    Returns
    -------
    int
        The number of channels checked.

    Raises
    ------
    PostfinderError
        When no channel is indexed, or with every problem found (each names its fix).
    """
    ids = app.catalog.ids()
    if not ids:
        raise PostfinderError("No channel is indexed.")
    problems = [
        f"channel {cid}: {problem}"
        for cid in ids
        for problem in channel_problems(app.catalog.get(cid), app.embedder)
    ]
    if problems:
        raise PostfinderError("\n".join(problems))
    return len(ids)


def check_heartbeat(app: App, max_age_s: float) -> float:
    """Return the age of the running bot's heartbeat in seconds.

    Raises
    ------
    PostfinderError
        When the heartbeat is missing or older than ``max_age_s``.
    """
    beat = app.settings.data_dir / HEARTBEAT_FILE
    age = time.time() - float(beat.read_text(encoding="utf-8")) if beat.is_file() else None
    if age is None or age > max_age_s:
        raise PostfinderError(f"The bot's heartbeat is missing or older than {max_age_s:g} s.")
    return age
