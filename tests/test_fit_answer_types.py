"""The question-type fit counts both error rates on labelled questions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import load_script


@pytest.fixture(name="fit")
def _fit(monkeypatch: pytest.MonkeyPatch):
    return load_script("fit_answer_types", monkeypatch)


def test_rates_on_a_labelled_channel(fit, tmp_path: Path, capsys) -> None:
    rows = [
        {"query": "Сколько стоит прокат?", "answers": ["300 ₽"]},
        {"query": "Сколько стоит вход?", "answers": ["бесплатно"]},  # a gold the rule hides
        {"query": "Когда откроется каток?", "answers": ["в декабре"]},
        {"query": "Кто ведёт кружок?", "answers": ["Анна Петрова"]},
        {"query": "Как записаться?", "answers": ["через бота"]},  # untyped: not counted
    ]
    path = tmp_path / "channel.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    fit.main([str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    quantity = report["types"]["quantity"]["rules"]["shipped: digits or number words"]["all"]
    assert quantity["golds"] == 2 and quantity["gold_rejected"] == 0.5
    # Each quantity question is offered "в декабре" and "Анна Петрова": all four hidden.
    assert quantity["swapped"] == 4 and quantity["swapped_accepted"] == 0.0
    entity = report["types"]["entity"]["rules"]["shipped: has letters"]["all"]
    assert entity["golds"] == 1 and entity["gold_rejected"] == 0.0
    assert report["coverage"]["ru"]["any"] == pytest.approx(0.2)


def test_wrong_phrases_of_the_gold_sentence(fit) -> None:
    item = fit.Item("x", "ru", "Сколько?", "308", "Защита уступила всего 308 очков за сезон.")
    phrases = fit.sentence_phrases(item, random.Random(0), count=100)
    assert phrases and all("308" not in p for p in phrases)
    assert "очков за сезон" in phrases


def test_replay_counts_rejected_leads_per_channel(fit, tmp_path: Path, capsys) -> None:
    rows = [
        {
            "query": "Сколько стоит вход?",
            "mode": "generated",
            "lead": "Вход платный [1].",
            "lead_correct": False,
        },  # says no sum: rejected
        {
            "query": "Сколько стоит вход?",
            "mode": "generated",
            "lead": "Вход 300 ₽ [1].",
            "lead_correct": True,
        },
        {"query": "Как записаться?", "mode": "generated", "lead": "Через бота [1]."},  # untyped
        {"query": "Сколько стоит вход?", "mode": "extractive", "lead": "«…» [1]"},
        {
            "query": "Сколько стоит вход?",
            "mode": "extractive",
            "lead": "«Вход по будням **300 ₽**, в выходные 500 ₽.» [1]",
            "answers": ["300 ₽"],
            "should_refuse": False,
        },
        {
            "query": "Сколько стоит парковка?",
            "mode": "extractive",
            "lead": "«Вход по будням 300 ₽.» [1]",
            "answers": [],
            "should_refuse": True,
        },
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    fit.main(["--records", f"city={path}"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| city | 2 | 1 | 0 |"
    # Quotes with a bold number: 1 answerable (the bold is the gold), 1 unanswerable.
    assert lines[-1] == "| city | 1 | 1 | 1 |"
