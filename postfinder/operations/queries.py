"""Ask a channel: search its posts, answer a question, and the bundled sample channel."""

from __future__ import annotations

import logging
from importlib import resources

from postfinder.answering.pipeline import Answer
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.errors import StoreError
from postfinder.indexer import IndexReport
from postfinder.language import reply_language
from postfinder.repeats.cache import AnswerCache, Scope
from postfinder.repeats.flow import answer_through_cache
from postfinder.retrieval import SearchMode, SearchResult

SAMPLE_USERNAME = "postfinder_sample"
log = logging.getLogger(__name__)


def search(
    app: App,
    query: str,
    channel: str | int | None = None,
    k: int | None = None,
    mode: SearchMode | None = None,
) -> SearchResult:
    """Find a channel's posts by meaning and by keyword (``mode``: settings by default)."""
    return app.retriever(channel).search(query, k=k, mode=mode)


def answer(
    app: App,
    question: str,
    channel: str | int | None = None,
    use_llm: bool = True,
    use_cache: bool = True,
) -> Answer:
    """Answer a question from a channel's posts, with links to them (or refuse).

    A question asked before (in the bot or here) gets the stored answer, unless
    ``use_cache`` is off or the cache is disabled in the settings.
    """
    cache = _cache(app) if use_cache else None
    if cache is None:
        return app.answerer(channel, use_llm=use_llm).answer(question, use_llm)
    channel_id = app.channel(channel).id
    stamp = app.cache_stamp(channel_id, use_llm)  # before the pipeline reads anything
    answerer = app.answerer(channel_id, use_llm=use_llm)
    scope = Scope(channel_id, None, reply_language(focus_question(question) or question))
    return answer_through_cache(cache, answerer, question, scope, stamp, use_llm=use_llm).answer


def _cache(app: App) -> AnswerCache | None:
    """The answer cache, or None (with a warning) when its database cannot be opened:
    a read-only data directory still answers, only without the cache."""
    try:
        return app.answer_cache
    except StoreError as exc:
        log.warning("Answering without the answer cache: %s", exc)
        return None


def model_name(app: App, use_llm: bool = True) -> str | None:
    """The answer model's name, or None when answers are extractive only."""
    generator = app.generator if use_llm else None
    return generator.name if generator is not None else None


def index_sample(app: App) -> IndexReport:
    """Index the sample channel that ships with PostFinder (for `postfinder demo`)."""
    sample = resources.files("postfinder") / "sample" / "result.json"
    with resources.as_file(sample) as path, app.writing("demo"):
        report = app.indexer().index_export(path, username=SAMPLE_USERNAME, progress=False)
        if app.answer_cache is not None:
            app.answer_cache.drop_channel(report.channel_id)
        return report
