"""The Telegram adapter: async handlers that turn updates into conversation calls.

The flow of a question (claim, limits, queue, streaming, recording) lives in
`postfinder.conversation`; this module only speaks Telegram: which messages are meant
for the bot, comment threads under channel posts, replies with a native quote of the
question answered, the 👀 reaction and typing, and placeholder edits or drafts.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOriginChannel,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from postfinder import inbox
from postfinder.answering.pipeline import Answer
from postfinder.answering.question import focus_question
from postfinder.app import App
from postfinder.bot.text import looks_like_question, split_message, to_html
from postfinder.conversation.service import Incoming
from postfinder.conversation.storage import BotStorage
from postfinder.indexer import IndexReport
from postfinder.ingest.post import Post, parse_post_ref
from postfinder.ingest.telegram_export import ChatInfo, flatten_text
from postfinder.language import reply_language as detect_language
from postfinder.phrases import LANGUAGES, phrase
from postfinder.settings import TelegramSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL_ID_OFFSET = 10**12  # Bot API channel ids are -100<id>; exports use <id>

THREADS_REMEMBERED = 10_000
QUOTE_LIMIT = 1024  # Telegram's limit for ReplyParameters.quote


# Bot API: user and chat ids have at most 52 significant bits; message ids are 32-bit.
MAX_TELEGRAM_ID = 2**52


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


def question_quote(text: str) -> str | None:
    """The part of a long message that was answered, to quote natively in the reply.

    Telegram quotes only an exact substring of the message replied to (at most 1,024
    characters); a short message is its own question and is not quoted.
    """
    focus = focus_question(text)
    if not focus or focus == text.strip():
        return None
    for candidate in (focus, *(s.strip() for s in text.splitlines())):
        if candidate and "?" in candidate and candidate in text and len(candidate) <= QUOTE_LIMIT:
            return candidate
    return focus if focus in text and len(focus) <= QUOTE_LIMIT else None


def origin_post(message: Message) -> int | None:
    """The channel post an automatic forward in a discussion group copies."""
    origin = getattr(message, "forward_origin", None)
    if isinstance(origin, MessageOriginChannel):
        return origin.message_id
    return None


class TelegramReplier:
    """Replies to one question: 👀 and typing, then a placeholder edited as text streams.

    In private chats the partial answer is streamed as a draft (``sendMessageDraft``)
    where the Bot API supports it, and the final answer sent as a new message; where a
    draft is refused, the placeholder takes over.

    Parameters
    ----------
    message
        The member's message.
    edit_text
        Coroutine that edits a message's HTML text (with retries).
    """

    def __init__(
        self, message: Message, edit_text: Callable[[Message, str, Any], Awaitable[Any]]
    ) -> None:
        self.message = message
        self.edit_text = edit_text
        self.placeholder: Message | None = None
        self.draft = message.chat.type == ChatType.PRIVATE and hasattr(
            message.get_bot(), "send_message_draft"
        )
        self.quote = question_quote(message.text or message.caption or "")
        self.language = "en"

    async def working(self, language: str) -> None:
        """React with 👀, show typing, and (outside drafts) post a placeholder."""
        self.language = language
        try:
            await self.message.set_reaction("👀")
        except TelegramError as exc:  # reactions may be off in this chat: typing is enough
            log.debug("No reaction: %s", exc)
        await with_retry(lambda: self.message.chat.send_action(ChatAction.TYPING))
        if not self.draft:
            self.placeholder = await self.reply(html.escape(phrase("thinking", language)))

    async def progress(self, text: str) -> None:
        """Show the verified text so far: as a draft, or by editing the placeholder."""
        shown = html.escape(text) + " …"
        if self.draft:
            try:
                await self.message.get_bot().send_message_draft(
                    self.message.chat.id, self.message.message_id, shown, parse_mode=ParseMode.HTML
                )
                return
            except TelegramError as exc:
                log.info("Drafts unavailable (%s); editing a placeholder instead", exc)
                self.draft = False
                self.placeholder = await self.reply(shown)
                return
        if self.placeholder is not None:
            await self.edit_text(self.placeholder, shown, None)

    async def deliver(self, answer: Answer, question_id: int) -> int | None:
        """Send the answer (split if long) with 👍/👎 under its last part."""
        body = to_html(answer.answer, [(s.n, s.link) for s in answer.sources], answer.language)
        pieces = split_message(body)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("👍", callback_data=f"v:{question_id}:1"),
                    InlineKeyboardButton("👎", callback_data=f"v:{question_id}:-1"),
                ]
            ]
        )
        markup = buttons if answer.mode != "refused" else None
        first = markup if len(pieces) == 1 else None
        if self.placeholder is not None:
            await self.edit_text(self.placeholder, pieces[0], first)
            sent = self.placeholder
        else:
            sent = await self.reply(pieces[0], first)
        for index, piece in enumerate(pieces[1:], start=2):
            last = index == len(pieces)
            await with_retry(
                partial(
                    sent.reply_text,
                    piece,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if last else None,
                )
            )
        return sent.message_id

    async def notice(self, text: str) -> int | None:
        """Say something short instead of an answer (in the placeholder if there is one)."""
        if self.placeholder is not None:
            await self.edit_text(self.placeholder, html.escape(text), None)
            return self.placeholder.message_id
        return (await self.reply(html.escape(text))).message_id

    async def reply(self, text: str, markup: Any = None) -> Message:
        """Reply to the question, quoting the part answered where Telegram accepts it."""

        def send(quote: str | None) -> Awaitable[Message]:
            return self.message.reply_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=ReplyParameters(
                    self.message.message_id, quote=quote, allow_sending_without_reply=True
                ),
            )

        if self.quote is not None:
            try:
                return await with_retry(lambda: send(self.quote))
            except BadRequest as exc:  # e.g. QUOTE_TEXT_INVALID: reply without the quote
                log.info("Quote refused (%s); replying without it", exc)
                self.quote = None
        return await with_retry(lambda: send(None))


class PostFinderBot:
    """The Telegram adapter: decides which messages are questions and hands them on.

    Parameters
    ----------
    app
        The wired PostFinder components (its `Conversation` answers).
    storage
        The conversation's database (votes, chat settings, /stats).
    settings
        Telegram settings.
    """

    def __init__(self, app: App, storage: BotStorage, settings: TelegramSettings) -> None:
        self.app = app
        self.storage = storage
        self.cfg = settings
        self.conversation = app.conversation
        self.groups: dict[int, int] = dict(settings.groups)
        # Comment threads: (group, automatic forward's message id) -> channel post id.
        self.threads: OrderedDict[tuple[int, int], int] = OrderedDict()
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

    def learn_forward(self, message: Message) -> None:
        """Remember a channel post's automatic forward: its group and its comment thread."""
        if message.sender_chat is None:
            return
        source = export_id(message.sender_chat.id)
        if source not in self.channels():
            return
        self.groups.setdefault(message.chat.id, source)
        post_id = origin_post(message)
        if post_id is not None:
            self.threads[(message.chat.id, message.message_id)] = post_id
            while len(self.threads) > THREADS_REMEMBERED:
                self.threads.popitem(last=False)

    def thread_post(self, message: Message) -> int | None:
        """The channel post whose comment thread this message is in, if any."""
        parent = message.reply_to_message
        if parent is not None and parent.is_automatic_forward:
            return origin_post(parent)
        thread = message.message_thread_id
        return self.threads.get((message.chat.id, thread)) if thread is not None else None

    # -- input checks -------------------------------------------------------------------
    async def drop_impossible(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop updates with ids Telegram never sends (beyond 52 bits) before any handler."""
        message = update.effective_message
        ids = [
            getattr(update.effective_chat, "id", 0),
            getattr(update.effective_user, "id", 0),
            getattr(message, "message_id", 0),
            getattr(message, "message_thread_id", 0) or 0,
        ]
        if any(not isinstance(value, int) or abs(value) >= MAX_TELEGRAM_ID for value in ids):
            log.warning("Dropped update %s: an id beyond Telegram's range", update.update_id)
            raise ApplicationHandlerStop

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
        indexer = self.app.indexer()
        indexer.stage(self.app.catalog.get(channel_id, create=True), [post])
        await self.app.work_queue.run(lambda _cancel: self._index(channel_id, title, post))
        log.info("Indexed post %s of channel %s", post.id, channel_id)

    async def watch_inbox(self, poll_s: float = 2.0) -> None:
        """Index the exports `postfinder index` hands over while the bot runs."""
        while True:
            for folder in inbox.pending(self.app.settings.data_dir):
                await self.index_handed_over(folder)
            await asyncio.sleep(poll_s)

    async def index_handed_over(self, folder: Path) -> None:
        """Index one handed-over export, one batch per turn of the work queue."""
        request = inbox.read_request(folder)
        steps = self.app.indexer().index_steps(
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
            while report is None:  # members' questions get the queue between batches
                report = await self.app.work_queue.run(step)
            await self.app.work_queue.run(lambda _cancel: self.app.calibrate_if_changed(report))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            log.warning("Handed-over export %s not indexed: %s", folder.name, exc)
            inbox.finish(folder, None, str(exc))
            return
        inbox.finish(folder, report, None)
        log.info("Indexed a handed-over export: %s", report)

    def _index(self, channel_id: int, title: str, post: Post) -> None:
        indexer = self.app.indexer()
        channel = indexer.open_channel(ChatInfo(channel_id, title, "channel"))
        indexer.add_posts(channel, [post], refresh_lexical=False)
        channel.refresh_lexical_soon()  # never a full BM25 rebuild on the answer queue
        channel.touch()

    # -- questions ----------------------------------------------------------------------
    async def on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a message in a discussion group, comment thread or private chat."""
        message = update.effective_message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.is_automatic_forward:
            self.learn_forward(message)
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
        thread_post = self.thread_post(message)
        # Under a channel post a question is meant for the post: no mention needed there.
        auto = self.conversation.auto_answer(message.chat.id) or (
            thread_post is not None and self.cfg.thread_auto_answer
        )
        private = message.chat.type == ChatType.PRIVATE
        if not (mentioned or replied or private or (auto and looks_like_question(text))):
            return
        question = text.replace(f"@{self.username}", " ").strip() if self.username else text
        await self.answer(message, channel_id, question, thread_post)

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
            usage = phrase("ask_usage", self.conversation.language(message.chat.id, ""))
            await with_retry(lambda: message.reply_text(usage))
            return
        await self.answer(message, channel_id, question)

    async def answer(
        self, message: Message, channel_id: int, question: str, thread_post: int | None = None
    ) -> None:
        """Hand one question to the conversation service with a Telegram replier."""
        assert message.from_user is not None
        incoming = Incoming(
            chat_id=message.chat.id,
            message_id=message.message_id,
            user_id=message.from_user.id,
            text=question,
            channel_id=channel_id,
            thread_post=thread_post,
        )
        await self.conversation.ask(incoming, TelegramReplier(message, self._edit))

    def _language(self, message: Message) -> str:
        """Language for replies to commands: the chat's, the text's, else the member's app's."""
        code = (message.from_user.language_code or "")[:2] if message.from_user else ""
        return self.conversation.language(message.chat.id, message.text or "", code)

    async def _edit(self, message: Message, text: str, markup: Any = None) -> Message | bool:
        try:
            return await with_retry(
                lambda: message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return message
            raise

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
        code = (query.from_user.language_code or "en")[:2]
        thanks = phrase("thanks", code) if stored else None
        await with_retry(lambda: query.answer(thanks))

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
        language = self._language(message)
        if not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(phrase("admins", language)))
            return
        self.storage.purge(self.cfg.retention_days)
        report = format_stats(self.storage.stats(chat_id=message.chat.id))
        await with_retry(lambda: message.reply_text(report))

    async def on_settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show or change the chat's settings (admins only)."""
        message = update.effective_message
        if message is None:
            return
        language = self._language(message)
        if not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(phrase("admins", language)))
            return
        args = [a.lower() for a in (context.args or [])]
        if len(args) == 2 and args[0] == "auto" and args[1] in ("on", "off"):
            self.storage.set_chat_settings(message.chat.id, auto_answer=int(args[1] == "on"))
        elif len(args) == 2 and args[0] == "language" and args[1] in (*LANGUAGES, "auto"):
            self.storage.set_chat_settings(message.chat.id, language=args[1])
        elif args:
            usage = phrase("settings_usage", language)
            await with_retry(lambda: message.reply_text(usage))
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

    async def on_forget(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remove a deleted channel post from the search (chat admins only)."""
        message = update.effective_message
        if message is None:
            return
        language = self._language(message)
        channel_id = self.channel_for(message)
        if channel_id is None or not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(phrase("admins", language)))
            return
        try:
            selector, post_id = parse_post_ref(" ".join(context.args or []))
        except ValueError:
            selector, post_id = "", 0
        channel = self.app.catalog.get(channel_id, create=True)
        names = {str(channel_id), f"@{channel.meta.get('username', '')}".lower()}
        if not post_id or (selector is not None and selector.lower() not in names):
            await with_retry(lambda: message.reply_text(phrase("forget_usage", language)))
            return
        indexer = self.app.indexer()
        removed = await self.app.work_queue.run(
            lambda _cancel: indexer.remove_posts(channel, [post_id], refresh_lexical=False)
        )
        channel.refresh_lexical_soon()  # searches drop the removed post meanwhile
        key = "forgotten" if removed else "not_indexed"
        reply = phrase(key, language).format(post=post_id)
        await with_retry(lambda: message.reply_text(reply))
        log.info("Post %s of channel %s forgotten on request of an admin", post_id, channel_id)

    async def _in_private(self, update: Update) -> tuple[Message, str] | None:
        """The member's message and language, or None (told to use a private chat)."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return None
        language = self._language(message)
        if message.chat.type != ChatType.PRIVATE:
            await with_retry(lambda: message.reply_text(phrase("private_only", language)))
            return None
        return message, language

    async def on_mydata(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send a member everything stored about them, as a JSON file (private chats)."""
        asked = await self._in_private(update)
        if asked is None:
            return
        message, language = asked
        user = message.from_user.id  # type: ignore[union-attr]
        data = self.storage.member_data(user)
        caption = phrase("mydata", language).format(
            user=user, questions=len(data["questions"]), votes=len(data["votes"])
        )
        payload = json.dumps(data, ensure_ascii=False, indent=2).encode()
        await with_retry(
            lambda: message.reply_document(
                payload, filename="postfinder-mydata.json", caption=caption
            )
        )

    async def on_forgetme(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Ask a member to confirm erasing everything stored about them (private chats)."""
        asked = await self._in_private(update)
        if asked is None:
            return
        message, language = asked
        button = InlineKeyboardButton(phrase("forgetme_button", language), callback_data="forgetme")
        await with_retry(
            lambda: message.reply_text(
                phrase("forgetme_confirm", language),
                reply_markup=InlineKeyboardMarkup([[button]]),
            )
        )

    async def on_forgetme_confirmed(
        self, update: Update, _context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        """Erase the confirming member's data (whoever presses the button, only theirs)."""
        query = update.callback_query
        if query is None:
            return
        erased = self.storage.forget_member(query.from_user.id)
        code = (query.from_user.language_code or "en")[:2]
        await with_retry(query.answer)
        done = phrase("forgetme_done", code).format(**erased)
        await with_retry(lambda: query.edit_message_text(done))
        log.info("A member's data was erased on their request")

    async def on_help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Explain how to use the bot."""
        message = update.effective_message
        if message is not None:
            text = phrase("help", self._language(message))
            await with_retry(lambda: message.reply_text(text))

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
                await message.reply_text(phrase("error", detect_language(message.text or "")))
            except Exception:  # pylint: disable=broad-exception-caught
                log.debug("Could not send the apology", exc_info=True)


_LONG_NUMBER_RE = re.compile(r"\+?\d[\d\s().-]{3,}\d")


def mask_numbers(text: str) -> str:
    """Hide numbers of five digits or more (phones, passports, cards) in a member's words."""

    def hide(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group())
        return "•" * len(match.group()) if digits >= 5 else match.group()

    return _LONG_NUMBER_RE.sub(hide, text)


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
        lines.extend(
            f"  {item['count']}× {mask_numbers(item['question'])}"
            for item in stats["top_unanswered"]
        )
    return "\n".join(lines)
