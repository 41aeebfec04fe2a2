"""Telegram's ids and messages in PostFinder's terms: channel ids, posts, forwards."""

from __future__ import annotations

from telegram import Message, MessageEntity, MessageOriginChannel

from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import flatten_text

CHANNEL_ID_OFFSET = 10**12  # Bot API channel ids are -100<id>; exports use <id>
# Bot API: user and chat ids have at most 52 significant bits; message ids are 32-bit.
MAX_TELEGRAM_ID = 2**52


def export_id(chat_id: int) -> int:
    """Turn a Bot API channel id (-100...) into the id used by exports and the index."""
    magnitude = abs(chat_id)
    return magnitude - CHANNEL_ID_OFFSET if magnitude > CHANNEL_ID_OFFSET else magnitude


def api_id(channel_id: int) -> int:
    """Turn an export channel id into the Bot API chat id."""
    return -(CHANNEL_ID_OFFSET + channel_id)


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


def origin_post(message: Message) -> int | None:
    """The channel post an automatic forward in a discussion group copies."""
    origin = getattr(message, "forward_origin", None)
    if isinstance(origin, MessageOriginChannel):
        return origin.message_id
    return None
