#!/usr/bin/env python3
"""Fit how sure the bot must be to answer a question nobody addressed to it.

Under a channel post, or in a chat with auto-answer on, the bot answers questions that
mention nobody. A wrong unsolicited reply costs more than a missed one, so there the bot
answers only when the probability that the posts answer (the channel's refusal model,
`Answer.refusal_probability`) is at least ``unasked_min_probability``, on top of the
decision it takes when asked. For every evaluation channel indexed by bench_channels.py
(``WORK/<name>``) and the haystack (``--haystack DIR``), the labelled questions (the
channel's set plus ``scripts/evalsets/extra/<name>.jsonl``) go through the answer
pipeline without the model, with the channel's automatic calibration (fitted here if
the channel has none). For each threshold it prints, per channel, the share of
unanswerable questions that would get an unsolicited reply and the share of answerable
ones left silent; the threshold chosen for each channel is the lowest that keeps the
*other* channels at or under ``--max-wrong`` (leave one channel out).

Usage: python scripts/fit_unasked.py [--work /tmp/pf-eval] [--haystack /tmp/pf-hay]
       [--max-wrong 0.02]        (the haystack's 1,500 questions take about 20 minutes)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_channels import ROOT, channels  # type: ignore[import-not-found]

from postfinder.app import App
from postfinder.channels import REFUSAL_FILE
from postfinder.evaluation import load_questions
from postfinder.operations.calibration import calibrate_auto
from postfinder.settings import load_settings

GRID = [round(0.05 * i, 2) for i in range(21)]


def probabilities(data_dir: Path, questions: list[Path]) -> list[tuple[bool, float]]:
    """(answerable, probability or -1 when the asked decision already refuses) per question."""
    app = App(load_settings(data_dir=data_dir, llm={"mode": "none"}))
    channel = app.catalog.resolve(None)
    if not (channel.directory / REFUSAL_FILE).is_file():
        calibrate_auto(app, channel)
    answerer = app.answerer(channel.id, use_llm=False)
    rows = []
    for path in questions:
        for item in load_questions(path):
            answer = answerer.answer(item.query)
            spoken = answer.refusal_probability if answer.mode != "refused" else -1.0
            rows.append((not item.should_refuse, spoken))
    app.close()
    return rows


def rates(rows: list[tuple[bool, float]], threshold: float) -> tuple[float, float]:
    """Unanswerable questions answered, answerable ones left silent, at ``threshold``."""
    wrong = [p >= threshold for ok, p in rows if not ok]
    silent = [p < threshold for ok, p in rows if ok]
    return sum(wrong) / max(len(wrong), 1), sum(silent) / max(len(silent), 1)


def main() -> None:
    """Measure every channel, then choose the threshold leaving each one out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-eval"))
    parser.add_argument(
        "--haystack", type=Path, default=None, help="Also the haystack's data dir (slow)."
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--max-wrong", type=float, default=0.02)
    args = parser.parse_args()
    extra = ROOT / "scripts" / "evalsets" / "extra"
    measured: dict[str, list[tuple[bool, float]]] = {}
    for name, (_export, questions) in channels(args.shared, args.work).items():
        data_dir = args.haystack if name == "haystack-2k" else args.work / name
        if data_dir is None or not (data_dir / "channels").is_dir():
            print(f"{name}: not indexed in {data_dir}; skipped")
            continue
        measured[name] = probabilities(data_dir, [questions, extra / f"{name}.jsonl"])
    print("threshold " + " ".join(f"{name:>22}" for name in measured))
    for threshold in GRID:
        cells = [rates(rows, threshold) for rows in measured.values()]
        print(f"{threshold:9.2f} " + " ".join(f"{w:10.3f} / {s:9.3f}" for w, s in cells))
    chosen = {}
    for name, rows in measured.items():
        others = [r for other, r in measured.items() if other != name]
        ok = [t for t in GRID if all(rates(r, t)[0] <= args.max_wrong for r in others)]
        threshold = min(ok) if ok else 1.0
        wrong, silent = rates(rows, threshold)
        chosen[name] = {"threshold": threshold, "unasked_wrong": wrong, "unasked_silent": silent}
    print(json.dumps(chosen, indent=2))


if __name__ == "__main__":
    main()
