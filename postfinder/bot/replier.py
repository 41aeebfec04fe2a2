"""How the bot replies to one question: 👀, typing, a placeholder or draft, the answer."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

from postfinder.answering.pipeline import Answer
from postfinder.answering.question import focus_question
from postfinder.bot.text import split_message, to_html
from postfinder.phrases import phrase

log = logging.getLogger(__name__)
T = TypeVar("T")
QUOTE_LIMIT = 1024  # Telegram's limit for ReplyParameters.quote


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
