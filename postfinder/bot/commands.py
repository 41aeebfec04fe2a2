"""Commands and buttons: feedback, the owners' /stats, /settings and /forget, and the
members' /mydata and /forgetme. Each parses the update, calls one operation, replies."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from postfinder.bot.handlers import PostFinderBot
from postfinder.bot.replier import with_retry
from postfinder.errors import PostfinderError
from postfinder.operations import members, posts
from postfinder.operations import stats as stats_ops
from postfinder.phrases import LANGUAGES, phrase

log = logging.getLogger(__name__)


class Commands:
    """The bot's commands, answered for the chats and members `bot` serves.

    Parameters
    ----------
    bot
        The adapter that knows which channel a chat belongs to.
    """

    def __init__(self, bot: PostFinderBot) -> None:
        self.bot = bot
        self.app = bot.app
        self.storage = bot.app.storage
        self.cfg = bot.cfg

    async def on_feedback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Store a 👍/👎 vote (one per user per answer, changeable)."""
        query = update.callback_query
        if query is None or not query.data or not query.data.startswith("v:"):
            return
        try:
            _, qid, vote = query.data.split(":")
            stored = self.app.conversation.vote(int(qid), query.from_user.id, int(vote))
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

    async def _admin_message(self, update: Update) -> tuple[Message, str] | None:
        """The message and reply language of a chat admin's command, else None (told so)."""
        message = update.effective_message
        if message is None:
            return None
        language = self.bot.language(message)
        if not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(phrase("admins", language)))
            return None
        return message, language

    async def on_stats(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Report questions, answer shares, feedback, latency and unanswered questions."""
        asked = await self._admin_message(update)
        if asked is not None:
            message = asked[0]
            report = stats_ops.format_stats(  # about 1 s per 10,000 questions: off the loop
                await asyncio.to_thread(
                    stats_ops.stats_report, self.app, chat_id=message.chat.id, repeats=True, top=5
                )
            )
            await with_retry(lambda: message.reply_text(report))

    async def on_settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show or change the chat's settings (admins only)."""
        asked = await self._admin_message(update)
        if asked is None:
            return
        message, language = asked
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
        language = self.bot.language(message)
        channel_id = self.bot.channel_for(message)
        if channel_id is None or not await self.is_admin(message):
            await with_retry(lambda: message.reply_text(phrase("admins", language)))
            return
        ref = " ".join(context.args or [])
        try:
            done = await self.app.work_queue.run(
                lambda _cancel: posts.forget_post(self.app, ref, channel_id, rebuild_now=False)
            )
        except PostfinderError:
            await with_retry(lambda: message.reply_text(phrase("forget_usage", language)))
            return
        key = "forgotten" if done.removed else "not_indexed"
        reply = phrase(key, language).format(post=done.post_id)
        await with_retry(lambda: message.reply_text(reply))
        log.info("Post %s of channel %s forgotten on request of an admin", done.post_id, channel_id)

    async def _in_private(self, update: Update) -> tuple[Message, str] | None:
        """The member's message and language, or None (told to use a private chat)."""
        message = update.effective_message
        if message is None or message.from_user is None:
            return None
        language = self.bot.language(message)
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
        data = members.export_member(self.app, user)
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
        erased = members.forget_member(self.app, query.from_user.id)
        code = (query.from_user.language_code or "en")[:2]
        await with_retry(query.answer)
        done = phrase("forgetme_done", code).format(**erased)
        await with_retry(lambda: query.edit_message_text(done))
        log.info("A member's data was erased on their request")

    async def on_help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Explain how to use the bot."""
        message = update.effective_message
        if message is not None:
            text = phrase("help", self.bot.language(message))
            await with_retry(lambda: message.reply_text(text))
