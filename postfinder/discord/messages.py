"""Discord's messages in PostFinder's terms: posts, message links, rendered answers."""

from __future__ import annotations

import re
from typing import Any

from postfinder.answering.pipeline import Answer
from postfinder.ingest.discord_export import message_text
from postfinder.ingest.post import Post
from postfinder.phrases import phrase
from postfinder.text import split_message

DISCORD_LIMIT = 2000
LINK_RE = re.compile(
    r"^<?https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)>?$"
)


def parse_message_link(text: str) -> tuple[int, int]:
    """Read ``https://discord.com/channels/<guild>/<channel>/<message>`` (else ValueError)."""
    match = LINK_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Discord message link")
    return int(match.group(2)), int(match.group(3))


def post_from_message(message: Any, channel_id: int) -> Post | None:
    """Build a `Post` from a discord.py message, as the export reader would."""
    embeds = [embed.to_dict() for embed in message.embeds]
    names = {str(user.id): user.display_name for user in message.mentions}
    text, links, hashtags = message_text(message.content or "", embeds, names)
    if not text.strip():
        return None
    ref, edited = message.reference, message.edited_at
    same_channel = ref is not None and ref.channel_id == message.channel.id
    return Post(
        channel_id,
        message.id,
        int(message.created_at.timestamp()),
        text,
        edited=int(edited.timestamp()) if edited else None,
        reply_to=ref.message_id if ref is not None and same_channel else None,
        links=tuple(links),
        hashtags=tuple(hashtags),
    )


def render(answer: Answer) -> list[str]:
    """The answer in pieces within Discord's limit; sources in ``<>`` get no preview card."""
    body = answer.answer
    if answer.sources:
        listing = "\n".join(f"[{s.n}] <{s.link}>" for s in answer.sources)
        body = f"{body}\n\n**{phrase('sources', answer.language)}:**\n{listing}"
    return split_message(body, DISCORD_LIMIT)
