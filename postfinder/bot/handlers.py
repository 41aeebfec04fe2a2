"""Async handlers of the bot and the logic behind them."""

from __future__ import annotations

import asyncio
import html
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from postfinder.answering.pipeline import Answer
from postfinder.app import App
from postfinder.bot.text import looks_like_question, split_message, to_html
from postfinder.conversation.ratelimit import TokenBuckets
from postfinder.conversation.storage import BotStorage
from postfinder.errors import PostfinderError
from postfinder.generation.service import WorkQueue
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import ChatInfo, flatten_text
from postfinder.settings import TelegramSettings
from postfinder.text import detect_language

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL_ID_OFFSET = 10**12  # Bot API channel ids are -100<id>; exports use <id>

MESSAGES = {
    "busy": {
        "ru": "Сейчас я отвечаю на другие вопросы, спросите, пожалуйста, через минуту.",
        "en": "I am answering other questions right now; please ask again in a minute.",
    },
    "rate": {
        "ru": "Слишком много вопросов подряд, подождите немного.",
        "en": "Too many questions in a row; please wait a little.",
    },
    "error": {
        "ru": "Извините, что-то пошло не так. Попробуйте ещё раз.",
        "en": "Sorry, something went wrong. Please try again.",
    },
    "thinking": {"ru": "Ищу в постах канала…", "en": "Searching the channel's posts…"},
    "thanks": {"ru": "Спасибо за оценку!", "en": "Thanks for the feedback!"},
    "admins": {
        "ru": "Эта команда только для администраторов чата.",
        "en": "This command is for the chat's admins only.",
    },
}
HELP = (
    "I answer questions from this channel's posts, with links to them.\n"
    "Ask with /ask <question>, mention me, or reply to my message.\n"
    "Admins: /stats (what was asked, what the channel could not answer), "
    "/settings auto on|off, /settings language ru|en|auto."
)


def say(key: str, language: str) -> str:
    """Return a bot message in the asker's language (English when missing)."""
    return MESSAGES[key].get(language, MESSAGES[key]["en"])


def export_id(chat_id: int) -> int:
    """Turn a Bot API channel id (-100...) into the id used by exports and the index."""
    magnitude = abs(chat_id)
    return magnitude - CHANNEL_ID_OFFSET if magnitude > CHANNEL_ID_OFFSET else magnitude


def api_id(channel_id: int) -> int:
    """Turn an export channel id into the Bot API chat id."""
    return -(CHANNEL_ID_OFFSET + channel_id)


async def with_retry(call: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """Run a Bot API call, honouring RetryAfter and backing off on network errors."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            log.warning("Telegram asked to retry after %.1f s", seconds)
            await asyncio.sleep(seconds)
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest) or attempt == attempts - 1:
                raise
            log.warning("Network error (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay *= 2
    return await call()


def post_from_message(message: Message, channel_id: int) -> Post | None:
    """Build a `Post` from a live channel message, as the export reader would."""
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or ()
    links = [e.url for e in entities if e.type == MessageEntity.TEXT_LINK and e.url]
    plain, found_links, hashtags = flatten_text(text)
    if not plain.strip():
        return None
    edited = int(message.edit_date.timestamp()) if message.edit_date else None
    forwarded = None
    origin = getattr(message, "forward_origin", None)
    if origin is not None:
        forwarded = getattr(getattr(origin, "chat", None), "title", None) or getattr(
            origin, "sender_user_name", None
        )
    return Post(
        channel_id=channel_id,
        id=message.message_id,
        date=int(message.date.timestamp()),
        text=plain.strip(),
        edited=edited,
        reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
        forwarded_from=forwarded,
        links=tuple(dict.fromkeys([*links, *found_links])),
        hashtags=tuple(hashtags),
    )


class PostFinderBot:
    """The bot's state and handlers.

    Parameters
    ----------
    app
        The wired PostFinder components.
    storage
        The bot's database.
    settings
        Telegram settings.
    """

    def __init__(self, app: App, storage: BotStorage, settings: TelegramSettings) -> None:
        self.app = app
        self.storage = storage
        self.cfg = settings
        self.user_limits = TokenBuckets(settings.user_per_minute)
        self.chat_limits = TokenBuckets(settings.chat_per_minute)
        self.groups: dict[int, int] = dict(settings.groups)
        # One embedding or generation at a time, a bounded line, a time limit per answer.
        self.queue = WorkQueue(app.settings.llm.queue_size, app.settings.llm.timeout_s)
        self.bot_id = 0
        self.username = ""

    # -- set-up -------------------------------------------------------------------------
    def channels(self) -> set[int]:
        """Channels the bot serves: indexed ones plus configured ones."""
        return set(self.app.catalog.ids()) | set(self.cfg.channels)

    async def discover_groups(self, bot: Any) -> None:
        """Learn each channel's discussion group from its ``linked_chat_id``."""
        for channel_id in self.channels():
            try:
                chat = await with_retry(partial(bot.get_chat, api_id(channel_id)))
            except Exception as exc:  # pylint: disable=broad-exception-caught
                log.warning("Cannot read channel %s (is the bot a member?): %s", channel_id, exc)
                continue
            if chat.linked_chat_id:
                self.groups.setdefault(chat.linked_chat_id, channel_id)
        log.info("Serving channels %s with groups %s", sorted(self.channels()), self.groups)

    def channel_for(self, message: Message) -> int | None:
        """Return the channel whose posts answer questions in this chat, or None (stay silent)."""
        chat = message.chat
        if chat.type == ChatType.PRIVATE:
            served = sorted(self.channels())
            return served[0] if self.cfg.private_chats and len(served) == 1 else None
        return self.groups.get(chat.id)

    # -- live indexing ------------------------------------------------------------------
    async def on_channel_post(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Index a new or edited channel post at once."""
        message = update.channel_post or update.edited_channel_post
        if message is None:
            return
        channel_id = export_id(message.chat.id)
        if channel_id not in self.channels():
            return
        post = post_from_message(message, channel_id)
        if post is None:
            return
        title = message.chat.title or ""
        await self.queue.run(lambda _cancel: self._index(channel_id, title, post))
        log.info("Indexed post %s of channel %s", post.id, channel_id)

    def _index(self, channel_id: int, title: str, post: Post) -> None:
        indexer = self.app.indexer()
        channel = indexer.open_channel(ChatInfo(channel_id, title, "channel"))
        indexer.add_posts(channel, [post])

    # -- questions ----------------------------------------------------------------------
    async def on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a message in a discussion group (or private chat) when it is meant for us."""
        message = update.effective_message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.is_automatic_forward:
            if message.sender_chat is not None:  # learn the channel's discussion group
                source = export_id(message.sender_chat.id)
                if source in self.channels():
                    self.groups.setdefault(message.chat.id, source)
            return
        if message.sender_chat is not None:
            return  # channels and anonymous admins posting in the group
        channel_id = self.channel_for(message)
        text = message.text or message.caption or ""
        if channel_id is None or not text.strip():
            return
        mentioned = f"@{self.username}".lower() in text.lower() if self.username else False
        replied = (
            message.reply_to_message is not None
            and message.reply_to_message.from_user is not None
            and message.reply_to_message.from_user.id == self.bot_id
        )
        auto = self.storage.chat_settings(message.chat.id, self.cfg.auto_answer).auto_answer
        private = message.chat.type == ChatType.PRIVATE
        if not (mentioned or replied or private or (auto and looks_like_question(text))):
            return
        question = text.replace(f"@{self.username}", " ").strip() if self.username else text
        await self.answer(message, channel_id, question)

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer ``/ask question``."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        channel_id = self.channel_for(message)
        if channel_id is None:
            return
        question = " ".join(context.args or []).strip()
        if not question:
            await with_retry(lambda: message.reply_text("/ask <question>"))
            return
        await self.answer(message, channel_id, question)

    async def answer(self, message: Message, channel_id: int, question: str) -> None:
        """Answer one question exactly once: rate limits, queue, streaming, final reply."""
        assert message.from_user is not None
        user_id, chat_id = message.from_user.id, message.chat.id
        language = self._language(chat_id, question)
        qid = self.storage.claim_question(
            chat_id, message.message_id, user_id, question, channel_id
        )
        if qid is None:
            return  # already answered (update delivered twice)
        started = time.perf_counter()
        user_ok = self.user_limits.allow(user_id)
        if not (user_ok and self.chat_limits.allow(chat_id)):
            limits, key = (
                (self.user_limits, user_id) if not user_ok else (self.chat_limits, chat_id)
            )
            if limits.first_refusal(key):
                await with_retry(lambda: message.reply_text(say("rate", language)))
            self.storage.finish_question(qid, "rate_limited", 0.0, None)
            return
        if not self.queue.try_reserve():
            reply = await with_retry(lambda: message.reply_text(say("busy", language)))
            self.storage.finish_question(qid, "busy", 0.0, reply.message_id)
            return
        try:
            await with_retry(lambda: message.chat.send_action(ChatAction.TYPING))
            placeholder = await with_retry(lambda: message.reply_text(say("thinking", language)))
        except BaseException:
            self.queue.release()
            raise
        try:
            result = await self._run_answer(placeholder, channel_id, question)
        except PostfinderError as exc:
            log.warning("Could not answer %s: %s", qid, exc)
            await self._edit(placeholder, html.escape(say("error", language)))
            self.storage.finish_question(qid, "error", 0.0, placeholder.message_id)
            return
        await self._deliver(placeholder, result, qid)
        self.storage.finish_question(
            qid, result.mode, (time.perf_counter() - started) * 1000, placeholder.message_id
        )

    def _language(self, chat_id: int, question: str) -> str:
        hint = self.storage.chat_settings(chat_id, self.cfg.auto_answer).language
        return hint if hint and hint != "auto" else detect_language(question)

    async def _run_answer(self, placeholder: Message, channel_id: int, question: str) -> Answer:
        """Run the pipeline on the work queue, streaming verified text into the placeholder."""
        progress: list[str] = []
        shown = [""]

        async def tick() -> None:
            if progress and progress[-1] != shown[0]:
                shown[0] = progress[-1]
                await self._edit(placeholder, html.escape(shown[0]) + " …")

        def job(cancel: threading.Event) -> Answer:
            answerer = self.app.answerer(str(channel_id))
            return answerer.answer(question, True, progress.append, cancel)

        return await self.queue.run(job, True, tick, self.cfg.edit_interval_s)

    async def _edit(self, message: Message, text: str, markup: Any = None) -> Message | bool:
        try:
            return await with_retry(
                lambda: message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message
            raise

    async def _deliver(self, placeholder: Message, answer: Answer, qid: int) -> None:
        """Replace the placeholder with the final answer (split if long), buttons on the last."""
        body = to_html(answer.answer, [(s.n, s.link) for s in answer.sources], answer.language)
        pieces = split_message(body)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("👍", callback_data=f"v:{qid}:1"),
                    InlineKeyboardButton("👎", callback_data=f"v:{qid}:-1"),
                ]
            ]
        )
        markup = buttons if answer.mode != "refused" else None
        await self._edit(placeholder, pieces[0], markup if len(pieces) == 1 else None)
        for index, piece in enumerate(pieces[1:], start=2):
            last = index == len(pieces)
            await with_retry(
                partial(
                    placeholder.reply_text,
                    piece,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if last else None,
                )
            )

    # -- feedback and owner tools -------------------------------------------------------
    async def on_feedback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Store a 👍/👎 vote (one per user per answer, changeable)."""
        query = update.callback_query
        if query is None or not query.data or not query.data.startswith("v:"):
            return
        try:
            _, qid, vote = query.data.split(":")
            stored = self.storage.vote(int(qid), query.from_user.id, int(vote))
        except ValueError:
            stored = False
        language = "ru" if (query.from_user.language_code or "").startswith("ru") else "en"
        await with_retry(lambda: query.answer(say("thanks", language) if stored else None))

    async def is_admin(self, message: Message) -> bool:
        """Ask Telegram whether the sender administers the chat (never trust the message)."""
        if message.chat.type == ChatType.PRIVATE or message.from_user is None:
            return False
        member = await with_retry(
            lambda: message.chat.get_member(message.from_user.id)  # type: ignore[union-attr]
        )
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def on_stats(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Report questions, answer shares, feedback, latency and unanswered questions."""
        message = update.effective_message
        if message is None:
            return
        language = detect_language(message.text or "")
        if not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(say("admins", language)))
            return
        self.storage.purge(self.cfg.retention_days)
        report = format_stats(self.storage.stats(chat_id=message.chat.id))
        await with_retry(lambda: message.reply_text(report))

    async def on_settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show or change the chat's settings (admins only)."""
        message = update.effective_message
        if message is None:
            return
        if not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(say("admins", "en")))
            return
        args = [a.lower() for a in (context.args or [])]
        if len(args) == 2 and args[0] == "auto" and args[1] in ("on", "off"):
            self.storage.set_chat_settings(message.chat.id, auto_answer=int(args[1] == "on"))
        elif (
            len(args) == 2 and args[0] == "language" and args[1] in ("ru", "en", "uk", "zh", "auto")
        ):
            self.storage.set_chat_settings(message.chat.id, language=args[1])
        elif args:
            await with_retry(
                lambda: message.reply_text(
                    "Usage: /settings auto on|off, /settings language ru|en|auto"
                )
            )
            return
        current = self.storage.chat_settings(message.chat.id, self.cfg.auto_answer)
        await with_retry(
            lambda: message.reply_text(
                f"auto-answer: {'on' if current.auto_answer else 'off'}; "
                f"language: {current.language or 'auto'}; rate limits: "
                f"{self.cfg.user_per_minute:g}/min per user, "
                f"{self.cfg.chat_per_minute:g}/min per chat"
            )
        )

    async def on_help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Explain how to use the bot."""
        message = update.effective_message
        if message is not None:
            await with_retry(lambda: message.reply_text(HELP))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error with its traceback and apologise; the bot keeps running."""
        if update is None and isinstance(context.error, (NetworkError, TimedOut)):
            # A failed poll (Bot API unreachable): one line, python-telegram-bot retries.
            log.warning("Telegram Bot API unreachable (%s); retrying", context.error)
            return
        log.error("Error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            message = update.effective_message
            try:
                await message.reply_text(say("error", detect_language(message.text or "")))
            except Exception:  # pylint: disable=broad-exception-caught
                log.debug("Could not send the apology", exc_info=True)


def format_stats(stats: dict[str, Any]) -> str:
    """Render a stats report as plain text."""
    modes = stats["modes"]
    shares = stats["shares"]
    lines = [
        f"Last {stats['days']} days: {stats['questions']} questions.",
        f"Generated {modes['generated']} ({shares['generated']:.0%}), extractive "
        f"{modes['extractive']} ({shares['extractive']:.0%}), refused {modes['refused']} "
        f"({shares['refused']:.0%}), busy {modes['busy']}.",
        f"Feedback: 👍 {stats['feedback']['up']}  👎 {stats['feedback']['down']}.",
    ]
    if stats["latency_ms_p50"] is not None:
        lines.append(
            f"Answer time p50 {stats['latency_ms_p50'] / 1000:.1f} s, "
            f"p95 {stats['latency_ms_p95'] / 1000:.1f} s."
        )
    if stats["top_unanswered"]:
        lines.append("Asked but not in the channel (write about these):")
        lines.extend(f"  {item['count']}× {item['question']}" for item in stats["top_unanswered"])
    return "\n".join(lines)
