"""The Telegram adapter: async handlers that turn updates into conversation calls.

The flow of a question (claim, limits, queue, streaming, recording) lives in
`postfinder.conversation`, and what the bot does to the index in
`postfinder.operations`; this module only speaks Telegram: which messages are meant
for the bot, comment threads under channel posts and live channel posts. Replies are
written by `postfinder.bot.replier`, commands answered by `postfinder.bot.commands`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from functools import partial
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from postfinder.app import App
from postfinder.bot.messages import (
    MAX_TELEGRAM_ID,
    api_id,
    export_id,
    origin_post,
    post_from_message,
)
from postfinder.bot.replier import TelegramReplier, with_retry
from postfinder.bot.text import looks_like_question
from postfinder.conversation.service import Incoming
from postfinder.language import reply_language as detect_language
from postfinder.operations import indexing
from postfinder.phrases import phrase
from postfinder.settings import TelegramSettings

log = logging.getLogger(__name__)
THREADS_REMEMBERED = 10_000


class PostFinderBot:
    """The Telegram adapter: decides which messages are questions and hands them on.

    Parameters
    ----------
    app
        The wired PostFinder components (its `Conversation` answers).
    settings
        Telegram settings.
    """

    def __init__(self, app: App, settings: TelegramSettings) -> None:
        self.app = app
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
        await indexing.index_live_post(self.app, post, message.chat.title or "")
        log.info("Indexed post %s of channel %s", post.id, channel_id)

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
        addressed = self.addressed(message, text)
        if not addressed and not (self.auto_answers(message) and looks_like_question(text)):
            return
        question = text.replace(f"@{self.username}", " ").strip() if self.username else text
        await self.answer(message, channel_id, question, self.thread_post(message), addressed)

    def addressed(self, message: Message, text: str) -> bool:
        """A mention of the bot, a reply to one of its messages, or a private chat."""
        mentioned = f"@{self.username}".lower() in text.lower() if self.username else False
        parent = message.reply_to_message
        replied = (
            parent is not None
            and parent.from_user is not None
            and parent.from_user.id == self.bot_id
        )
        return mentioned or replied or message.chat.type == ChatType.PRIVATE

    def auto_answers(self, message: Message) -> bool:
        """Whether questions here are answered unasked: the chat's choice, or a comment thread.

        Under a channel post a question is meant for the post: no mention needed there.
        """
        return self.conversation.auto_answer(message.chat.id) or (
            self.thread_post(message) is not None and self.cfg.thread_auto_answer
        )

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
        self,
        message: Message,
        channel_id: int,
        question: str,
        thread_post: int | None = None,
        addressed: bool = True,
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
            addressed=addressed,
        )
        await self.conversation.ask(incoming, TelegramReplier(message, self._edit))

    def language(self, message: Message) -> str:
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
