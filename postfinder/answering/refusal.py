"""Decide whether the channel answers a question, from the retrievers' scores.

A logistic model over a few retrieval features estimates the probability that the top
posts answer the question; below a threshold the bot refuses instead of guessing. The
model and its threshold are fitted on labelled questions (`postfinder calibrate`), so
the decision rests on data, not on a constant picked by eye. Dense similarities depend
on the embedder, so a calibration records the embedder it was fitted with.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from postfinder.errors import ConfigError
from postfinder.retrieval import SearchResult

FEATURES = (
    "dense_top",
    "dense_margin",
    "bm25_top_log",
    "coverage",
    "agreement",
    "coverage_top3",
    "bm25_per_term",
    "dense_x_coverage",
    "bm25_gap",
    "dense_gap",
)


def features(result: SearchResult) -> list[float]:
    """Return the refusal features of a hybrid search result (its hits and score profile).

    From the dense retriever: the best similarity, its margin over the mean of the next
    nine and over the second. From BM25: the log of the best score, that score per
    distinct query term, and the relative gap to the second. From both: the idf-weighted
    share of query terms found in the top post (and the best of the top three), whether
    the two retrievers agree on the top post (1), nearly agree (0.5) or not (0), and
    the product of dense similarity and coverage.
    """
    profile = result.profile
    dense, bm25 = profile.dense_similarities, profile.bm25_scores
    dense_top = dense[0] if dense else 0.0
    margin = dense_top - float(np.mean(dense[1:])) if len(dense) > 1 else 0.0
    dense_gap = dense[0] - dense[1] if len(dense) > 1 else 0.0
    bm25_top = max(bm25[0], 0.0) if bm25 else 0.0
    bm25_gap = (bm25[0] - bm25[1]) / bm25[0] if len(bm25) > 1 and bm25[0] > 0 else 0.0
    coverage = profile.coverages[0] if profile.coverages else 0.0
    agreement = 0.0
    if result.hits:
        top = result.hits[0]
        if top.dense_rank == 1 and top.bm25_rank == 1:
            agreement = 1.0
        elif (top.dense_rank or 99) <= 3 and (top.bm25_rank or 99) <= 3:
            agreement = 0.5
    return [
        dense_top,
        margin,
        float(np.log1p(bm25_top)),
        coverage,
        agreement,
        max(profile.coverages, default=0.0),
        bm25_top / max(profile.query_terms, 1),
        dense_top * coverage,
        bm25_gap,
        dense_gap,
    ]


def select(values: Sequence[float], names: Sequence[str]) -> npt.NDArray[np.float64]:
    """Pick the named features out of a full `features` vector."""
    return np.asarray([values[FEATURES.index(name)] for name in names], dtype=np.float64)


def standardisation(
    raw: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Column means and standard deviations of a feature matrix (constant columns: 1)."""
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    std[std == 0] = 1.0
    return mean, std


def fit_logistic(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], l2: float = 1e-2, steps: int = 50
) -> tuple[npt.NDArray[np.float64], float]:
    """Fit L2-regularised logistic regression by Newton's method.

    Returns
    -------
    tuple
        ``(weights, bias)``.
    """
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    theta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0  # the bias is not penalised
    for _ in range(steps):
        prob = 1.0 / (1.0 + np.exp(-design @ theta))
        grad = design.T @ (prob - y) + penalty @ theta
        hess = design.T @ (design * (prob * (1 - prob))[:, None]) + penalty
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(theta)), grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


@dataclass
class RefusalModel:
    """A fitted refusal decision.

    Attributes
    ----------
    embedder
        Embedder the features were computed with.
    mean, std
        Feature standardisation.
    weights, bias
        Logistic model on standardised features.
    threshold
        Refuse when the probability of an answer is below it.
    fitted_on
        Description of the calibration data and its measured rates.
    method
        ``labelled`` (an owner's questions), ``auto`` (the channel's own synthetic
        questions) or ``shipped`` (the benchmark fit that comes with PostFinder).
    """

    embedder: str
    mean: list[float]
    std: list[float]
    weights: list[float]
    bias: float
    threshold: float
    fitted_on: str = ""
    method: str = "labelled"
    feature_names: list[str] = field(default_factory=lambda: list(FEATURES))

    def probability(self, result: SearchResult) -> float:
        """Estimated probability that the found posts answer the question."""
        if not result.hits:
            return 0.0
        if len(self.weights) != len(self.feature_names) or not set(self.feature_names) <= set(
            FEATURES
        ):
            raise ConfigError(
                "The refusal calibration was made by another PostFinder version; run "
                "'postfinder calibrate --auto' (or with your questions file) again."
            )
        x = (select(features(result), self.feature_names) - self.mean) / self.std
        return float(1.0 / (1.0 + np.exp(-(x @ np.asarray(self.weights) + self.bias))))

    def should_refuse(self, result: SearchResult) -> bool:
        """Return whether to refuse rather than answer."""
        return self.probability(result) < self.threshold

    def save(self, path: Path) -> None:
        """Write the model as JSON, atomically: a running bot never reads half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> RefusalModel:
        """Read a model written by `save`.

        Raises
        ------
        ConfigError
            If the file is unreadable.
        """
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"Refusal calibration {path} is unreadable ({exc}); delete it or run "
                "'postfinder calibrate' again."
            ) from exc

    @classmethod
    def default(cls) -> RefusalModel:
        """The calibration shipped with PostFinder (see docs/benchmarks.md)."""
        with resources.as_file(resources.files("postfinder") / "answering" / "refusal.json") as p:
            model = cls.load(p)
        model.method = "shipped"
        return model


def calibrate(
    results: Sequence[SearchResult],
    answerable: Sequence[bool],
    embedder: str,
    max_false_refusal: float = 0.03,
) -> RefusalModel:
    """Fit a refusal model on labelled search results.

    The threshold is the highest one that refuses at most ``max_false_refusal`` of the
    answerable questions, which maximises refusals of the unanswerable ones under that
    constraint.

    Raises
    ------
    ConfigError
        If there are not enough questions of both kinds.
    """
    labels = np.asarray(answerable, dtype=np.float64)
    if labels.sum() < 10 or (1 - labels).sum() < 10:
        raise ConfigError(
            "Calibration needs at least 10 answerable and 10 unanswerable questions "
            "(should_refuse: true) in the questions file."
        )
    raw = np.asarray([features(r) for r in results], dtype=np.float64)
    mean, std = standardisation(raw)
    weights, bias = fit_logistic((raw - mean) / std, labels)
    model = RefusalModel(embedder, mean.tolist(), std.tolist(), weights.tolist(), bias, 0.5)
    probs = np.asarray([model.probability(r) for r in results])
    positives = np.sort(probs[labels == 1])
    allowed = int(np.floor(max_false_refusal * len(positives)))
    model.threshold = float(positives[allowed]) if allowed < len(positives) else 0.5
    refused = float((probs[labels == 0] < model.threshold).mean())
    false_refused = float((probs[labels == 1] < model.threshold).mean())
    model.fitted_on = (
        f"{int(labels.sum())} answerable / {int((1 - labels).sum())} unanswerable questions; "
        f"refusal rate {refused:.3f}, false refusal rate {false_refused:.3f} on them"
    )
    return model
