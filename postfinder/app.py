"""One wiring function builds every component from the settings."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from postfinder import __version__
from postfinder.answering.pipeline import Answerer
from postfinder.answering.refusal import RefusalModel
from postfinder.channels import REFUSAL_FILE, Catalog, Channel
from postfinder.chunking import Chunker
from postfinder.conversation.service import Conversation
from postfinder.conversation.storage import BotStorage
from postfinder.embeddings.base import Embedder
from postfinder.embeddings.factory import build_embedder
from postfinder.generation.base import Generator
from postfinder.generation.factory import build_generator
from postfinder.indexer import Indexer
from postfinder.repeats.cache import AnswerCache
from postfinder.repeats.rule import ParaphraseRule
from postfinder.retrieval import HybridRetriever
from postfinder.settings import Settings
from postfinder.store.factory import build_vector_store
from postfinder.store.lock import WriterLock
from postfinder.store.vectors import VectorStore
from postfinder.workqueue import WorkQueue

log = logging.getLogger(__name__)


class App:
    """The components of PostFinder, created on first use.

    Parameters
    ----------
    settings
        Settings, built once by the caller.
    embedder, vectors, generator
        Ready components to use instead of building them (tests pass fakes here).
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self._warned: set[int] = set()
        self._refusal: dict[Path, tuple[float | None, RefusalModel]] = {}
        self._writer: WriterLock | None = None
        for name, component in (
            ("embedder", embedder),
            ("vectors", vectors),
            ("generator", generator),
        ):
            if component is not None:
                self.__dict__[name] = component

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedder (loaded lazily: listing channels needs none)."""
        return build_embedder(self.settings)

    @cached_property
    def vectors(self) -> VectorStore:
        """The configured vector store."""
        return build_vector_store(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        """The indexed channels."""
        return Catalog(self.settings, self.vectors)

    def indexer(self) -> Indexer:
        """Return an indexer using the configured embedder and chunking."""
        cfg = self.settings.embedding
        max_tokens = min(cfg.chunk_tokens, self.embedder.max_tokens)
        chunker = Chunker(
            self.embedder.count_tokens, max_tokens, min(cfg.chunk_overlap, max_tokens // 2)
        )
        return Indexer(self.catalog, self.embedder, chunker, batch_size=cfg.batch_size)

    def channel(self, channel: str | int | None = None) -> Channel:
        """Return an indexed channel: an id, or a name or username to resolve."""
        return (
            self.catalog.get(channel) if isinstance(channel, int) else self.catalog.resolve(channel)
        )

    def retriever(self, channel: str | int | None = None) -> HybridRetriever:
        """Return a retriever for a channel: an id, or a name or username to resolve."""
        return HybridRetriever(self.channel(channel), self.embedder, self.settings.retrieval)

    @cached_property
    def generator(self) -> Generator | None:
        """The local model, loaded once per process (``None``: extractive answers only)."""
        return build_generator(self.settings)

    @cached_property
    def work_queue(self) -> WorkQueue:
        """The one queue in front of the model and the embedder, shared by every front end."""
        return WorkQueue(self.settings.llm.queue_size, self.settings.llm.timeout_s)

    @cached_property
    def storage(self) -> BotStorage:
        """Members' questions, votes and chat settings (opened on first use)."""
        return BotStorage(self.settings.bot_db, self.settings.secret_file)

    @cached_property
    def answer_cache(self) -> AnswerCache | None:
        """Stored answers of repeated questions (``None`` when ``cache.enabled`` is off)."""
        cfg = self.settings.cache
        if not cfg.enabled:
            # Nothing stored earlier may be given after the cache is turned on again:
            # while off, no edit or deletion ends its entries.
            self.storage.clear_answer_cache()
            return None
        return AnswerCache(
            self.storage.path,  # the storage opened and migrated it
            ParaphraseRule(cfg.min_similarity),
            cfg.ttl_hours * 3600,
            cfg.refusal_ttl_hours * 3600,
            cfg.max_entries,
        )

    @cached_property
    def _answer_conditions(self) -> str:
        """A digest of what an answer depends on: PostFinder's version (its prompts and
        shipped calibration) and the settings of models, retrieval and answering."""
        cfg = self.settings
        parts = (cfg.embedding, cfg.lexical, cfg.retrieval, cfg.llm, cfg.answer)
        text = "|".join([__version__, *(part.model_dump_json() for part in parts)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def cache_stamp(self, channel: int, use_llm: bool = True) -> str:
        """What a cached answer of ``channel`` must have been made under to be given again:
        the same settings and models, the same refusal calibration (by its file's time)."""
        target = self.catalog.get(channel)
        path = self.settings.answer.refusal_calibration or target.directory / REFUSAL_FILE
        calibrated = path.stat().st_mtime_ns if path.is_file() else 0
        return f"{self._answer_conditions}:{int(use_llm)}:{calibrated}"

    @cached_property
    def conversation(self) -> Conversation:
        """The question flow that every front end (the Telegram bot first) hands messages to."""
        cfg = self.settings.telegram
        return Conversation(
            self,
            self.work_queue,
            self.storage,
            cfg.user_per_minute,
            cfg.chat_per_minute,
            cfg.edit_interval_s,
            cfg.auto_answer,
            self.settings.answer.unasked_min_probability,
            self.answer_cache,
        )

    @contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Hold the data directory's writer lock while a use-case writes.

        Re-entrant within this process: under ``serve``, which holds the lock for as long
        as the bot runs, the operations it calls write without taking it again.

        Raises
        ------
        DataDirBusyError
            When another process writes the data directory.
        """
        if self._writer is not None:
            yield
            return
        self._writer = WriterLock(self.settings.data_dir, command).acquire()
        try:
            yield
        finally:
            self._writer.release()
            self._writer = None

    def refusal_model(self, channel: Channel) -> RefusalModel:
        """Return the configured, the channel's own, or the shipped refusal calibration."""
        path = self.settings.answer.refusal_calibration or channel.directory / REFUSAL_FILE
        # Cached by file and modification time: the bot asks for it on every question,
        # and a new `postfinder calibrate` still takes effect without a restart.
        stamp = path.stat().st_mtime if path.is_file() else None
        cached = self._refusal.get(path)
        if cached is None or cached[0] != stamp:
            model = RefusalModel.load(path) if stamp is not None else RefusalModel.default()
            self._refusal[path] = cached = (stamp, model)
        model = cached[1]
        if model.embedder != self.embedder.name and channel.id not in self._warned:
            self._warned.add(channel.id)  # once per channel, not on every question
            log.warning(
                "Refusal calibration was fitted with %s, not %s; run 'postfinder calibrate'.",
                model.embedder,
                self.embedder.name,
            )
        return model

    def answerer(self, channel: str | int | None = None, use_llm: bool = True) -> Answerer:
        """Return the answer pipeline for a channel."""
        retriever = self.retriever(channel)
        generator = self.generator if use_llm else None
        return Answerer(
            retriever,
            generator,
            self.refusal_model(retriever.channel),
            self.settings.answer,
            self.settings.llm,
        )

    def close(self) -> None:
        """Release open channel databases and the members' database."""
        if "catalog" in self.__dict__:
            self.catalog.close()
        cache = self.__dict__.get("answer_cache")
        if cache is not None:
            cache.close()
        if "storage" in self.__dict__:
            self.storage.close()


def build_app(settings: Settings) -> App:
    """Build the application from settings."""
    return App(settings)
