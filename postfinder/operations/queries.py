"""Ask a channel: search its posts, answer a question, and the bundled sample channel."""

from __future__ import annotations

from importlib import resources

from postfinder.answering.pipeline import Answer
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.indexer import IndexReport
from postfinder.language import reply_language
from postfinder.repeats.cache import Scope
from postfinder.repeats.flow import answer_through_cache
from postfinder.retrieval import SearchMode, SearchResult

SAMPLE_USERNAME = "postfinder_sample"


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
    answerer = app.answerer(channel, use_llm=use_llm)
    cache = app.answer_cache if use_cache else None
    if cache is None:
        return answerer.answer(question, use_llm)
    channel_id = answerer.retriever.channel.id
    scope = Scope(channel_id, None, reply_language(focus_question(question) or question))
    stamp = app.cache_stamp(channel_id, use_llm)
    return answer_through_cache(cache, answerer, question, scope, stamp, use_llm=use_llm).answer


def model_name(app: App, use_llm: bool = True) -> str | None:
    """The answer model's name, or None when answers are extractive only."""
    generator = app.generator if use_llm else None
    return generator.name if generator is not None else None


def index_sample(app: App) -> IndexReport:
    """Index the sample channel that ships with PostFinder (for `postfinder demo`)."""
    sample = resources.files("postfinder") / "sample" / "result.json"
    with resources.as_file(sample) as path, app.writing("demo"):
        return app.indexer().index_export(path, username=SAMPLE_USERNAME, progress=False)
