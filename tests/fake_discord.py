"""A fake Discord API (REST v10 and the gateway websocket) on 127.0.0.1 for the real discord.py.

Written from Discord's public API documentation (v10) and checked against what discord.py 2.7
parses. One aiohttp server, in a background thread with its own event loop, serves

* REST under ``/api/v10`` (``api_base``): users, gateway, application, application commands,
  guilds, channels, messages (history paging as Discord pages it), typing, reactions, threads,
  interaction callbacks and interaction webhooks;
* the gateway at ``/gateway`` (``gateway_url``) and, as Discord's ``resume_gateway_url``, at
  ``/gateway-resume``: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME with replay,
  REQUEST_GUILD_MEMBERS, intents (events gated, message content emptied without the
  MESSAGE_CONTENT intent as Discord does);
* the uploaded files of messages under ``/attachments`` (what ``Attachment.url`` points at).

The test scripts the world (``add_guild``, ``add_history``), pushes gateway events (``post``,
``edit``, ``delete``, ``create_thread``, ``slash``, ``press``), breaks things (``fail_next``
answers 429 or any error, ``drop_connection`` closes the websocket resumably) and inspects
what the client did (``calls``, ``sent``, ``gateway_ops``, ``messages_in``,
``interaction_responses``, ``original_response``, ``followups``).

Pointing discord.py at it::

    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

Gateway events go only to connections that have IDENTIFYed (or RESUMEd): push them after the
client's ``on_ready``. Every world method may be called from any thread; it runs on the fake's
own loop and returns once the event is queued for every connection, so successive pushes keep
their order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

T = TypeVar("T")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
FIRST_SNOWFLAKE = 1_300_000_000_000_000_000
OWNER_ID = 100_000_000_000_000_001  # the guild owner and application owner; not the default author

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
EVENT_INTENTS = {
    "GUILD_CREATE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
}

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
EVERYONE_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_THREADS

# Message flags and types.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SENDABLE_FLAGS = (1 << 2) | (1 << 12) | (1 << 15)  # SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, V2
TEXT_LIKE = {0, 1, 2, 3, 5, 10, 11, 12, 13}
THREAD_TYPES = {10, 11, 12}
REPLY = 19
CHAT_INPUT_COMMAND = 20

ERRORS = {
    400: ("400: Bad Request", 0),
    401: ("401: Unauthorized", 0),
    403: ("Missing Permissions", 50013),
    404: ("404: Not Found", 0),
    500: ("500: Internal Server Error", 0),
    502: ("502: Bad Gateway", 0),
}


def snowflake_time(snowflake: int) -> str:
    """The ISO-8601 timestamp a snowflake encodes, as Discord writes timestamps."""
    millis = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.timezone.utc).isoformat()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with the exact ``Content-Type: application/json`` Discord sends (discord.py
    decodes a body only when the header is exactly that)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error_body(message: str, code: int, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return body


def _form_error(field_name: str, code: str, message: str) -> dict[str, Any]:
    return _error_body(
        "Invalid Form Body", 50035, {field_name: {"_errors": [{"code": code, "message": message}]}}
    )


class ApiError(Exception):
    """Raised inside a REST handler to answer an error."""

    def __init__(self, status: int, message: str, code: int, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.body = body or _error_body(message, code)


@dataclass
class _Failure:
    method: str
    pattern: str
    remaining: int
    retry_after: float
    status: int
    body: dict[str, Any] | None
    is_global: bool


@dataclass
class _Request:
    method: str
    path: str
    match: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[dict[str, Any]]


@dataclass
class _Session:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    events: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, type, frame)
    conn: _Conn | None = None


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    queue: asyncio.Queue[str | int] = field(default_factory=asyncio.Queue)  # int: close code
    session: _Session | None = None
    dropped: bool = False
    writer: asyncio.Task[None] | None = None


class FakeDiscord:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """The server and its world: guilds, channels, messages, sessions and recorded calls."""

    BOT_USER: dict[str, Any] = {
        "id": "900000000000000001",
        "username": "pf_bot",
        "discriminator": "0",
        "global_name": "PostFinder",
        "avatar": None,
        "bot": True,
    }
    APP_ID: str = "900000000000000001"

    def __init__(self, token: str = "fake-token", heartbeat_interval_ms: int = 41250) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        # What the "developer portal" allows: IDENTIFY asking for other privileged intents is
        # closed with 4014, and without MESSAGE_CONTENT here REST returns messages emptied.
        self.privileged_intents = PRIVILEGED_INTENTS
        # Discord forgets an interaction not acknowledged within 3 s (10062 Unknown interaction).
        self.interaction_ack_timeout = 3.0
        # recorded
        self.calls: list[tuple[str, str, dict[str, Any] | None, float]] = []
        self.requests: list[dict[str, Any]] = []
        self.authorization_headers: list[str] = []
        self.gateway_ops: list[dict[str, Any]] = []
        self.gateway_connections: list[dict[str, Any]] = []
        self.interaction_responses: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        # world
        self._guilds: dict[int, dict[str, Any]] = {}
        self._channels: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._users: dict[int, dict[str, Any]] = {int(self.BOT_USER["id"]): dict(self.BOT_USER)}
        self._commands: dict[int | None, list[dict[str, Any]]] = {None: []}
        self._interactions: dict[int, dict[str, Any]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: list[_Failure] = []
        self._sessions: dict[str, _Session] = {}
        self._conns: list[_Conn] = []
        self._last_id = FIRST_SNOWFLAKE - (1 << 22)
        self._session_count = 0
        self._lock = threading.RLock()
        # server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_thread_id: int | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._routes = self._route_table()

    # -- server -------------------------------------------------------------------------
    @property
    def http_base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return self.http_base + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be set to (as a ``yarl.URL``)."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` READY hands out; the same server under another path."""
        return f"ws://127.0.0.1:{self._port}/gateway-resume"

    def start(self) -> FakeDiscord:
        """Serve on an ephemeral port of 127.0.0.1 in a background thread."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            self._loop_thread_id = threading.get_ident()
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-discord", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway)
        app.router.add_route("GET", "/gateway-resume", self._gateway)
        app.router.add_route("GET", "/attachments/{path:.*}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # pylint: disable=protected-access
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        """Close every websocket and shut the server down."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = None

    async def _shutdown(self) -> None:
        for conn in list(self._conns):
            conn.dropped = True
            if conn.writer is not None:
                conn.writer.cancel()
            try:
                await asyncio.wait_for(conn.ws.close(code=1001), 1.0)
            except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                pass
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the fake's loop (where all state changes) and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.get_ident() == self._loop_thread_id:
            with self._lock:
                return fn(*args, **kwargs)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                with self._lock:
                    done.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(10)

    # -- ids and objects ----------------------------------------------------------------
    def _new_id(self) -> int:
        """A fresh snowflake, one millisecond after the last one."""
        self._last_id += 1 << 22
        return self._last_id

    def _note_id(self, snowflake: int) -> None:
        self._last_id = max(self._last_id, snowflake)

    def _user(self, user_id: int, *, bot: bool = False) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = {
                "id": str(user_id),
                "username": f"user{user_id}",
                "discriminator": "0",
                "global_name": f"User {user_id}",
                "avatar": None,
                "public_flags": 0,
            }
            if bot:
                user["bot"] = True
            self._users[user_id] = user
        return copy.deepcopy(user)

    def _member(self, guild_id: int, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        guild = self._guilds.get(guild_id)
        stored = guild["members"].get(user_id) if guild else None
        member = copy.deepcopy(stored) if stored else self._member_record(user_id, guild_id)
        if with_user:
            member["user"] = self._user(user_id)
        return member

    def _member_record(
        self, user_id: int, guild_id: int, roles: list[int] | None = None
    ) -> dict[str, Any]:
        return {
            "roles": [str(r) for r in roles or []],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": snowflake_time(guild_id),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def _guild_of(self, channel_id: int) -> int | None:
        channel = self._channels.get(channel_id)
        return int(channel["guild_id"]) if channel and channel.get("guild_id") else None

    def _bot_permissions(self, guild_id: int | None) -> int:
        if guild_id is None or guild_id not in self._guilds:
            return EVERYONE_PERMISSIONS
        total = 0
        for role in self._guilds[guild_id]["roles"]:
            if role["id"] == str(guild_id) or role.get("managed"):
                total |= int(role["permissions"])
        return total

    # -- world --------------------------------------------------------------------------
    def add_guild(
        self,
        guild_id: int,
        name: str = "Server",
        channels: list[dict[str, Any]] | None = None,
        *,
        owner_id: int = OWNER_ID,
    ) -> None:
        """Add a guild the bot is a member of (an @everyone role and the bot's managed role).

        ``channels`` are like ``{"id": 111, "type": 5, "name": "announcements"}``: 0 text,
        5 announcement, 15 forum, 4 category, 11 public / 10 announcement thread (with
        ``parent_id``); any other key (topic, permission_overwrites, ...) is kept.
        """
        self._call(self._add_guild, guild_id, name, channels or [], owner_id)

    def _add_guild(
        self, guild_id: int, name: str, channels: list[dict[str, Any]], owner_id: int
    ) -> None:
        self._note_id(guild_id)
        bot_id = int(self.BOT_USER["id"])
        bot_role = self._new_id()
        guild = {
            "id": guild_id,
            "name": name,
            "owner_id": owner_id,
            "roles": [
                self._role(guild_id, "@everyone", EVERYONE_PERMISSIONS, 0),
                {
                    **self._role(bot_role, self.BOT_USER["global_name"], BOT_ROLE_PERMISSIONS, 1),
                    "managed": True,
                    "tags": {"bot_id": self.BOT_USER["id"]},
                },
            ],
            "members": {bot_id: self._member_record(bot_id, guild_id, [bot_role])},
            "channels": [],
        }
        self._guilds[guild_id] = guild
        self._commands.setdefault(guild_id, [])
        for position, spec in enumerate(channels):
            self._add_channel(guild_id, spec, position)

    @staticmethod
    def _role(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def _add_channel(self, guild_id: int, spec: dict[str, Any], position: int) -> dict[str, Any]:
        channel_id = int(spec["id"])
        self._note_id(channel_id)
        kind = int(spec.get("type", 0))
        channel: dict[str, Any] = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(guild_id),
            "name": spec.get("name", f"channel-{channel_id}"),
            "position": spec.get("position", position),
            "permission_overwrites": spec.get("permission_overwrites", []),
            "parent_id": str(spec["parent_id"]) if spec.get("parent_id") else None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if kind in (15, 16):
            channel.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_auto_archive_duration=1440,
            )
        if kind in (2, 13):
            channel.update(bitrate=64000, user_limit=0, rtc_region=None)
        if kind in THREAD_TYPES:
            del channel["permission_overwrites"], channel["position"], channel["topic"]
            channel.update(
                owner_id=str(spec.get("owner_id", self.BOT_USER["id"])),
                message_count=0,
                member_count=1,
                total_message_sent=0,
                applied_tags=[],
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": snowflake_time(channel_id),
                    "locked": False,
                    "create_timestamp": snowflake_time(channel_id),
                },
            )
        skip = ("id", "parent_id", "type", "owner_id")
        channel.update({k: v for k, v in spec.items() if k not in skip})
        self._channels[channel_id] = channel
        self._messages.setdefault(channel_id, {})
        self._guilds[guild_id]["channels"].append(channel_id)
        return channel

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        username: str | None = None,
        global_name: str | None = None,
        bot: bool = False,
        roles: list[int] | None = None,
        nick: str | None = None,
    ) -> None:
        """Add a member (GUILD_CREATE lists it, GET /guilds/{g}/members/{u} finds it)."""

        def run() -> None:
            user = self._user(user_id, bot=bot)
            if username is not None:
                user["username"] = username
            if global_name is not None:
                user["global_name"] = global_name
            self._users[user_id] = user
            record = self._member_record(user_id, guild_id, roles)
            record["nick"] = nick
            self._guilds[guild_id]["members"][user_id] = record

        self._call(run)

    def add_history(self, channel_id: int, messages: list[dict[str, Any]]) -> None:
        """Store messages (from ``message``) that GET /channels/{id}/messages will serve."""

        def run() -> None:
            for item in messages:
                self._store(channel_id, copy.deepcopy(item))

        self._call(run)

    def _store(self, channel_id: int, message: dict[str, Any]) -> None:
        message_id = int(message["id"])
        self._note_id(message_id)
        self._messages.setdefault(channel_id, {})[message_id] = message
        channel = self._channels.get(channel_id)
        if channel is not None and "last_message_id" in channel:
            last = channel["last_message_id"]
            if last is None or int(last) < message_id:
                channel["last_message_id"] = str(message_id)
            if channel["type"] in THREAD_TYPES:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1

    def message(  # pylint: disable=too-many-arguments
        self,
        channel_id: int,
        content: str,
        *,
        author_id: int = 42,
        message_id: int | None = None,
        reply_to: int | None = None,
        mentions_bot: bool = False,
        edited: bool = False,
        author_bot: bool = False,
        reply_ping: bool = True,
        attachments: list[tuple[str, bytes]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Build a full message object by a user (not stored, not dispatched)."""
        return self._call(
            self._user_message,
            channel_id,
            content,
            author_id=author_id,
            message_id=message_id,
            reply_to=reply_to,
            mentions_bot=mentions_bot,
            edited=edited,
            author_bot=author_bot,
            reply_ping=reply_ping,
            attachments=attachments or [],
            embeds=embeds or [],
        )

    def _user_message(  # pylint: disable=too-many-arguments
        self,
        channel_id: int,
        content: str,
        *,
        author_id: int,
        message_id: int | None,
        reply_to: int | None,
        mentions_bot: bool,
        edited: bool,
        author_bot: bool,
        reply_ping: bool,
        attachments: list[tuple[str, bytes]],
        embeds: list[dict[str, Any]],
    ) -> dict[str, Any]:
        if message_id is None:
            message_id = self._new_id()
        else:
            self._note_id(message_id)
        bot_mention = f"<@{self.BOT_USER['id']}>"
        if mentions_bot and bot_mention not in content:
            content = f"{bot_mention} {content}"
        message = self._message_object(
            channel_id, message_id, self._user(author_id, bot=author_bot)
        )
        message["content"] = content
        message["embeds"] = copy.deepcopy(embeds)
        message["attachments"] = [
            self._attachment_object(channel_id, name, data, "application/octet-stream")
            for name, data in attachments
        ]
        if edited:
            message["edited_timestamp"] = snowflake_time(message_id + (60_000 << 22))
        extra = []
        if reply_to is not None:
            self._reference(message, channel_id, {"message_id": reply_to})
            referenced = message.get("referenced_message")
            if reply_ping and referenced:
                extra.append(int(referenced["author"]["id"]))
        self._fill_mentions(message, extra)
        return message

    def _message_object(
        self, channel_id: int, message_id: int, author: dict[str, Any]
    ) -> dict[str, Any]:
        guild_id = self._guild_of(channel_id)
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": author,
            "content": "",
            "timestamp": snowflake_time(message_id),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
            message["member"] = self._member(guild_id, int(author["id"]), with_user=False)
        return message

    def _reference(
        self, message: dict[str, Any], channel_id: int, reference: dict[str, Any]
    ) -> None:
        """Fill message_reference / referenced_message; raise ApiError if it is unknown."""
        ref_channel = int(reference.get("channel_id") or channel_id)
        ref_id = int(reference["message_id"])
        referenced = self._messages.get(ref_channel, {}).get(ref_id)
        if referenced is None and reference.get("fail_if_not_exists", True) is not False:
            if message["author"]["id"] == self.BOT_USER["id"]:
                raise ApiError(
                    400,
                    "Invalid Form Body",
                    50035,
                    _form_error(
                        "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    ),
                )
        if referenced is None and message["author"]["id"] == self.BOT_USER["id"]:
            return  # fail_if_not_exists false: sent as a plain message
        message["type"] = REPLY
        ref = {"type": 0, "message_id": str(ref_id), "channel_id": str(ref_channel)}
        guild_id = self._guild_of(ref_channel)
        if guild_id is not None:
            ref["guild_id"] = str(guild_id)
        message["message_reference"] = ref
        if referenced is not None:
            resolved = copy.deepcopy(referenced)
            resolved.pop("referenced_message", None)
            resolved.pop("member", None)
            message["referenced_message"] = resolved

    def _fill_mentions(self, message: dict[str, Any], extra: list[int]) -> None:
        content = message.get("content") or ""
        ids = [int(x) for x in re.findall(r"<@!?(\d+)>", content)] + extra
        guild_id = int(message["guild_id"]) if message.get("guild_id") else None
        mentions, seen = [], set()
        for user_id in ids:
            if user_id in seen:
                continue
            seen.add(user_id)
            user = self._user(user_id)
            if guild_id is not None:
                user["member"] = self._member(guild_id, user_id, with_user=False)
            mentions.append(user)
        message["mentions"] = mentions
        message["mention_roles"] = re.findall(r"<@&(\d+)>", content)

    def _attachment_object(
        self, channel_id: int, filename: str, data: bytes, content_type: str | None
    ) -> dict[str, Any]:
        if not self._port:
            raise RuntimeError("start() the fake before making messages with attachments")
        attachment_id = self._new_id()
        key = f"{channel_id}/{attachment_id}/{filename}"
        self._files[key] = (content_type or "application/octet-stream", data)
        url = f"{self.http_base}/attachments/{key}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    # -- gateway events -----------------------------------------------------------------
    def post(self, channel_id: int, content: str, **kw: Any) -> dict[str, Any]:
        """A user posts: store the message and dispatch MESSAGE_CREATE. Returns the message.

        ``kw`` are ``message``'s keywords (author_id, message_id, reply_to, mentions_bot, ...).
        """
        message = self.message(channel_id, content, **kw)

        def run() -> dict[str, Any]:
            self._store(channel_id, message)
            self._dispatch("MESSAGE_CREATE", message)
            return copy.deepcopy(message)

        return self._call(run)

    def edit(self, channel_id: int, message_id: int, content: str) -> dict[str, Any]:
        """Its author edits a stored message: MESSAGE_UPDATE with edited_timestamp set."""

        def run() -> dict[str, Any]:
            message = self._messages[channel_id][message_id]
            message["content"] = content
            message["edited_timestamp"] = snowflake_time(self._new_id())
            self._fill_mentions(message, [])
            self._dispatch("MESSAGE_UPDATE", message)
            return copy.deepcopy(message)

        return self._call(run)

    def delete(self, channel_id: int, message_id: int) -> None:
        """A stored message is deleted: MESSAGE_DELETE {id, channel_id, guild_id}."""

        def run() -> None:
            self._messages.get(channel_id, {}).pop(message_id, None)
            self._dispatch("MESSAGE_DELETE", self._delete_event(channel_id, message_id))

        self._call(run)

    def _delete_event(self, channel_id: int, message_id: int) -> dict[str, Any]:
        event = {"id": str(message_id), "channel_id": str(channel_id)}
        guild_id = self._guild_of(channel_id)
        if guild_id is not None:
            event["guild_id"] = str(guild_id)
        return event

    def create_thread(
        self, parent_id: int, message_id: int, name: str = "Comments", *, owner_id: int = 42
    ) -> int:
        """A user starts a thread on a message: THREAD_CREATE; the thread id is the message id.

        The thread is type 10 under an announcement channel, else 11. Returns the thread id.
        """

        def run() -> int:
            thread = self._start_thread(parent_id, message_id, name, owner_id)
            self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            return message_id

        return self._call(run)

    def _start_thread(
        self, parent_id: int, message_id: int, name: str, owner_id: int, archive: int = 1440
    ) -> dict[str, Any]:
        parent = self._channels[parent_id]
        guild_id = int(parent["guild_id"])
        kind = 10 if parent["type"] == 5 else 11
        spec = {"id": message_id, "type": kind, "name": name, "parent_id": parent_id}
        thread = self._add_channel(guild_id, {**spec, "owner_id": owner_id}, 0)
        thread["thread_metadata"]["auto_archive_duration"] = archive
        starter = self._messages.get(parent_id, {}).get(message_id)
        if starter is not None:
            starter["thread"] = copy.deepcopy(thread)
        return copy.deepcopy(thread)

    def slash(  # pylint: disable=too-many-arguments
        self,
        name: str,
        options: list[dict[str, Any]] | None = None,
        *,
        channel_id: int,
        user_id: int = 42,
        permissions: int = 0,
        guild_id: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user runs a slash command: INTERACTION_CREATE type 2. Returns the interaction.

        ``data.id`` is the synced command's id and ``data.guild_id`` is set when the command
        was synced to that guild, as Discord does. ``permissions`` become member.permissions.
        """

        def run() -> dict[str, Any]:
            gid = guild_id if guild_id is not None else self._guild_of(channel_id)
            command = next((c for c in self._commands.get(gid, []) if c["name"] == name), None)
            data: dict[str, Any] = {"name": name, "type": 1, "options": options or []}
            if command is not None:
                data["guild_id"] = str(gid)
            else:
                command = next((c for c in self._commands[None] if c["name"] == name), None)
            data["id"] = command["id"] if command else str(self._new_id())
            return self._interaction(2, data, channel_id, gid, user_id, permissions, locale)

        return self._call(run)

    def press(  # pylint: disable=too-many-arguments
        self,
        custom_id: str,
        *,
        message: dict[str, Any],
        user_id: int = 42,
        permissions: int = 0,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> dict[str, Any]:
        """A user presses a button (or picks ``values`` of a select) on ``message``:
        INTERACTION_CREATE type 3. Returns the interaction."""

        def run() -> dict[str, Any]:
            channel_id = int(message["channel_id"])
            data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
            if values is not None:
                data["values"] = values
            stored = self._messages.get(channel_id, {}).get(int(message["id"]))
            return self._interaction(
                3,
                data,
                channel_id,
                self._guild_of(channel_id),
                user_id,
                permissions,
                "en-US",
                message=copy.deepcopy(stored or message),
            )

        return self._call(run)

    def _interaction(  # pylint: disable=too-many-arguments
        self,
        kind: int,
        data: dict[str, Any],
        channel_id: int,
        guild_id: int | None,
        user_id: int,
        permissions: int,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        interaction_id = self._new_id()
        token = f"fake-interaction-token-{interaction_id}"
        channel = self._channels.get(channel_id, {"id": str(channel_id), "type": 0})
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": self.APP_ID,
            "type": kind,
            "data": data,
            "channel": copy.deepcopy(channel),
            "channel_id": str(channel_id),
            "token": token,
            "version": 1,
            "app_permissions": str(self._bot_permissions(guild_id)),
            "locale": locale,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
            "context": 0 if guild_id else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            member = self._member(guild_id, user_id)
            member["permissions"] = str(permissions)
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
            )
        else:
            payload["user"] = self._user(user_id)
        if message is not None:
            payload["message"] = message
        self._interactions[interaction_id] = {
            "payload": payload,
            "token": token,
            "created": time.monotonic(),
            "acked": None,
            "original": None,
            "followups": [],
        }
        self._dispatch("INTERACTION_CREATE", payload)
        return copy.deepcopy(payload)

    def drop_connection(self, code: int = 4000) -> None:
        """Close every gateway websocket with ``code`` (4000: resumable). Sessions stay, and
        what is dispatched meanwhile is replayed to the client's RESUME."""

        def run() -> None:
            for conn in list(self._conns):
                if conn.dropped:
                    continue
                conn.dropped = True
                if conn.session is not None and conn.session.conn is conn:
                    conn.session.conn = None
                conn.queue.put_nowait(code)

        self._call(run)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT on every connection (the client closes and RESUMEs)."""

        def run() -> None:
            for conn in self._conns:
                if not conn.dropped:
                    conn.queue.put_nowait(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

        self._call(run)

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Dispatch any gateway event to every session (subject to its intents)."""
        self._call(self._dispatch, event, copy.deepcopy(data))

    def fail_next(  # pylint: disable=too-many-arguments
        self,
        method: str,
        path_pattern: str,
        times: int,
        retry_after: float = 0.5,
        *,
        status: int = 429,
        body: dict[str, Any] | None = None,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` REST calls matching (method, fullmatch of the path without
        /api/v10) with 429 and Discord's rate-limit body and headers, or with ``status``."""
        with self._lock:
            self._failures.append(
                _Failure(method.upper(), path_pattern, times, retry_after, status, body, is_global)
            )

    # -- inspection ---------------------------------------------------------------------
    def sent(self, method: str, path_pattern: str) -> list[Any]:
        """Bodies of the recorded calls whose method matches and path fullmatches the regex
        (for calls without a body: the query parameters, or None)."""
        with self._lock:
            return [
                copy.deepcopy(body)
                for m, path, body, _ in self.calls
                if m == method.upper() and re.fullmatch(path_pattern, path)
            ]

    def times(self, method: str, path_pattern: str) -> list[float]:
        """Monotonic times of the recorded calls that ``sent`` would return."""
        with self._lock:
            return [
                at
                for m, path, _, at in self.calls
                if m == method.upper() and re.fullmatch(path_pattern, path)
            ]

    async def wait_for_sent(
        self, method: str, path_pattern: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait (without blocking the caller's event loop) until ``count`` such calls exist."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent(method, path_pattern)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} x {method} {path_pattern}: saw {len(found)}")
            await asyncio.sleep(0.01)

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """The channel's current messages, oldest first, the bot's included, edits applied."""
        with self._lock:
            stored = self._messages.get(channel_id, {})
            return [copy.deepcopy(stored[k]) for k in sorted(stored)]

    def channel(self, channel_id: int) -> dict[str, Any] | None:
        """The stored channel (or thread) object."""
        with self._lock:
            found = self._channels.get(channel_id)
            return copy.deepcopy(found) if found else None

    def original_response(self, interaction_token: str) -> dict[str, Any] | None:
        """The interaction's original response message (after a type 4/5/7 callback and
        PATCH .../messages/@original), or None."""
        with self._lock:
            record = self._by_token(interaction_token)
            return copy.deepcopy(record["original"]) if record else None

    def followups(self, interaction_token: str) -> list[dict[str, Any]]:
        """The followup messages sent with POST /webhooks/{app}/{token}."""
        with self._lock:
            record = self._by_token(interaction_token)
            return copy.deepcopy(record["followups"]) if record else []

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The application commands last synced globally (None) or to a guild."""
        with self._lock:
            return copy.deepcopy(self._commands.get(guild_id, []))

    @property
    def gateway_sessions(self) -> list[dict[str, Any]]:
        """Every session: id, last seq dispatched, intents, and whether a socket is attached."""
        with self._lock:
            return [
                {
                    "session_id": s.session_id,
                    "seq": s.seq,
                    "intents": s.intents,
                    "connected": s.conn is not None,
                }
                for s in self._sessions.values()
            ]

    def _by_token(self, token: str) -> dict[str, Any] | None:
        return next((r for r in self._interactions.values() if r["token"] == token), None)

    # -- gateway ------------------------------------------------------------------------
    def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        for session in list(self._sessions.values()):
            self._session_dispatch(session, event, data)

    def _session_dispatch(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        needed = EVENT_INTENTS.get(event)
        if event.startswith("MESSAGE_") and "guild_id" not in data:
            needed = DIRECT_MESSAGES
        if needed is not None and not session.intents & needed:
            return
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & MESSAGE_CONTENT:
            data = self._without_content(data)
        session.seq += 1
        frame = json.dumps({"op": 0, "s": session.seq, "t": event, "d": data})
        session.events.append((session.seq, event, frame))
        if session.conn is not None:
            session.conn.queue.put_nowait(frame)

    def _without_content(self, message: dict[str, Any]) -> dict[str, Any]:
        """What an app without the message content intent sees of a message."""
        bot_id = self.BOT_USER["id"]
        if message.get("author", {}).get("id") == bot_id or "guild_id" not in message:
            return message
        if any(m.get("id") == bot_id for m in message.get("mentions", [])):
            return message
        stripped = dict(message, content="", embeds=[], attachments=[], components=[])
        stripped.pop("poll", None)
        return stripped

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Conn(ws=ws, path=request.path, query=dict(request.query))
        with self._lock:
            self._conns.append(conn)
            self.gateway_connections.append({"path": conn.path, "query": conn.query})
        conn.writer = asyncio.create_task(self._writer(conn))
        hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]}
        conn.queue.put_nowait(json.dumps({"op": 10, "d": hello, "s": None, "t": None}))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    conn.queue.put_nowait(4002)  # decode error
                    continue
                with self._lock:
                    self.gateway_ops.append(payload)
                    self._on_op(conn, payload)
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                session = conn.session
                if session is not None and session.conn is conn:
                    session.conn = None
                    if not conn.dropped and ws.close_code in (1000, 1001):
                        del self._sessions[session.session_id]  # closed by the client: over
            if conn.writer is not None and not conn.writer.done():
                conn.writer.cancel()
        return ws

    async def _writer(self, conn: _Conn) -> None:
        try:
            while True:
                item = await conn.queue.get()
                if isinstance(item, int):
                    await conn.ws.close(code=item)
                    return
                await conn.ws.send_str(item)
        except (ConnectionError, RuntimeError):
            return

    def _on_op(self, conn: _Conn, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            conn.queue.put_nowait(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
        elif op == 2:
            self._identify(conn, data or {})
        elif op == 6:
            self._resume(conn, data or {})
        elif conn.session is None:
            conn.queue.put_nowait(4003)  # not authenticated
        elif op == 8:
            self._members_chunk(conn.session, data or {})

    def _identify(self, conn: _Conn, data: dict[str, Any]) -> None:
        if conn.session is not None:
            conn.queue.put_nowait(4005)  # already authenticated
            return
        if data.get("token") != self.token:
            conn.queue.put_nowait(4004)  # authentication failed
            return
        intents = int(data.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            conn.queue.put_nowait(4014)  # disallowed intents
            return
        self._session_count += 1
        session = _Session(
            session_id=f"{self._session_count:04d}fa4e5e55101d{self._new_id():x}"[:32],
            intents=intents,
            shard=data.get("shard"),
            conn=conn,
        )
        conn.session = session
        self._sessions[session.session_id] = session
        user = {**self.BOT_USER, "verified": True, "mfa_enabled": False, "flags": 0, "email": None}
        ready: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g), "unavailable": True} for g in self._guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": self.APP_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "_trace": ["fake-gateway"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self._session_dispatch(session, "READY", ready)
        for guild_id in self._guilds:
            self._session_dispatch(session, "GUILD_CREATE", self._guild_create(guild_id))

    def _resume(self, conn: _Conn, data: dict[str, Any]) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            conn.queue.put_nowait(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return
        old = session.conn
        if old is not None and old is not conn:
            old.dropped = True
            old.queue.put_nowait(4009)  # a newer connection took the session over
        session.conn = conn
        conn.session = session
        since = int(data.get("seq") or 0)
        for seq, event, frame in session.events:
            if seq > since and event != "RESUMED":
                conn.queue.put_nowait(frame)
        self._session_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    def _members_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        guild_ids = data.get("guild_id") or []
        for guild_id in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            guild = self._guilds.get(int(guild_id))
            if guild is None:
                continue
            event = {
                "guild_id": str(guild_id),
                "members": [self._member(int(guild_id), uid) for uid in guild["members"]],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if data.get("nonce") is not None:
                event["nonce"] = data["nonce"]
            self._session_dispatch(session, "GUILD_MEMBERS_CHUNK", event)

    def _guild_create(self, guild_id: int) -> dict[str, Any]:
        guild = self._guilds[guild_id]
        channels = [self._channels[c] for c in guild["channels"]]
        return {
            **self._guild_object(guild_id),
            "joined_at": snowflake_time(guild_id),
            "large": False,
            "unavailable": False,
            "member_count": len(guild["members"]),
            "members": [self._member(guild_id, uid) for uid in guild["members"]],
            "channels": copy.deepcopy([c for c in channels if c["type"] not in THREAD_TYPES]),
            "threads": copy.deepcopy([c for c in channels if c["type"] in THREAD_TYPES]),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "lazy": True,
        }

    def _guild_object(self, guild_id: int) -> dict[str, Any]:
        guild = self._guilds[guild_id]
        news = any(self._channels[c]["type"] == 5 for c in guild["channels"])
        return {
            "id": str(guild_id),
            "name": guild["name"],
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild["owner_id"]),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": copy.deepcopy(guild["roles"]),
            "emojis": [],
            "stickers": [],
            "features": ["COMMUNITY", "NEWS"] if news else [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "incidents_data": None,
        }

    # -- REST ---------------------------------------------------------------------------
    def _route_table(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[[_Request], Awaitable[web.StreamResponse]]]]:
        c, m = r"/channels/(?P<channel>\d+)", r"/messages/(?P<message>\d+)"
        app, hook = r"/applications/(?P<app>\d+)", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"
        table = [
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/gateway(?:/bot)?", self._get_gateway),
            ("GET", r"(?:/oauth2)?/applications/@me", self._get_application),
            ("GET", app + r"/commands", self._get_commands),
            ("PUT", app + r"/commands", self._put_commands),
            ("GET", app + r"/guilds/(?P<guild>\d+)/commands", self._get_commands),
            ("PUT", app + r"/guilds/(?P<guild>\d+)/commands", self._put_commands),
            ("GET", r"/guilds/(?P<guild>\d+)", self._get_guild),
            ("GET", r"/guilds/(?P<guild>\d+)/channels", self._get_guild_channels),
            ("GET", r"/guilds/(?P<guild>\d+)/members/(?P<user>\d+)", self._get_member),
            ("GET", r"/guilds/(?P<guild>\d+)/threads/active", self._get_active_threads),
            ("GET", c, self._get_channel),
            ("GET", c + r"/messages", self._get_messages),
            ("POST", c + r"/messages", self._post_message),
            ("GET", c + m, self._get_message),
            ("PATCH", c + m, self._patch_message),
            ("DELETE", c + m, self._delete_message),
            ("POST", c + r"/typing", self._no_content),
            ("PUT", c + m + r"/reactions/(?P<emoji>[^/]+)/@me", self._put_reaction),
            ("DELETE", c + m + r"/reactions/(?P<emoji>[^/]+)/@me", self._delete_reaction),
            ("POST", c + m + r"/threads", self._post_thread),
            ("GET", c + r"/threads/archived/public", self._get_archived_threads),
            ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._callback),
            ("GET", hook + r"/messages/(?P<message>@original|\d+)", self._get_webhook_message),
            ("PATCH", hook + r"/messages/(?P<message>@original|\d+)", self._patch_webhook_message),
            ("DELETE", hook + r"/messages/(?P<message>@original|\d+)", self._delete_webhook_msg),
            ("POST", hook, self._post_followup),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            found = self._files.get(request.match_info["path"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found[1], content_type=found[0])

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        method = request.method.upper()
        body, files = await self._read_body(request)
        query = dict(request.query)
        recorded = body if body is not None else (query or None)
        authorization = request.headers.get("Authorization", "")
        with self._lock:
            self.calls.append((method, path, copy.deepcopy(recorded), time.monotonic()))
            self.authorization_headers.append(authorization)
            entry = {"method": method, "path": path, "query": query, "body": recorded}
            entry.update(authorization=authorization, files=[f["filename"] for f in files])
            self.requests.append(entry)
            failure = self._take_failure(method, path)
        status, response = await self._answer(request, method, path, query, body, files, failure)
        entry["status"] = status
        return response

    async def _answer(  # pylint: disable=too-many-arguments
        self,
        request: web.Request,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        files: list[dict[str, Any]],
        failure: _Failure | None,
    ) -> tuple[int, web.StreamResponse]:
        public = path.startswith(("/interactions/", "/webhooks/"))
        if not public and request.headers.get("Authorization") != f"Bot {self.token}":
            return 401, _json(_error_body("401: Unauthorized", 0), status=401)
        if failure is not None:
            return failure.status, self._failure_response(failure)
        for route_method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found and route_method == method:
                req = _Request(method, path, found.groupdict(), query, body, files)
                try:
                    with self._lock:
                        response = await handler(req)
                except ApiError as exc:
                    return exc.status, _json(exc.body, status=exc.status)
                return response.status, response
        return 404, _json(_error_body("404: Not Found", 0), status=404)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            form = await request.post()
            body: Any = None
            files = []
            for name, value in form.items():
                if name == "payload_json":
                    body = json.loads(str(value))
                elif isinstance(value, web.FileField):
                    files.append(
                        {
                            "field": name,
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "data": value.file.read(),
                        }
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and re.fullmatch(failure.pattern, path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    @staticmethod
    def _failure_response(failure: _Failure) -> web.Response:
        if failure.status != 429:
            message, code = ERRORS.get(failure.status, (f"{failure.status}: Error", 0))
            body = failure.body or _error_body(message, code)
            return _json(body, status=failure.status)
        body = failure.body or {
            "message": "You are being rate limited.",
            "retry_after": failure.retry_after,
            "global": failure.is_global,
        }
        headers = {
            "Retry-After": str(max(1, int(-(-failure.retry_after // 1)))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + failure.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
            "X-RateLimit-Bucket": "fa4e0000000000000000000000000b0c",
            "X-RateLimit-Scope": "global" if failure.is_global else "user",
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
        }
        if failure.is_global:
            headers["X-RateLimit-Global"] = "true"
        return _json(body, status=429, headers=headers)

    # users, gateway, application, commands
    async def _get_me(self, _req: _Request) -> web.Response:
        return _json(
            {**self.BOT_USER, "verified": True, "mfa_enabled": False, "flags": 0, "email": None}
        )

    async def _get_gateway(self, req: _Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        if req.path.endswith("/bot"):
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})
        return _json({"url": self.gateway_url})

    async def _get_application(self, _req: _Request) -> web.Response:
        owner = self._user(OWNER_ID)
        return _json(
            {
                "id": self.APP_ID,
                "name": self.BOT_USER["global_name"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": owner,
                "team": None,
                "bot": dict(self.BOT_USER),
                "rpc_origins": [],
                "redirect_uris": [],
                "tags": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self._guilds),
                "integration_types_config": {"0": {}},
            }
        )

    def _check_app(self, req: _Request) -> None:
        if req.match["app"] != self.APP_ID:
            raise ApiError(403, "Missing Access", 50001)

    async def _get_commands(self, req: _Request) -> web.Response:
        self._check_app(req)
        guild = int(req.match["guild"]) if req.match.get("guild") else None
        return _json(self._commands.get(guild, []))

    async def _put_commands(self, req: _Request) -> web.Response:
        self._check_app(req)
        guild = int(req.match["guild"]) if req.match.get("guild") else None
        if guild is not None and guild not in self._guilds:
            raise ApiError(403, "Missing Access", 50001)
        old = {(c["name"], c["type"]): c["id"] for c in self._commands.get(guild, [])}
        stored = []
        for command in req.body or []:
            kind = int(command.get("type", 1))
            item = {
                "id": old.get((command["name"], kind)) or str(self._new_id()),
                "application_id": self.APP_ID,
                "version": str(self._new_id()),
                "type": kind,
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options", []),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
            }
            if guild is not None:
                item["guild_id"] = str(guild)
            stored.append(item)
        self._commands[guild] = stored
        return _json(stored)

    # guilds and channels
    def _guild_or_404(self, req: _Request) -> int:
        guild_id = int(req.match["guild"])
        if guild_id not in self._guilds:
            raise ApiError(404, "Unknown Guild", 10004)
        return guild_id

    def _channel_or_404(self, channel_id: int) -> dict[str, Any]:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise ApiError(404, "Unknown Channel", 10003)
        return channel

    def _message_or_404(self, channel_id: int, message_id: int) -> dict[str, Any]:
        self._channel_or_404(channel_id)
        message = self._messages.get(channel_id, {}).get(message_id)
        if message is None:
            raise ApiError(404, "Unknown Message", 10008)
        return message

    async def _get_guild(self, req: _Request) -> web.Response:
        return _json(self._guild_object(self._guild_or_404(req)))

    async def _get_guild_channels(self, req: _Request) -> web.Response:
        guild = self._guilds[self._guild_or_404(req)]
        channels = [self._channels[c] for c in guild["channels"]]
        return _json([c for c in channels if c["type"] not in THREAD_TYPES])

    async def _get_member(self, req: _Request) -> web.Response:
        guild_id = self._guild_or_404(req)
        user_id = int(req.match["user"])
        if user_id not in self._guilds[guild_id]["members"]:
            raise ApiError(404, "Unknown Member", 10007)
        return _json(self._member(guild_id, user_id))

    async def _get_active_threads(self, req: _Request) -> web.Response:
        guild = self._guilds[self._guild_or_404(req)]
        threads = [self._channels[c] for c in guild["channels"]]
        threads = [t for t in threads if t["type"] in THREAD_TYPES]
        return _json({"threads": threads, "members": []})

    async def _get_archived_threads(self, req: _Request) -> web.Response:
        self._channel_or_404(int(req.match["channel"]))
        return _json({"threads": [], "members": [], "has_more": False})

    async def _get_channel(self, req: _Request) -> web.Response:
        return _json(self._channel_or_404(int(req.match["channel"])))

    # messages
    def _rest_view(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as REST returns it: no member; emptied without the content intent."""
        out = copy.deepcopy(message)
        out.pop("member", None)
        if not self.privileged_intents & MESSAGE_CONTENT:
            out = self._without_content(out)
        return out

    async def _get_messages(self, req: _Request) -> web.Response:
        channel_id = int(req.match["channel"])
        self._channel_or_404(channel_id)
        try:
            limit = int(req.query.get("limit", 50))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise ApiError(
                400,
                "Invalid Form Body",
                50035,
                _form_error("limit", "NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1."),
            )
        stored = self._messages.get(channel_id, {})
        ordered = [stored[k] for k in sorted(stored)]  # oldest first
        if "around" in req.query:
            around = int(req.query["around"])
            newer = [m for m in ordered if int(m["id"]) >= around][: limit - limit // 2]
            older = [m for m in ordered if int(m["id"]) < around]
            older = older[len(older) - limit // 2 :] if limit // 2 else []
            page = older + newer
        elif "before" in req.query:
            before = int(req.query["before"])
            page = [m for m in ordered if int(m["id"]) < before][-limit:]
        elif "after" in req.query:
            after = int(req.query["after"])
            page = [m for m in ordered if int(m["id"]) > after][:limit]
        else:
            page = ordered[-limit:]
        return _json([self._rest_view(m) for m in reversed(page)])  # newest first

    async def _get_message(self, req: _Request) -> web.Response:
        message = self._message_or_404(int(req.match["channel"]), int(req.match["message"]))
        return _json(self._rest_view(message))

    def _apply_body(
        self, message: dict[str, Any], body: dict[str, Any], files: list[dict[str, Any]]
    ) -> None:
        """Apply the message fields of a create / edit body (and uploads) to ``message``."""
        channel_id = int(message["channel_id"])
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            keep = message.get("flags", 0) & ~SENDABLE_FLAGS
            message["flags"] = keep | (int(body["flags"]) & (SENDABLE_FLAGS | EPHEMERAL))
        if "tts" in body:
            message["tts"] = bool(body["tts"])
        if "nonce" in body:
            message["nonce"] = body["nonce"]
        if "poll" in body:
            message["poll"] = body["poll"]
        if "attachments" in body:
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
        for upload in files:
            with self._lock:
                self.uploads.append({k: upload[k] for k in ("filename", "content_type", "data")})
            message["attachments"].append(
                self._attachment_object(
                    channel_id, upload["filename"], upload["data"], upload["content_type"]
                )
            )
        content = message["content"]
        if len(content) > 2000:
            raise ApiError(
                400,
                "Invalid Form Body",
                50035,
                _form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."),
            )
        if not (
            content.strip()
            or message["embeds"]
            or message["attachments"]
            or message["components"]
            or message.get("poll")
            or message.get("flags", 0) & LOADING
        ):
            raise ApiError(400, "Cannot send an empty message", 50006)
        allowed = body.get("allowed_mentions")
        message["mention_everyone"] = "@everyone" in content and (
            allowed is None or "everyone" in allowed.get("parse", [])
        )

    def _bot_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[dict[str, Any]],
        *,
        webhook: bool = False,
    ) -> dict[str, Any]:
        message = self._message_object(channel_id, self._new_id(), self._user(int(self.APP_ID)))
        if webhook:
            message.pop("member", None)
            message["webhook_id"] = self.APP_ID
            message["application_id"] = self.APP_ID
        extra = []
        reference = body.get("message_reference")
        if reference and reference.get("message_id") and int(reference.get("type") or 0) == 0:
            self._reference(message, channel_id, reference)
            allowed = body.get("allowed_mentions")
            referenced = message.get("referenced_message")
            if referenced and (allowed is None or allowed.get("replied_user", False)):
                extra.append(int(referenced["author"]["id"]))
        self._apply_body(message, body, files)
        self._fill_mentions(message, extra)
        return message

    async def _post_message(self, req: _Request) -> web.Response:
        channel_id = int(req.match["channel"])
        channel = self._channel_or_404(channel_id)
        if channel["type"] not in TEXT_LIKE:
            raise ApiError(400, "Cannot send messages in a non-text channel", 50008)
        body = req.body if isinstance(req.body, dict) else {}
        message = self._bot_message(channel_id, body, req.files)
        self._store(channel_id, message)
        self._dispatch("MESSAGE_CREATE", message)
        return _json(self._rest_view(message))

    async def _patch_message(self, req: _Request) -> web.Response:
        channel_id = int(req.match["channel"])
        message = self._message_or_404(channel_id, int(req.match["message"]))
        if message["author"]["id"] != self.BOT_USER["id"]:
            raise ApiError(403, "Cannot edit a message authored by another user", 50005)
        edited = copy.deepcopy(message)
        self._apply_body(edited, req.body if isinstance(req.body, dict) else {}, req.files)
        edited["edited_timestamp"] = snowflake_time(self._new_id())
        self._fill_mentions(edited, [])
        message.clear()
        message.update(edited)
        self._dispatch("MESSAGE_UPDATE", message)
        return _json(self._rest_view(message))

    async def _delete_message(self, req: _Request) -> web.Response:
        channel_id, message_id = int(req.match["channel"]), int(req.match["message"])
        self._message_or_404(channel_id, message_id)
        del self._messages[channel_id][message_id]
        self._dispatch("MESSAGE_DELETE", self._delete_event(channel_id, message_id))
        return web.Response(status=204)

    async def _no_content(self, req: _Request) -> web.Response:
        self._channel_or_404(int(req.match["channel"]))
        return web.Response(status=204)

    @staticmethod
    def _emoji(text: str) -> dict[str, Any]:
        name, _, emoji_id = text.partition(":")
        return {"id": emoji_id or None, "name": name}

    async def _put_reaction(self, req: _Request) -> web.Response:
        channel_id, message_id = int(req.match["channel"]), int(req.match["message"])
        message = self._message_or_404(channel_id, message_id)
        emoji = self._emoji(req.match["emoji"])
        reactions = message.setdefault("reactions", [])
        found = next((r for r in reactions if r["emoji"] == emoji), None)
        if found is None:
            found = {"emoji": emoji, "count": 0, "me": False, "me_burst": False}
            found.update(count_details={"normal": 0, "burst": 0}, burst_colors=[], burst_count=0)
            reactions.append(found)
        if not found["me"]:
            found["me"] = True
            found["count"] += 1
            found["count_details"]["normal"] += 1
            event: dict[str, Any] = {
                "user_id": self.BOT_USER["id"],
                "channel_id": str(channel_id),
                "message_id": str(message_id),
                "emoji": emoji,
                "burst": False,
                "type": 0,
                "message_author_id": message["author"]["id"],
            }
            guild_id = self._guild_of(channel_id)
            if guild_id is not None:
                event["guild_id"] = str(guild_id)
                event["member"] = self._member(guild_id, int(self.BOT_USER["id"]))
            self._dispatch("MESSAGE_REACTION_ADD", event)
        return web.Response(status=204)

    async def _delete_reaction(self, req: _Request) -> web.Response:
        channel_id, message_id = int(req.match["channel"]), int(req.match["message"])
        message = self._message_or_404(channel_id, message_id)
        emoji = self._emoji(req.match["emoji"])
        for reaction in list(message.get("reactions", [])):
            if reaction["emoji"] == emoji and reaction["me"]:
                reaction["me"] = False
                reaction["count"] -= 1
                reaction["count_details"]["normal"] -= 1
                if reaction["count"] <= 0:
                    message["reactions"].remove(reaction)
        return web.Response(status=204)

    async def _post_thread(self, req: _Request) -> web.Response:
        channel_id, message_id = int(req.match["channel"]), int(req.match["message"])
        self._message_or_404(channel_id, message_id)
        if message_id in self._channels:
            raise ApiError(400, "A thread has already been created for this message", 160004)
        body = req.body if isinstance(req.body, dict) else {}
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise ApiError(
                400,
                "Invalid Form Body",
                50035,
                _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
            )
        archive = int(body.get("auto_archive_duration") or 1440)
        thread = self._start_thread(channel_id, message_id, name, int(self.BOT_USER["id"]), archive)
        self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread, status=201)

    # interactions
    def _interaction_or_404(self, interaction_id: int, token: str) -> dict[str, Any]:
        record = self._interactions.get(interaction_id)
        if record is None or record["token"] != token:
            raise ApiError(404, "Unknown interaction", 10062)
        return record

    async def _callback(self, req: _Request) -> web.Response:
        interaction_id = int(req.match["iid"])
        record = self._interaction_or_404(interaction_id, req.match["token"])
        if record["acked"] is not None:
            raise ApiError(400, "Interaction has already been acknowledged.", 40060)
        if time.monotonic() - record["created"] > self.interaction_ack_timeout:
            raise ApiError(404, "Unknown interaction", 10062)
        body = req.body if isinstance(req.body, dict) else {}
        kind, data = int(body.get("type", 0)), body.get("data") or {}
        payload = record["payload"]
        channel_id = int(payload["channel_id"])
        with self._lock:
            self.interaction_responses.append(
                {"interaction_id": str(interaction_id), "type": kind, "data": copy.deepcopy(data)}
            )
        record["acked"] = kind
        message: dict[str, Any] | None = None
        if kind in (4, 5):
            message = self._response_message(record, data, req.files, loading=kind == 5)
            record["original"] = message
            if not message["flags"] & EPHEMERAL:
                self._store(channel_id, message)
                self._dispatch("MESSAGE_CREATE", message)
        elif kind in (6, 7) and payload.get("message"):
            target = payload["message"]
            stored = self._messages.get(int(target["channel_id"]), {}).get(int(target["id"]))
            message = stored if stored is not None else copy.deepcopy(target)
            if kind == 7:
                self._apply_body(message, data, req.files)
                message["edited_timestamp"] = snowflake_time(self._new_id())
                if stored is not None:
                    self._dispatch("MESSAGE_UPDATE", message)
            record["original"] = message
        if str(req.query.get("with_response", "")).lower() not in ("1", "true"):
            return web.Response(status=204)
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction_id),
                "type": payload["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            if kind in (4, 7):
                answer["resource"]["message"] = self._rest_view(message)
        return _json(answer)

    def _response_message(
        self,
        record: dict[str, Any],
        data: dict[str, Any],
        files: list[dict[str, Any]],
        *,
        loading: bool,
    ) -> dict[str, Any]:
        payload = record["payload"]
        channel_id = int(payload["channel_id"])
        message = self._message_object(channel_id, self._new_id(), self._user(int(self.APP_ID)))
        message.pop("member", None)
        user = payload["member"]["user"] if "member" in payload else payload["user"]
        message.update(
            webhook_id=self.APP_ID,
            application_id=self.APP_ID,
            type=CHAT_INPUT_COMMAND if payload["type"] == 2 else 0,
            interaction_metadata={
                "id": payload["id"],
                "type": payload["type"],
                "user": copy.deepcopy(user),
                "authorizing_integration_owners": payload["authorizing_integration_owners"],
            },
        )
        if payload["type"] == 2:
            message["interaction_metadata"]["name"] = payload["data"]["name"]
        if loading:
            message["flags"] = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
        else:
            self._apply_body(message, data, files)
        self._fill_mentions(message, [])
        return message

    def _webhook_record(self, req: _Request) -> dict[str, Any]:
        record = self._by_token(req.match["token"]) if req.match["app"] == self.APP_ID else None
        if record is None:
            raise ApiError(404, "Unknown Webhook", 10015)
        return record

    def _webhook_target(self, req: _Request, record: dict[str, Any]) -> dict[str, Any]:
        wanted = req.match["message"]
        found: dict[str, Any] | None
        if wanted == "@original":
            found = record["original"]
        else:
            found = next((f for f in record["followups"] if f["id"] == wanted), None)
        if found is None:
            raise ApiError(404, "Unknown Message", 10008)
        return found

    async def _get_webhook_message(self, req: _Request) -> web.Response:
        record = self._webhook_record(req)
        return _json(self._rest_view(self._webhook_target(req, record)))

    async def _patch_webhook_message(self, req: _Request) -> web.Response:
        record = self._webhook_record(req)
        message = self._webhook_target(req, record)
        was_loading = bool(message["flags"] & LOADING)
        edited = copy.deepcopy(message)
        edited["flags"] &= ~LOADING
        self._apply_body(edited, req.body if isinstance(req.body, dict) else {}, req.files)
        if not was_loading:
            edited["edited_timestamp"] = snowflake_time(self._new_id())
        self._fill_mentions(edited, [])
        message.clear()
        message.update(edited)
        channel_id = int(message["channel_id"])
        if int(message["id"]) in self._messages.get(channel_id, {}):
            self._messages[channel_id][int(message["id"])] = message
            self._dispatch("MESSAGE_UPDATE", message)
        return _json(self._rest_view(message))

    async def _delete_webhook_msg(self, req: _Request) -> web.Response:
        record = self._webhook_record(req)
        message = self._webhook_target(req, record)
        channel_id, message_id = int(message["channel_id"]), int(message["id"])
        if self._messages.get(channel_id, {}).pop(message_id, None) is not None:
            self._dispatch("MESSAGE_DELETE", self._delete_event(channel_id, message_id))
        if record["original"] is message:
            record["original"] = None
        else:
            record["followups"].remove(message)
        return web.Response(status=204)

    async def _post_followup(self, req: _Request) -> web.Response:
        record = self._webhook_record(req)
        if record["acked"] is None:
            raise ApiError(404, "Unknown Webhook", 10015)
        body = req.body if isinstance(req.body, dict) else {}
        original = record["original"]
        if original is not None and original["flags"] & LOADING:
            # The first followup after a deferred (type 5) response fills the "thinking"
            # message; that message keeps the ephemerality chosen when deferring.
            edited = copy.deepcopy(original)
            edited["flags"] &= ~LOADING
            self._apply_body(edited, {k: v for k, v in body.items() if k != "flags"}, req.files)
            self._fill_mentions(edited, [])
            original.clear()
            original.update(edited)
            message = original
            record["followups"].append(message)
            if not message["flags"] & EPHEMERAL:
                self._dispatch("MESSAGE_UPDATE", message)
        else:
            channel_id = int(record["payload"]["channel_id"])
            message = self._bot_message(channel_id, body, req.files, webhook=True)
            record["followups"].append(message)
            if not message["flags"] & EPHEMERAL:
                self._store(channel_id, message)
                self._dispatch("MESSAGE_CREATE", message)
        if str(req.query.get("wait", "")).lower() in ("1", "true"):
            return _json(self._rest_view(message))
        return web.Response(status=204)
