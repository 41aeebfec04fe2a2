"""Fit a channel's refusal decision: without labels, or on an owner's labelled questions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from postfinder.answering.autocalibration import auto_calibrate
from postfinder.answering.refusal import RefusalModel
from postfinder.answering.refusal import calibrate as fit_labelled
from postfinder.app import App
from postfinder.channels import REFUSAL_FILE, Channel
from postfinder.errors import ConfigError
from postfinder.evaluation import load_questions
from postfinder.indexer import IndexReport
from postfinder.retrieval import HybridRetriever

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Calibration:
    """A fitted refusal decision and the file it was written to."""

    model: RefusalModel
    path: Path


def has_labelled(channel: Channel) -> bool:
    """Whether the channel's refusal decision was fitted on an owner's labelled questions."""
    path = channel.directory / REFUSAL_FILE
    return path.is_file() and RefusalModel.load(path).method == "labelled"


def calibrate_auto(
    app: App,
    channel: Channel,
    progress: Progress | None = None,
    output: Path | None = None,
    replace_labelled: bool = False,
) -> Calibration:
    """Fit the refusal decision from the channel's own posts and off-topic questions.

    Parameters
    ----------
    app
        The wired components.
    channel
        The channel to calibrate.
    progress
        Called with ``(done, total)`` while questions are searched.
    output
        Write here instead of the channel's directory.
    replace_labelled
        Overwrite a calibration the owner fitted on labelled questions.

    Raises
    ------
    ConfigError
        When the channel has a labelled calibration and neither ``output`` nor
        ``replace_labelled`` says to leave it or replace it.
    """
    if output is None and not replace_labelled and has_labelled(channel):
        raise ConfigError(
            f"Channel {channel.id} has a refusal calibration fitted on labelled questions "
            f"({channel.calibration()}); a label-free one would replace it. Keep it, or pass "
            "--replace-labelled (or --output FILE to write the new one elsewhere)."
        )
    retriever = HybridRetriever(channel, app.embedder, app.settings.retrieval)
    model = auto_calibrate(retriever, app.settings.answer.context_posts, progress)
    return _save(model, output or channel.directory / REFUSAL_FILE)


def calibrate_from_questions(
    app: App,
    channel: Channel,
    questions: Path,
    max_false_refusal: float,
    progress: Progress | None = None,
    output: Path | None = None,
) -> Calibration:
    """Fit the refusal decision on labelled questions (answerable and ``should_refuse``)."""
    items = load_questions(questions)
    retriever = HybridRetriever(channel, app.embedder, app.settings.retrieval)
    k = app.settings.answer.context_posts
    results = []
    for done, item in enumerate(items, start=1):
        results.append(retriever.search(item.query, k=k, mode="hybrid"))
        if progress is not None:
            progress(done, len(items))
    labels = [not item.should_refuse for item in items]
    model = fit_labelled(results, labels, app.embedder.name, max_false_refusal)
    return _save(model, output or channel.directory / REFUSAL_FILE)


def calibrate_if_changed(
    app: App, report: IndexReport, progress: Progress | None = None
) -> Calibration | None:
    """After indexing: recalibrate when the posts changed or the channel never was.

    Returns None when automatic calibration is off, nothing changed, or the owner's
    labelled calibration is kept.
    """
    channel = app.catalog.get(report.channel_id)
    changed = report.added or report.updated or report.removed
    if not app.settings.answer.auto_calibrate or has_labelled(channel):
        return None
    if not changed and (channel.directory / REFUSAL_FILE).is_file():
        return None
    return calibrate_auto(app, channel, progress)


def _save(model: RefusalModel, path: Path) -> Calibration:
    # No writer lock: the file is replaced atomically and a serving bot picks it up by
    # its modification time, so an owner can recalibrate while the bot runs.
    model.save(path)
    return Calibration(model, path)
