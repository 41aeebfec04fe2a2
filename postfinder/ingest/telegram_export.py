"""Streaming reader for Telegram Desktop JSON exports.

Two layouts are supported: a single chat's ``result.json`` (keys ``name``, ``type``,
``id``, ``messages``) and the full-account export, whose chats sit in
``chats.list`` and ``left_chats.list``. The file is parsed as a stream of JSON
events, so memory stays bounded however large the export is; only the messages of
the chosen chat are materialised, one at a time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import ijson

from postfinder.errors import ExportError
from postfinder.ingest.post import Post

ACCOUNT_CONTAINERS = ("chats.list.item", "left_chats.list.item")
# Telegram Desktop nests at most about 8 levels (account > chats > messages > text >
# entity); deeper input is hostile and would cost the parser memory quadratic in depth.
MAX_DEPTH = 32
# A post has at most 4,096 characters; a JSON string of 6 bytes per character
# (\uXXXX escapes) of 65,536 characters is the most an export needs. Longer strings are
# refused before parsing, whose cost grows quadratically with a string's length.
MAX_STRING_BYTES = 6 * 65_536
_SCAN_CHUNK = 1 << 20
_TOKEN_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}"]')
URL_RE = re.compile(r"https?://[^\s<>()\"']+")
HASHTAG_RE = re.compile(r"(?<!\w)#\w+")


@dataclass(frozen=True)
class ChatInfo:
    """A chat found in an export.

    ``link_prefix`` is set for platforms whose post links are not t.me's: a post's
    link is then ``<link_prefix>/<post id>`` (on Discord
    ``https://discord.com/channels/<guild>/<channel>``).
    """

    id: int
    name: str
    type: str
    link_prefix: str = ""


class _CountingReader:
    """Binary file wrapper that remembers how many bytes were handed to the parser."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        """Read and count bytes."""
        data = self._raw.read(size)
        self.offset += len(data)
        return data


def resolve_export_path(path: Path) -> Path:
    """Return the ``result.json`` to read for a file or an export folder.

    Raises
    ------
    ExportError
        If nothing readable is there, or the export is in HTML format.
    """
    if path.is_dir():
        if (path / "result.json").is_file():
            return path / "result.json"
        if any(path.glob("messages*.html")):
            raise ExportError(
                f"{path} holds an HTML export. Export again in Telegram Desktop with "
                "'Format: Machine-readable JSON' and index its result.json."
            )
        raise ExportError(
            f"{path} has no result.json; point at a Telegram Desktop JSON export or at a "
            "DiscordChatExporter .json file."
        )
    if not path.is_file():
        raise ExportError(f"Export file {path} does not exist.")
    return path


class TelegramExport:
    """One Telegram Desktop export file, read as a stream.

    Parameters
    ----------
    path
        ``result.json`` or the export folder that contains it.
    """

    def __init__(self, path: Path) -> None:
        self.path = resolve_export_path(path)
        self._checked = False

    # -- public API -----------------------------------------------------------------
    def chats(self) -> list[ChatInfo]:
        """List the chats in the export (one for a single-chat export)."""
        return [info for info, _ in self._walk(want_messages=None)]

    def select_chat(self, chat: str | None) -> ChatInfo:
        """Pick the chat to index.

        Parameters
        ----------
        chat
            Chat id or name (case-insensitive); may be omitted when the export holds one chat.

        Returns
        -------
        ChatInfo
            The chosen chat.

        Raises
        ------
        ExportError
            If no chat or more than one chat matches.
        """
        chats = self.chats()
        if not chats:
            raise ExportError(f"{self.path} contains no chats.")
        if chat is None:
            if len(chats) == 1:
                return chats[0]
            raise ExportError(
                f"{self.path} holds {len(chats)} chats; choose one with --chat NAME_OR_ID:\n"
                + _describe(chats)
            )
        wanted = chat.strip().lstrip("@")
        matches = [
            c
            for c in chats
            if str(c.id) == wanted.removeprefix("-100") or c.name.casefold() == wanted.casefold()
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ExportError(
                f"No chat matches --chat {chat!r}. Chats in the export:\n" + _describe(chats)
            )
        raise ExportError(
            f"--chat {chat!r} matches {len(matches)} chats; use the numeric id:\n"
            + _describe(matches)
        )

    def iter_posts(self, chat: ChatInfo) -> Iterator[Post]:
        """Yield the posts of ``chat`` that carry text, in file order.

        Service messages and messages without text or caption are skipped.

        Raises
        ------
        ExportError
            If the JSON is malformed or a message lacks a field PostFinder needs.
        """
        for _, message in self._walk(want_messages=chat.id):
            post = message_to_post(chat.id, message, self.path)
            if post is not None:
                yield post

    # -- streaming core ---------------------------------------------------------------
    def _walk(self, want_messages: int | None) -> Iterator[tuple[ChatInfo, dict[str, Any]]]:
        """Stream the file; yield ``(chat, None)`` per chat or ``(chat, message)`` per message.

        With ``want_messages=None`` one item per chat is produced (messages are skipped);
        otherwise every message of the chat with that id is produced.
        """
        if not self._checked:
            check_structure(self.path)
            self._checked = True
        with self.path.open("rb") as raw:
            reader = _CountingReader(raw)
            try:
                yield from _walk_events(ijson.parse(reader, use_float=True), want_messages)
            except ijson.common.IncompleteJSONError as exc:
                raise ExportError(self._position_message(reader.offset, exc)) from exc
            except ijson.common.JSONError as exc:
                raise ExportError(self._position_message(reader.offset, exc)) from exc
            except _FormatProblem as exc:
                raise ExportError(f"{self.path}: {exc}") from exc

    def _position_message(self, offset: int, exc: Exception) -> str:
        detail = str(exc).strip().replace("\n", " ")
        if "premature EOF" in detail or "Incomplete" in detail:
            hint = "the file ends early; the export is incomplete (re-export it)"
        else:
            hint = "expected valid JSON as written by Telegram Desktop's export"
        return (
            f"{self.path}: malformed JSON within the first {offset:,} bytes: {detail}. "
            f"{hint}. Nothing was changed in the index."
        )


def check_structure(path: Path, writer: str = "Telegram Desktop") -> None:
    """Refuse exports nested too deeply or holding too long a string, before parsing.

    One pass over the raw bytes with a C-speed tokenizer (strings and brackets only), so
    hostile files cost linear time and a bounded amount of memory.

    Parameters
    ----------
    path
        The export file.
    writer
        The program that writes such exports, named in the error messages.

    Raises
    ------
    ExportError
        Naming the byte offset of the first nesting level or string over the limits.
    """
    depth = 0
    with path.open("rb") as raw:
        carry, base = b"", 0  # carry: an unfinished string from the previous chunk
        while True:
            data = raw.read(_SCAN_CHUNK)
            buf = carry + data
            carry = b""
            for match in _TOKEN_RE.finditer(buf):
                start, end = match.span()
                first = buf[start]
                if first == 0x22:  # a string, or an opening quote not closed in this chunk
                    if end - start == 1 and data:
                        carry = buf[start:]
                        break
                    if end - start > MAX_STRING_BYTES:
                        _too_long(path, base + start, writer)
                elif first in b"[{":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise ExportError(
                            f"{path}: JSON nested deeper than {MAX_DEPTH} levels at byte "
                            f"{base + start:,}. {writer} writes at most about 8; this "
                            "file was not written by it. Nothing was changed in the index."
                        )
                else:
                    depth -= 1
            if len(carry) > MAX_STRING_BYTES:
                _too_long(path, base + len(buf) - len(carry), writer)
            if not data:
                return
            base += len(buf) - len(carry)


def _too_long(path: Path, offset: int, writer: str) -> None:
    raise ExportError(
        f"{path}: a JSON string longer than {MAX_STRING_BYTES:,} bytes at byte {offset:,}. "
        "Posts have at most a few thousand characters (Telegram 4,096); this file was not "
        f"written by {writer}. Nothing was changed in the index."
    )


class _FormatProblem(Exception):
    """Valid JSON that is not shaped like a Telegram export."""


def _walk_events(
    events: Iterator[tuple[str, str, Any]], want: int | None
) -> Iterator[tuple[ChatInfo, Any]]:
    """Turn ijson events into chats and messages (see `TelegramExport._walk`)."""
    attrs: dict[str, Any] = {}
    container: str | None = None
    saw_container = False
    for prefix, event, value in events:
        if prefix == "" and event == "start_map":
            container, attrs = "", {}
            continue
        if prefix == "" and event not in ("map_key", "end_map"):
            raise _FormatProblem("expected a JSON object at the top (a Telegram Desktop export).")
        if prefix in ACCOUNT_CONTAINERS and event in ("start_map", "end_map"):
            if event == "start_map":
                container, attrs = prefix, {}
            elif want is None:
                saw_container = True
                yield _chat_info(attrs), None
            continue
        if container is None:
            continue
        base = f"{container}." if container else ""
        if prefix in (f"{base}name", f"{base}type", f"{base}id") and event in (
            "string",
            "number",
            "null",
        ):
            attrs[prefix.rsplit(".", 1)[-1]] = value
        elif prefix == f"{base}messages" and event == "start_array":
            saw_container = True
            if container == "" and want is None:
                yield _chat_info(attrs), None
            if want is not None and _chat_info(attrs).id == want:
                yield from _read_messages(events, prefix, _chat_info(attrs))
    if not saw_container:
        raise _FormatProblem(
            "no 'messages' list and no 'chats' found; index the result.json written by "
            "Telegram Desktop's 'Export chat history' (format JSON)."
        )


def _read_messages(
    events: Iterator[tuple[str, str, Any]], array_prefix: str, chat: ChatInfo
) -> Iterator[tuple[ChatInfo, dict[str, Any]]]:
    """Build each message object of the array at ``array_prefix`` from the event stream."""
    item_prefix = f"{array_prefix}.item"
    for prefix, event, value in events:
        if prefix == array_prefix and event == "end_array":
            return
        if prefix == item_prefix and event == "start_map":
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
            depth = 1
            for _, ev, val in events:
                builder.event(ev, val)
                depth += ev in ("start_map", "start_array")
                depth -= ev in ("end_map", "end_array")
                if depth == 0:
                    break
            yield chat, builder.value
        elif prefix == item_prefix:
            raise _FormatProblem(
                f"chat {chat.id}: expected each item of 'messages' to be an object, got {event}."
            )


def _chat_info(attrs: dict[str, Any]) -> ChatInfo:
    """Build a `ChatInfo` from the chat's scalar attributes."""
    raw_id = attrs.get("id")
    if raw_id is None:
        raise _FormatProblem(
            "a chat has no numeric 'id' before its 'messages'; is this a Telegram Desktop export?"
        )
    try:
        chat_id = int(raw_id)
    except (TypeError, ValueError) as exc:
        raise _FormatProblem(f"chat id {raw_id!r} is not a number.") from exc
    return ChatInfo(
        id=chat_id, name=str(attrs.get("name") or ""), type=str(attrs.get("type") or "")
    )


def _describe(chats: list[ChatInfo]) -> str:
    return "\n".join(f"  {c.id}  {c.type or '?':<16} {c.name}" for c in chats)


def flatten_text(text: Any) -> tuple[str, list[str], list[str]]:
    """Flatten an export ``text`` field into plain text, link targets and hashtags.

    Parameters
    ----------
    text
        A string, or a list of strings and entity objects (``{"type", "text", "href"?}``).

    Returns
    -------
    tuple
        ``(plain_text, links, hashtags)``.

    Raises
    ------
    ValueError
        If an element is neither a string nor an entity object.
    """
    if text is None:
        return "", [], []
    parts = [text] if isinstance(text, str) else text
    if not isinstance(parts, list):
        raise ValueError(f"expected 'text' to be a string or a list, got {type(text).__name__}")
    pieces: list[str] = []
    links: list[str] = []
    hashtags: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):
            piece = str(part.get("text", ""))
            pieces.append(piece)
            if part.get("href"):
                links.append(str(part["href"]))
            if part.get("type") == "hashtag":
                hashtags.append(piece)
        else:
            raise ValueError(f"expected text parts to be strings or objects, got {part!r}")
    plain = "".join(pieces)
    for url in URL_RE.findall(plain):
        links.append(url.rstrip(".,;:!?"))
    hashtags.extend(HASHTAG_RE.findall(plain))
    return plain, list(dict.fromkeys(links)), list(dict.fromkeys(hashtags))


def _poll_text(poll: Any) -> str:
    if not isinstance(poll, dict):
        return ""
    answers = [str(a.get("text", "")) for a in poll.get("answers") or [] if isinstance(a, dict)]
    return "\n".join([str(poll.get("question", "")), *answers]).strip()


def _unixtime(message: dict[str, Any], key: str) -> int | None:
    """Read ``<key>_unixtime``, falling back to the ISO ``<key>`` field (taken as UTC)."""
    raw = message.get(f"{key}_unixtime")
    if raw not in (None, ""):
        try:
            return int(raw)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"'{key}_unixtime' is not a whole number of seconds: {raw!r}"
            ) from None
    iso = message.get(key)
    if not iso:
        return None
    return int(datetime.fromisoformat(str(iso)).replace(tzinfo=timezone.utc).timestamp())


# Public content: channels, and public groups (a discussion or forum group members ask in).
PUBLIC_CHAT_TYPES = frozenset({"public_channel", "private_channel", "channel", "public_supergroup"})
MAX_MESSAGE_ID = 2**31 - 1  # Telegram message ids are 32-bit
FIRST_DATE = 1_356_998_400  # 2013-01-01: Telegram started in August 2013
MAX_TEXT_CHARS = 65_536  # Telegram posts have at most 4,096 characters


def check_chat_kind(chat: ChatInfo, allow_non_channel: bool) -> None:
    """Refuse personal chats, private groups and saved messages unless asked for.

    Raises
    ------
    ExportError
        If ``chat`` is not a channel or public group and ``allow_non_channel`` is false.
    """
    if chat.type in PUBLIC_CHAT_TYPES or allow_non_channel:
        return
    raise ExportError(
        f"Chat {chat.id} ({chat.name!r}) is a {chat.type or 'chat of unknown type'}, not a "
        "channel or public group: its messages are private conversations (phone numbers, "
        "documents). PostFinder indexes channels; if you really mean to index this chat, "
        "add --allow-non-channel."
    )


def _checked_date(value: int | None, where: str, what: str) -> int | None:
    if value is None:
        return None
    if not FIRST_DATE <= value <= time.time() + 2 * 86400:
        raise ExportError(
            f"{where}: {what} {value} is not a date between 2013 and now. Is the export intact?"
        )
    return value


def message_to_post(chat_id: int, message: dict[str, Any], path: Path) -> Post | None:
    """Convert one exported message into a `Post`; ``None`` for service or text-less ones.

    Raises
    ------
    ExportError
        If the message lacks an id or date, or a field has the wrong type.
    """
    if message.get("type", "message") != "message":
        return None
    msg_id = message.get("id")
    where = f"{path}: chat {chat_id}, message id={msg_id!r}"
    if not isinstance(msg_id, (int, float)) or isinstance(msg_id, bool) or msg_id != int(msg_id):
        raise ExportError(f"{where}: expected an integer 'id'. Is the export complete?")
    if not 1 <= msg_id <= MAX_MESSAGE_ID:
        raise ExportError(f"{where}: message ids run from 1 to {MAX_MESSAGE_ID}.")
    try:
        text, links, hashtags = flatten_text(message.get("text"))
        poll = _poll_text(message.get("poll"))
        text = "\n".join(p for p in (text, poll) if p).strip()
        if not text:
            return None
        date = _unixtime(message, "date")
    except (TypeError, ValueError, OverflowError) as exc:
        raise ExportError(f"{where}: {exc}.") from exc
    if date is None:
        raise ExportError(f"{where}: expected a 'date' or 'date_unixtime'.")
    _checked_date(date, where, "date")
    if len(text) > MAX_TEXT_CHARS:
        raise ExportError(
            f"{where}: {len(text):,} characters of text; Telegram posts have at most 4,096. "
            "Is this a Telegram Desktop export?"
        )
    reply_to = message.get("reply_to_message_id")
    forwarded = message.get("forwarded_from")
    try:
        edited = _checked_date(_unixtime(message, "edited"), where, "edit date")
    except (TypeError, ValueError, OverflowError, ExportError):
        edited = None  # a broken edit date is not worth refusing the export for
    return Post(
        channel_id=chat_id,
        id=int(msg_id),
        date=date,
        text=text,
        edited=edited,
        reply_to=int(reply_to) if isinstance(reply_to, (int, float)) else None,
        forwarded_from=str(forwarded) if forwarded else None,
        links=tuple(links),
        hashtags=tuple(hashtags),
    )
