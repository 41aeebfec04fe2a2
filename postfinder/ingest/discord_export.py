"""Streaming reader for DiscordChatExporter JSON exports (``--format Json``).

DiscordChatExporter (Tyrrrz/DiscordChatExporter) writes one channel per file: a
``guild`` and a ``channel`` object, then the ``messages`` list. `DiscordExport` has the
interface of `TelegramExport`, so the indexer reads either alike; it shares the Telegram
reader's guards against hostile files and materialises one message at a time.

The reader lives in ``ingest`` (not in the ``discord`` front end) because the indexer
uses it, and the layers (``pyproject.toml``) let the core import ``ingest`` only.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ijson

from postfinder.errors import ExportError
from postfinder.ingest.post import Post
from postfinder.ingest.telegram_export import (
    HASHTAG_RE,
    MAX_TEXT_CHARS,
    URL_RE,
    ChatInfo,
    check_structure,
)

WRITER = "DiscordChatExporter"
FIX = (
    "Export the channel again with DiscordChatExporter (--format Json) and index that file; "
    "nothing was changed in the index."
)
# The header (guild, channel, a topic of at most 1,024 characters) fits well within this.
PEEK_BYTES = 64 * 1024
# Top-level keys that only Telegram Desktop exports have: the peek can stop at them.
TELEGRAM_KEYS = frozenset({"name", "type", "id", "messages", "chats", "about"})
DISCORD_EPOCH = 1_420_070_400  # 2015-01-01: no Discord message is older
MAX_SNOWFLAKE = 2**63 - 1  # Discord ids are 64-bit, as are SQLite's integers
# Messages a member or a bot wrote; the other kinds are system notices (joins, pins,
# calls, threads created). Kinds DiscordChatExporter has no name for come as numbers:
# 20 and 23 are replies to slash and context-menu commands.
CONTENT_KINDS = frozenset({"Default", "Reply", "0", "19", "20", "23"})
# Channel kinds whose messages are private conversations, as `check_chat_kind` names
# them: it refuses them unless --allow-non-channel. Other kinds are server channels.
PRIVATE_KINDS = {
    "DirectTextChat": "personal_chat",
    "DirectGroupTextChat": "private_group",
    "GuildPrivateThread": "private_group",
}
DIRECT_GUILDS = frozenset({"", "0", "@me"})  # DiscordChatExporter's DM "guild" has id 0

# One pass over a markdown string: code (kept verbatim), masked and bare links, and
# mentions are tokens; what lies between them is text whose formatting is stripped.
_TOKEN_RE = re.compile(
    r"```(?:[\w+.#-]*\n)?(?P<block>.*?)```"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\(<?(?P<target>https?://[^\s<>)]+)>?\)"
    r"|<(?P<angle>https?://[^\s<>]+)>"
    rf"|(?P<url>{URL_RE.pattern})"
    r"|<(?P<sigil>@[!&]?|#|/[\w -]+:|a?:[\w~]+:|t:)(?P<ref>-?\d+)(?::(?P<style>[tTdDfFR]))?>",
    re.S,
)
_LINE_MARK_RE = re.compile(r"^(?:>>> |> |#{1,3} |-# )", re.M)
_MARKER_RE = re.compile(r"(?<!\\)(?:\*\*|__|~~|\|\|)")
_ITALIC_RE = re.compile(
    r"(?<![\\\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\\\w])_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"
)
_ESCAPE_RE = re.compile(r"\\([^\w\s])")
_BLANK = " \t\r\n\u200b"  # bots name embed fields with a zero-width space to hide the name


def link_prefix(guild_id: int | str | None, channel_id: int) -> str:
    """What a message id is appended to for its Discord link (``@me`` outside servers)."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}"


def is_discord_export(path: Path) -> bool:
    """Tell whether ``path`` is a DiscordChatExporter JSON export, from its content.

    Only the start of the file is read: a top-level ``guild`` or ``channel`` object
    before ``messages`` says DiscordChatExporter; Telegram's keys say otherwise.

    Parameters
    ----------
    path
        A file, or a folder (then: no ``result.json`` and a ``.json`` export inside).

    Returns
    -------
    bool
        True for a DiscordChatExporter export; False for anything else, including
        unreadable files (the Telegram reader then reports what is wrong).
    """
    if path.is_dir():
        if (path / "result.json").is_file():
            return False
        return any(_peek(candidate) for candidate in sorted(path.glob("*.json")))
    return _peek(path)


def _peek(path: Path) -> bool:
    try:
        with path.open("rb") as raw:
            head = raw.read(PEEK_BYTES)
    except OSError:
        return False
    depth, key = 0, ""
    try:
        # basic_parse builds no prefixes, so even a hostile head costs linear time.
        for event, value in ijson.basic_parse(io.BytesIO(head)):
            if depth == 0 and event != "start_map":
                return False
            if depth == 1 and event == "map_key":
                if value in TELEGRAM_KEYS:
                    return False
                key = value
            elif event in ("start_map", "start_array"):
                if depth == 1 and event == "start_map" and key in ("guild", "channel"):
                    return True
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
    except (ijson.common.JSONError, ValueError):
        pass  # the head ends mid-value, or is not JSON at all
    return False


def resolve_discord_path(path: Path) -> Path:
    """Return the export file to read: ``path`` itself, or the one export in a folder.

    Raises
    ------
    ExportError
        If the file does not exist, or the folder holds no export or several.
    """
    if not path.is_dir():
        if not path.is_file():
            raise ExportError(f"Export file {path} does not exist.")
        return path
    found = [p for p in sorted(path.glob("*.json")) if _peek(p)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ExportError(
            f"{path} holds no DiscordChatExporter JSON export; point at the .json file "
            "written with --format Json."
        )
    raise ExportError(
        f"{path} holds {len(found)} DiscordChatExporter exports, one channel each; index "
        "them one file at a time:\n" + "\n".join(f"  postfinder index {p}" for p in found)
    )


class DiscordExport:
    """One DiscordChatExporter JSON export (one channel), read as a stream.

    Parameters
    ----------
    path
        The ``.json`` file, or a folder holding exactly one such export.
    """

    def __init__(self, path: Path) -> None:
        self.path = resolve_discord_path(path)
        self._info: ChatInfo | None = None
        self._channel_name = ""

    def chats(self) -> list[ChatInfo]:
        """List the chats in the export: the one channel."""
        return [self._header()]

    def select_chat(self, chat: str | None) -> ChatInfo:
        """Return the export's channel, checking it is the one ``chat`` names.

        Parameters
        ----------
        chat
            Channel id or name (``announcements``, ``#announcements`` or
            ``Server #announcements``, case-insensitive); may be omitted.

        Raises
        ------
        ExportError
            If the header is unreadable, or ``chat`` names another channel.
        """
        info = self._header()
        if chat is None:
            return info
        wanted = chat.strip().casefold()
        names = {str(info.id), info.name.casefold(), self._channel_name.casefold()}
        if wanted in names or wanted.removeprefix("#") in names:
            return info
        raise ExportError(
            f"No channel matches --chat {chat!r}: {self.path} is the DiscordChatExporter "
            f"export of one channel, {info.id} ({info.name!r}). Leave out --chat."
        )

    def iter_posts(self, chat: ChatInfo) -> Iterator[Post]:
        """Yield the messages of ``chat`` that carry text, as posts, in file order.

        System messages and messages without text (attachments only) are skipped.

        Raises
        ------
        ExportError
            If the JSON is malformed or a message has an invalid field; it names the
            message's position and id.
        """
        if chat.id != self._header().id:
            return
        with self.path.open("rb") as raw:
            try:
                items = ijson.items(raw, "messages.item", use_float=True)
                for position, message in enumerate(items, 1):
                    where = f"{self.path}: message {position}"
                    if not isinstance(message, dict):
                        raise ExportError(f"{where}: expected an object, got {message!r}. {FIX}")
                    post = message_to_post(chat, message, f"{where} (id {message.get('id')!r})")
                    if post is not None:
                        yield post
            except ijson.common.JSONError as exc:
                raise ExportError(self._malformed(raw.tell(), exc)) from exc

    def _header(self) -> ChatInfo:
        """Read (once) the guild and channel that precede the messages."""
        if self._info is not None:
            return self._info
        check_structure(self.path, WRITER)
        attrs: dict[str, Any] = {}
        saw_messages = False
        with self.path.open("rb") as raw:
            try:
                for prefix, event, value in ijson.parse(raw, use_float=True):
                    if prefix == "" and event not in ("start_map", "map_key", "end_map"):
                        raise ExportError(f"{self.path}: expected a JSON object at the top. {FIX}")
                    if prefix.startswith(("guild.", "channel.")) and event != "map_key":
                        attrs[prefix] = value
                    elif prefix == "messages" and event == "start_array":
                        saw_messages = True
                        if "channel.id" in attrs:
                            break  # the rest is messages, read by iter_posts
            except ijson.common.JSONError as exc:
                raise ExportError(self._malformed(raw.tell(), exc)) from exc
        if not saw_messages:
            raise ExportError(f"{self.path}: no 'messages' list. {FIX}")
        self._channel_name = str(attrs.get("channel.name") or "")
        self._info = _chat_info(attrs, self._channel_name, self.path)
        return self._info

    def _malformed(self, offset: int, exc: Exception) -> str:
        detail = str(exc).strip().replace("\n", " ")
        return (
            f"{self.path}: malformed JSON within the first {offset:,} bytes: {detail}. "
            f"The export is incomplete or was changed after DiscordChatExporter wrote it. {FIX}"
        )


def _chat_info(attrs: dict[str, Any], channel_name: str, path: Path) -> ChatInfo:
    """Build the channel's `ChatInfo` from the header's scalar values."""
    channel_id = snowflake(attrs.get("channel.id"))
    if channel_id is None:
        raise ExportError(
            f"{path}: expected a numeric 'channel.id', got {attrs.get('channel.id')!r}. {FIX}"
        )
    kind = str(attrs.get("channel.type") or "")
    guild = str(attrs.get("guild.id") or "")
    if guild not in DIRECT_GUILDS and snowflake(guild) is None:
        raise ExportError(f"{path}: expected a numeric 'guild.id', got {guild!r}. {FIX}")
    direct = guild in DIRECT_GUILDS or kind.startswith("Direct")
    chat_type = PRIVATE_KINDS.get(kind) or ("personal_chat" if direct else "channel")
    guild_name = str(attrs.get("guild.name") or "")
    return ChatInfo(
        id=channel_id,
        name=f"{guild_name} #{channel_name}".strip(),
        type=chat_type,
        link_prefix=link_prefix(None if direct else guild, channel_id),
    )


def snowflake(value: Any) -> int | None:
    """Read a Discord id (a string of digits, or a number); ``None`` if it is not one."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return None
    return number if 1 <= number <= MAX_SNOWFLAKE else None


def message_to_post(chat: ChatInfo, message: dict[str, Any], where: str) -> Post | None:
    """Convert one exported message into a `Post`; ``None`` for system or text-less ones.

    Raises
    ------
    ExportError
        Naming ``where``, if the id, the timestamp or a text field is invalid.
    """
    if str(message.get("type", "Default")) not in CONTENT_KINDS:
        return None
    msg_id = snowflake(message.get("id"))
    if msg_id is None:
        raise ExportError(f"{where}: expected a numeric 'id' (a Discord snowflake). {FIX}")
    try:
        text, links, hashtags = message_text(
            _typed(message, "content", str) or "",
            _typed(message, "embeds", list) or [],
            _mention_names(message.get("mentions")),
        )
        if not text:
            return None
        date = _unixtime(message.get("timestamp"), "timestamp")
        reply_to = _reply_to(message.get("reference"), chat.id)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ExportError(f"{where}: {exc}. {FIX}") from exc
    if not DISCORD_EPOCH <= date <= time.time() + 2 * 86400:
        raise ExportError(f"{where}: 'timestamp' {date} is not a date between 2015 and now. {FIX}")
    if len(text) > MAX_TEXT_CHARS:
        raise ExportError(
            f"{where}: {len(text):,} characters of text; a Discord message has at most "
            f"4,000 and its embeds 6,000. {FIX}"
        )
    return Post(
        channel_id=chat.id,
        id=msg_id,
        date=date,
        text=text,
        edited=_edited(message.get("timestampEdited"), date),
        reply_to=reply_to,
        links=tuple(links),
        hashtags=tuple(hashtags),
    )


def _typed(message: Mapping[str, Any], key: str, kind: type) -> Any:
    """``message[key]`` if it is a ``kind`` or missing/null (``None``); else ValueError."""
    value = message.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"expected '{key}' to be a {kind.__name__}, got {value!r}")
    return value


def _unixtime(raw: Any, key: str) -> int:
    if not isinstance(raw, str):
        raise ValueError(f"expected '{key}' to be an ISO 8601 date, got {raw!r}")
    moment = datetime.fromisoformat(raw)  # ValueError names the bad string
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _edited(raw: Any, date: int) -> int | None:
    """The edit time, or ``None``: a broken edit date is not worth refusing the export for."""
    try:
        edited = _unixtime(raw, "timestampEdited") if raw is not None else None
    except (ValueError, OverflowError):
        return None
    return edited if edited is not None and date <= edited <= time.time() + 2 * 86400 else None


def _reply_to(reference: Any, channel_id: int) -> int | None:
    """The replied-to message id, when it is in the same channel (links stay inside)."""
    if reference is None:
        return None
    if not isinstance(reference, dict):
        raise ValueError(f"expected 'reference' to be an object, got {reference!r}")
    channel = reference.get("channelId")
    if channel is not None and snowflake(channel) != channel_id:
        return None  # a crosspost or a reply to another channel
    raw = reference.get("messageId")
    if raw is None:
        return None
    target = snowflake(raw)
    if target is None:
        raise ValueError(f"expected 'reference.messageId' to be a numeric id, got {raw!r}")
    return target


def _mention_names(mentions: Any) -> dict[str, str]:
    """Display names of the mentioned users by id (only used to render ``<@id>``)."""
    if not isinstance(mentions, list):
        return {}
    return {
        str(user["id"]): str(user.get("nickname") or user.get("name") or "user")
        for user in mentions
        if isinstance(user, dict) and user.get("id") is not None
    }


def message_text(
    content: str,
    embeds: Sequence[Mapping[str, Any]],
    names: Mapping[str, str] | None = None,
) -> tuple[str, list[str], list[str]]:
    """Turn a message's markdown and embeds into plain text, link targets and hashtags.

    Formatting marks (``**``, ``__``, ``~~``, ``||``, italics, headings, quotes) are
    dropped, masked links keep their text, mentions read ``@name``, ``#channel``,
    ``:emoji:``; embed titles, descriptions and fields follow the content (announcement
    bots often post embeds only). Attachment file names are not text.

    Parameters
    ----------
    content
        The message's markdown.
    embeds
        Embed objects (DiscordChatExporter's or discord.py's ``Embed.to_dict()``).
    names
        Display names of mentioned users by id.

    Returns
    -------
    tuple
        ``(plain_text, links, hashtags)``.

    Raises
    ------
    ValueError
        If an embed or one of its fields is not an object, or its text not a string.
    """
    rendering = _Rendering(names or {})
    parts = [rendering.markdown(content)]
    for embed in embeds:
        if not isinstance(embed, Mapping):
            raise ValueError(f"expected each of 'embeds' to be an object, got {embed!r}")
        parts.extend(rendering.embed(embed))
    text = "\n".join(part for part in parts if part).strip()
    return text, list(dict.fromkeys(rendering.links)), list(dict.fromkeys(rendering.hashtags))


class _Rendering:
    """Plain text of one message, collecting its links and hashtags as it goes."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.links: list[str] = []
        self.hashtags: list[str] = []

    def embed(self, embed: Mapping[str, Any]) -> list[str]:
        """The text of an embed: title, description, then ``name: value`` per field."""
        url = _typed(embed, "url", str)
        if url:
            self.links.append(url)
        parts = [self._field(embed, "title"), self._field(embed, "description")]
        for field in _typed(embed, "fields", list) or []:
            if not isinstance(field, Mapping):
                raise ValueError(f"expected each embed field to be an object, got {field!r}")
            name, value = self._field(field, "name"), self._field(field, "value")
            parts.append(f"{name}: {value}" if name and value else name or value)
        return [part for part in parts if part]

    def _field(self, mapping: Mapping[str, Any], key: str) -> str:
        return self.markdown(_typed(mapping, key, str) or "").strip(_BLANK)

    def markdown(self, source: str) -> str:
        """Plain text of Discord markdown; links and hashtags are collected."""
        pieces: list[str] = []
        end = 0
        for match in _TOKEN_RE.finditer(source):
            pieces.append(self._text(source[end : match.start()]))
            pieces.append(self._token(match))
            end = match.end()
        pieces.append(self._text(source[end:]))
        return "".join(pieces).strip()

    def _text(self, text: str) -> str:
        text = _MARKER_RE.sub("", _LINE_MARK_RE.sub("", text))
        text = _ESCAPE_RE.sub(r"\1", _ITALIC_RE.sub(lambda m: m.group(1) or m.group(2), text))
        self.hashtags.extend(HASHTAG_RE.findall(text))
        return text

    def _token(self, match: re.Match[str]) -> str:
        group = match.lastgroup
        if group in ("block", "code"):
            return match.group(group)
        if group == "target":
            self.links.append(match.group("target"))
            return self._text(match.group("label"))
        if group in ("angle", "url"):
            url = match.group(group)
            self.links.append(url.rstrip(".,;:!?"))
            return url
        return self._mention(match.group("sigil"), match.group("ref"), match.group("style"))

    def _mention(self, sigil: str, ref: str, style: str | None) -> str:
        if sigil in ("@", "@!"):
            return f"@{self.names.get(ref, 'user')}"
        if sigil == "@&":
            return "@role"
        if sigil == "#":
            return "#channel"  # the export names no other channel; no hashtag either
        if sigil == "t:":
            return _timestamp(int(ref), style)
        if sigil.startswith("/"):
            return sigil[:-1]  # </name:id>, a slash command: "/name"
        return sigil.removeprefix("a")  # <:name:id> or <a:name:id>, a custom emoji: ":name:"


def _timestamp(unix: int, style: str | None) -> str:
    """``<t:unix:style>`` as a date in UTC: the reader's time zone is unknown, and an
    absolute date stays true where Discord's relative style ("in 3 days") would not."""
    try:
        moment = datetime.fromtimestamp(unix, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(unix)
    if style in ("d", "D"):
        return moment.strftime("%Y-%m-%d")
    if style in ("t", "T"):
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")
