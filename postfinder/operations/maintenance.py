"""Keep the stores sound: re-embed, repair, heal after a crash, and serve."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from postfinder.answering.pipeline import fixed_prefix
from postfinder.app import App
from postfinder.conversation.storage import BotStorage
from postfinder.errors import ConfigError, PostfinderError
from postfinder.operations import cache
from postfinder.operations.health import HEARTBEAT_FILE
from postfinder.operations.indexing import watch_inbox

log = logging.getLogger(__name__)
HEARTBEAT_EVERY_S = 30.0
PURGE_EVERY_S = 3600.0


@dataclass(frozen=True)
class Rebuilt:
    """One channel's stores rebuilt: its posts and the chunks embedded."""

    channel_id: int
    posts: int
    chunks: int


@dataclass(frozen=True)
class RepairOutcome:
    """What `repair` did: where a damaged vector database went, and each channel rebuilt."""

    moved_to: Path | None
    channels: list[Rebuilt]


def reembed(app: App, selector: str | None = None) -> Rebuilt:
    """Recompute a channel's vectors with the configured embedder (after changing models)."""
    with app.writing("reembed"):
        channel = app.catalog.resolve(selector)
        chunks = app.indexer().reembed(channel)
        cache.channel_changed(app, channel.id)
        return Rebuilt(channel.id, channel.post_count(), chunks)


def repair(app: App, selector: str | None = None, reset_vectors: bool = False) -> RepairOutcome:
    """Rebuild vectors and BM25 from the post table (after a crash or a damaged store).

    Parameters
    ----------
    app
        The wired components; with ``reset_vectors`` its vector store must not be open
        yet (the directory is moved aside before anything opens it).
    selector
        One channel, or None for every channel.
    reset_vectors
        Move the whole embedded vector database aside first (when it hangs or errors).

    Raises
    ------
    ConfigError
        If ``reset_vectors`` is combined with one channel or a vector server.
    """
    settings = app.settings
    with app.writing("repair"):
        moved_to = None
        if reset_vectors:
            if settings.vector_store.mode != "persistent" or selector:
                raise ConfigError(
                    "--reset-vectors rebuilds every channel of the embedded vector store; "
                    "leave out --channel (and use vector_store.mode persistent)."
                )
            if "vectors" in app.__dict__:
                raise ConfigError("The vector store is already open: repair in a new process.")
            if settings.chroma_dir.exists():
                moved_to = settings.chroma_dir.with_name(f"chroma.broken-{int(time.time())}")
                settings.chroma_dir.rename(moved_to)
        targets = [app.catalog.resolve(selector)] if selector else app.catalog.all()
        rebuilt = [
            Rebuilt(channel.id, channel.post_count(), app.indexer().repair(channel))
            for channel in targets
        ]
        for channel in targets:
            cache.channel_changed(app, channel.id)
    return RepairOutcome(moved_to, rebuilt)


def heal_all(app: App) -> dict[int, tuple[int, int]]:
    """Finish what an interrupted writer left in every channel.

    Returns
    -------
    dict
        Channel id -> (posts re-embedded, posts removed).
    """
    with app.writing("heal"):
        done = {channel.id: app.indexer().heal(channel) for channel in app.catalog.all()}
        for channel_id, counts in done.items():
            cache.healed(app, channel_id, counts)
        return done


def serve(app: App, run: Callable[[App], None]) -> None:
    """Hold the data directory for a front end's whole run, after healing every channel.

    ``run`` is the front end's event loop (the Telegram bot's); the operations it calls
    write under this process's lock.
    """
    with app.writing("serve"):
        heal_all(app)
        run(app)


async def beat(path: Path) -> None:
    """Touch the heartbeat file while the event loop is alive (for health checks)."""
    while True:
        path.write_text(str(time.time()), encoding="utf-8")
        await asyncio.sleep(HEARTBEAT_EVERY_S)


async def purge_daily(
    storage: BotStorage,
    retention_days: int,
    every_s: float = PURGE_EVERY_S,
    clock: Callable[[], float] = time.time,
) -> None:
    """Forget question texts past the retention period every hour while the bot runs."""
    while True:
        purged = storage.purge(retention_days, now=clock())
        if purged:
            log.info(
                "Retention: forgot the text of %d questions older than %d days",
                purged,
                retention_days,
            )
        await asyncio.sleep(every_s)


def prepare_models(app: App) -> None:
    """Load the embedding model, open every indexed channel's search indexes and refusal
    model, load the local model and have it read the fixed start of every prompt, so that
    the first question after a start waits for none of them (docs/benchmarks.md)."""
    app.embedder.embed_queries(["?"])
    for channel_id in app.catalog.ids():
        app.answerer(channel_id).retrieve("?")
    generator = app.generator
    if generator is not None:
        generator.prefill(fixed_prefix(app.settings.answer))


async def warm_up(app: App) -> None:
    """`prepare_models` on the work queue (the model runs one job at a time); a failure is
    logged here and met again, with its message, by the first question."""
    try:
        await app.work_queue.run(lambda _cancel: prepare_models(app))
    except PostfinderError as exc:
        log.warning("Models not prepared at start: %s", exc)


def start_background(app: App) -> list[asyncio.Task[None]]:
    """Start what runs beside the front ends: the models' warm-up, heartbeat, handed-over
    exports, retention.

    Once per process, whichever front ends run; the caller cancels the tasks on exit.
    """
    return [
        asyncio.create_task(warm_up(app)),
        asyncio.create_task(beat(app.settings.data_dir / HEARTBEAT_FILE)),
        asyncio.create_task(watch_inbox(app)),
        asyncio.create_task(purge_daily(app.storage, app.settings.telegram.retention_days)),
    ]
