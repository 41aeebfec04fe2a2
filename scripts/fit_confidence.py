#!/usr/bin/env python3
"""Fit the confidence a written answer needs to lead the reply, on evaluation records.

A generated answer whose words the model itself found unlikely is replaced by the
extract (the quoted sentence), which leads instead. Records per channel, two runs of
``postfinder eval QUESTIONS --answers --records FILE`` on the same questions: one with
the model and the gate off (``POSTFINDER_ANSWER__MIN_LEAD_LOGPROB=-100``), so that every
generated record carries ``lead_logprob_mean`` / ``lead_logprob_min``, and one with
``--no-llm`` (what the extract replies to each question, with the extract's own checks:
it refuses a how-much question none of whose best sentences names a sum). Each threshold
is replayed with the other checks of a draft as shipped (the unit check included):
lead accuracy, reply accuracy, the share of generated answers and how many of them lead
without the gold, false refusal and near-miss refusal, per channel, and
leave-one-channel-out: the lowest threshold whose lead accuracy pooled over the other
channels is within ``--tolerance`` of their best, reported on the one left out.

Usage: python scripts/fit_confidence.py NAME=MODEL.jsonl,EXTRACT.jsonl [...]
       [--feature lead_logprob_min|lead_logprob_mean] [--tolerance 0.01]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from postfinder.answering.answer_type import reply_fits

THRESHOLDS = [-100.0] + [round(-0.1 * i, 2) for i in range(40, 0, -1)]


def load(path: Path) -> list[dict]:
    """Records of one ``--records`` file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def replayed(model: dict, extract: dict | None, feature: str, threshold: float) -> dict:
    """The record as the shipped checks and the gate at ``threshold`` would have left it.

    The extract-only record says what the extract replies with the code as it is (it may
    refuse a near-miss that the extract of the model's run quoted), so a draft that the
    gate or the unit check turns down gets it, and so does a record whose draft was
    turned down already. A refusal by retrieval or by the model's doubt stands.
    """
    if model["mode"] in ("refused", "topic") or extract is None:
        return model
    value = (model.get("signals") or {}).get(feature)
    keep = (
        model["mode"] == "generated"
        and (value is None or value >= threshold)
        and reply_fits(model["query"], model.get("lead") or model["answer"])
    )
    if keep:
        return model
    return {**extract, "lead_correct": extract["correct"]}


def measure(pairs: Sequence[tuple[dict, dict | None]], feature: str, threshold: float) -> dict:
    """Rates of one threshold over (model record, extract record) pairs."""
    rows = [replayed(m, e, feature, threshold) for m, e in pairs]
    answerable = [r for r in rows if not r["should_refuse"]]
    near = [r for r in rows if r.get("kind") == "near_miss"]
    generated = [r for r in answerable if r["mode"] == "generated"]
    n = max(len(answerable), 1)
    return {
        "lead_accuracy": sum(r["lead_correct"] for r in answerable) / n,
        "reply_accuracy": sum(r["correct"] for r in answerable) / n,
        "generated_share": len(generated) / n,
        "generated_lead_wrong": (
            sum(not r["lead_correct"] for r in generated) / len(generated) if generated else 0.0
        ),
        "false_refusal": sum(r["mode"] == "refused" for r in answerable) / n,
        "near_refused": (
            sum(r["mode"] == "refused" for r in near) / len(near) if near else float("nan")
        ),
        "n": len(answerable),
        "n_near": len(near),
    }


def question_pairs(model_path: Path, extract_path: Path) -> list[tuple[dict, dict | None]]:
    """Answerable questions with a gold text and near-miss / off-topic ones, each with its
    extract-only record."""
    extracts = {r["query"]: r for r in load(extract_path)}
    return [
        (r, extracts.get(r["query"]))
        for r in load(model_path)
        if r.get("kind") != "headline" and (r["should_refuse"] or r.get("answers"))
    ]


def best(pairs: Sequence[tuple[dict, dict | None]], feature: str, tolerance: float) -> float:
    """The lowest threshold whose lead accuracy is within ``tolerance`` of the highest: the
    written answer keeps every place where it costs (almost) nothing."""
    accuracy = {t: measure(pairs, feature, t)["lead_accuracy"] for t in THRESHOLDS}
    top = max(accuracy.values())
    return min(t for t, value in accuracy.items() if value >= top - tolerance)


def row(name: str, threshold: float, result: dict) -> str:
    """One table row."""
    keys = ("lead_accuracy", "reply_accuracy", "generated_share", "generated_lead_wrong")
    rates = " | ".join(f"{result[key]:.2f}" for key in (*keys, "false_refusal", "near_refused"))
    return f"| {name} | {threshold:g} | {rates} | {result['n']} + {result['n_near']} |"


def main() -> None:
    """Replay the gate per channel and leave one channel out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("channels", nargs="+", help="NAME=MODEL_RECORDS,EXTRACT_RECORDS")
    parser.add_argument("--feature", default="lead_logprob_min")
    parser.add_argument("--tolerance", type=float, default=0.01)
    args = parser.parse_args()
    data: dict[str, list[tuple[dict, dict | None]]] = {}
    for spec in args.channels:
        name, _, paths = spec.partition("=")
        model, _, extract = paths.partition(",")
        data.setdefault(name, []).extend(question_pairs(Path(model), Path(extract)))
    header = (
        "| channel | threshold | lead accuracy | reply accuracy | generated"
        " | generated leads without the gold | false refusal | near-miss refused"
        " | answerable + near-miss |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|"
    print(header)
    print(rule)
    for name, pairs in data.items():
        for threshold in (-100.0, -2.0, -1.5, -1.0, -0.7, -0.5, -0.3):
            print(row(name, threshold, measure(pairs, args.feature, threshold)))
    print("\nLeave one channel out (off -> fitted on the others):")
    print(header)
    print(rule)
    for name, pairs in data.items():
        others = [p for other, ps in data.items() if other != name for p in ps]
        chosen = best(others or pairs, args.feature, args.tolerance)
        print(row(f"{name} (off)", -100.0, measure(pairs, args.feature, -100.0)))
        print(row(f"{name} (fitted)", chosen, measure(pairs, args.feature, chosen)))
    pooled = [p for ps in data.values() for p in ps]
    chosen = best(pooled, args.feature, args.tolerance)
    print(f"\nPooled over every channel: {args.feature} >= {chosen:g}")
    print(row("all", chosen, measure(pooled, args.feature, chosen)))


if __name__ == "__main__":
    main()
