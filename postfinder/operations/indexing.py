"""Index a channel: a Telegram export, a live post, or an export handed to a running bot."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from postfinder import inbox
from postfinder.app import App
from postfinder.errors import ExportError
from postfinder.indexer import IndexReport
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import ChatInfo
from postfinder.operations import cache, calibration
from postfinder.operations.calibration import Calibration, Progress
from postfinder.store.lock import DataDirBusyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRequest:
    """What to index: an export file and the options `postfinder index` takes."""

    path: Path
    chat: str | None = None
    username: str | None = None
    keep_missing: bool = False
    allow_non_channel: bool = False


@dataclass(frozen=True)
class IndexOutcome:
    """What indexing an export did.

    Attributes
    ----------
    report
        Counts and timing.
    calibrated
        The refusal decision fitted afterwards, if the posts changed.
    calibration
        The channel's calibration in one line (``None`` when the bot indexed it).
    """

    report: IndexReport
    calibrated: Calibration | None = None
    calibration: str | None = None


def index_export(
    app: App,
    request: ExportRequest,
    progress: bool = False,
    calibration_progress: Progress | None = None,
    on_handover: Callable[[dict[str, object]], None] | None = None,
) -> IndexOutcome:
    """Index (or update) a channel from an export, then recalibrate it if it changed.

    When a running bot holds the data directory, the export is handed to it and this
    call waits for the bot's report (``on_handover`` is told first, with the bot's pid).

    Raises
    ------
    ExportError
        If the export is unreadable (nothing is written then).
    DataDirBusyError
        If another writer than the bot holds the data directory.
    """
    try:
        with app.writing("index"):
            try:
                report = app.indexer().index_export(
                    request.path,
                    request.chat,
                    request.username,
                    progress=progress,
                    keep_missing=request.keep_missing,
                    allow_non_channel=request.allow_non_channel,
                )
            finally:  # batches written before a failure changed posts too
                cache.all_changed(app)
            calibrated = calibration.calibrate_if_changed(app, report, calibration_progress)
            line = app.catalog.get(report.channel_id).calibration()
    except DataDirBusyError as busy:
        if busy.holder.get("command") != "serve":
            raise
        if on_handover is not None:
            on_handover(busy.holder)
        return IndexOutcome(_through_bot(app, request))
    return IndexOutcome(report, calibrated, line)


def _through_bot(app: App, request: ExportRequest) -> IndexReport:
    """Hand the export to the running bot (the data directory's writer) and wait."""
    folder = inbox.hand_over(
        app.settings.data_dir,
        request.path,
        request.chat,
        request.username,
        request.keep_missing,
        request.allow_non_channel,
    )
    outcome = inbox.wait(folder)
    if outcome.get("error"):
        raise ExportError(str(outcome["error"]))
    return IndexReport(**outcome["report"])


async def index_live_post(app: App, post: Post, title: str, link_prefix: str = "") -> None:
    """Index a new or edited channel post at once, on the work queue.

    The post is recorded as pending before it waits for the queue, so a crash never
    loses it (the next start embeds it); BM25 is refreshed in the background, never
    rebuilt on the queue that members' questions wait for.
    """
    indexer = app.indexer()
    indexer.stage(app.catalog.get(post.channel_id, create=True), [post])
    # At once, before the queue: no member gets the old answer while the edit waits.
    cache.posts_changed(app, post.channel_id, [post.id])

    def add(_cancel: threading.Event) -> None:
        channel = indexer.open_channel(ChatInfo(post.channel_id, title, "channel", link_prefix))
        indexer.add_posts(channel, [post], refresh_lexical=False)
        channel.refresh_lexical_soon()
        channel.touch()
        cache.posts_changed(app, post.channel_id, [post.id])

    await app.work_queue.run(add)


async def index_handed_over(app: App, folder: Path) -> IndexReport | None:
    """Index one export handed over by `postfinder index`, one batch per queue turn.

    The outcome (report or error) is written next to the export for the waiting
    command; returns the report, or None when the export could not be indexed.
    """
    request = inbox.read_request(folder)
    steps = app.indexer().index_steps(
        folder / inbox.EXPORT_FILE,
        request.get("chat"),
        request.get("username"),
        bool(request.get("keep_missing")),
        bool(request.get("allow_non_channel")),
    )

    def step(_cancel: threading.Event) -> IndexReport | None:
        try:
            next(steps)
            return None
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]

    try:
        report = None
        try:
            while report is None:  # members' questions get the queue between batches
                report = await app.work_queue.run(step)
        finally:  # batches written before a failure changed posts too
            cache.all_changed(app)
        done = report
        await app.work_queue.run(lambda _cancel: calibration.calibrate_if_changed(app, done))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        log.warning("Handed-over export %s not indexed: %s", folder.name, exc)
        inbox.finish(folder, None, str(exc))
        return None
    inbox.finish(folder, report, None)
    log.info("Indexed a handed-over export: %s", report)
    return report


async def watch_inbox(app: App, poll_s: float = 2.0) -> None:
    """Index the exports `postfinder index` hands over, for as long as the bot runs."""
    while True:
        for folder in inbox.pending(app.settings.data_dir):
            await index_handed_over(app, folder)
        await asyncio.sleep(poll_s)
