"""Answer evaluation: gold matching, the metrics, and `postfinder eval --answers`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import channel_refusal_file
from typer.testing import CliRunner

from postfinder.cli import cli
from postfinder.evaluation import (
    AnswerOutcome,
    Question,
    QuestionsError,
    contains_gold,
    evaluate_answers,
    normalise_answer,
)

runner = CliRunner()


@pytest.mark.parametrize(
    "answer, gold, expected",
    [
        ("В 1886 году [1].", "1886", True),
        ("В 18861 году", "1886", False),
        (
            "Генеральный фармацевтический совет (ГФС).",
            "Генеральном фармацевтическом совете(ГФС)",
            True,
        ),
        ("Около 32,9% населения", "32,9 %", True),
        ("порядка 1,1 × 10 в 11-й степени", "10%", False),
        ("Билет стоит 1 000 рублей", "1000 рублей", True),
        ("Ёлка у ратуши", "елка", True),
        ("Konwiktorska Street, Warsaw", "Konwiktorska Street", True),
        # Chinese has no spaces: a gold is found inside a run of characters.
        ("作者是九井谅子，格式为mobi。", "九井谅子", True),
        ("该阅读器支持7种格式", "7 种", True),
        ("由人民邮电出版社出版", "人民出版社", False),
    ],
)
def test_contains_gold(answer: str, gold: str, expected: bool) -> None:
    assert contains_gold(answer, [gold]) is expected


def test_normalise_answer() -> None:
    assert normalise_answer("«Морк и Минди»!") == "морк и минд"


def test_metrics_from_outcomes() -> None:
    questions = [
        Question("q1", (1,), False, ("1886",)),
        Question("q2", (2,), False, ("Тесла",)),
        Question("q3", (3,), False, ("500",)),
        Question("q4", (4,), False, ("900",)),
        Question("q5", (), True),
        Question("q6", (), True),
        Question("no gold", (7,), False),  # left out: nothing to judge it by
    ]
    timings = {"first_token_ms": 1000.0, "generation_ms": 2000.0, "total_ms": 2500.0}
    outcomes = {
        "q1": AnswerOutcome(
            "generated",
            "В 1886 году [1].",
            "В 1886 году [1].",
            timings,
            {"prompt": 500, "completion": 11},
        ),
        "q2": AnswerOutcome(
            "generated", "Эдисон [1].", "Эдисон [1].", timings, {"prompt": 600, "completion": 3}
        ),
        "q3": AnswerOutcome(
            "extractive",
            "«Стоит 500 рублей» [1]",
            "Стоит 900 рублей [1].",
            {"total_ms": 100.0},
            {"prompt": 700},
        ),
        "q4": AnswerOutcome("refused", "В канале нет поста об этом.", None, {"total_ms": 5.0}, {}),
        "q5": AnswerOutcome("refused", "В канале нет поста об этом.", None, {"total_ms": 5.0}, {}),
        "q6": AnswerOutcome("extractive", "«...» [1]", None, {"total_ms": 50.0}, {}),
    }
    report, records = evaluate_answers(lambda q: outcomes[q], questions)
    assert len(records) == 6 and records[0].correct
    assert report["accuracy"] == 0.5
    assert (report["generated_share"], report["extractive_share"], report["refused_share"]) == (
        0.5,
        0.25,
        0.25,
    )
    assert (report["generated_wrong"], report["generated_wrong_count"]) == (0.5, 1)
    assert (report["false_rejects"], report["drafts_with_gold"]) == (0, 1)
    assert (report["refusal_rate"], report["false_refusal_rate"]) == (0.5, 0.25)
    assert report["prompt_tokens_p50"] == 600
    assert report["first_token_ms_p50"] == 1000.0
    assert report["tokens_per_s"] == pytest.approx(6.0)  # (11-1)/1 s and (3-1)/1 s


def test_questions_without_gold_are_an_error() -> None:
    with pytest.raises(QuestionsError, match="gold 'answers'"):
        evaluate_answers(lambda q: None, [Question("q", (1,), False)])  # type: ignore[arg-type,return-value]


def test_eval_answers_command(
    write_export, always_answer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__FAKE_REPLY", "Прокат коньков стоит 500 рублей в час [1].")
    assert runner.invoke(cli, ["index", str(write_export()), "--username", "city"]).exit_code == 0
    always_answer.save(channel_refusal_file())
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps(
            {"query": "Сколько стоит прокат коньков?", "relevant": [6], "answers": ["500 рублей"]},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    records = tmp_path / "records.jsonl"
    result = runner.invoke(
        cli, ["eval", str(questions), "--answers", "--json", "--records", str(records)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (
        report["accuracy"],
        report["lead_accuracy"],
        report["generated_share"],
        report["model"],
    ) == (1.0, 1.0, 1.0, "fake-llm")
    (record,) = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    assert record["mode"] == "generated" and record["draft_correct"] is True
    assert record["lead"] == "Прокат коньков стоит 500 рублей в час [1]."
    assert record["lead_correct"] is True

    result = runner.invoke(cli, ["eval", str(questions), "--answers", "--no-llm"])
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "model none (extractive): 1 answerable, 0 unanswerable questions\naccuracy 1.000, "
        "lead 1.000 (generated leads without the gold 0.000); generated 0.000, extractive 1.000, refused 0.000;"
    )
