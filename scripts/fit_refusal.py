#!/usr/bin/env python3
"""Fit the refusal feature weights across labelled channels; report leave-one-out rates.

For every evaluation channel (see bench_channels.py; indexed there first) this builds
the label-free calibration set PostFinder builds at index time and searches the
channel's labelled questions. Features are standardised per channel on its calibration
set; one logistic model over all channels gives the weights shipped in
postfinder/answering/refusal_transfer.json. Each channel is then measured with weights
fitted on the *other* channels and its own automatic threshold (leave-one-channel-out),
so the rates printed are those of a channel the weights never saw:
off-topic refused / near-miss refused / answerable refused.

Usage: python scripts/fit_refusal.py [--work /tmp/pf-eval] [--write]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from bench_channels import ROOT, channels  # type: ignore[import-not-found]

from postfinder.answering import autocalibration
from postfinder.answering.refusal import (
    RefusalModel,
    features,
    fit_logistic,
    select,
    standardisation,
)
from postfinder.app import App
from postfinder.settings import load_settings

FEATURE_NAMES = ["dense_top", "dense_margin", "bm25_top_log"]
OUT = ROOT / "postfinder" / "answering" / "refusal_transfer.json"


def collect(work: Path, shared: Path) -> dict[str, dict]:
    """Calibration set and labelled results per indexed evaluation channel."""
    data = {}
    for name, (_, questions_path) in channels(shared, work).items():
        if not (work / name).exists():
            print(f"skip {name}: not indexed (run bench_channels.py first)")
            continue
        app = App(load_settings(data_dir=work / name))
        retriever = app.retriever(None)
        k = app.settings.answer.context_posts
        cal = autocalibration.build_calibration_set(retriever, k, seed=retriever.channel.id)
        items = [json.loads(line) for line in questions_path.read_text().splitlines() if line]
        real = [retriever.search(item["query"], k=k, mode="hybrid") for item in items]
        syn = np.asarray([select(features(r), FEATURE_NAMES) for r in cal.results])
        mean, std = standardisation(syn)
        data[name] = {
            "cal": cal,
            "real": list(real),
            "x": (np.asarray([select(features(r), FEATURE_NAMES) for r in real]) - mean) / std,
            "y": np.asarray([not item.get("should_refuse") for item in items], dtype=float),
            "kind": np.asarray([item.get("kind", "off_topic") for item in items]),
            "retriever": retriever,
        }
    return data


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def fit(data: dict[str, dict], names: list[str]) -> tuple[list[float], float]:
    """One logistic model over the named channels, each weighted equally."""
    x = np.vstack([data[n]["x"] for n in names])
    y = np.concatenate([data[n]["y"] for n in names])
    weights, bias = fit_logistic(x, y, l2=1.0)
    return weights.tolist(), bias


def main() -> None:
    """Fit, report leave-one-channel-out rates, optionally write the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--work", type=Path, default=Path("/tmp/pf-eval"))
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    parser.add_argument("--offtopic-refused", type=float, default=0.95)
    args = parser.parse_args()
    data = collect(args.work, args.shared)
    print(f"{'channel':<12} {'off-topic':>9} {'near-miss':>9} {'false':>6}  (leave-one-out)")
    original = autocalibration.transfer_model
    for test in data:
        weights, bias = fit(data, [n for n in data if n != test])
        held = RefusalModel("", [], [], weights, bias, 0.5, feature_names=FEATURE_NAMES)
        autocalibration.transfer_model = lambda held=held: held  # type: ignore[assignment]
        d = data[test]
        model = autocalibration.auto_calibrate(
            d["retriever"], 4, offtopic_refused=args.offtopic_refused
        )
        refused = np.asarray([model.should_refuse(r) for r in d["real"]])
        answerable = d["y"] == 1
        rates = [
            _mean(refused[~answerable & (d["kind"] == "off_topic")]),
            _mean(refused[~answerable & (d["kind"] == "near_miss")]),
            refused[answerable].mean(),
        ]
        print(f"{test:<12} " + " ".join(f"{r:9.3f}" for r in rates[:2]) + f" {rates[2]:6.3f}")
    autocalibration.transfer_model = original  # type: ignore[assignment]
    weights, bias = fit(data, list(data))
    print("weights", dict(zip(FEATURE_NAMES, np.round(weights, 3))), "bias", round(bias, 3))
    if args.write:
        model = RefusalModel(
            "any",
            [0.0] * len(FEATURE_NAMES),
            [1.0] * len(FEATURE_NAMES),
            weights,
            bias,
            0.5,
            f"transfer weights on per-channel standardised features, fitted on labelled "
            f"questions of {', '.join(data)} (scripts/fit_refusal.py)",
            "transfer",
            FEATURE_NAMES,
        )
        model.save(OUT)
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
