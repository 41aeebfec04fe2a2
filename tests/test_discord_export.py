"""Reading DiscordChatExporter JSON exports, and indexing them like Telegram's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from postfinder.app import App
from postfinder.errors import ExportError
from postfinder.ingest.discord_export import DiscordExport, is_discord_export, message_text
from postfinder.ingest.telegram_export import check_chat_kind

FIXTURE = Path(__file__).parent / "fixtures" / "discord-export" / "announcements.json"
GUILD, CHANNEL = 1100000000000000001, 1200000000000000002
FIRST, EMBED, REPLY, PIN, EDITED, RUSSIAN, ATTACHMENT, JOIN = (
    1225000000000000000 + n for n in range(1, 9)
)


def fixture_doc() -> dict[str, Any]:
    """The fixture export, to change and write elsewhere."""
    doc: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return doc


def write(tmp_path: Path, doc: dict[str, Any], name: str = "export.json") -> Path:
    path = tmp_path / "discord" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_discord_exports_are_told_from_telegram_ones_by_content(
    tmp_path: Path, write_export
) -> None:
    assert is_discord_export(FIXTURE)
    assert is_discord_export(FIXTURE.parent)  # a folder with one export
    telegram = write_export()
    assert not is_discord_export(telegram)
    assert not is_discord_export(telegram.parent)
    assert not is_discord_export(FIXTURE.parent.parent / "city-channel" / "result.json")
    # The name says nothing: a Discord export called result.json is still one.
    assert is_discord_export(write(tmp_path, fixture_doc(), "result.json"))
    for body in ("", "not json", "[1, 2]", '{"about": "x", "chats": {"list": []}}', "{" * 9):
        other = tmp_path / "other.json"
        other.write_text(body, encoding="utf-8")
        assert not is_discord_export(other)
    assert not is_discord_export(tmp_path / "missing.json")


def test_channel_info_names_the_guild_and_links_to_discord() -> None:
    export = DiscordExport(FIXTURE)
    info = export.select_chat(None)
    assert (info.id, info.name, info.type) == (CHANNEL, "My Server #announcements", "channel")
    assert info.link_prefix == f"https://discord.com/channels/{GUILD}/{CHANNEL}"
    assert export.chats() == [info]
    for chat in ("announcements", "#Announcements", str(CHANNEL), "my server #announcements"):
        assert export.select_chat(chat) == info
    with pytest.raises(ExportError, match="Leave out --chat"):
        export.select_chat("general")


def test_posts_are_parsed_exactly_and_system_and_empty_messages_skipped() -> None:
    export = DiscordExport(FIXTURE)
    posts = {post.id: post for post in export.iter_posts(export.select_chat(None))}
    assert list(posts) == [FIRST, EMBED, REPLY, EDITED, RUSSIAN]  # no pin, join, attachment
    first = posts[FIRST]
    assert first.text == (
        "Big news: the server opens Monday opens on Friday! Free cake. Read the rules and "
        "https://example.org/faq. Thanks @Owner, see #channel :party: #launch"
    )
    assert first.links == ("https://example.org/rules", "https://example.org/faq")
    assert first.hashtags == ("#launch",)
    assert (first.date, first.edited, first.reply_to) == (1711965600, None, None)
    embed = posts[EMBED]
    assert embed.text == (
        "Patch 1.2 released\nFixes crashes on start.\n"
        "Download: https://example.org/download\nSize: 40 MB"
    )
    assert embed.links == ("https://example.org/patch-1-2", "https://example.org/download")
    assert posts[REPLY].reply_to == FIRST and posts[REPLY].text == "Yes: Friday at 18:00 UTC."
    assert (posts[EDITED].date, posts[EDITED].edited) == (1712131200, 1712132130)
    russian = posts[RUSSIAN]
    assert (
        russian.text == "Расписание: турнир в субботу в 15:00 по Москве, призы — три кубка. #турнир"
    )
    assert russian.date == 1712221200  # 12:00 at +03:00
    assert russian.hashtags == ("#турнир",)
    assert all(p.channel_id == CHANNEL and p.forwarded_from is None for p in posts.values())


def test_markdown_is_left_readable() -> None:
    text, links, tags = message_text(
        "# Title\n> quoted *italic* and _also_ \\*kept\\* snake_case\n"
        "```py\n# code **stays**\n```<@&1> <@9> </help:2> <a:wave:3> <t:1712000000:D> "
        "<https://example.org/__a__>",
        [],
    )
    assert text == (
        "Title\nquoted italic and also *kept* snake_case\n# code **stays**\n"
        "@role @user /help :wave: 2024-04-01 https://example.org/__a__"
    )
    assert (links, tags) == (["https://example.org/__a__"], [])


def test_replies_to_other_channels_and_crossposts_are_not_replies(tmp_path: Path) -> None:
    doc = fixture_doc()
    doc["messages"][2]["reference"]["channelId"] = "1200000000000000999"
    export = DiscordExport(write(tmp_path, doc))
    posts = {post.id: post for post in export.iter_posts(export.select_chat(None))}
    assert posts[REPLY].reply_to is None


def test_direct_messages_are_refused_unless_asked_for(app: App, tmp_path: Path) -> None:
    doc = fixture_doc()
    doc["guild"] = {"id": "0", "name": "Direct Messages", "iconUrl": None}
    doc["channel"] = {"id": "1400000000000000004", "type": "DirectTextChat", "name": "alice"}
    path = write(tmp_path, doc)
    info = DiscordExport(path).select_chat(None)
    assert (info.type, info.name) == ("personal_chat", "Direct Messages #alice")
    with pytest.raises(ExportError, match="--allow-non-channel"):
        check_chat_kind(info, allow_non_channel=False)
    with pytest.raises(ExportError, match="--allow-non-channel"):
        app.indexer().index_export(path, progress=False)
    assert app.catalog.ids() == []
    app.indexer().index_export(path, progress=False, allow_non_channel=True)
    link = app.catalog.get(info.id).link(FIRST)
    assert link == f"https://discord.com/channels/@me/1400000000000000004/{FIRST}"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("id", "abc", "message 2 (id 'abc'): expected a numeric 'id'"),
        ("id", 1.5, "message 2 (id 1.5): expected a numeric 'id'"),
        ("timestamp", "yesterday", "message 2 (id '1225000000000000002'): Invalid isoformat"),
        ("timestamp", 1712050200, "expected 'timestamp' to be an ISO 8601 date"),
        ("timestamp", "2009-01-01T00:00:00+00:00", "not a date between 2015 and now"),
        ("content", ["a"], "expected 'content' to be a str"),
        ("embeds", "x", "expected 'embeds' to be a list"),
        ("embeds", [{"title": 5}], "expected 'title' to be a str"),
        ("reference", {"messageId": "zz"}, "expected 'reference.messageId' to be a numeric id"),
    ],
)
def test_a_malformed_message_is_named_and_nothing_is_written(
    app: App, tmp_path: Path, field: str, value: Any, problem: str
) -> None:
    doc = fixture_doc()
    doc["messages"][1][field] = value
    with pytest.raises(ExportError, match="DiscordChatExporter") as info:
        app.indexer().index_export(write(tmp_path, doc), progress=False)
    assert problem in str(info.value)
    assert app.catalog.ids() == []


def test_broken_files_are_refused_with_the_fix(tmp_path: Path) -> None:
    doc = fixture_doc()
    doc["messages"][3] = "not a message"
    export = DiscordExport(write(tmp_path, doc))
    with pytest.raises(ExportError, match="message 4: expected an object"):
        list(export.iter_posts(export.select_chat(None)))
    truncated = write(tmp_path, fixture_doc(), "truncated.json")
    truncated.write_text(truncated.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    export = DiscordExport(truncated)
    with pytest.raises(ExportError, match="malformed JSON within the first .* DiscordChatExporter"):
        list(export.iter_posts(export.select_chat(None)))
    deep = write(tmp_path, {"guild": {}, "channel": {"id": "1"}, "messages": [[[[[[[[[]]]]]]]]]})
    deep.write_text(deep.read_text().replace("[]", "[" * 40 + "]" * 40), encoding="utf-8")
    with pytest.raises(ExportError, match="DiscordChatExporter writes at most about 8"):
        DiscordExport(deep).chats()
    with pytest.raises(ExportError, match="numeric 'channel.id'"):
        DiscordExport(write(tmp_path, {"channel": {"id": "x"}, "messages": []})).chats()


def test_a_folder_must_hold_exactly_one_export(tmp_path: Path) -> None:
    one = write(tmp_path, fixture_doc(), "a.json")
    assert DiscordExport(one.parent).path == one
    write(tmp_path, fixture_doc(), "b.json")
    with pytest.raises(ExportError, match="2 DiscordChatExporter exports.*one file at a time"):
        DiscordExport(one.parent)


def test_index_links_and_reindex_updates_edits_and_removes_deletions(
    app: App, tmp_path: Path
) -> None:
    first = app.indexer().index_export(FIXTURE, progress=False)
    assert (first.channel_id, first.added, first.channel_name) == (
        CHANNEL,
        5,
        "My Server #announcements",
    )
    channel = app.catalog.get(CHANNEL)
    assert channel.link(REPLY) == f"https://discord.com/channels/{GUILD}/{CHANNEL}/{REPLY}"
    assert app.retriever().search("турнир в субботу", k=1).hits[0].post_id == RUSSIAN

    doc = fixture_doc()
    doc["messages"][4]["content"] = "Tournament moved to Monday."
    doc["messages"][4]["timestampEdited"] = "2024-04-03T09:00:00+00:00"
    del doc["messages"][2]  # the reply was deleted
    again = app.indexer().index_export(write(tmp_path, doc), progress=False)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 1, 3, 1)
    assert sorted(channel.post_ids()) == [FIRST, EMBED, EDITED, RUSSIAN]
    assert channel.docs.get([EDITED])[EDITED].text == "Tournament moved to Monday."
