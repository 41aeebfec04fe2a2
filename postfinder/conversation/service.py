"""The flow of one question, the same for every front end.

A front end (the Telegram bot today, Discord or a web widget tomorrow) turns its
incoming message into an `Incoming` and implements `Replier`, the few things only it
can do: show that it is working, show partial text, deliver an answer, send a notice.
`Conversation.ask` does everything else, once: claiming the message (an update
delivered twice is answered once), per-user and per-chat rate limits, a place in the
model's queue or a "busy" notice, streaming verified text at most every
``edit_interval_s``, the chat's language, and recording the outcome for /stats.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Protocol

from postfinder.answering.pipeline import Answer, Answerer
from postfinder.conversation.ratelimit import TokenBuckets
from postfinder.conversation.storage import BotStorage, RepeatInfo
from postfinder.errors import PostfinderError, StoreError
from postfinder.language import reply_language
from postfinder.phrases import LANGUAGES, phrase
from postfinder.repeats.cache import AnswerCache, Scope
from postfinder.repeats.flow import Outcome, answer_through_cache, quick_lookup
from postfinder.repeats.keys import normal_form
from postfinder.workqueue import WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """A question as any front end sees it.

    Attributes
    ----------
    chat_id, message_id, user_id
        Where it was asked and by whom (ids of the front end's platform).
    text
        The question (the bot's own mention removed).
    channel_id
        The indexed channel that answers this chat.
    thread_post
        The channel post whose comment thread the question was asked in, if any.
    addressed
        Whether the member addressed the bot (a mention, a reply to it, a private chat,
        a command). An unaddressed question (auto-answer) gets a reply only when the bot
        is sure, and never a refusal, a "busy" or an error notice.
    platform
        The front end it came through (``telegram``, ``discord``), for the stats.
    """

    chat_id: int
    message_id: int
    user_id: int
    text: str
    channel_id: int
    thread_post: int | None = None
    addressed: bool = True
    platform: str = "telegram"


def _flight_key(incoming: Incoming, scope: Scope) -> tuple[object, ...]:
    """What makes two questions the same while the first is being answered."""
    return (scope.channel_id, scope.thread_post, scope.language, normal_form(incoming.text))


def speaks_unasked(answer: Answer, min_probability: float) -> bool:
    """Whether an answer may be sent to a question nobody addressed to the bot.

    Only an answer (not a refusal) whose posts answer with at least ``min_probability``,
    judged before a comment thread's boost: under a post, an off-topic question still
    finds that post first, and a quote of it is an unsolicited wrong reply.
    """
    return answer.mode != "refused" and answer.retrieval_probability >= min_probability


class Replier(Protocol):
    """What a front end does for one question."""

    async def working(self, language: str) -> None:
        """Show the asker that the bot is on it (a reaction, typing, a placeholder)."""

    async def progress(self, text: str) -> None:
        """Show the verified part of the answer written so far."""

    async def deliver(self, answer: Answer, question_id: int) -> int | None:
        """Send the final answer; return its message id."""

    async def notice(self, text: str) -> int | None:
        """Send a short message instead of an answer (busy, error); return its id."""


class AnswererSource(Protocol):
    """Where the service gets a channel's answer pipeline (the `App`)."""

    def answerer(self, channel: str | int | None = None, use_llm: bool = True) -> Answerer:
        """Return the answer pipeline of a channel."""

    def cache_stamp(self, channel: int, use_llm: bool = True) -> str:
        """Return what a cached answer of the channel must have been made under."""


class Conversation:
    """Answers questions from any front end, one flow for all.

    Parameters
    ----------
    answerers
        Gives the answer pipeline of a channel (the `App`).
    queue
        The one queue in front of the model (owned by the `App`).
    storage
        Questions, votes and chat settings.
    user_per_minute, chat_per_minute
        Rate limits.
    edit_interval_s
        Shortest time between two progress updates (edits count against flood limits).
    default_auto
        Whether chats answer questions without a mention unless their admins chose.
    unasked_min_probability
        What an answer to an unaddressed question needs (see `speaks_unasked`).
    cache
        Stored answers of repeated questions (None: every question runs the pipeline).
    """

    def __init__(  # pylint: disable=too-many-arguments,too-many-positional-arguments
        self,
        answerers: AnswererSource,
        queue: WorkQueue,
        storage: BotStorage,
        user_per_minute: float,
        chat_per_minute: float,
        edit_interval_s: float,
        default_auto: bool,
        unasked_min_probability: float = 1.0,
        cache: AnswerCache | None = None,
    ) -> None:
        self.answerers = answerers
        self.queue = queue
        self.storage = storage
        self.user_limits = TokenBuckets(user_per_minute)
        self.chat_limits = TokenBuckets(chat_per_minute)
        self.edit_interval_s = edit_interval_s
        self.default_auto = default_auto
        self.unasked_min_probability = unasked_min_probability
        self.cache = cache
        self._flights: dict[tuple[object, ...], asyncio.Future[Outcome | None]] = {}

    def language(self, chat_id: int, text: str, fallback: str = "") -> str:
        """The chat's chosen language, else the one the text is written in.

        ``fallback`` (e.g. the member's app language) is used when the text has no
        words to tell it by, as in "/forget https://t.me/..." .
        """
        hint = self.storage.chat_settings(chat_id, self.default_auto).language
        if hint and hint != "auto":
            return hint
        words = [w for w in text.split() if not w.startswith(("/", "@", "http", "t.me"))]
        if not any(ch.isalpha() for ch in "".join(words)) and fallback in LANGUAGES:
            return fallback
        return reply_language(text)

    def auto_answer(self, chat_id: int) -> bool:
        """Whether the chat wants questions answered without a mention."""
        return self.storage.chat_settings(chat_id, self.default_auto).auto_answer

    async def ask(self, incoming: Incoming, replier: Replier) -> str | None:
        """Answer one question exactly once.

        Returns
        -------
        str or None
            The outcome recorded (``generated``, ``extractive``, ``refused``, ``busy``,
            ``rate_limited``, ``error``), ``silent`` for an unaddressed question the bot
            was not sure of (recorded as refused), or ``None`` when the message was
            already taken.
        """
        language = self.language(incoming.chat_id, incoming.text)
        qid = self.storage.claim_question(
            incoming.chat_id,
            incoming.message_id,
            incoming.user_id,
            incoming.text,
            incoming.channel_id,
            incoming.platform,
        )
        if qid is None:
            return None  # the same update delivered twice
        started = time.perf_counter()
        limited = self._limited(incoming)
        if limited is not None:
            if limited:
                await self._notice(incoming, replier, phrase("rate", language))
            self.storage.finish_question(qid, "rate_limited", 0.0, None)
            return "rate_limited"
        scope = Scope(incoming.channel_id, incoming.thread_post, language)
        outcome = self._quick(incoming, scope) or await self._answer(qid, incoming, replier, scope)
        if isinstance(outcome, str):
            return outcome  # busy or error, told and recorded
        return await self._finish(qid, incoming, replier, outcome, started)

    async def _answer(
        self, qid: int, incoming: Incoming, replier: Replier, scope: Scope
    ) -> Outcome | str:
        """A question not answered before: wait for the same question asked a moment ago
        (a burst after a popular post waits for that one answer, not in line), else run
        the pipeline on the queue. Returns the outcome, or what was told instead."""
        key = _flight_key(incoming, scope)
        flight = self._flights.get(key)
        if flight is not None:
            if incoming.addressed:
                await replier.working(scope.language)
            done = await asyncio.shield(flight)
            if done is not None and done.entry_id is not None:  # stored: complete, current
                answer = replace(done.answer, question=incoming.text.strip(), cached=True)
                return Outcome(answer, done.entry_id, done.key)  # the others' words stay theirs
            return await self._queued(qid, incoming, replier, scope, shown=True)
        if self.cache is None or not key[-1]:
            return await self._queued(qid, incoming, replier, scope)
        # Taken before any wait, so that a burst arriving at once follows the first.
        flight = self._flights[key] = asyncio.get_running_loop().create_future()
        outcome: Outcome | str = "error"
        try:
            outcome = await self._queued(qid, incoming, replier, scope)
            return outcome
        finally:
            del self._flights[key]
            # Busy, failed or cancelled: the others try on their own.
            flight.set_result(outcome if isinstance(outcome, Outcome) else None)

    async def _queued(
        self, qid: int, incoming: Incoming, replier: Replier, scope: Scope, shown: bool = False
    ) -> Outcome | str:
        """Run the pipeline on the queue, or say "busy" or that it failed."""
        if not self.queue.try_reserve():
            reply = await self._notice(incoming, replier, phrase("busy", scope.language))
            self.storage.finish_question(qid, "busy", 0.0, reply)
            return "busy"
        try:
            if incoming.addressed and not shown:  # unasked: nothing shows until sure
                await replier.working(scope.language)
        except BaseException:
            self.queue.release()
            raise
        try:
            return await self._run(incoming, replier, scope)
        except PostfinderError as exc:
            log.warning("Could not answer %s: %s", qid, exc)
            reply = await self._notice(incoming, replier, phrase("error", scope.language))
            self.storage.finish_question(qid, "error", 0.0, reply)
            return "error"

    async def _finish(
        self, qid: int, incoming: Incoming, replier: Replier, outcome: Outcome, started: float
    ) -> str:
        """Deliver the answer (unless nobody asked and the bot is unsure) and record it."""
        answer = outcome.answer
        elapsed_ms = (time.perf_counter() - started) * 1000
        repeat = RepeatInfo(answer.cached, outcome.entry_id, outcome.key, outcome.vector)
        if not incoming.addressed and not speaks_unasked(answer, self.unasked_min_probability):
            self.storage.finish_question(qid, "refused", elapsed_ms, None, repeat=repeat)
            return "silent"
        reply = await replier.deliver(answer, qid)
        self.storage.finish_question(qid, answer.mode, elapsed_ms, reply, repeat=repeat)
        return answer.mode

    def _quick(self, incoming: Incoming, scope: Scope) -> Outcome | None:
        """The stored answer of exactly this question, found before the work queue."""
        if self.cache is None:
            return None
        try:
            stamp = self.answerers.cache_stamp(incoming.channel_id)
        except PostfinderError:
            return None  # the pipeline tells the asker (a channel not indexed yet)
        hit = quick_lookup(self.cache, scope, incoming.text, stamp)
        return (
            None if hit is None else Outcome(hit.answer, hit.entry_id, normal_form(incoming.text))
        )

    def vote(self, question_id: int, user_id: int, vote: int) -> bool:
        """Record a member's 👍/👎 on an answer; a 👎 ends the cached answer it gave.

        Returns
        -------
        bool
            False when the answer is unknown (erased, or never recorded).
        """
        stored = self.storage.vote(question_id, user_id, vote)
        entry = self.storage.cache_entry(question_id) if stored and vote < 0 else None
        if entry is not None and self.cache is not None:
            try:
                self.cache.drop_entry(entry)
            except StoreError as exc:  # the vote is stored; the entry ends with its time
                log.warning("%s", exc)
        return stored

    @staticmethod
    async def _notice(incoming: Incoming, replier: Replier, text: str) -> int | None:
        """Tell the asker (busy, rate limit, error), unless nobody addressed the bot."""
        return await replier.notice(text) if incoming.addressed else None

    def _limited(self, incoming: Incoming) -> bool | None:
        """None when allowed; else whether to tell the asker (only the first time)."""
        if not self.user_limits.allow(incoming.user_id):
            return self.user_limits.first_refusal(incoming.user_id)
        if not self.chat_limits.allow(incoming.chat_id):
            return self.chat_limits.first_refusal(incoming.chat_id)
        return None

    async def _run(self, incoming: Incoming, replier: Replier, scope: Scope) -> Outcome:
        """Run the pipeline on the work queue, passing verified text to the replier."""
        progress: list[str] = []
        shown = [""]

        async def tick() -> None:
            if incoming.addressed and progress and progress[-1] != shown[0]:
                shown[0] = progress[-1]
                await replier.progress(shown[0])

        def job(cancel: threading.Event) -> Outcome:
            # The stamp first: a calibration replaced meanwhile then only costs a miss.
            stamp = self.answerers.cache_stamp(incoming.channel_id)
            answerer = self.answerers.answerer(incoming.channel_id)
            context: tuple[int, ...] = ()
            if incoming.thread_post is not None:
                channel = answerer.retriever.channel
                context = (incoming.thread_post, *channel.neighbours(incoming.thread_post, 2))
            if self.cache is None:
                return Outcome(
                    answerer.answer(
                        incoming.text, True, progress.append, cancel, scope.language, context
                    )
                )
            return answer_through_cache(
                self.cache,
                answerer,
                incoming.text,
                scope,
                stamp,
                asker=self.storage.pseudonym(incoming.user_id),
                on_progress=progress.append,
                cancel=cancel,
                context=context,
            )

        return await self.queue.run(job, True, tick, self.edit_interval_s)
