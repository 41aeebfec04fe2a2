"""From a question to a grounded answer with links, an extract, or an honest refusal."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from postfinder.answering.extractive import extractive_answer
from postfinder.answering.grounding import GroundingChecker
from postfinder.answering.phrases import phrase
from postfinder.answering.prompt import NO_ANSWER, build_prompt
from postfinder.answering.refusal import RefusalModel
from postfinder.answering.sanitize import MENTION_RE, sanitize_answer
from postfinder.generation.base import Generator
from postfinder.ingest.post import Post
from postfinder.retrieval import HybridRetriever, SearchResult
from postfinder.settings import AnswerSettings, LLMSettings
from postfinder.text import detect_language, split_sentences

log = logging.getLogger(__name__)
AnswerMode = Literal["generated", "extractive", "refused"]


@dataclass(frozen=True)
class Source:
    """A post an answer relies on."""

    n: int
    id: int
    link: str


@dataclass
class Answer:
    """The outcome for one question."""

    question: str
    mode: AnswerMode
    answer: str
    language: str
    sources: list[Source] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    refusal_probability: float = 0.0
    rejected_draft: str | None = None

    def render(self) -> str:
        """Answer text followed by its source links, as plain text."""
        if not self.sources:
            return self.answer
        links = "\n".join(f"[{s.n}] {s.link}" for s in self.sources)
        return f"{self.answer}\n\n{phrase('sources', self.language)}:\n{links}"


class Answerer:
    """Answers questions about one channel.

    Parameters
    ----------
    retriever
        Hybrid retriever of the channel.
    generator
        Local model, or ``None`` for extractive answers only.
    refusal
        Calibrated refusal model.
    settings, llm_settings
        Answer and model settings.
    """

    def __init__(
        self,
        retriever: HybridRetriever,
        generator: Generator | None,
        refusal: RefusalModel,
        settings: AnswerSettings,
        llm_settings: LLMSettings,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.refusal = refusal
        self.settings = settings
        self.llm_settings = llm_settings
        tokenize = retriever.channel.tokenizer().tokenize
        self.tokenize = tokenize
        self.checker = GroundingChecker(
            retriever.embedder,
            tokenize,
            settings.grounding_min_similarity,
            settings.grounding_min_overlap,
        )

    def retrieve(self, question: str) -> tuple[SearchResult, float]:
        """Search the channel and return the result with its answer probability."""
        result = self.retriever.search(question, k=self.settings.context_posts, mode="hybrid")
        return result, self.refusal.probability(result)

    def answer(
        self,
        question: str,
        use_llm: bool = True,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        """Answer ``question``.

        Parameters
        ----------
        question
            The member's question.
        use_llm
            Let the model write the answer (else quote the best post).
        on_progress
            Called with the answer so far each time the model completes a sentence that
            passes the grounding check, so a display can stream only verified text.
        cancel
            When set (time limit reached), generation stops and the extract is used.

        Returns
        -------
        Answer
            Mode, text, sources, timings and token counts.
        """
        started = time.perf_counter()
        question = question.strip()
        language = detect_language(question)
        result, probability = self.retrieve(question)
        timings = {"retrieval_ms": (time.perf_counter() - started) * 1000}
        base = Answer(question, "refused", phrase("refusal", language), language)
        base.refusal_probability = probability
        base.timings = timings
        found = self.retriever.channel.docs.get(h.post_id for h in result.hits)
        posts = [found[h.post_id] for h in result.hits if h.post_id in found]
        if probability < self.refusal.threshold or not posts:
            timings["total_ms"] = (time.perf_counter() - started) * 1000
            return base
        if use_llm and self.generator is not None:
            generated = self._generate(question, posts, base, on_progress, cancel)
            if generated is not None:
                timings["total_ms"] = (time.perf_counter() - started) * 1000
                return generated
        base.mode = "extractive"
        quote = extractive_answer(
            question, posts, self.retriever.embedder, self.tokenize, self.settings.max_chars
        )
        top = posts[0]
        quote = sanitize_answer(
            quote,
            [*top.links, self.retriever.channel.link(top.id)],
            MENTION_RE.findall(top.text),
            self.settings.max_chars,
        )
        base.answer = f"{phrase('extractive', language)}\n{quote}"
        base.sources = [Source(1, posts[0].id, self.retriever.channel.link(posts[0].id))]
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return base

    def _generate(
        self,
        question: str,
        posts: list[Post],
        base: Answer,
        on_progress: Callable[[str], None] | None,
        cancel: threading.Event | None = None,
    ) -> Answer | None:
        """Let the model answer; return ``None`` when its draft fails the checks."""
        assert self.generator is not None
        max_tokens = self.llm_settings.max_tokens
        budget = min(self.generator.context_size - max_tokens, self.settings.max_prompt_tokens)
        prompt = build_prompt(question, posts, self.generator.count_tokens, budget)
        started = time.perf_counter()
        pieces: list[str] = []
        shown = 0
        for piece in self.generator.stream(prompt.messages, max_tokens):
            if not pieces:
                base.timings["first_token_ms"] = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if cancel is not None and cancel.is_set():
                base.rejected_draft = "".join(pieces)
                return None  # out of time: the extract answers instead
            if on_progress is None:
                continue
            complete = split_sentences("".join(pieces))[:-1]
            if len(complete) > shown:
                verified = self._verified(" ".join(complete), prompt.posts)
                if verified is None:
                    break  # a sentence failed: stop early, the extract replaces the draft
                shown = len(complete)
                on_progress(verified)
        base.timings["generation_ms"] = (time.perf_counter() - started) * 1000
        draft = "".join(pieces).strip()
        base.tokens = {
            "prompt": prompt.tokens,
            "completion": self.generator.count_tokens(draft) if draft else 0,
        }
        if not draft or NO_ANSWER in draft:
            base.rejected_draft = draft
            return None
        clean = self._clean(draft, prompt.posts)
        report = self.checker.check(clean, prompt.posts)
        if not report.supported:
            log.info("Draft failed the grounding check: %r", draft)
            base.rejected_draft = draft
            return None
        base.mode = "generated"
        base.answer = clean
        base.sources = [
            Source(n, prompt.posts[n - 1].id, self.retriever.channel.link(prompt.posts[n - 1].id))
            for n in report.cited
            if 1 <= n <= len(prompt.posts)
        ]
        if not base.sources:
            return None
        return base

    def _clean(self, draft: str, posts: list[Post]) -> str:
        """Sanitise a draft against the posts the prompt showed."""
        allowed_links = [self.retriever.channel.link(p.id) for p in posts]
        allowed_links += [link for p in posts for link in p.links]
        mentions = [m for p in posts for m in MENTION_RE.findall(p.text)]
        return sanitize_answer(draft, allowed_links, mentions, self.settings.max_chars)

    def _verified(self, partial: str, posts: list[Post]) -> str | None:
        """Return the sanitised partial answer if every sentence is grounded, else None."""
        clean = self._clean(partial, posts)
        return clean if self.checker.check(clean, posts).supported else None
