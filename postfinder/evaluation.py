"""Retrieval and answer metrics over a labelled question file (``questions.jsonl``)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from postfinder.errors import PostfinderError
from postfinder.language import CJK_RE
from postfinder.lexical.tokenize import Tokenizer


class QuestionsError(PostfinderError):
    """The questions file is missing or malformed."""


@dataclass(frozen=True)
class Question:
    """One labelled question."""

    query: str
    relevant: tuple[int, ...]
    should_refuse: bool
    answers: tuple[str, ...] = ()
    # Of an unanswerable question: "off_topic", "near_miss"; of an answerable one,
    # "headline": asked what a headline post says, answered by that post ("relevant").
    kind: str = ""


def load_questions(path: Path) -> list[Question]:
    """Read ``{"query", "relevant", "should_refuse"}`` objects, one per line.

    Raises
    ------
    QuestionsError
        Naming the line and the field that is wrong.
    """
    if not path.is_file():
        raise QuestionsError(f"Questions file {path} does not exist.")
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                query = item["query"]
                relevant = tuple(int(x) for x in item.get("relevant") or [])
                refuse = bool(item.get("should_refuse", False))
                answers = tuple(str(a) for a in item.get("answers") or [])
                kind = str(item.get("kind") or "")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise QuestionsError(
                    f"{path}, line {number}: expected a JSON object with 'query' (text), "
                    f"'relevant' (list of post ids), optional 'should_refuse' and optional "
                    f"'answers' (list of gold answer strings) ({exc})."
                ) from exc
            if not isinstance(query, str) or not query.strip():
                raise QuestionsError(f"{path}, line {number}: 'query' must be non-empty text.")
            questions.append(Question(query, relevant, refuse, answers, kind))
    return questions


def dcg(relevances: Sequence[int]) -> float:
    """Discounted cumulative gain of binary relevances in rank order."""
    return sum(rel / math.log2(rank + 1) for rank, rel in enumerate(relevances, start=1))


@dataclass
class RetrievalMetrics:
    """Accumulates rank metrics per question."""

    k: int = 10
    n: int = 0
    hits1: int = 0
    hits5: int = 0
    hits10: int = 0
    mrr: float = 0.0
    ndcg: float = 0.0

    def add(self, ranked: Sequence[int], relevant: Sequence[int]) -> None:
        """Record the ranked post ids returned for one question."""
        wanted = set(relevant)
        flags = [1 if pid in wanted else 0 for pid in ranked[: self.k]]
        self.n += 1
        first = next((i for i, flag in enumerate(flags, start=1) if flag), None)
        if first is not None:
            self.hits1 += first <= 1
            self.hits5 += first <= 5
            self.hits10 += first <= 10
            self.mrr += 1.0 / first
        ideal = dcg([1] * min(len(wanted), self.k))
        self.ndcg += dcg(flags) / ideal if ideal else 0.0

    def as_dict(self) -> dict[str, float]:
        """Return averaged metrics."""
        n = max(self.n, 1)
        return {
            "hit@1": self.hits1 / n,
            "hit@5": self.hits5 / n,
            "hit@10": self.hits10 / n,
            "mrr@10": self.mrr / n,
            "ndcg@10": self.ndcg / n,
            "n": self.n,
        }


def evaluate(
    search: Callable[[str], tuple[Sequence[int], bool, float]],
    questions: Sequence[Question],
    k: int = 10,
    progress: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Run every answerable question through ``search`` and report metrics and latency.

    Parameters
    ----------
    search
        Returns ranked post ids for a query, whether the bot would refuse to answer, and
        the search latency in milliseconds.
    questions
        Labelled questions; those with ``should_refuse`` count only for refusal rates.
    k
        Cut-off for the metrics.
    progress
        Called with 1 after each question.

    Returns
    -------
    dict
        ``hit@1``, ``hit@5``, ``hit@10``, ``mrr@10``, ``ndcg@10``, ``n``,
        ``latency_ms_p50``, ``latency_ms_p95``, ``refusal_rate`` (share of
        ``should_refuse`` questions refused), ``false_refusal_rate`` (share of answerable
        ones refused), ``n_refuse``.
    """
    metrics = RetrievalMetrics(k=k)
    latencies = []
    refused = {True: 0, False: 0}
    counts = {True: 0, False: 0}
    for question in questions:
        ranked, refuse, latency_ms = search(question.query)
        counts[question.should_refuse] += 1
        refused[question.should_refuse] += refuse
        if not question.should_refuse:
            latencies.append(latency_ms)
            metrics.add(ranked, question.relevant)
        if progress:
            progress(1)
    result = metrics.as_dict()
    result["n_refuse"] = counts[True]
    result["refusal_rate"] = refused[True] / counts[True] if counts[True] else 0.0
    result["false_refusal_rate"] = refused[False] / counts[False] if counts[False] else 0.0
    result["latency_ms_p50"] = float(np.percentile(latencies, 50)) if latencies else 0.0
    result["latency_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else 0.0
    return result


_PUNCT_RE = re.compile(r"[^\w\s%]", re.UNICODE)
_DIGIT_SPACE_RE = re.compile(r"(?<=\d) (?=\d{3}\b)")


def normalise_answer(text: str) -> str:
    """Lower-case, ``ё`` as ``е``, no punctuation, ``1 000`` as ``1000``, words stemmed.

    Stemming makes "Генеральный совет" match the gold "Генеральном совете": the same
    answer in another grammatical case is still the answer.
    """
    # "**" is the bold of a quoted answer: a member reads "2.5GHz", not "2.5 GHz".
    text = text.replace("**", "").lower().replace("ё", "е").replace("\u00a0", " ")
    text = _DIGIT_SPACE_RE.sub("", _PUNCT_RE.sub(" ", text.replace("%", " % ")))
    # Chinese writes no spaces: each character is a word, so the gold "九井谅子" is found
    # in "作者九井谅子的漫画" and "7 种" in "支持7种格式" (a one-character gold would be
    # found in any word that holds it; the evaluation sets have none).
    text = CJK_RE.sub(r" \g<0> ", text)
    stem = _default_tokenizer().tokenize
    return " ".join(
        word if CJK_RE.search(word) else (stem(word) or [word])[0] for word in text.split()
    )


@lru_cache(maxsize=1)
def _default_tokenizer() -> Tokenizer:
    return Tokenizer()


def contains_gold(answer: str, golds: Sequence[str]) -> bool:
    """True when a normalised gold string occurs in the normalised answer (word-aligned)."""
    plain = f" {normalise_answer(answer)} "
    return any(f" {g} " in plain for g in map(normalise_answer, golds) if g)


@dataclass(frozen=True)
class AnswerOutcome:
    """What the answer pipeline did with one question (what `evaluate_answers` needs)."""

    mode: str
    answer: str
    draft: str | None
    timings: dict[str, float]
    tokens: dict[str, int]
    lead: str = ""  # the reply before any quoted evidence (the whole reply when empty)
    signals: dict[str, float] = field(default_factory=dict)
    sources: tuple[int, ...] = ()  # ids of the posts the reply links


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


@dataclass(frozen=True)
class AnswerRecord:
    """One question's outcome, judged against its gold answers."""

    query: str
    answers: list[str]
    should_refuse: bool
    mode: str
    answer: str
    draft: str | None
    correct: bool
    draft_correct: bool
    timings: dict[str, float]
    tokens: dict[str, int]
    lead: str = ""
    lead_correct: bool = False
    kind: str = ""
    signals: dict[str, float] = field(default_factory=dict)
    sources: list[int] = field(default_factory=list)


def _judged(question: Question, outcome: AnswerOutcome) -> tuple[bool, bool, bool]:
    """Whether the reply, the model's draft and the lead are right for ``question``.

    A headline question is right when it gets "the channel posted about this" with the
    post it names; any other answerable one when the text holds a gold answer.
    """
    if question.should_refuse:
        return False, False, False
    if question.kind == "headline":
        right = outcome.mode == "topic" and bool(set(outcome.sources) & set(question.relevant))
        return right, False, right
    draft = outcome.draft is not None and contains_gold(outcome.draft, question.answers)
    return (
        contains_gold(outcome.answer, question.answers),
        draft,
        contains_gold(outcome.lead or outcome.answer, question.answers),
    )


def evaluate_answers(
    answer: Callable[[str], AnswerOutcome],
    questions: Sequence[Question],
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, float], list[AnswerRecord]]:
    """Run the whole answer pipeline on labelled questions and judge answers against gold.

    Parameters
    ----------
    answer
        Answers one question.
    questions
        Questions with gold ``answers`` (answerable) or ``should_refuse`` ones.
    progress
        Called with 1 after each question.

    Returns
    -------
    tuple
        The metrics (``accuracy``, ``generated_share``, ``extractive_share``,
        ``refused_share``, ``generated_wrong``, ``false_rejects``, ``refusal_rate``,
        ``false_refusal_rate``, ``prompt_tokens_p50``, ``first_token_ms_p50``/``p95``,
        ``total_ms_p50``/``p95``, ``tokens_per_s``, counts) and one record per question.

    Raises
    ------
    QuestionsError
        When no question carries gold answers or ``should_refuse``.
    """
    usable = [
        q
        for q in questions
        if q.should_refuse or q.answers or (q.kind == "headline" and q.relevant)
    ]
    if not usable:
        raise QuestionsError(
            "No question has gold 'answers' or 'should_refuse': answer evaluation needs them, "
            'for example {"query": "...", "answers": ["1886"]}.'
        )
    records: list[AnswerRecord] = []
    for question in usable:
        outcome = answer(question.query)
        correct, draft_correct, lead_correct = _judged(question, outcome)
        records.append(
            AnswerRecord(
                query=question.query,
                answers=list(question.answers),
                should_refuse=question.should_refuse,
                mode=outcome.mode,
                answer=outcome.answer,
                draft=outcome.draft,
                correct=correct,
                draft_correct=draft_correct,
                timings=outcome.timings,
                tokens=outcome.tokens,
                lead=outcome.lead or outcome.answer,
                lead_correct=lead_correct,
                kind=question.kind or ("answerable" if not question.should_refuse else ""),
                signals=outcome.signals,
                sources=list(outcome.sources),
            )
        )
        if progress:
            progress(1)
    return answer_metrics(records), records


def _headlines(records: Sequence[AnswerRecord]) -> dict[str, float]:
    """How headline questions were replied to, and how often other questions got a
    headline reply instead of an answer or a refusal (``topic_<kind>``)."""
    asked = [r for r in records if r.kind == "headline"]
    out: dict[str, float] = {}
    if asked:
        out["n_headline"] = len(asked)
        out["headline_given_post"] = sum(r.correct for r in asked) / len(asked)
        out["headline_refused"] = sum(r.mode == "refused" for r in asked) / len(asked)
        out["headline_answered"] = sum(r.mode in ("generated", "extractive") for r in asked) / len(
            asked
        )
    for kind in sorted({r.kind for r in records if r.kind and r.kind != "headline"}):
        same = [r for r in records if r.kind == kind]
        out[f"topic_{kind}"] = sum(r.mode == "topic" for r in same) / len(same)
    return out


def answer_metrics(records: Sequence[AnswerRecord]) -> dict[str, float]:
    """Aggregate per-question records into the reported metrics."""
    # Headline questions have no gold text: they are reported on their own (`_headlines`).
    answerable = [r for r in records if not r.should_refuse and r.kind != "headline"]
    unanswerable = [r for r in records if r.should_refuse]
    generated = [r for r in answerable if r.mode == "generated"]
    n = max(len(answerable), 1)

    def share(mode: str) -> float:
        return sum(r.mode == mode for r in answerable) / n

    answered = [r for r in records if r.mode != "refused"]
    first = [r.timings["first_token_ms"] for r in answered if "first_token_ms" in r.timings]
    total = [r.timings["total_ms"] for r in answered if "total_ms" in r.timings]
    prompt = [float(r.tokens["prompt"]) for r in records if "prompt" in r.tokens]
    speeds = []
    for r in records:
        if "first_token_ms" in r.timings and r.tokens.get("completion", 0) > 1:
            decode_s = (r.timings["generation_ms"] - r.timings["first_token_ms"]) / 1000
            if decode_s > 0:
                speeds.append((r.tokens["completion"] - 1) / decode_s)
    drafts_with_gold = [r for r in answerable if r.draft_correct]
    kinds = sorted({r.kind for r in unanswerable if r.kind})
    by_kind = {
        f"refusal_{kind}": sum(r.mode == "refused" for r in unanswerable if r.kind == kind)
        / sum(r.kind == kind for r in unanswerable)
        for kind in kinds
    }
    return {
        **by_kind,
        **_headlines(records),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "accuracy": sum(r.correct for r in answerable) / n,
        # The same, had generated replies shown only the model's text (no quoted evidence).
        "accuracy_model_text": sum(
            r.draft_correct if r.mode == "generated" else r.correct for r in answerable
        )
        / n,
        # What a member reads first: the phrase (or the extract), before any evidence.
        "lead_accuracy": sum(r.lead_correct for r in answerable) / n,
        "generated_lead_wrong": (
            sum(not r.lead_correct for r in generated) / len(generated) if generated else 0.0
        ),
        "generated_share": share("generated"),
        "extractive_share": share("extractive"),
        "refused_share": share("refused"),
        # Judged on the model's own text: the quoted evidence after it does not count.
        "generated_wrong": (
            sum(not r.draft_correct for r in generated) / len(generated) if generated else 0.0
        ),
        "generated_wrong_count": sum(not r.draft_correct for r in generated),
        "false_rejects": sum(r.mode != "generated" for r in drafts_with_gold),
        "drafts_with_gold": len(drafts_with_gold),
        "refusal_rate": (
            sum(r.mode == "refused" for r in unanswerable) / len(unanswerable)
            if unanswerable
            else 0.0
        ),
        "false_refusal_rate": share("refused"),
        "prompt_tokens_p50": _percentile(prompt, 50),
        "first_token_ms_p50": _percentile(first, 50),
        "first_token_ms_p95": _percentile(first, 95),
        "total_ms_p50": _percentile(total, 50),
        "total_ms_p95": _percentile(total, 95),
        "tokens_per_s": float(np.median(speeds)) if speeds else 0.0,
    }
