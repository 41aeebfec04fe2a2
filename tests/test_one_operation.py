"""Each use-case is written once: the command line and the bot reach it through the same
operation (watched by a spy that still runs the real one), and the operations keep
their rules whichever front end calls them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import CHANNEL_ID, NEWS, message, service
from test_bot import (
    GROUP,
    bot_app,
    group_message,
    llm,
    press_forgetme,
    private_message,
    replies_to,
    run_bot,
    until,
)
from typer.testing import CliRunner

from postfinder.answering.prompt import system_messages
from postfinder.answering.refusal import RefusalModel
from postfinder.app import App
from postfinder.cli import cli
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.errors import ConfigError
from postfinder.generation.fake import FakeGenerator
from postfinder.operations import calibration, maintenance, members, posts
from postfinder.operations import stats as stats_ops
from postfinder.store.lock import WriterLock

__all__ = ["bot_app", "llm"]  # fixtures used here, defined with the bot's tests
FAKE_ENV = {"POSTFINDER_EMBEDDING__MODE": "fake", "POSTFINDER_LLM__MODE": "none"}


class Spy:
    """Records each call of the watched operations, then runs the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls: list[str] = []

    def watch(self, module: Any, name: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return real(*args, **kwargs)

        self.monkeypatch.setattr(module, name, spy)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def run_cli(app: App, *args: str) -> Any:
    data_dir = str(app.settings.data_dir)
    result = CliRunner().invoke(cli, ["--data-dir", data_dir, *args], env=FAKE_ENV)
    assert result.exit_code == 0, result.output
    return result


def test_forget_a_post(bot_app: App, fake: Any, spy: Spy) -> None:
    spy.watch(posts, "forget_post")
    fake.admins.add((GROUP, 7))

    async def scenario(_bot: Any) -> None:
        fake.push(message=group_message(20, "/forget https://t.me/testchan/3", user=7))
        await until(lambda: replies_to(fake, 20))

    run_bot(bot_app, scenario)
    assert spy.take() == ["forget_post"]
    run_cli(bot_app, "forget-post", "https://t.me/testchan/4")
    assert spy.take() == ["forget_post"]
    assert not {3, 4} & set(bot_app.catalog.get(CHANNEL_ID).docs.ids())


def test_stats(bot_app: App, fake: Any, spy: Spy) -> None:
    spy.watch(stats_ops, "stats_report")
    spy.watch(stats_ops, "format_stats")
    fake.admins.add((GROUP, 7))

    async def scenario(_bot: Any) -> None:
        fake.push(message=group_message(30, "/stats", user=7))
        await until(lambda: replies_to(fake, 30))

    run_bot(bot_app, scenario)
    assert spy.take() == ["stats_report", "format_stats"]
    assert replies_to(fake, 30)[0]["text"].startswith("Last 30 days: ")
    assert run_cli(bot_app, "stats").stdout.startswith("Last 30 days: ")
    assert spy.take() == ["stats_report", "format_stats"]


def test_member_rights(bot_app: App, fake: Any, spy: Spy, llm: Any) -> None:
    spy.watch(members, "export_member")
    spy.watch(members, "forget_member")
    bot_app.settings.telegram.private_chats = True
    llm.default = f"{NEWS[1]} [1]"
    direct = private_message

    async def scenario(_bot: Any) -> None:
        fake.push(message=direct(80, "как продлить загранпаспорт?"))
        await until(lambda: [p for p in fake.sent("sendMessage") if "reply_markup" in p])
        fake.push(message=direct(81, "/mydata"))
        await until(lambda: fake.sent("sendDocument"))
        press_forgetme(fake, "cb")
        await until(lambda: fake.sent("editMessageText"))

    run_bot(bot_app, scenario)
    assert spy.take() == ["export_member", "forget_member"]
    exported = json.loads(run_cli(bot_app, "member", "export", "42").stdout)
    assert exported["questions"] == []  # erased through the bot
    assert run_cli(bot_app, "member", "forget", "42").stdout.startswith("Erased 0 questions")
    assert spy.take() == ["export_member", "forget_member"]


def test_index_then_calibrate(bot_app: App, fake: Any, spy: Spy, write_export: Any) -> None:
    spy.watch(calibration, "calibrate_if_changed")
    spy.watch(calibration, "calibrate_auto")
    # The fixture's always-answer model counts as the owner's labelled calibration.
    (bot_app.catalog.get(CHANNEL_ID).directory / "refusal.json").unlink()
    newer = write_export(
        [service(1)]
        + [message(i + 2, t) for i, t in enumerate(NEWS)]
        + [message(9, "Бассейн на Лесной закрыт на ремонт до 1 апреля.")],
        name="newer.json",
    )
    outcome: dict[str, Any] = {}

    async def scenario(_bot: Any) -> None:
        with WriterLock(bot_app.settings.data_dir, "serve"):  # what `serve` holds
            outcome["cli"] = await asyncio.to_thread(run_cli, bot_app, "index", str(newer))

    run_bot(bot_app, scenario)
    assert "the export was handed to it" in outcome["cli"].stderr
    # By the bot, after indexing (its posts changed: a new label-free fit).
    assert spy.take() == ["calibrate_if_changed", "calibrate_auto"]
    newest = write_export(
        [service(1), message(2, "Каток на Лесной открыт до 23:00.")], name="newest.json"
    )
    run_cli(bot_app, "index", str(newest))
    assert spy.take() == ["calibrate_if_changed", "calibrate_auto"]  # by the command itself
    run_cli(bot_app, "calibrate", "--auto")
    assert spy.take() == ["calibrate_auto"]


def test_a_labelled_calibration_is_kept_unless_replaced(app: App, write_export: Any) -> None:
    app.indexer().index_export(write_export(), progress=False)
    channel = app.catalog.get(CHANNEL_ID)
    labelled = RefusalModel("fake-64", [0.0] * 10, [1.0] * 10, [0.0] * 10, 1.0, 0.5, "mine")
    labelled.save(channel.directory / "refusal.json")
    with pytest.raises(ConfigError, match="--replace-labelled"):
        calibration.calibrate_auto(app, channel)
    elsewhere = calibration.calibrate_auto(app, channel, output=channel.directory / "try.json")
    assert elsewhere.model.method == "auto"
    assert RefusalModel.load(channel.directory / "refusal.json").fitted_on == "mine"
    replaced = calibration.calibrate_auto(app, channel, replace_labelled=True)
    assert RefusalModel.load(replaced.path).method == "auto"


def test_forget_rejects_another_channels_link_and_reports_a_missing_post(
    app: App, write_export: Any
) -> None:
    app.indexer().index_export(write_export(), username="testchan", progress=False)
    with pytest.raises(ConfigError, match="another channel"):
        posts.forget_post(app, "https://t.me/otherchan/3", CHANNEL_ID)
    assert posts.forget_post(app, "999", CHANNEL_ID) == posts.Forgotten(CHANNEL_ID, 999, False)
    assert posts.forget_post(app, "3").removed
    hits = app.retriever(CHANNEL_ID).search(NEWS[1], k=10).hits
    assert 3 not in [hit.post_id for hit in hits]


def test_operations_hold_the_writer_lock(app: App, write_export: Any) -> None:
    app.indexer().index_export(write_export(), progress=False)
    with WriterLock(app.settings.data_dir, "index"):
        with pytest.raises(Exception, match="Another PostFinder process is writing"):
            posts.forget_post(app, "3")
        with pytest.raises(Exception, match="Another PostFinder process is writing"):
            maintenance.repair(app)
    assert 3 in app.catalog.get(CHANNEL_ID).docs.ids()


def test_repair_refuses_to_reset_one_channel(app: App) -> None:
    with pytest.raises(ConfigError, match="leave out --channel"):
        maintenance.repair(app, "1", reset_vectors=True)


def test_member_ids_are_numbers() -> None:
    assert members.member_id(" 42 ") == 42
    with pytest.raises(ConfigError, match="not a Telegram user id"):
        members.member_id("@someone")


def test_the_models_are_ready_before_the_first_question(make_app: Any) -> None:
    generator, embedder = FakeGenerator(), FakeEmbedder()
    asyncio.run(maintenance.warm_up(make_app(generator, embedder=embedder)))
    assert generator.prefilled == [system_messages()] and not generator.history
    assert [kind for kind, _ in embedder.calls] == ["query"]


def test_a_model_that_cannot_load_at_start_is_logged_not_fatal(
    settings: Any, make_app: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.llm.mode = "llama-cpp"
    settings.models_dir = tmp_path / "no-models"
    asyncio.run(maintenance.warm_up(make_app()))
    assert "Models not prepared at start: No GGUF model in" in caplog.text


def test_the_warm_up_opens_every_indexed_channel(bot_app: App) -> None:
    embedder = bot_app.embedder
    asyncio.run(maintenance.warm_up(bot_app))
    queries = [texts for kind, texts in embedder.calls if kind == "query"]  # type: ignore[attr-defined]
    assert queries.count(["?"]) == 1 + len(bot_app.catalog.ids()) and bot_app.catalog.ids()
