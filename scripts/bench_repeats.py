#!/usr/bin/env python3
"""Time repeated questions: the answer cache's lookups and the repeats report.

A channel's cache is filled with ``--entries`` answers (real questions: RuBQ 2.0,
XQuAD-ru, the haystack's questions and the written paraphrase pairs, topped up with
"Правда ли, что <headline>?" from the news channels' posts), each with its real
embedding from the configured embedder. Then a replay of ``--replay`` questions runs in
which ``--repeat-share`` repeat an earlier one: half word for word, a quarter with other
case, punctuation or a greeting, a quarter with a typo (two letters of a long word
swapped). For every question the bench does what a front end does before and instead of
the model: focus the question and find it by its normal form; on a miss embed it and
find it by embedding and words; on a hit render the stored answer as Telegram HTML. New
questions are stored afterwards, as the pipeline would.

Printed: lookup and whole-path times (p50, p95) per kind of question, the share of
repeats found, and the time of ``stats --repeats`` over ``--entries`` stored questions
spread over four weeks (in-process, and the CLI command as a user runs it).

Usage: python scripts/bench_repeats.py --data ../shared/data [--entries 10000]
       [--replay 1000] [--repeat-share 0.4] [--seed 0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from postfinder.answering.pipeline import Answer, Source
from postfinder.answering.question import focus_question
from postfinder.bot.text import to_html
from postfinder.conversation.storage import BotStorage, RepeatInfo
from postfinder.embeddings.factory import build_embedder
from postfinder.repeats.cache import AnswerCache, Scope
from postfinder.repeats.keys import normal_form
from postfinder.repeats.report import repeats_report
from postfinder.repeats.rule import ParaphraseRule
from postfinder.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = 1700000001
ANSWER = (
    "**6 000 ₽** — «…оплатите пошлину **6 000 ₽** за паспорт нового образца…» [1]",
    [Source(1, 42, "https://t.me/channel/42")],
)


def question_pool(data: Path, bench: Path, need: int, rng: random.Random) -> list[str]:
    """Distinct real questions, topped up from the news channels' headlines."""
    pool: list[str] = []
    for row in json.loads((data / "rubq" / "RuBQ_2.0_dev.json").read_text(encoding="utf-8")):
        pool += [row["question_text"], row.get("question_eng") or ""]
    xquad = json.loads((data / "xquad-ru" / "xquad.ru.json").read_text(encoding="utf-8"))
    pool += [q["question"] for a in xquad["data"] for p in a["paragraphs"] for q in p["qas"]]
    questions = bench / "xquad-ru-haystack-2k" / "questions.jsonl"
    if questions.is_file():
        pool += [json.loads(line)["query"] for line in questions.read_text().splitlines()]
    pairs = ROOT / "scripts" / "evalsets" / "paraphrases.jsonl"
    for line in pairs.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pool += [row["a"], row["b"]]
    for path in sorted((data / "tg-news-ru").glob("*_messages.json")):
        for message in json.loads(path.read_text(encoding="utf-8")):
            headline = str(message.get("text") or "").split("\n", 1)[0].strip()
            if 20 <= len(headline) <= 140 and "http" not in headline:
                pool.append(f"Правда ли, что {headline[0].lower()}{headline[1:].rstrip('.!')}?")
    seen: dict[str, str] = {}
    for text in pool:
        key = normal_form(text)
        if key and key not in seen:
            seen[key] = text
    distinct = list(seen.values())
    rng.shuffle(distinct)
    if len(distinct) < need:
        sys.exit(f"Only {len(distinct)} distinct questions found; lower --entries/--replay.")
    return distinct[:need]


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters inside one long word."""
    words = list(re.finditer(r"\w{7,}", text))
    if not words:
        return text.lower()
    word = rng.choice(words)
    i = rng.randrange(word.start() + 2, word.end() - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def restyle(text: str, rng: random.Random) -> str:
    """Other case, punctuation or a greeting."""
    body = text.rstrip("?").strip()
    return rng.choice(
        [
            f"Привет! {body}?",
            f"{body.lower()}",
            f"{body}???",
            f"подскажите, {body[0].lower()}{body[1:]}?",
        ]
    )


def hit_question(cache: AnswerCache, entry: int) -> str:
    """The normal form an entry was stored under (to show what a new question matched)."""
    row = cache._db.execute(  # pylint: disable=protected-access
        "SELECT key FROM answer_cache WHERE id = ?", (entry,)
    ).fetchone()
    return str(row[0]) if row else "?"


def percentile(values: list[float], p: float) -> float:
    """The p-th quantile of ``values`` in milliseconds."""
    return float(np.percentile(values, p * 100)) if values else float("nan")


def main() -> None:  # pylint: disable=too-many-locals,too-many-statements,too-many-branches
    """Fill, replay, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="../shared/data")
    parser.add_argument("--bench", type=Path, default=None, help="../shared/bench")
    parser.add_argument("--entries", type=int, default=10000)
    parser.add_argument("--replay", type=int, default=1000)
    parser.add_argument("--repeat-share", type=float, default=0.4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--vectors", type=Path, default=None, help="Keep the embeddings here (.npz) for reruns."
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    settings = load_settings()
    embedder = build_embedder(settings)
    bench = args.bench or args.data.parent / "bench"
    fresh_count = args.replay - int(args.replay * args.repeat_share)
    pool = question_pool(args.data, bench, args.entries + fresh_count, rng)
    cached, fresh = pool[: args.entries], pool[args.entries :]
    started = time.perf_counter()
    # Kept with a digest of the questions and the embedder: a changed pool is re-embedded.
    digest = hashlib.sha256("\n".join([embedder.name, *cached]).encode()).hexdigest()
    kept = np.load(args.vectors) if args.vectors is not None and args.vectors.is_file() else None
    if kept is not None and str(kept["digest"]) == digest:
        vectors = kept["vectors"]
    else:
        vectors = embedder.embed_queries([focus_question(q) for q in cached])
        if args.vectors is not None:
            with args.vectors.open("wb") as handle:
                np.savez(handle, vectors=vectors, digest=digest)
    print(
        f"Embedded {len(cached)} questions in {time.perf_counter() - started:.1f} s "
        f"({embedder.name})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        storage = BotStorage(folder / "bot.sqlite3", folder / "secret.key")
        rule = ParaphraseRule(settings.cache.min_similarity)
        cache = AnswerCache(storage.path, rule, 7 * 86400, 6 * 3600, args.entries + args.replay)
        scope, stamp = Scope(CHANNEL, None, "ru"), "bench"
        answer = Answer("", "generated", ANSWER[0], "ru", list(ANSWER[1]))
        for text, vector in zip(cached, vectors):
            cache.put(scope, normal_form(text), vector, answer, stamp)
        replay: list[tuple[str, str]] = [(q, "new") for q in fresh]
        asked = list(cached)
        for _ in range(args.replay - fresh_count):
            original = rng.choice(asked)
            kind = rng.choices(["same", "restyled", "typo"], [0.5, 0.25, 0.25])[0]
            text = {
                "same": original,
                "restyled": restyle(original, rng),
                "typo": typo(original, rng),
            }[kind]
            replay.append((text, kind))
        rng.shuffle(replay)
        times: dict[str, dict[str, list[float]]] = {}
        found: dict[str, list[bool]] = {}
        wrong: list[tuple[str, str]] = []
        for text, kind in replay:
            t0 = time.perf_counter()
            key = normal_form(text)
            hit = cache.find_text(scope, key, stamp, text)
            t1 = time.perf_counter()
            lookup = (t1 - t0) * 1000
            vector = None
            if hit is None:
                vector = embedder.embed_queries([focus_question(text)])[0]
                t2 = time.perf_counter()
                hit = cache.find_similar(scope, key, vector, stamp, text)
                lookup += (time.perf_counter() - t2) * 1000
            if hit is not None:
                to_html(hit.answer.answer, [(s.n, s.link) for s in hit.answer.sources], "ru")
            whole = (time.perf_counter() - t0) * 1000
            bucket = times.setdefault(kind, {"lookup": [], "whole": []})
            bucket["lookup"].append(lookup)
            bucket["whole"].append(whole)
            found.setdefault(kind, []).append(hit is not None)
            if hit is not None and kind == "new":
                wrong.append((text, hit_question(cache, hit.entry_id)))
            if hit is None:  # what the pipeline stores after answering
                cache.put(scope, key, vector, answer, stamp)
        print(
            f"\nReplay of {len(replay)} questions, {args.replay - fresh_count} repeats, "
            f"{cache.count()} cached answers at the end"
        )
        print(
            "kind | questions | found in the cache | lookup p50 / p95 ms | "
            "whole path p50 / p95 ms\n---|---|---|---|---"
        )
        repeats_whole: list[float] = []
        repeats_lookup: list[float] = []
        for kind in ("same", "restyled", "typo", "new"):
            if kind not in times:
                continue
            t = times[kind]
            if kind != "new":
                repeats_whole += t["whole"]
                repeats_lookup += t["lookup"]
            print(
                f"{kind} | {len(t['whole'])} | {np.mean(found[kind]):.2f} | "
                f"{percentile(t['lookup'], 0.5):.2f} / {percentile(t['lookup'], 0.95):.2f} | "
                f"{percentile(t['whole'], 0.5):.2f} / {percentile(t['whole'], 0.95):.2f}"
            )
        print(
            f"all repeats | {len(repeats_whole)} | "
            f"{np.mean([f for k, hits in found.items() if k != 'new' for f in hits]):.2f} | "
            f"{percentile(repeats_lookup, 0.5):.2f} / {percentile(repeats_lookup, 0.95):.2f} | "
            f"{percentile(repeats_whole, 0.5):.2f} / {percentile(repeats_whole, 0.95):.2f}"
        )
        print(f"\nNew questions given a stored answer: {len(wrong)} of {len(fresh)}")
        for text, other in wrong:
            print(f"  {text!r} ~ {other!r}")
        bench_stats(
            storage, cached, vectors, rng, args.entries, settings.cache.min_similarity, folder
        )
        cache.close()
        storage.close()


def bench_stats(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    storage: BotStorage,
    questions: list[str],
    vectors: np.ndarray,
    rng: random.Random,
    count: int,
    min_similarity: float,
    folder: Path,
) -> None:
    """Store ``count`` questions over four weeks (40% repeats), time the repeats report."""
    now = int(time.time())
    originals = list(range(len(questions)))
    for i in range(count):
        index = rng.choice(originals[: max(1, i)]) if rng.random() < 0.4 else i % len(questions)
        qid = storage.claim_question(1, i, rng.randrange(500), questions[index], CHANNEL)
        assert qid is not None
        mode = rng.choice(["generated", "extractive", "refused"])
        info = RepeatInfo(False, None, normal_form(questions[index]), vectors[index])
        storage.finish_question(qid, mode, 1000.0, None, repeat=info)
    storage._db.execute(  # pylint: disable=protected-access
        "UPDATE questions SET created = ? - (id * 2419200 / ?)", (now, count)
    )
    storage._db.commit()  # pylint: disable=protected-access
    started = time.perf_counter()
    report = repeats_report(storage.asked(30), ParaphraseRule(min_similarity))
    storage.stats(days=30)
    elapsed = time.perf_counter() - started
    print(
        f"\nstats --repeats over {count} stored questions: {elapsed:.2f} s in-process "
        f"({report['repeats']} repeats in {len(report['weeks'])} weeks)"
    )
    env = {**os.environ, "POSTFINDER_DATA_DIR": str(folder)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "postfinder", "stats", "--repeats"],
        env=env,
        check=True,
        capture_output=True,
    )
    print(
        f"postfinder stats --repeats (the command, start-up included): "
        f"{time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
