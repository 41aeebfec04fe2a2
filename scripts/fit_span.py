#!/usr/bin/env python3
"""Fit the model's answer / extract / refuse decision on evaluation records, per channel.

Span style (the default here): records come from ``postfinder eval QUESTIONS --answers
--records FILE`` run with the span decision switched off
(``POSTFINDER_ANSWER__SPAN_REFUSE_ABOVE=1``, ``POSTFINDER_ANSWER__SPAN_MIN_CONFIDENCE=-100``),
so that every record carries the model's signals and both outcomes (its phrase, and the
quote of the sentence it points at).

Free style (``--style free``): records of the free style with the no-answer decision on
but never refusing (``POSTFINDER_ANSWER__NO_ANSWER_REFUSE_ABOVE=0.999``), so that each
carries the model's probability of starting with NO_ANSWER and what it wrote when it
was not allowed to refuse; the fit is of ``no_answer_refuse_above`` and
``no_answer_retrieval_weight``.

Each decision setting is then replayed on the records: lead accuracy, reply accuracy,
refusal of unanswerable questions by kind and false refusal, per channel, and
leave-one-channel-out (fit on the others, report on the one left out).

Usage: python scripts/fit_span.py NAME=RECORDS.jsonl [NAME=RECORDS.jsonl ...]
       [--style span|free] [--max-false-refusal 0.05]
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from pathlib import Path

REFUSE_ABOVE = [round(0.05 * i, 2) for i in range(2, 20)] + [1.0]
RETRIEVAL_WEIGHT = [0.0, 0.2, 0.4]
MIN_CONFIDENCE = [-100.0, -3.0, -2.0, -1.5, -1.0, -0.7, -0.5]
NO_SPAN = "NO_ANSWER"


FREE_REFUSE_ABOVE = [round(0.025 * i, 3) for i in range(1, 21)] + [1.0]
RECORDED = {"refused": "refused", "generated": "answer"}


def outcome(record: dict, setting: tuple[float, float, float]) -> str:
    """``refused``, ``extract`` or ``answer`` for one record under one setting."""
    signals = record.get("signals") or {}
    if not signals:
        return "refused" if record["mode"] == "refused" else "extract"
    refuse_above, weight, min_confidence = setting
    limit = min(refuse_above + weight * signals["retrieval"], 0.999)
    if refuse_above < 1.0 and signals["no_answer"] >= limit:
        return "refused"
    if "picked" not in signals:  # the free style: what it did when it could not refuse
        return RECORDED.get(record["mode"], "extract")
    if (record.get("draft") or "").strip() == NO_SPAN:
        return "refused"
    if not signals["picked"] or not signals["type_ok"] or signals["confidence"] < min_confidence:
        return "extract"
    return "answer"


def measure(records: Sequence[dict], setting: tuple[float, float, float]) -> dict[str, float]:
    """Rates of one setting on one channel's records."""
    answerable = [r for r in records if not r["should_refuse"]]
    unanswerable = [r for r in records if r["should_refuse"]]
    lead = reply = refused = answered = wrong = 0
    for record in answerable:
        kind = outcome(record, setting)
        refused += kind == "refused"
        if kind == "answer":
            answered += 1
            lead += record["lead_correct"]
            wrong += not record["lead_correct"]
            reply += record["correct"]
        elif kind == "extract":
            lead += record["correct"]  # an extract's lead is its quote
            reply += record["correct"]
    n = max(len(answerable), 1)
    result = {
        "lead_accuracy": lead / n,
        "reply_accuracy": reply / n,
        "false_refusal": refused / n,
        "generated_share": answered / n,
        "generated_lead_wrong": wrong / answered if answered else 0.0,
    }
    for kind in sorted({r.get("kind") or "unanswerable" for r in unanswerable}):
        group = [r for r in unanswerable if (r.get("kind") or "unanswerable") == kind]
        result[f"refused_{kind}"] = sum(outcome(r, setting) == "refused" for r in group) / len(
            group
        )
    return result


def settings_grid(style: str) -> list[tuple[float, float, float]]:
    """Every setting tried: (refuse_above, retrieval_weight, min_confidence)."""
    if style == "free":  # no confidence bound: a free draft has its own checks
        return list(itertools.product(FREE_REFUSE_ABOVE, RETRIEVAL_WEIGHT, [-100.0]))
    return list(itertools.product(REFUSE_ABOVE, RETRIEVAL_WEIGHT, MIN_CONFIDENCE))


def fit(
    channels: dict[str, list[dict]],
    max_false_refusal: float,
    style: str = "span",
    pooled: bool = False,
) -> tuple[tuple[float, float, float], float]:
    """The setting with the best mean (lead accuracy + refusal of unanswerable questions)
    over the channels, among those whose false refusal stays within the limit on each
    (``pooled``: over all their answerable questions together)."""
    best_score, best_setting = -1.0, (1.0, 0.0, -100.0)  # the decision off, if none fits
    everything = [r for records in channels.values() for r in records]
    for setting in settings_grid(style):
        if pooled and measure(everything, setting)["false_refusal"] > max_false_refusal:
            continue
        scores = []
        for records in channels.values():
            rates = measure(records, setting)
            if not pooled and rates["false_refusal"] > max_false_refusal:
                break
            refusals = [v for k, v in rates.items() if k.startswith("refused_")]
            refusal = sum(refusals) / len(refusals) if refusals else 0.0
            scores.append(rates["lead_accuracy"] + refusal - rates["generated_lead_wrong"])
        else:
            score = sum(scores) / len(scores)
            if score > best_score:
                best_score, best_setting = score, setting
    return best_setting, max(best_score, 0.0)


def _row(name: str, setting: tuple[float, float, float], rates: dict[str, float]) -> str:
    cells = " | ".join(f"{k} {v:.3f}" for k, v in rates.items())
    return (
        f"{name}: refuse_above {setting[0]}, weight {setting[1]}, min_conf {setting[2]} | {cells}"
    )


def main() -> None:
    """Print the fitted setting, per-channel rates and leave-one-channel-out rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", help="NAME=RECORDS.jsonl")
    parser.add_argument("--max-false-refusal", type=float, default=0.05)
    parser.add_argument("--style", choices=["span", "free"], default="span")
    parser.add_argument(
        "--pooled",
        action="store_true",
        help="Hold the false refusal limit over all channels' answerable questions together "
        "(a channel with 20 of them allows no single refusal at 0.05 on its own).",
    )
    args = parser.parse_args()
    channels: dict[str, list[dict]] = {}
    for spec in args.records:
        name, _, path = spec.partition("=")
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        channels.setdefault(name, []).extend(json.loads(line) for line in lines if line.strip())
    setting, score = fit(channels, args.max_false_refusal, args.style, args.pooled)
    print(f"fitted on all channels (score {score:.3f}):")
    for name, records in channels.items():
        print("  " + _row(name, setting, measure(records, setting)))
    print("off (decision never refuses or extracts):")
    for name, records in channels.items():
        print("  " + _row(name, (1.0, 0.0, -100.0), measure(records, (1.0, 0.0, -100.0))))
    if len(channels) > 1:
        print("leave one channel out (fitted without it):")
        for name, records in channels.items():
            others = {k: v for k, v in channels.items() if k != name}
            held_out, _ = fit(others, args.max_false_refusal, args.style, args.pooled)
            print("  " + _row(name, held_out, measure(records, held_out)))


if __name__ == "__main__":
    main()
