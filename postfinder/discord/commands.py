"""Slash commands and buttons: /ask, 👍/👎, /mydata, /forgetme, and the moderators' /forget
and /stats. Each calls one operation; private replies are ephemeral (only the member's)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import discord
from discord import app_commands

from postfinder.conversation.service import Incoming
from postfinder.discord.client import PostFinderDiscord
from postfinder.discord.messages import parse_message_link
from postfinder.discord.replier import InteractionReplier
from postfinder.errors import PostfinderError
from postfinder.operations import members, posts
from postfinder.operations import stats as stats_ops
from postfinder.phrases import phrase

log = logging.getLogger(__name__)


class Commands:
    """The bot's slash commands and buttons, for the sources of ``bot``."""

    def __init__(self, bot: PostFinderDiscord) -> None:
        self.bot = bot
        self.app = bot.app
        self.tree = app_commands.CommandTree(bot)
        self._register()
        bot.ready_hooks.append(self.sync)
        bot.event(self.on_interaction)

    def language(self, interaction: discord.Interaction, text: str = "") -> str:
        """The channel's language, the text's, else the member's Discord locale."""
        locale = str(interaction.locale)[:2]
        return self.app.conversation.language(interaction.channel_id or 0, text, locale)

    @staticmethod
    async def private(interaction: discord.Interaction, text: str, **extra: Any) -> None:
        """Answer so that only the member sees it."""
        await interaction.response.send_message(text, ephemeral=True, **extra)

    def _register(self) -> None:
        moderators = discord.Permissions(manage_messages=True)
        for name, description, callback, in_server, allowed in (
            ("ask", "Ask the channel's posts", self.ask, True, None),
            ("mydata", "What PostFinder stored about you", self.mydata, False, None),
            ("forgetme", "Erase what PostFinder stored about you", self.forgetme, False, None),
            ("forget", "Remove a deleted post from the answers", self.forget, True, moderators),
            ("stats", "Questions, answers and feedback here", self.stats, True, moderators),
        ):
            command: app_commands.Command[Any, Any, None] = app_commands.Command(
                name=name, description=description, callback=callback
            )
            command.guild_only = in_server
            command.default_permissions = allowed
            self.tree.add_command(command)

    async def sync(self) -> None:
        """Register the commands in each server with a source (instant, unlike global)."""
        for guild in self.bot.guilds:
            if any(guild.get_channel(source) for source in self.bot.cfg.sources):
                self.tree.copy_global_to(guild=guild)
                try:
                    await self.tree.sync(guild=guild)
                except discord.HTTPException as exc:  # invited without applications.commands
                    log.warning("Could not register the slash commands: %s", exc)

    @app_commands.describe(question="Your question")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Answer ``/ask question`` from the source the channel belongs to."""
        source, thread_post = self.bot.answering_source(interaction.channel)
        if source is None or not question.strip():
            await self.private(interaction, phrase("ask_usage", self.language(interaction)))
            return
        channel = interaction.channel_id or 0
        ids = (channel, interaction.id, interaction.user.id, question.strip(), source)
        incoming = Incoming(*ids, thread_post=thread_post, platform="discord")
        await self.app.conversation.ask(incoming, InteractionReplier(interaction))

    async def mydata(self, interaction: discord.Interaction) -> None:
        """Send a member everything stored about them, as a JSON file only they see."""
        user = interaction.user.id
        data = members.export_member(self.app, user)
        caption = phrase("mydata", self.language(interaction)).format(
            user=user, questions=len(data["questions"]), votes=len(data["votes"])
        )
        payload = io.BytesIO(json.dumps(data, ensure_ascii=False, indent=2).encode())
        await self.private(interaction, caption, file=discord.File(payload, "mydata.json"))

    async def forgetme(self, interaction: discord.Interaction) -> None:
        """Ask a member to confirm erasing everything stored about them."""
        language = self.language(interaction)
        view = discord.ui.View(timeout=None)
        label, danger = phrase("forgetme_button", language), discord.ButtonStyle.danger
        view.add_item(discord.ui.Button(label=label, style=danger, custom_id="forgetme"))
        await self.private(interaction, phrase("forgetme_confirm", language), view=view)
        view.stop()

    @app_commands.describe(link="The deleted post's message link")
    async def forget(self, interaction: discord.Interaction, link: str) -> None:
        """Remove a post from the answers (members with Manage Messages only)."""
        language = self.language(interaction)
        source, _ = self.bot.answering_source(interaction.channel)
        if source is None or not interaction.permissions.manage_messages:
            await self.private(interaction, phrase("admins", language))
            return
        try:
            channel_id, message_id = parse_message_link(link)
            if channel_id not in self.bot.cfg.sources:
                raise ValueError(link)
            done = await self.app.work_queue.run(
                lambda _c: posts.forget_post(self.app, str(message_id), channel_id, False)
            )
        except (ValueError, PostfinderError):
            await self.private(interaction, phrase("forget_usage", language))
            return
        key = "forgotten" if done.removed else "not_indexed"
        await self.private(interaction, phrase(key, language).format(post=done.post_id))
        log.info("Post %s of channel %s forgotten on a moderator's request", message_id, channel_id)

    async def stats(self, interaction: discord.Interaction) -> None:
        """Report questions, answers and feedback of this channel (moderators only)."""
        if not interaction.permissions.manage_messages:
            await self.private(interaction, phrase("admins", self.language(interaction)))
            return
        report = await asyncio.to_thread(
            stats_ops.stats_report, self.app, chat_id=interaction.channel_id, repeats=True, top=5
        )
        text = stats_ops.format_stats(report)  # a message holds 2,000 characters
        await self.private(interaction, text if len(text) <= 2000 else text[:1999] + "…")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A pressed 👍/👎 (one vote per member per answer, changeable) or erase button."""
        if interaction.type is not discord.InteractionType.component:
            return  # slash commands: the command tree
        custom_id = str(dict(interaction.data or {}).get("custom_id", ""))
        language = self.language(interaction)
        if custom_id == "forgetme":
            erased = members.forget_member(self.app, interaction.user.id)
            done = phrase("forgetme_done", language).format(**erased)
            await interaction.response.edit_message(content=done, view=None)
            log.info("A member's data was erased on their request")
            return
        if not custom_id.startswith("v:"):
            return
        try:
            _, qid, vote = custom_id.split(":")
            stored = self.app.conversation.vote(int(qid), interaction.user.id, int(vote))
        except ValueError:
            stored = False
        await self.private(interaction, phrase("thanks", language) if stored else "?")
