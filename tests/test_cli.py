"""The command line, through typer's runner, with the fake embedder and real ChromaDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CHANNEL_ID, NEWS, channel_refusal_file, message
from typer.testing import CliRunner

from postfinder.cli import cli

runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_embedder_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTFINDER_EMBEDDING__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "none")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_index_channels_search_eval(write_export, tmp_path: Path) -> None:
    path = write_export()
    code, out, _ = run("index", str(path), "--username", "testchan", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["channel_id"], report["added"], report["unchanged"]) == (CHANNEL_ID, 6, 0)

    code, out, _ = run("index", str(path))
    assert code == 0
    assert out.startswith(
        f"Channel {CHANNEL_ID} (Test channel): 6 posts with text in the export; "
        "0 added, 0 updated, 6 unchanged; 0 chunks embedded in "
    )

    code, out, _ = run("channels", "--json")
    (info,) = json.loads(out)
    assert (info["posts"], info["embedder"], info["username"]) == (6, "fake-64", "testchan")

    code, out, _ = run("search", "загранпаспорт пошлина", "-k", "2")
    assert code == 0
    first_line = out.splitlines()[0]
    assert first_line.startswith("1. https://t.me/testchan/3  2023-11-14  [dense #1 ")
    assert out.splitlines()[1] == "   " + NEWS[1]

    code, out, _ = run("search", "метро", "--mode", "bm25", "--json")
    hits = json.loads(out)["hits"]
    assert hits[0]["post_id"] == 2 and hits[0]["dense_rank"] is None

    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q, ensure_ascii=False)
            for q in [
                {"query": "загранпаспорт", "relevant": [3], "should_refuse": False},
                {"query": "каток коньки", "relevant": [6], "should_refuse": False},
                {"query": "кто президент Бразилии", "relevant": [], "should_refuse": True},
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run("eval", str(questions), "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["n"] == 2 and metrics["hit@1"] == 1.0 and metrics["mrr@10"] == 1.0
    assert set(metrics) >= {"hit@5", "hit@10", "ndcg@10", "latency_ms_p50", "latency_ms_p95"}
    assert set(metrics) >= {"refusal_rate", "false_refusal_rate", "n_refuse"}


def test_errors_are_one_line_messages(write_export, tmp_path: Path) -> None:
    code, _, err = run("search", "anything")
    assert code == 1
    assert err.startswith("Error: No channel is indexed yet. Index a Telegram export first")
    code, _, err = run("index", str(tmp_path / "nope.json"))
    assert code == 1 and "does not exist" in err
    run("index", str(write_export()))
    code, _, err = run("search", "x", "--channel", "999")
    assert code == 1 and "Channel '999' is not indexed" in err
    code, _, err = run("search", "x", "--mode", "fuzzy")
    assert code == 2 and "--mode must be hybrid, bm25 or dense" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"relevant": [1]}\n', encoding="utf-8")
    code, _, err = run("eval", str(bad))
    assert code == 1 and "line 1: expected a JSON object with 'query'" in err


def test_config_masks_secrets_and_reads_toml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSTFINDER_VECTOR_STORE__AUTH_TOKEN", "s3cret")
    toml = tmp_path / "pf.toml"
    toml.write_text('[retrieval]\nrrf_k = 10\n[lexical]\nlanguage = "german"\n', encoding="utf-8")
    code, out, _ = run("--config", str(toml), "config")
    assert code == 0
    assert "POSTFINDER_VECTOR_STORE__AUTH_TOKEN=********" in out.splitlines()
    assert "POSTFINDER_RETRIEVAL__RRF_K=10" in out.splitlines()
    assert "POSTFINDER_LEXICAL__LANGUAGE=german" in out.splitlines()
    assert "s3cret" not in out
    monkeypatch.setenv("POSTFINDER_RETRIEVAL__RRF_K", "0")
    code, _, err = run("config")
    assert code == 1 and "retrieval.rrf_k" in err and "Fix the POSTFINDER_* variables" in err


def test_help_everywhere() -> None:
    for command in ([], ["index"], ["search"], ["eval"], ["channels"], ["config"], ["demo"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "Usage" in out


def test_demo_runs_on_the_bundled_sample() -> None:
    code, out, _ = run("demo")
    assert code == 0
    assert "Indexed sample channel 'Городской гид': 14 posts (14 new" in out
    assert (
        "> postfinder search 'как продлить загранпаспорт'\n1. https://t.me/postfinder_sample/4"
        in out
    )
    assert "> postfinder ask 'Сколько стоит пошлина за новый загранпаспорт?'" in out


def test_ask_json_and_no_llm(write_export, always_answer, monkeypatch) -> None:
    run("index", str(write_export()), "--username", "testchan")
    always_answer.save(channel_refusal_file())
    monkeypatch.setenv("POSTFINDER_LLM__MODE", "fake")
    monkeypatch.setenv("POSTFINDER_LLM__FAKE_REPLY", f"{NEWS[4]} [1]")
    code, out, _ = run("ask", "Когда откроется каток?", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["mode"] == "generated" and answer["answer"] == f"{NEWS[4][:-1]} [1]."
    assert answer["lead"] == answer["answer"]  # no evidence follows: it is the post's sentence
    # With the span style the model may only copy words of the shown sentences.
    monkeypatch.setenv("POSTFINDER_ANSWER__STYLE", "span")
    monkeypatch.setenv("POSTFINDER_LLM__FAKE_REPLY", "25 ноября [1]")
    code, out, _ = run("ask", "Когда откроется каток?", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["mode"] == "generated" and answer["lead"] == "25 ноября"
    assert answer["answer"] == (
        "**25 ноября** — «Каток в парке откроется **25 ноября**, прокат коньков стоит 500 "
        "рублей в час.» [1]"
    )
    monkeypatch.delenv("POSTFINDER_ANSWER__STYLE")
    assert answer["sources"] == [{"n": 1, "id": 6, "link": "https://t.me/testchan/6"}]
    assert {"retrieval_ms", "first_token_ms", "total_ms"} <= set(answer["timings"])
    code, out, _ = run("ask", "Когда откроется каток?", "--no-llm")
    assert code == 0
    assert out == (
        f"Вот что об этом писали в канале:\n«{NEWS[4]}» [1]\n\n"
        "Источники:\n[1] https://t.me/testchan/6\n"
    )


def test_calibrate_needs_labelled_questions(write_export, tmp_path: Path) -> None:
    run("index", str(write_export()))
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"query": "метро", "relevant": [2]}\n', encoding="utf-8")
    code, _, err = run("calibrate", str(questions))
    assert code == 1 and "at least 10 answerable and 10 unanswerable" in err


def test_data_is_private_and_hubs_stay_offline(write_export, monkeypatch) -> None:
    import os
    import stat

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    old = os.umask(0o022)
    try:
        code, _, _ = run("index", str(write_export()))
        assert code == 0
        assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
        data = Path(os.environ["POSTFINDER_DATA_DIR"])
        for path in [data, *data.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    finally:
        os.umask(old)


def test_forget_post_by_link_removes_it_from_search(write_export) -> None:
    assert run("index", str(write_export()), "--username", "testchan")[0] == 0
    code, out, _ = run("forget-post", "https://t.me/testchan/3")
    assert code == 0
    assert out == f"Post 3 removed from channel {CHANNEL_ID}: documents, BM25 and vectors.\n"
    for mode in ("bm25", "dense", "hybrid"):
        code, out, _ = run("search", "загранпаспорт пошлина", "--mode", mode, "--json")
        assert 3 not in [h["post_id"] for h in json.loads(out)["hits"]]
    code, _, err = run("forget-post", "3")
    assert code == 1 and f"Post 3 is not indexed in channel {CHANNEL_ID}" in err
    code, _, err = run("forget-post", "evil.com/login")
    assert code == 1 and "is not a post link" in err


def test_member_export_and_forget(settings) -> None:
    import time as clock

    from postfinder.conversation.storage import BotStorage

    storage = BotStorage(settings.bot_db, settings.secret_file)
    for i in range(1000):
        qid = storage.claim_question(-100, i, 4242, f"вопрос {i}", CHANNEL_ID)
        assert qid is not None
        storage.finish_question(qid, "generated", 10.0, 5000 + i)
    other = storage.claim_question(-100, 5000, 7, "чужой вопрос", CHANNEL_ID)
    assert other is not None and storage.vote(other, 4242, 1)
    storage.close()
    started = clock.monotonic()
    code, out, _ = run("member", "export", "4242")
    assert code == 0 and clock.monotonic() - started < 1.0
    data = json.loads(out)
    assert len(data["questions"]) == 1000 and data["votes"][0]["question_id"] == other
    assert set(data) == {"pseudonym", "questions", "votes", "cached_answers"}  # no user id
    assert all("user" not in key for key in data["questions"][0])
    code, out, _ = run("member", "forget", "4242")
    assert out == "Erased 1000 questions and 1 votes of 4242.\n"
    code, out, _ = run("member", "export", "4242")
    assert json.loads(out)["questions"] == [] and json.loads(out)["votes"] == []
    code, _, err = run("member", "forget", "@someone")
    assert code == 1 and "PostFinder stores no usernames" in err
    storage = BotStorage(settings.bot_db, settings.secret_file)
    assert storage.stats(days=1)["questions"] == 1  # the other member's question stays
    storage.close()


def test_search_and_ask_print_no_control_bidi_or_ansi_characters(write_export) -> None:
    hostile = "Каток\u202e открыт \x1b[2J\x1b[31mс 25 ноября\x1b[0m\x07 до марта."
    path = write_export([message(2, hostile), message(3, "Бассейн закрыт на ремонт.")])
    assert run("index", str(path))[0] == 0
    for args in (("search", "каток открыт"), ("ask", "Когда открыт каток?", "--no-llm")):
        code, out, _ = run(*args)
        assert code == 0 and "Каток" in out
        assert not any(ch in out for ch in "\u202e\x1b\x07"), out
