"""The fake Discord API drives the real discord.py 2.7 client end to end (no PostFinder code)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from fake_discord import FakeDiscord

GUILD = 700_000_000_000_000_001
NEWS = 700_000_000_000_000_111  # announcement channel
TEXT = 700_000_000_000_000_222
FORUM = 700_000_000_000_000_333
BOT_ID = int(FakeDiscord.BOT_USER["id"])
MANAGE_GUILD = 1 << 5


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    """A started fake with one guild, pointed at by discord.py; restored afterwards."""
    server = FakeDiscord().start()
    server.add_guild(
        GUILD,
        "Test server",
        [
            {"id": NEWS, "type": 5, "name": "announcements"},
            {"id": TEXT, "type": 0, "name": "general"},
            {"id": FORUM, "type": 15, "name": "questions"},
        ],
    )
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield server
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        server.stop()


class Bot(discord.Client):
    """A bare client that queues every event it dispatches, per event name."""

    def __init__(self, *, message_content: bool = True, members: bool = False) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        # Discord sends GUILD_CREATE right after READY; do not wait the default 2 s for more.
        super().__init__(intents=intents, guild_ready_timeout=0.2)
        self.tree = app_commands.CommandTree(self)
        self.queues: dict[str, asyncio.Queue[tuple[Any, ...]]] = {}

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        super().dispatch(event_name, *args, **kwargs)
        self.queues.setdefault(event_name, asyncio.Queue()).put_nowait(args)

    async def got(self, event: str, timeout: float = 3.0) -> Any:
        """The first argument of the next ``event`` dispatched."""
        queue = self.queues.setdefault(event, asyncio.Queue())
        args = await asyncio.wait_for(queue.get(), timeout)
        return args[0] if args else None

    async def got_message(self, content: str, timeout: float = 3.0) -> discord.Message:
        """The next on_message whose content is ``content`` (skipping others, e.g. own)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.got("message", max(0.01, deadline - time.monotonic()))
            if message.content == content:
                return message


@contextlib.asynccontextmanager
async def running(bot: Bot, token: str = "fake-token") -> AsyncIterator[Bot]:
    """Start the client and wait for on_ready; close it afterwards."""
    task = asyncio.create_task(bot.start(token))
    ready = asyncio.create_task(bot.got("ready", timeout=5))
    done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await bot.close()
        task.result()  # raises what stopped the client
        raise AssertionError("client never became ready")
    try:
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)


def test_login_ready_guild_create(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            assert bot.user is not None and bot.user.id == BOT_ID and bot.user.bot
            assert bot.application_id == int(FakeDiscord.APP_ID)
            news = bot.get_channel(NEWS)
            assert isinstance(news, discord.TextChannel) and news.is_news()
            assert news.name == "announcements" and news.guild.id == GUILD
            assert isinstance(bot.get_channel(TEXT), discord.TextChannel)
            assert isinstance(bot.get_channel(FORUM), discord.ForumChannel)
            guild = bot.get_guild(GUILD)
            assert guild is not None and not guild.unavailable and guild.me is not None
            me_here = news.permissions_for(guild.me)
            assert me_here.send_messages and me_here.read_message_history
            assert (await bot.fetch_channel(TEXT)).id == TEXT

    asyncio.run(main())
    identify = [op for op in fake.gateway_ops if op["op"] == 2]
    assert len(identify) == 1 and identify[0]["d"]["token"] == "fake-token"
    assert identify[0]["d"]["intents"] & (1 << 15)  # MESSAGE_CONTENT asked for
    assert fake.gateway_connections[0]["path"] == "/gateway"
    assert fake.gateway_connections[0]["query"]["v"] == "10"
    assert fake.gateway_connections[0]["query"]["encoding"] == "json"
    assert fake.sent("GET", "/users/@me") == [None]
    assert set(fake.authorization_headers) == {"Bot fake-token"}
    assert fake.gateway_sessions[0]["intents"] == identify[0]["d"]["intents"]


def test_wrong_token_is_refused_on_rest_and_gateway(fake: FakeDiscord) -> None:
    async def main() -> None:
        bot = Bot()
        with pytest.raises(discord.LoginFailure):
            await bot.login("wrong-token")
        await bot.close()
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
                assert (await ws.receive_json(timeout=3))["op"] == 10
                await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 513}})
                closed = await ws.receive(timeout=3)
                assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4004

    asyncio.run(main())
    assert fake.authorization_headers == ["Bot wrong-token"]
    assert fake.requests[0]["status"] == 401


def test_message_create_reply_edit_react(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            pushed = fake.post(NEWS, "where is the schedule?", author_id=42)
            message = await bot.got_message("where is the schedule?")
            assert message.id == int(pushed["id"]) and message.author.id == 42
            assert message.channel.id == NEWS and message.guild and message.guild.id == GUILD
            assert isinstance(message.author, discord.Member)

            reply = await message.reply("in the pinned post")
            assert reply.author.id == BOT_ID and reply.type is discord.MessageType.reply
            assert reply.reference is not None and reply.reference.message_id == message.id
            own = await bot.got_message("in the pinned post")  # Discord echoes own messages
            assert own.id == reply.id and own.author == bot.user

            edited = await reply.edit(content="in the pinned post (updated)")
            assert edited.edited_at is not None
            await reply.add_reaction("👀")
            raw = await bot.got("raw_reaction_add")
            assert raw.message_id == reply.id and str(raw.emoji) == "👀"

    asyncio.run(main())
    body = fake.sent("POST", rf"/channels/{NEWS}/messages")[0]
    assert body["content"] == "in the pinned post"
    assert str(body["message_reference"]["message_id"]) == fake.messages_in(NEWS)[0]["id"]
    stored = fake.messages_in(NEWS)
    assert [m["content"] for m in stored] == [
        "where is the schedule?",
        "in the pinned post (updated)",
    ]
    assert stored[1]["edited_timestamp"] and stored[1]["reactions"][0]["me"]
    edits = fake.sent("PATCH", rf"/channels/{NEWS}/messages/\d+")
    assert [e["content"] for e in edits] == ["in the pinned post (updated)"]


def test_history_pages_oldest_first_and_newest_first(fake: FakeDiscord) -> None:
    fake.add_history(TEXT, [fake.message(TEXT, f"post {i}") for i in range(250)])

    async def main() -> None:
        async with running(Bot()) as bot:
            channel = bot.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            oldest_first = [m.content async for m in channel.history(limit=None, oldest_first=True)]
            assert oldest_first == [f"post {i}" for i in range(250)]
            newest = [m.content async for m in channel.history(limit=120)]
            assert newest == [f"post {i}" for i in range(249, 129, -1)]

    asyncio.run(main())
    pages = fake.sent("GET", rf"/channels/{TEXT}/messages")
    assert [p["limit"] for p in pages] == ["100", "100", "100", "100", "20"]
    assert pages[0]["after"] == "0" and int(pages[1]["after"]) > 0  # after= pages forwards
    assert "before" not in pages[3] and "before" in pages[4]


def test_429_is_waited_out_and_retried(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            channel = bot.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            fake.fail_next("POST", rf"/channels/{TEXT}/messages", 1, retry_after=0.3)
            started = time.monotonic()
            sent = await channel.send("hello")
            assert time.monotonic() - started >= 0.3
            assert sent.content == "hello"

    asyncio.run(main())
    attempts = fake.times("POST", rf"/channels/{TEXT}/messages")
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.29
    assert [r["status"] for r in fake.requests if r["method"] == "POST"] == [429, 200]
    assert [m["content"] for m in fake.messages_in(TEXT)] == ["hello"]


def test_slash_commands_defer_edit_and_ephemeral(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}

    async def main() -> None:
        bot = Bot()

        @bot.tree.command(name="ask", description="Ask a question", guild=discord.Object(GUILD))
        async def ask(interaction: discord.Interaction, question: str) -> None:
            seen["manage_guild"] = interaction.permissions.manage_guild
            seen["user"] = interaction.user.id
            await interaction.response.defer(thinking=True)
            await interaction.edit_original_response(content=f"answer to {question}")
            seen["asked"] = True

        @bot.tree.command(name="ping", description="Ping")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)
            seen["pinged"] = True

        @bot.tree.command(name="later", description="Deferred then followed up")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)
            await interaction.followup.send("done later")
            seen["later"] = True

        async with running(bot):
            await bot.tree.sync(guild=discord.Object(GUILD))
            await bot.tree.sync()
            asked = fake.slash(
                "ask",
                [{"name": "question", "type": 3, "value": "why"}],
                channel_id=TEXT,
                user_id=77,
                permissions=MANAGE_GUILD,
            )
            await bot.got("app_command_completion")
            pinged = fake.slash("ping", channel_id=TEXT)
            await bot.got("app_command_completion")
            later_one = fake.slash("later", channel_id=TEXT)
            await bot.got("app_command_completion")
            seen["tokens"] = asked["token"], pinged["token"], later_one["token"]
            assert asked["data"]["guild_id"] == str(GUILD) and "guild_id" not in pinged["data"]

    asyncio.run(main())
    assert seen["asked"] and seen["pinged"] and seen["later"]
    assert seen["manage_guild"] is True and seen["user"] == 77
    assert [c["name"] for c in fake.commands(GUILD)] == ["ask"]
    assert sorted(c["name"] for c in fake.commands()) == ["later", "ping"]
    ask_token, ping_token, later_token = seen["tokens"]
    kinds = [(r["type"], r["data"].get("flags")) for r in fake.interaction_responses]
    assert kinds == [(5, None), (4, 64), (5, 64)]
    assert fake.interaction_responses[1]["data"]["content"] == "pong"
    original = fake.original_response(ask_token)
    assert original is not None and original["content"] == "answer to why"
    assert [m["content"] for m in fake.messages_in(TEXT)] == ["answer to why"]  # not ephemerals
    pong = fake.original_response(ping_token)
    assert pong is not None and pong["content"] == "pong" and pong["flags"] & 64
    followed = fake.followups(later_token)
    assert [f["content"] for f in followed] == ["done later"] and followed[0]["flags"] & 64


def test_button_press_reaches_on_interaction(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            channel = bot.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            view = discord.ui.View(timeout=None)
            view.add_item(discord.ui.Button(label="More", custom_id="more"))
            sent = await channel.send("short answer", view=view)
            button = sent.components[0].children[0]  # type: ignore[union-attr]
            assert isinstance(button, discord.Button) and button.custom_id == "more"
            pressed = fake.press("more", message=fake.messages_in(TEXT)[-1], user_id=55)
            interaction: discord.Interaction = await bot.got("interaction")
            assert interaction.type is discord.InteractionType.component
            assert interaction.data is not None and interaction.data["custom_id"] == "more"
            assert interaction.message is not None and interaction.message.id == sent.id
            assert interaction.user.id == 55 and interaction.id == int(pressed["id"])
            await interaction.response.edit_message(content="long answer", view=None)

    asyncio.run(main())
    assert [(r["type"], r["data"]["content"]) for r in fake.interaction_responses] == [
        (7, "long answer")
    ]
    assert fake.messages_in(TEXT)[-1]["content"] == "long answer"


def test_message_update_and_delete_reach_raw_events(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            pushed = fake.post(TEXT, "first words")
            await bot.got_message("first words")
            fake.edit(TEXT, int(pushed["id"]), "second words")
            raw_edit: discord.RawMessageUpdateEvent = await bot.got("raw_message_edit")
            assert raw_edit.message_id == int(pushed["id"]) and raw_edit.channel_id == TEXT
            assert raw_edit.data["content"] == "second words" and raw_edit.data["edited_timestamp"]
            assert raw_edit.message.content == "second words"
            fake.delete(TEXT, int(pushed["id"]))
            raw_delete: discord.RawMessageDeleteEvent = await bot.got("raw_message_delete")
            assert raw_delete.message_id == int(pushed["id"]) and raw_delete.guild_id == GUILD
            assert raw_delete.cached_message is not None
            assert raw_delete.cached_message.content == "second words"

    asyncio.run(main())
    assert fake.messages_in(TEXT) == []


def test_dropped_connection_is_resumed(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            fake.post(TEXT, "before the drop")
            await bot.got_message("before the drop")
            session = fake.gateway_sessions[0]
            fake.drop_connection()
            fake.post(TEXT, "while away")  # kept for the replay
            await bot.got("resumed")
            await bot.got_message("while away")
            fake.post(TEXT, "after the resume")
            await bot.got_message("after the resume")
            resumes = [op["d"] for op in fake.gateway_ops if op["op"] == 6]
            assert len(resumes) == 1
            assert resumes[0]["session_id"] == session["session_id"]
            assert resumes[0]["seq"] == session["seq"] and resumes[0]["token"] == "fake-token"

    asyncio.run(main())
    assert [op["op"] for op in fake.gateway_ops].count(2) == 1  # resumed, not re-identified
    assert [c["path"] for c in fake.gateway_connections] == ["/gateway", "/gateway-resume"]


def test_threads_attachments_and_limits(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot()) as bot:
            post = fake.post(NEWS, "new episode", attachments=[("notes.txt", b"show notes")])
            message = await bot.got_message("new episode")
            assert await message.attachments[0].read() == b"show notes"
            thread_id = fake.create_thread(NEWS, int(post["id"]))
            thread: discord.Thread = await bot.got("thread_create")
            assert thread.id == thread_id == int(post["id"]) and thread.parent_id == NEWS
            assert thread.type is discord.ChannelType.news_thread
            assert bot.get_channel(thread_id) is thread
            assert isinstance(await bot.fetch_channel(thread_id), discord.Thread)
            fake.post(thread_id, "a comment", reply_to=None)
            comment = await bot.got_message("a comment")
            assert comment.channel.id == thread_id
            await thread.send("a reply", file=discord.File(io.BytesIO(b"abc"), "a.txt"))

            channel = bot.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            with pytest.raises(discord.HTTPException) as too_long:
                await channel.send("x" * 2001)
            assert too_long.value.status == 400 and too_long.value.code == 50035
            fake.interaction_ack_timeout = 0.0
            fake.press("late", message=post)
            late: discord.Interaction = await bot.got("interaction")
            with pytest.raises(discord.NotFound) as unknown:
                await late.response.defer()
            assert unknown.value.code == 10062

    asyncio.run(main())
    assert [m["content"] for m in fake.messages_in(int(fake.messages_in(NEWS)[0]["id"]))] == [
        "a comment",
        "a reply",
    ]
    assert fake.uploads[0]["filename"] == "a.txt" and fake.uploads[0]["data"] == b"abc"


def test_message_content_intent_is_enforced(fake: FakeDiscord) -> None:
    async def main() -> None:
        async with running(Bot(message_content=False)) as bot:
            fake.post(TEXT, "plain question")
            plain = await bot.got("message")
            assert plain.content == ""  # as on Discord without the MESSAGE_CONTENT intent
            fake.post(TEXT, "mentioned question", mentions_bot=True)
            mentioned = await bot.got("message")
            assert mentioned.content == f"<@{BOT_ID}> mentioned question"
            assert bot.user in mentioned.mentions
        fake.privileged_intents = 0  # the portal switch is off
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running(Bot(message_content=True)):
                pass

    asyncio.run(main())


def test_more_of_the_rest_surface(fake: FakeDiscord) -> None:
    fake.add_member(GUILD, 42, username="alice")
    fake.add_history(TEXT, [fake.message(TEXT, f"m{i}", message_id=1000 + i) for i in range(10)])

    async def main() -> None:
        bot = Bot(members=True)

        @bot.tree.command(name="quick", description="Answer, follow up, retract")
        async def quick(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            await interaction.followup.send("second", ephemeral=True)
            await interaction.delete_original_response()

        async with running(bot):
            guild = bot.get_guild(GUILD)
            assert guild is not None
            members = await guild.chunk()  # op 8 REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK
            assert sorted(m.id for m in members) == [42, BOT_ID]
            assert (await guild.fetch_member(42)).name == "alice"
            with pytest.raises(discord.NotFound):
                await guild.fetch_member(43)

            channel = bot.get_channel(TEXT)
            assert isinstance(channel, discord.TextChannel)
            around = [m.id async for m in channel.history(limit=5, around=discord.Object(1004))]
            assert sorted(around) == [1002, 1003, 1004, 1005, 1006]
            starter = await channel.fetch_message(1009)
            thread = await starter.create_thread(name="Discussion")
            assert thread.id == 1009 and thread.type is discord.ChannelType.public_thread
            created: discord.Thread = await bot.got("thread_create")
            assert created.id == 1009 and bot.get_channel(1009) is not None
            with pytest.raises(discord.HTTPException) as twice:
                await starter.create_thread(name="Again")
            assert twice.value.code == 160004

            fake.fail_next("POST", rf"/channels/{TEXT}/messages", 1, status=403)
            with pytest.raises(discord.Forbidden) as forbidden:
                await channel.send("no rights")
            assert forbidden.value.code == 50013

            fake.request_reconnect()  # op 7: the client closes and resumes
            await bot.got("resumed")
            await bot.tree.sync()
            fake.slash("quick", channel_id=TEXT)
            await bot.got("app_command_completion")

    asyncio.run(main())
    assert [op["op"] for op in fake.gateway_ops if op["op"] in (2, 6, 8)] == [2, 8, 6]
    assert [r["type"] for r in fake.interaction_responses] == [4]
    assert "first" not in [m["content"] for m in fake.messages_in(TEXT)]  # deleted
    followups = fake.sent("POST", r"/webhooks/\d+/[^/]+")
    assert [f["content"] for f in followups] == ["second"]
