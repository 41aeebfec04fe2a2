"""How the Discord bot replies to one question: in the channel, or to a slash command.

discord.py waits out 429s (``retry_after``) and keeps to each route's bucket; streamed
text is edited at most every ``edit_interval_s``, within Discord's 5 edits per 5 s.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from postfinder.answering.pipeline import Answer
from postfinder.discord.messages import render
from postfinder.phrases import phrase

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()  # a quoted post never pings @everyone


def vote_buttons(question_id: int) -> discord.ui.View:
    """👍/👎 under an answer; pressed buttons reach ``on_interaction`` by custom id."""
    view = discord.ui.View(timeout=None)
    for emoji, vote in (("👍", 1), ("👎", -1)):
        view.add_item(discord.ui.Button(emoji=emoji, custom_id=f"v:{question_id}:{vote}"))
    return view


class _Replier:
    """Delivery shared by both: the answer in pieces, 👍/👎 under the last one."""

    async def show(self, text: str, view: discord.ui.View | None = None) -> Any:
        """Replace what the asker sees (the placeholder or the response) with ``text``."""

    async def more(self, text: str, view: discord.ui.View | None) -> Any:
        """Send another piece of a long answer."""

    async def progress(self, text: str) -> None:
        """Show the verified text so far."""
        await self.show(text[:1990] + " …")

    async def notice(self, text: str) -> int | None:
        """Say something short instead of an answer (busy, error)."""
        return int((await self.show(text)).id)

    async def deliver(self, answer: Answer, question_id: int) -> int | None:
        """Send the answer (split if long) with 👍/👎 under its last part."""
        pieces = render(answer)
        votes = vote_buttons(question_id) if answer.mode != "refused" else None
        first = await self.show(pieces[0], votes if len(pieces) == 1 else None)
        for index, piece in enumerate(pieces[1:], start=2):
            await self.more(piece, votes if index == len(pieces) else None)
        if votes is not None:
            votes.stop()  # handled by custom id: discord.py need not keep the view
        return int(first.id)


class MessageReplier(_Replier):
    """Replies to a member's message: 👀 and typing, then a reply edited as text streams."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message
        self.placeholder: discord.Message | None = None

    async def working(self, language: str) -> None:
        """React with 👀, show typing and post a placeholder reply."""
        try:
            await self.message.add_reaction("👀")
        except discord.HTTPException as exc:  # no Add Reactions permission: typing is enough
            log.debug("No reaction: %s", exc)
        await self.message.channel.typing()
        self.placeholder = await self.more(phrase("thinking", language), None)

    async def show(self, text: str, view: discord.ui.View | None = None) -> Any:
        """Edit the placeholder (a reply when there is none)."""
        if self.placeholder is None:
            return await self.more(text, view)
        return await self.placeholder.edit(content=text, view=view)

    async def more(self, text: str, view: discord.ui.View | None) -> Any:
        """Reply to the question, pinging nobody."""
        return await self.message.reply(
            text,
            mention_author=False,
            allowed_mentions=NO_PINGS,
            view=view,  # type: ignore[arg-type]
        )


class InteractionReplier(_Replier):
    """Replies to ``/ask``: a deferred "thinking" response edited as text streams."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction

    async def working(self, language: str) -> None:
        """Defer the response (Discord shows "thinking" until the first edit)."""
        del language
        await self.interaction.response.defer(thinking=True)

    async def show(self, text: str, view: discord.ui.View | None = None) -> Any:
        """Edit the deferred response."""
        return await self.interaction.edit_original_response(
            content=text, allowed_mentions=NO_PINGS, view=view
        )

    async def more(self, text: str, view: discord.ui.View | None) -> Any:
        """A follow-up message."""
        extra = {"view": view} if view is not None else {}  # None is refused here
        return await self.interaction.followup.send(
            text, allowed_mentions=NO_PINGS, wait=True, **extra  # type: ignore[call-overload]
        )

    async def notice(self, text: str) -> int | None:
        """Say something short: privately if nothing was shown yet, else in the response."""
        if not self.interaction.response.is_done():
            await self.interaction.response.send_message(text, ephemeral=True)
            return None
        return int((await self.show(text)).id)
