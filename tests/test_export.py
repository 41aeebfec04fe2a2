"""Reading Telegram Desktop exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CHANNEL_ID, message, service

from postfinder.errors import ExportError
from postfinder.ingest.telegram_export import TelegramExport, flatten_text


def test_flatten_keeps_link_targets_and_hashtags() -> None:
    text = [
        {"type": "bold", "text": "Заголовок"},
        "\nСмотрите ",
        {"type": "text_link", "text": "здесь", "href": "https://example.org/a"},
        " и https://example.com/b. ",
        {"type": "hashtag", "text": "#новости"},
        {"type": "mention", "text": "@someone"},
    ]
    plain, links, tags = flatten_text(text)
    assert plain == "Заголовок\nСмотрите здесь и https://example.com/b. #новости@someone"
    assert links == ["https://example.org/a", "https://example.com/b"]
    assert tags == ["#новости"]


def test_flatten_rejects_unknown_parts() -> None:
    with pytest.raises(ValueError, match="strings or objects"):
        flatten_text(["ok", 5])


def test_posts_fields_captions_polls_and_skips(write_export) -> None:
    poll = {"question": "Куда поехать?", "answers": [{"text": "Море"}, {"text": "Горы"}]}
    path = write_export(
        [
            service(1),
            message(2, "обычный пост", edited="2023-11-15T10:00:00", edited_unixtime="1700042400"),
            message(3, "", photo="photos/a.jpg"),  # photo without caption: skipped
            message(4, "подпись к фото", photo="photos/b.jpg", reply_to_message_id=2),
            message(5, "", poll=poll),
            message(6, "пересланное", forwarded_from="Другой канал"),
        ]
    )
    export = TelegramExport(path)
    chat = export.select_chat(None)
    posts = {p.id: p for p in export.iter_posts(chat)}
    assert sorted(posts) == [2, 4, 5, 6]
    assert posts[2].edited == 1700042400
    assert posts[2].date == 1_700_000_000 + 2 * 60
    assert posts[4].text == "подпись к фото" and posts[4].reply_to == 2
    assert posts[5].text == "Куда поехать?\nМоре\nГоры"
    assert posts[6].forwarded_from == "Другой канал"
    assert all(p.channel_id == CHANNEL_ID for p in posts.values())


def test_link_targets_are_searchable_text(write_export) -> None:
    text = ["читать ", {"type": "text_link", "text": "статью", "href": "https://ex.org/x"}]
    path = write_export([message(2, text)])
    export = TelegramExport(path)
    (post,) = export.iter_posts(export.select_chat(None))
    assert post.text == "читать статью"
    assert post.search_text == "читать статью\nhttps://ex.org/x"


def _account_export(tmp_path: Path) -> Path:
    chats = [
        {"name": "Alice", "type": "personal_chat", "id": 11, "messages": [message(1, "hi")]},
        {"name": "News", "type": "public_channel", "id": 22, "messages": [message(5, "новость")]},
        {"name": "News", "type": "private_group", "id": 33, "messages": [message(7, "чат")]},
    ]
    left = [{"name": "Old", "type": "public_channel", "id": 44, "messages": [message(9, "old")]}]
    doc = {
        "about": "export",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "chats": {"about": "chats", "list": chats},
        "left_chats": {"about": "left", "list": left},
    }
    path = tmp_path / "account.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_account_export_lists_and_selects_chats(tmp_path: Path) -> None:
    export = TelegramExport(_account_export(tmp_path))
    assert [c.id for c in export.chats()] == [11, 22, 33, 44]
    chat = export.select_chat("22")
    assert [p.text for p in export.iter_posts(chat)] == ["новость"]
    assert export.select_chat("old").id == 44
    assert [p.id for p in export.iter_posts(export.select_chat("-10044"))] == [9]


def test_account_export_ambiguity_lists_chats(tmp_path: Path) -> None:
    export = TelegramExport(_account_export(tmp_path))
    with pytest.raises(ExportError) as info:
        export.select_chat(None)
    assert "choose one with --chat" in str(info.value) and "22  public_channel" in str(info.value)
    with pytest.raises(ExportError, match="matches 2 chats; use the numeric id"):
        export.select_chat("news")
    with pytest.raises(ExportError, match="No chat matches --chat 'nope'"):
        export.select_chat("nope")


def test_malformed_json_names_file_and_position(write_export) -> None:
    path = write_export()
    raw = path.read_text(encoding="utf-8")
    cut = raw.index('"messages"') + 40
    path.write_text(raw[:cut] + "}{oops" + raw[cut:], encoding="utf-8")
    export = TelegramExport(path)
    with pytest.raises(ExportError) as info:
        list(export.iter_posts(export.select_chat(None)))
    message_text = str(info.value)
    assert str(path) in message_text and "malformed JSON within the first" in message_text


def test_truncated_export_is_reported(write_export) -> None:
    path = write_export()
    path.write_text(path.read_text(encoding="utf-8")[:-50], encoding="utf-8")
    with pytest.raises(ExportError, match="ends early"):
        TelegramExport(path).chats()


def test_not_an_export(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": [1, 2]}', encoding="utf-8")
    with pytest.raises(ExportError, match="no 'messages' list and no 'chats'"):
        TelegramExport(path).chats()
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ExportError, match="expected a JSON object at the top"):
        TelegramExport(path).chats()


def test_message_without_id(write_export) -> None:
    bad = message(2, "text")
    del bad["id"]
    export = TelegramExport(write_export([bad]))
    with pytest.raises(ExportError, match="expected an integer 'id'"):
        list(export.iter_posts(export.select_chat(None)))


def test_folder_and_html_exports(tmp_path: Path, write_export) -> None:
    path = write_export()
    assert TelegramExport(path.parent).path == path
    html = tmp_path / "html"
    html.mkdir()
    (html / "messages.html").write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ExportError, match="HTML export"):
        TelegramExport(html)
    with pytest.raises(ExportError, match="does not exist"):
        TelegramExport(tmp_path / "missing.json")


def test_private_conversations_need_an_explicit_flag(tmp_path: Path, app) -> None:
    path = _account_export(tmp_path)
    with pytest.raises(ExportError, match="is a personal_chat, not a channel or public group"):
        app.indexer().index_export(path, "11", progress=False)
    with pytest.raises(ExportError, match="add --allow-non-channel"):
        app.indexer().index_export(path, "33", progress=False)
    assert app.catalog.ids() == []
    report = app.indexer().index_export(path, "11", progress=False, allow_non_channel=True)
    assert report.added == 1


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("id", 3.5, "expected an integer 'id'"),
        ("id", 2**40, "message ids run from 1 to"),
        ("date_unixtime", "1e30", "'date_unixtime' is not a whole number of seconds"),
        ("date_unixtime", 1e30, "is not a date between 2013 and now"),
        ("date_unixtime", str(10**12), "is not a date between 2013 and now"),
    ],
)
def test_out_of_range_fields_are_refused_before_anything_is_written(
    write_export, app, field: str, value: object, problem: str
) -> None:
    bad = message(4, "плохой пост")
    bad[field] = value
    path = write_export([message(2, "хороший пост"), bad])
    with pytest.raises(ExportError) as info:
        app.indexer().index_export(path, progress=False)
    assert problem in str(info.value)
    assert app.catalog.ids() == [] or app.catalog.get(CHANNEL_ID).docs.count() == 0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels at byte"),
        ('"' + "п" * 400_000 + '"', "a JSON string longer than 393,216 bytes at byte"),
        ('"' + "x" * 400_000, "a JSON string longer than 393,216 bytes"),  # never closed
    ],
)
def test_hostile_structure_is_refused_before_parsing(
    tmp_path: Path, body: bytes | str, problem: str
) -> None:
    raw = body if isinstance(body, bytes) else body.encode()
    path = tmp_path / "result.json"
    path.write_bytes(b'{"name": "x", "type": "public_channel", "id": 1, "messages": [{"text": ')
    with path.open("ab") as out:
        out.write(raw + b"}]}")
    with pytest.raises(ExportError, match=problem):
        TelegramExport(path).chats()


def test_strings_and_escapes_across_scan_chunks_are_read(
    write_export, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: strings, escaped quotes and brackets inside strings straddle boundaries.
    monkeypatch.setattr("postfinder.ingest.telegram_export._SCAN_CHUNK", 7)
    text = ('цитата \\"[{ в кавычках }]\\" ' * 50).strip()
    path = write_export([message(2, text), message(3, [{"type": "bold", "text": "[[[["}])])
    export = TelegramExport(path)
    posts = list(export.iter_posts(export.select_chat(None)))
    assert [p.text for p in posts] == [text, "[[[["]
