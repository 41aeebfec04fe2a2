"""From a question to a grounded answer with links, an extract, or an honest refusal."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import Literal

from postfinder.answering.answer_type import (
    answer_type_fits,
    asked_span,
    question_type,
    reply_fits,
)
from postfinder.answering.decision import decide, refuses, span_confidence
from postfinder.answering.extractive import (
    POSTS_CONSIDERED,
    extractive_answer,
    invented_share,
    pointed_sentence,
    quote_sentences,
    unmarked,
)
from postfinder.answering.grounding import CITATION_RE, GroundingChecker
from postfinder.answering.headline import content_overlap, is_headline
from postfinder.answering.injection import addresses_model
from postfinder.answering.names import names_held
from postfinder.answering.passages import RankedPost, best_sentences, rank_sentences, support_texts
from postfinder.answering.prompt import (
    NO_ANSWER,
    Prompt,
    build_prompt,
    charged_prefix_tokens,
    system_messages,
    timed_budget,
)
from postfinder.answering.question import focus_question
from postfinder.answering.quote import render_quote
from postfinder.answering.refusal import RefusalModel
from postfinder.answering.sanitize import MENTION_RE, URL_RE, sanitize_answer
from postfinder.answering.span import NO_SPAN, Pick, SpanPrompt, build_span_prompt, locate
from postfinder.answering.span import system_messages as span_system_messages
from postfinder.generation.base import ChatMessage, Generator, Token
from postfinder.ingest.post import Post
from postfinder.language import reply_language
from postfinder.phrases import phrase
from postfinder.retrieval import HybridRetriever, SearchResult
from postfinder.settings import AnswerSettings, LLMSettings
from postfinder.text import CONTROL_RE, join_sentences, shorten, split_sentences

log = logging.getLogger(__name__)
# "topic": the channel posted a headline about it, the detail is behind the post's link.
AnswerMode = Literal["generated", "extractive", "topic", "refused"]


@dataclass(frozen=True)
class Source:
    """A post an answer relies on."""

    n: int
    id: int
    link: str


@dataclass
class Answer:  # pylint: disable=too-many-instance-attributes
    """The outcome for one question."""

    question: str
    mode: AnswerMode
    answer: str
    language: str
    sources: list[Source] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    refusal_probability: float = 0.0
    # Before a comment thread's boost: what an unasked answer is judged by.
    retrieval_probability: float = 0.0
    draft: str | None = None
    rejected_draft: str | None = None
    lead: str = ""  # what a member reads first: the phrase, before any quoted evidence
    # What the span decision saw (fitted offline from evaluation records).
    signals: dict[str, float] = field(default_factory=dict)
    cached: bool = False  # given again from the answer cache, without the model

    def render(self) -> str:
        """Answer text followed by its source links, as plain text."""
        if not self.sources:
            return self.answer
        links = "\n".join(f"[{s.n}] {s.link}" for s in self.sources)
        return f"{self.answer}\n\n{phrase('sources', self.language)}:\n{links}"


@dataclass(frozen=True)
class _Reply:
    """What a member is shown: how it was made, its text, what they read first, its posts."""

    mode: AnswerMode
    text: str
    lead: str = ""
    sources: tuple[Source, ...] = ()

    @classmethod
    def refusal(cls, language: str) -> _Reply:
        """The honest refusal, in ``language``."""
        return cls("refused", phrase("refusal", language))


@dataclass(frozen=True)
class _Asked:
    """What the decision knows of a question before the model: retrieval's probability
    that the posts answer, the reply language, and when it was asked (a `perf_counter`
    reading: the model's time limit and its timings count from it, as the member waits)."""

    probability: float
    language: str
    started: float


@dataclass(frozen=True)
class _Trace:
    """What the model's attempt leaves on record whatever the reply (evaluation records it)."""

    draft: str | None = None
    rejected_draft: str | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # of the model: first token, all
    signals: dict[str, float] = field(default_factory=dict)  # what the span decision saw


@dataclass
class _Streamed:
    """What the model streamed (cut short at a word below the fitted confidence): its
    tokens, their timings, whether time ran out."""

    tokens: list[Token] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def text(self) -> str:
        """The reply as written so far."""
        return "".join(t.text for t in self.tokens)

    def confidence(self) -> dict[str, float]:
        """The model's log probabilities of the answer's words, before its first citation
        (the citation and the full stop after it are near certain whatever it wrote)."""
        words: list[float] = []
        for token in self.tokens:
            if "[" in token.text:
                break
            if token.text.strip():
                words.append(token.logprob)
        if not words:
            return {}
        return {"lead_logprob_mean": sum(words) / len(words), "lead_logprob_min": min(words)}


# A prompt cut to less than this share of its posts' tokens has the doubt limits of a
# short prompt; a few tokens less (a fast machine near max_prompt_tokens) keep the usual.
SHORTENED_BELOW = 0.75


def fixed_prefix(settings: AnswerSettings) -> list[ChatMessage]:
    """The messages every prompt of ``settings.style`` starts with (read once, then cached)."""
    return span_system_messages() if settings.style == "span" else system_messages()


def _words(text: str) -> str:
    """Lower-case words only, for comparing texts regardless of punctuation."""
    return " ".join(re.findall(r"\w+", text.lower()))


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
            settings.grounding_max_novel,
        )

    def retrieve(
        self, question: str, context: Sequence[int] = ()
    ) -> tuple[SearchResult, float, float]:
        """Search the channel; return the result, its answer probability, and the
        probability before a comment thread's boost.

        Parameters
        ----------
        question
            The focused question.
        context
            Posts the question is asked under (a comment thread's post and its
            neighbours): found among the candidates, they go first, and an answer from
            them needs only ``thread_threshold_factor`` of the usual probability.
        """
        result = self.retriever.search(
            question, k=self.settings.context_posts, mode="hybrid", prefer=context
        )
        raw = probability = self.refusal.probability(result)
        if result.hits and result.hits[0].post_id in context:
            # The asker points at this post: "when does it open?" under a post about a
            # rink is about that rink, however little the words say on their own.
            probability = min(1.0, probability / self.settings.thread_threshold_factor)
        return result, probability, raw

    def usable_posts(self, result: SearchResult) -> list[Post]:
        """The retrieved posts that may be quoted: present, and not instructions to a bot."""
        found = self.retriever.channel.posts(h.post_id for h in result.hits)
        posts = [found[h.post_id] for h in result.hits if h.post_id in found]
        return [p for p in posts if not addresses_model(p.text)]

    def answer(
        self,
        question: str,
        use_llm: bool = True,
        on_progress: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        language: str | None = None,
        context: Sequence[int] = (),
    ) -> Answer:
        """Answer ``question``.

        Parameters
        ----------
        question
            The member's message; it is reduced to its question first.
        use_llm
            Let the model write the answer (else quote the best sentence).
        on_progress
            Called with the answer so far each time the model completes a sentence that
            passes the grounding check, so a display can stream only verified text.
        cancel
            When set (time limit reached), generation stops and the extract is used.
        language
            Language of the fixed phrases (a chat's setting); detected when ``None``.
        context
            Posts the question was asked under (see `retrieve`).

        Returns
        -------
        Answer
            Mode, text, sources, timings and token counts.
        """
        started = time.perf_counter()
        query = focus_question(question)
        language = language or reply_language(query or question)
        timings: dict[str, float] = {}
        probability = raw = 0.0
        reply, trace = _Reply.refusal(language), _Trace()
        if query:
            result, probability, raw = self.retrieve(query, context)
            timings["retrieval_ms"] = (time.perf_counter() - started) * 1000
            posts = self.usable_posts(result)
            refuse = self._refuses(query, posts, probability)
            topic = None if refuse else self._headline(query, posts[0], language)
            if topic is not None:
                reply = topic  # no model: the post holds the topic, its link the detail
            elif not refuse:
                asked = _Asked(probability, language, started)
                reply, trace = self._compose(query, posts, asked, use_llm, on_progress, cancel)
        timings.update(trace.timings)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        if self._points(use_llm) and on_progress is not None and reply.mode != "refused":
            on_progress(reply.text)  # decided whole: nothing unverified is shown
        return Answer(
            question=question.strip(),
            mode=reply.mode,
            answer=reply.text,
            language=language,
            sources=list(reply.sources),
            timings=timings,
            tokens=trace.tokens,
            refusal_probability=probability,
            retrieval_probability=raw,
            draft=trace.draft,
            rejected_draft=trace.rejected_draft,
            lead=reply.lead,
            signals=trace.signals,
        )

    def match_refuses(self, probability: float, posts: Sequence[Post]) -> bool:
        """Whether the refusal decision refuses: the match is too weak, or no post found
        may be quoted (`retrieve`, `usable_posts`)."""
        return probability < self.refusal.threshold or not posts

    def _refuses(self, query: str, posts: list[Post], probability: float) -> bool:
        """Whether retrieval alone refuses: `match_refuses`, or the question names
        something no post shown mentions (`names_held`) and the match is not strong enough
        to outweigh that."""
        if self.match_refuses(probability, posts):
            return True
        return probability < self.settings.names_refuse_below and not names_held(
            query, (post.text for post in posts)
        )

    def _headline(self, question: str, post: Post, language: str) -> _Reply | None:
        """The reply "the channel posted about this" with ``post``, when it is a headline
        post that holds what was asked (`postfinder.answering.headline`); else ``None``."""
        if not is_headline(post) or (
            content_overlap(question, post, self.tokenize) < self.settings.headline_min_overlap
        ):
            return None
        # Room for the phrase and the closing "» [1]", which sanitising must not cut off.
        text = shorten(
            " ".join(CONTROL_RE.sub("", post.text).split()), self.settings.max_chars - 80
        )
        shown = self._keep_post_links(f"{phrase('topic', language)}\n«{text}» [1]", post)
        source = Source(1, post.id, self.retriever.channel.link(post.id))
        return _Reply("topic", shown, lead=shown, sources=(source,))

    def _points(self, use_llm: bool) -> bool:
        """Whether the model points at the answer (span style) rather than writing it."""
        return use_llm and self.generator is not None and self.settings.style == "span"

    def _compose(
        self,
        query: str,
        posts: list[Post],
        asked: _Asked,
        use_llm: bool,
        on_progress: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> tuple[_Reply, _Trace]:
        """Reply from posts that passed the refusal decision: the model's answer or an extract."""
        ranked = rank_sentences(query, posts, self.retriever.embedder, self.tokenize)
        if self._points(use_llm):
            return self._point(query, ranked, asked, cancel)
        generated: _Reply | None = None
        trace = _Trace()
        if use_llm and self.generator is not None:
            generated, trace = self._generate(query, ranked, asked, on_progress, cancel)
        # An extract replaces a draft that failed the checks; the draft stays on record.
        if generated is not None:
            return generated, trace
        if trace.rejected_draft:
            invented = invented_share(ranked, trace.rejected_draft, query, self.tokenize)
            if invented is not None:
                trace.signals["invented"] = invented
        extract = self._extract(query, ranked, asked.language, trace.rejected_draft)
        return extract or _Reply.refusal(asked.language), trace

    def _extract(
        self, question: str, ranked: list[RankedPost], language: str, draft: str | None = None
    ) -> _Reply | None:
        """Quote the best sentence of the top posts; None when none is worth quoting, or
        none of the best says the kind of thing asked (a sum, a date: `reply_fits`).

        A rejected ``draft`` may point at the sentence to quote (`pointed_sentence`).
        """
        within = self.settings.typed_extract_sentences
        typed = within > 0 and question_type(question) != "any"
        pointed = (
            pointed_sentence(ranked, draft, question, self.tokenize)
            if draft and self.settings.extract_follows_draft
            else None
        )
        quote, post = extractive_answer(
            ranked,
            self.settings.max_chars,
            says=partial(reply_fits, question) if typed else None,
            within=within,
            about=(
                partial(content_overlap, question, tokenize=self.tokenize)
                if self.settings.typed_extract_on_topic
                else None
            ),
            pointed=pointed,
        )
        if post is None:
            return None
        link = self.retriever.channel.link(post.id)
        # Searched in the quoted text only: the "1" of "[1]" is not the number asked for.
        span = asked_span(question, quote[: quote.rfind("»")]) if "**" not in quote else None
        if span is not None:  # the sum asked for, in bold inside the quote: read first
            quote = f"{quote[: span[0]]}**{quote[span[0] : span[1]].strip()}**{quote[span[1] :]}"
        quote = self._keep_post_links(quote, post)
        text = f"{phrase('extractive', language)}\n{quote}"
        return _Reply("extractive", text, lead=text, sources=(Source(1, post.id, link),))

    def _point(
        self,
        question: str,
        ranked: list[RankedPost],
        asked: _Asked,
        cancel: threading.Event | None,
    ) -> tuple[_Reply, _Trace]:
        """Let the model point at the answer (`postfinder.answering.span`) and decide.

        The model's probability of "the posts do not say" refuses near-misses that
        retrieval let through; a phrase it is unsure of, or of another kind than the
        question asks for, is replaced by the quoted sentence it comes from.
        """
        assert self.generator is not None
        probability, language = asked.probability, asked.language
        warmup = self._prefill(fixed_prefix(self.settings))
        budget, _ = self._prompt_budget(64, asked.started + warmup)
        prompt = build_span_prompt(question, ranked, self.generator.count_tokens, budget)
        if not prompt.sources:
            return _Reply.refusal(language), _Trace()
        if cancel is not None and cancel.is_set():
            return self._span_extract(prompt, None, language), _Trace()
        choice = self.generator.choose(
            prompt.prompt.messages,
            prompt.constraint,
            NO_SPAN,
            self.settings.span_max_tokens,
            cancel,
        )
        # One step: first token and whole, counted from the question.
        elapsed = (time.perf_counter() - asked.started) * 1000
        pick = locate(choice.text, prompt)
        confidence = span_confidence(choice.logprobs)
        type_ok = pick is not None and answer_type_fits(question, pick.text)
        signals = {
            "retrieval": probability,
            "no_answer": choice.refused,
            "confidence": confidence,
            "picked": float(pick is not None),
            "type_ok": float(type_ok),
        }
        decision = decide(probability, choice.refused, confidence, self.settings)
        rejected: str | None = choice.text
        if decision == "refuse" or choice.text.strip() == NO_SPAN:
            reply = _Reply.refusal(language)
        elif (
            pick is None
            or (cancel is not None and cancel.is_set())  # out of time: what it has is unsure
            or decision == "extract"
            or not type_ok
        ):
            reply = self._span_extract(prompt, pick, language)
        else:
            reply, rejected = self._render_pick(prompt, pick), None
        return reply, _Trace(
            draft=choice.text,
            rejected_draft=rejected,
            tokens={"prompt": prompt.prompt.tokens, "completion": len(choice.logprobs)},
            timings={"first_token_ms": elapsed, "generation_ms": elapsed},
            signals=signals,
        )

    def _render_pick(self, prompt: SpanPrompt, pick: Pick) -> _Reply:
        """ "**phrase** — «…sentence with **phrase**…» [1]" and the post's link."""
        item = prompt.prompt.items[pick.source.item]
        lead = unmarked(pick.text).strip()
        bold = None if pick.fixed else (pick.start, pick.end)
        quote = render_quote(item, pick.source.sentence, bold, self.settings.max_chars)
        text = (
            quote
            if _words(lead) == _words(item.sentences[pick.source.sentence])
            else (f"**{lead}** — {quote}")
        )
        return _Reply(
            "generated",
            self._keep_post_links(text, item.post),
            lead=lead,
            sources=(Source(1, item.post.id, self.retriever.channel.link(item.post.id)),),
        )

    def _span_extract(self, prompt: SpanPrompt, pick: Pick | None, language: str) -> _Reply:
        """Quote the sentence the model pointed at (else the best one) as an extract."""
        if pick is None:
            # As the plain extract: the best sentence of the top posts, a thread's post first.
            _, index, sentence = best_sentences(prompt.prompt.items[:POSTS_CONSIDERED])[0]
        else:
            index, sentence = pick.source.item, pick.source.sentence
        item = prompt.prompt.items[index]
        quote = render_quote(item, sentence, None, self.settings.max_chars)
        lead = f"{phrase('extractive', language)}\n{quote}"
        return _Reply(
            "extractive",
            self._keep_post_links(lead, item.post),
            lead=lead,
            sources=(Source(1, item.post.id, self.retriever.channel.link(item.post.id)),),
        )

    def _keep_post_links(self, text: str, post: Post) -> str:
        """Sanitise a quote of ``post``: its own links and domains stay as they are."""
        links = [self.retriever.channel.link(post.id), *post.links, *URL_RE.findall(post.text)]
        return sanitize_answer(text, links, MENTION_RE.findall(post.text), self.settings.max_chars)

    def _prefill(self, messages: Sequence[ChatMessage]) -> float:
        """Have the model read the fixed prefix (a no-op once it holds it); the seconds it
        took, which do not shorten this question's posts: it is read once per start."""
        assert self.generator is not None
        started = time.perf_counter()
        self.generator.prefill(messages)
        return time.perf_counter() - started

    @cached_property
    def _charged(self) -> int:
        """`charged_prefix_tokens` of this model: the same for every question."""
        assert self.generator is not None
        return charged_prefix_tokens(self.generator.count_tokens)

    def _prompt_budget(self, reply_tokens: int, asked_at: float) -> tuple[int, int]:
        """Prompt tokens for a question, and what they would be on a fast machine.

        The second is the window less ``reply_tokens``, at most ``max_prompt_tokens``; the
        first also what the model reads, at the speed it last ran, in what is left of
        ``prompt_seconds`` since the question was asked (``asked_at``, a `perf_counter`
        reading): retrieval and sentence ranking have spent the rest (`timed_budget`).
        """
        assert self.generator is not None
        generator = self.generator
        full = min(generator.context_size - reply_tokens, self.settings.max_prompt_tokens)
        spent = time.perf_counter() - asked_at
        timed = timed_budget(
            full, self._charged, generator.prompt_rate(), self.settings.prompt_seconds, spent
        )
        return timed, full

    def _free_prompt(
        self, question: str, ranked: list[RankedPost], asked_at: float
    ) -> tuple[Prompt, bool]:
        """The free style's prompt, and whether time cut it short: it shows less than
        `SHORTENED_BELOW` of the tokens of posts the full budget would show."""
        assert self.generator is not None
        count = self.generator.count_tokens
        budget, full = self._prompt_budget(self.llm_settings.max_tokens, asked_at)
        prompt = build_prompt(question, ranked, count, budget)
        if budget >= full:
            return prompt, False
        whole = build_prompt(question, ranked, count, full).tokens - self._charged
        return prompt, prompt.tokens - self._charged < SHORTENED_BELOW * whole

    def _generate(
        self,
        question: str,
        ranked: list[RankedPost],
        asked: _Asked,
        on_progress: Callable[[str], None] | None,
        cancel: threading.Event | None = None,
    ) -> tuple[_Reply | None, _Trace]:
        """Let the model answer; no reply when its draft fails the checks (the extract
        answers), a refusal when the model judges that the posts do not say."""
        assert self.generator is not None
        warmup = self._prefill(fixed_prefix(self.settings))
        prompt, shortened = self._free_prompt(question, ranked, asked.started + warmup)
        if not prompt.posts:
            return None, _Trace()
        started = asked.started  # the timings count from the question, as the member waits
        # The model's own doubt, read from its first token before it writes: what refuses
        # near-misses (the topic is in the channel, the detail asked is not).
        no_answer = self.generator.first_token_probability(prompt.messages, NO_ANSWER)
        signals = {
            "retrieval": asked.probability,
            "no_answer": no_answer,
            "shortened": float(shortened),
        }
        settings = self.settings
        above, weight = (
            (settings.short_no_answer_refuse_above, settings.short_no_answer_retrieval_weight)
            if shortened  # shown less of the posts, the model doubts more often
            else (settings.no_answer_refuse_above, settings.no_answer_retrieval_weight)
        )
        if refuses(asked.probability, no_answer, above, weight):
            probe_ms = (time.perf_counter() - started) * 1000
            timings = {"first_token_ms": probe_ms, "generation_ms": probe_ms}
            return _Reply.refusal(asked.language), _Trace(
                tokens={"prompt": prompt.tokens, "completion": 0},
                timings=timings,
                signals=signals,
            )
        # Shown one window of each post, the small model more often copies the wrong part
        # of it: its draft only points at the sentence to quote, so nothing is streamed.
        shown = None if shortened else on_progress
        streamed = self._stream(prompt, question, shown, cancel, started)
        timings = streamed.timings
        if streamed.timed_out:  # the extract answers instead
            return None, _Trace(
                draft=streamed.text, rejected_draft=streamed.text, timings=timings, signals=signals
            )
        signals.update(streamed.confidence())
        draft = streamed.text.strip()  # cut short when the model was unsure of a word
        trace = _Trace(
            draft=draft,
            tokens={
                "prompt": prompt.tokens,
                "completion": self.generator.count_tokens(draft) if draft else 0,
            },
            timings=timings,
            signals=signals,
        )
        if draft.startswith(NO_ANSWER):
            # The model said the posts do not answer: the extract must not answer for it.
            return _Reply.refusal(asked.language), replace(trace, rejected_draft=draft)
        reply = None if shortened else self._accepted(draft, prompt, question, signals)
        return reply, (trace if reply is not None else replace(trace, rejected_draft=draft))

    def _accepted(
        self, draft: str, prompt: Prompt, question: str, signals: dict[str, float]
    ) -> _Reply | None:
        """The reply a draft makes when it passes every check; ``None``: the extract answers."""
        if not draft or NO_ANSWER in draft:
            return None
        if signals.get("lead_logprob_min", 0.0) < self.settings.min_lead_logprob:
            # Fluent but unsure: a small model's wrong part of the right sentence reads as
            # well as the right part; the quoted sentence leads instead.
            log.info("Draft below the model's fitted confidence: %r", draft)
            return None
        report = self.checker.check(draft, self._support(prompt), question)
        failed = ""
        if not report.supported:
            failed = "the grounding check"
        elif not reply_fits(question, report.cited_text()):
            failed = "the kind of answer asked"
        if failed:
            log.info("Draft failed %s: %r", failed, draft)
            return None
        cited = {n: prompt.posts[n - 1] for n in report.cited if 1 <= n <= len(prompt.posts)}
        if not cited:  # none of the posts it was shown: nothing to link, the extract answers
            return None
        # Only links and mentions of the posts the answer rests on, not of every shown post.
        clean = self._clean(report.cited_text(), list(cited.values()))
        return _Reply(
            "generated",
            self._with_evidence(clean, prompt, report.cited),
            lead=clean,
            sources=tuple(
                Source(n, post.id, self.retriever.channel.link(post.id))
                for n, post in cited.items()
            ),
        )

    def _stream(
        self,
        prompt: Prompt,
        question: str,
        on_progress: Callable[[str], None] | None,
        cancel: threading.Event | None,
        started: float,
    ) -> _Streamed:
        """Run the model, showing each completed sentence once it passes the checks.

        ``started`` is a ``perf_counter`` reading of when the question was asked: the
        timings count from it (the end is not timed when it ran out of time).
        """
        assert self.generator is not None
        out = _Streamed()
        shown = 0
        # Once the fitted decision has said "answer" (`_generate`), the greedy first token
        # may not overrule it; with the decision off the model's own NO_ANSWER refuses.
        decided = self.settings.no_answer_refuse_above < 1.0
        for token in self.generator.stream(
            prompt.messages, self.llm_settings.max_tokens, avoid=NO_ANSWER if decided else ""
        ):
            if not out.tokens:
                out.timings["first_token_ms"] = (time.perf_counter() - started) * 1000
            out.tokens.append(token)
            if cancel is not None and cancel.is_set():
                out.timed_out = True
                return out
            if out.confidence().get("lead_logprob_min", 0.0) < self.settings.min_lead_logprob:
                break  # the rest of an answer that will not lead is not worth the wait
            if on_progress is None:
                continue
            complete = split_sentences(out.text)[:-1]
            if len(complete) > shown:
                verified = self._verified(join_sentences(complete), prompt, question)
                if verified is None:
                    break  # a sentence failed: stop early, the extract replaces the draft
                shown = len(complete)
                on_progress(verified)
        out.timings["generation_ms"] = (time.perf_counter() - started) * 1000
        return out

    def _with_evidence(self, text: str, prompt: Prompt, cited: list[int]) -> str:
        """Follow the answer with the sentences of its post that support it, quoted.

        A member can check a short answer ("Перл Маки [1].") against the post's own words
        without opening the link; a small model's slip stays visible next to the source.
        """
        if not self.settings.show_evidence or not cited or not 1 <= cited[0] <= len(prompt.items):
            return text
        quote = CONTROL_RE.sub("", quote_sentences(prompt.items[cited[0] - 1]))
        if not quote or _words(quote) in _words(CITATION_RE.sub("", text)):
            return text  # the answer already says it in the post's words
        room = self.settings.max_chars - len(text) - 8
        if room < 40:
            return text
        quote = shorten(quote, room)
        return f"{text}\n«{quote}» [{cited[0]}]"

    def _support(self, prompt: Prompt) -> list[str]:
        """What an answer may rest on (see `support_texts`)."""
        return support_texts(prompt.items, self.settings.grounding_support_sentences)

    def _clean(self, draft: str, posts: list[Post]) -> str:
        """Sanitise a draft against the posts the prompt showed."""
        allowed_links = [self.retriever.channel.link(p.id) for p in posts]
        # Entity links and the bare domains the posts' text contains stay as they are.
        allowed_links += [link for p in posts for link in (*p.links, *URL_RE.findall(p.text))]
        mentions = [m for p in posts for m in MENTION_RE.findall(p.text)]
        return sanitize_answer(draft, allowed_links, mentions, self.settings.max_chars)

    def _verified(self, so_far: str, prompt: Prompt, question: str) -> str | None:
        """Return the sanitised partial answer if every sentence is grounded, else None."""
        if not self.checker.check(so_far, self._support(prompt), question).supported:
            return None
        return self._clean(so_far, prompt.posts)
