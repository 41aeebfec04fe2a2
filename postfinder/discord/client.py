"""The Discord adapter: which messages are posts, which are questions, and for whom.

Source channels' messages are the posts: read from their history on start (from where
the last run stopped), then kept current from live creates, edits and deletions.
discord.py's own ``on_error`` logs a failed event with its traceback; the bot goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from postfinder.app import App
from postfinder.conversation.service import Incoming
from postfinder.discord.messages import post_from_message
from postfinder.discord.replier import MessageReplier
from postfinder.ingest.discord_export import link_prefix
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import ChatInfo
from postfinder.operations import cache, indexing, posts
from postfinder.settings import DiscordSettings
from postfinder.text import looks_like_question

log = logging.getLogger(__name__)
CURSOR = "discord_after"  # channel meta: the last history message read and stored
HISTORY_BATCH = 100


class PostFinderDiscord(discord.Client):
    """The bot: routes Discord events to the index and the conversation service."""

    def __init__(self, app: App, settings: DiscordSettings) -> None:
        # Message content is a privileged intent: switched on in the developer portal.
        wanted = discord.Intents(guilds=True, guild_messages=True, message_content=True)
        super().__init__(intents=wanted, allowed_mentions=discord.AllowedMentions.none())
        self.app = app
        self.cfg = settings
        self.started = False
        self.tasks: list[asyncio.Task[None]] = []
        self.ready_hooks: list[Callable[[], Awaitable[None]]] = []  # run once, when ready

    def source_of(self, channel: Any, message_id: int) -> int | None:
        """The source channel whose post this is (a forum post: its thread's first message)."""
        if channel.id in self.cfg.sources:
            return int(channel.id)
        parent = getattr(channel, "parent", None)
        if isinstance(parent, discord.ForumChannel) and parent.id in self.cfg.sources:
            return parent.id if message_id == channel.id else None
        return None

    def answering_source(self, channel: Any) -> tuple[int | None, int | None]:
        """(source answering questions here, post whose thread this is) or (None, None)."""
        parent_id = getattr(channel, "parent_id", None)
        if isinstance(channel, discord.Thread) and parent_id in self.cfg.sources:
            return parent_id, channel.id  # a thread started from a message shares its id
        guild = getattr(channel, "guild", None)
        for source, where in self.cfg.sources.items():
            if channel.id in where.ask_in or channel.id == source:
                return source, None
        for source, where in self.cfg.sources.items():
            if not where.ask_in and guild is not None and guild.get_channel(source):
                return source, None
        return None, None

    def addressed(self, message: discord.Message) -> bool:
        """A mention of the bot, or a reply to one of its messages."""
        me = self.user.id if self.user else 0
        resolved = message.reference.resolved if message.reference else None
        replied = isinstance(resolved, discord.Message) and resolved.author.id == me
        return replied or any(member.id == me for member in message.mentions)

    async def on_ready(self) -> None:
        """Once: run the ready hooks (slash commands) and read the sources' history."""
        if self.started:
            return  # a new session after a lost connection: nothing to redo
        self.started = True
        log.info("Discord: logged in as %s, sources %s", self.user, sorted(self.cfg.sources))
        for hook in self.ready_hooks:
            await hook()
        if self.cfg.read_history:
            self.tasks.append(asyncio.create_task(self.read_all_history()))

    async def on_message(self, message: discord.Message) -> None:
        """Index a source post, or answer a question."""
        if message.author.bot or message.webhook_id is not None or message.guild is None:
            return
        addressed = self.addressed(message)
        source = self.source_of(message.channel, message.id)
        if source is not None and not addressed:
            await self.index_post(message, source)
            return
        channel_id, thread_post = self.answering_source(message.channel)
        text = message.content or ""
        if channel_id is None or not text.strip():
            return
        auto = self.app.conversation.auto_answer(message.channel.id) or (
            thread_post is not None and self.cfg.thread_auto_answer
        )
        if not addressed and not (auto and looks_like_question(text)):
            return
        me = self.user.id if self.user else 0
        question = text.replace(f"<@{me}>", " ").replace(f"<@!{me}>", " ").strip()
        ids = (message.channel.id, message.id, message.author.id, question, channel_id)
        incoming = Incoming(*ids, thread_post, addressed, "discord")
        await self.app.conversation.ask(incoming, MessageReplier(message))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Re-index an edited source post."""
        message = payload.message
        source = self.source_of(message.channel, message.id)
        if source is not None and not message.author.bot:
            await self.index_post(message, source)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deleted source post leaves the answers at once."""
        channel = self.get_channel(payload.channel_id)
        source = self.source_of(channel, payload.message_id) if channel else None
        if source is not None or payload.channel_id in self.cfg.sources:
            await self.forget(source or payload.channel_id, [payload.message_id])

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """Several source posts deleted at once (a moderator's purge) leave too."""
        if payload.channel_id in self.cfg.sources:
            await self.forget(payload.channel_id, sorted(payload.message_ids))

    def chat_info(self, source: int) -> ChatInfo:
        """The source channel as the indexer names it, with its Discord link prefix."""
        channel = self.get_channel(source)
        guild = getattr(channel, "guild", None)
        name = f"{guild.name} #{getattr(channel, 'name', source)}" if guild else str(source)
        return ChatInfo(source, name, "channel", link_prefix(guild.id if guild else None, source))

    async def index_post(self, message: discord.Message, source: int) -> None:
        """Index a new or edited post at once."""
        post = post_from_message(message, source)
        if post is not None:
            info = self.chat_info(source)
            await indexing.index_live_post(self.app, post, info.name, info.link_prefix)

    async def forget(self, source: int, message_ids: list[int]) -> None:
        """Remove deleted posts from every store (BM25 catches up in the background)."""

        def job(_cancel: threading.Event) -> None:
            for message_id in message_ids:
                posts.forget_post(self.app, str(message_id), source, rebuild_now=False)

        await self.app.work_queue.run(job)

    async def read_all_history(self) -> None:
        """Read every source channel's history (forum sources: live posts only)."""
        for source in self.cfg.sources:
            channel = self.get_channel(source)
            try:
                if isinstance(channel, discord.TextChannel):  # announcement channels too
                    await self.read_history(channel)
            except discord.HTTPException as exc:  # e.g. no Read Message History
                log.warning("Cannot read the history of channel %s: %s", source, exc)

    async def read_history(self, channel: discord.TextChannel) -> None:
        """Read a channel's history oldest first, from the cursor the last run stored."""
        stored = self.app.catalog.get(channel.id, create=True).meta.get(CURSOR)
        last = int(stored) if stored else 0
        after = discord.Object(last) if last else None
        batch: list[Post] = []
        async for message in channel.history(limit=None, after=after, oldest_first=True):
            last = message.id
            post = None if message.author.bot else post_from_message(message, channel.id)
            batch.extend([post] if post is not None else [])
            if len(batch) >= HISTORY_BATCH:
                await self.store_batch(channel.id, batch, last)
                batch = []
        await self.store_batch(channel.id, batch, last, refresh=True)
        log.info("Discord history of channel %s read up to message %s", channel.id, last)

    async def store_batch(
        self, source: int, batch: list[Post], last: int, refresh: bool = False
    ) -> None:
        """Store a batch of posts, then move the cursor past it: a crash loses nothing."""
        info = self.chat_info(source)

        def store(_cancel: threading.Event) -> None:
            indexer = self.app.indexer()
            channel = indexer.open_channel(info)
            indexer.add_posts(channel, batch, refresh_lexical=False)
            cache.posts_changed(self.app, channel.id, [post.id for post in batch])
            if refresh:  # BM25 once per history read, not once per batch
                channel.refresh_lexical_soon()
            channel.set_meta(**{CURSOR: str(last)})
            channel.touch()

        if batch or last:
            await self.app.work_queue.run(store)
