"""What members keep asking: clusters of the same question, and the measures per week.

The design doc's measures of success are fewer repeated questions and more correct
answers. Per week this reports the share of questions that repeat an earlier one (in
the same channel, by the `ParaphraseRule` the cache uses), the share answered, and the
share whose answer got more 👍 than 👎; per cluster, how it was answered, so a cluster
the bot keeps refusing reads as "no post about this yet": what the owner could write.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from postfinder.repeats.keys import normal_form
from postfinder.repeats.rule import ParaphraseRule

# "topic": a headline post about it, the detail behind its link (`answering.headline`).
ANSWERED = ("generated", "extractive", "topic")
_BLOCK = 1024  # rows of the similarity matrix computed at once (bounded memory)


@dataclass(frozen=True)
class Asked:  # pylint: disable=too-many-instance-attributes
    """One recorded question, as the repeats report reads it (`BotStorage.asked`)."""

    id: int
    channel_id: int | None
    created: int
    mode: str
    cached: int
    question: str | None
    norm: str | None
    vector: bytes | None
    asker: str
    up: int
    down: int


@dataclass
class _Union:
    """Union-find over the distinct questions of a channel."""

    parent: list[int]

    def find(self, i: int) -> int:
        """The representative of ``i``'s cluster."""
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        """Put ``a`` and ``b`` in one cluster (the earlier question represents it)."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def cluster(rows: Sequence[Asked], rule: ParaphraseRule) -> list[list[Asked]]:
    """Group questions that are the same question, per channel, each oldest first.

    Questions with the same normal form are one question; distinct ones are joined
    when the rule says so of their embeddings. Questions whose text retention already
    removed are left out.
    """
    groups: dict[tuple[int, str], list[Asked]] = defaultdict(list)
    for row in rows:
        key = row.norm or (normal_form(row.question) if row.question else "")
        if key:
            groups[(row.channel_id or 0, key)].append(row)
    by_channel: dict[int, list[str]] = defaultdict(list)
    for channel_id, key in groups:
        by_channel[channel_id].append(key)
    clusters: list[list[Asked]] = []
    for channel_id, keys in by_channel.items():
        union = _join_similar(keys, [groups[(channel_id, k)] for k in keys], rule)
        members: dict[int, list[Asked]] = defaultdict(list)
        for i, key in enumerate(keys):
            members[union.find(i)].extend(groups[(channel_id, key)])
        clusters.extend(sorted(m, key=lambda r: (r.created, r.id)) for m in members.values())
    return clusters


def _join_similar(keys: list[str], groups: list[list[Asked]], rule: ParaphraseRule) -> _Union:
    """Join the distinct questions whose embeddings the rule calls the same."""
    union = _Union(list(range(len(keys))))
    with_vector = [
        (i, next(r.vector for r in group if r.vector))
        for i, group in enumerate(groups)
        if any(r.vector for r in group)
    ]
    if len(with_vector) < 2 or rule.min_similarity > 1:
        return union
    index = [i for i, _ in with_vector]
    dims = {len(v) for _, v in with_vector}
    if len(dims) != 1:  # the embedder changed within the period: compare the newest only
        size = len(with_vector[-1][1])
        index = [i for i, v in with_vector if len(v) == size]
        with_vector = [(i, v) for i, v in with_vector if len(v) == size]
    matrix = np.vstack([np.frombuffer(v, dtype=np.float32) for _, v in with_vector])
    for start in range(0, len(index), _BLOCK):
        sims = matrix[start : start + _BLOCK] @ matrix.T
        rows, cols = np.nonzero(sims >= rule.min_similarity)
        for r, c in zip(rows.tolist(), cols.tolist()):
            a, b = index[start + r], index[c]
            if a < b and rule.same(keys[a], keys[b], float(sims[r, c])):
                union.join(a, b)
    return union


def _week(timestamp: int) -> str:
    """The Monday (UTC) of the week a time falls in."""
    day = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date()
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def _cluster_summary(members: list[Asked]) -> dict[str, Any]:
    modes = Counter(m.mode for m in members)
    answered = sum(modes[m] for m in ANSWERED)
    texts = Counter(" ".join((m.question or "").split()) for m in members if m.question)
    return {
        "channel_id": members[0].channel_id,
        "size": len(members),
        "members": len({m.asker for m in members}),
        "answered": {m: modes.get(m, 0) for m in (*ANSWERED, "refused")},
        "cached": sum(1 for m in members if m.cached),
        "feedback": {"up": sum(m.up for m in members), "down": sum(m.down for m in members)},
        "example": texts.most_common(1)[0][0] if texts else "",
        "first": members[0].created,
        "last": members[-1].created,
        "no_post": modes.get("refused", 0) > answered,
    }


def _weeks(rows: Sequence[Asked], repeats: set[int]) -> list[dict[str, Any]]:
    weeks: dict[str, list[Asked]] = defaultdict(list)
    for row in rows:
        weeks[_week(row.created)].append(row)
    out = []
    for week in sorted(weeks):
        items = weeks[week]
        total = len(items)
        out.append(
            {
                "week": week,
                "questions": total,
                "repeats": sum(1 for r in items if r.id in repeats),
                "repeat_share": sum(1 for r in items if r.id in repeats) / total,
                "answered_share": sum(1 for r in items if r.mode in ANSWERED) / total,
                "positive_share": sum(1 for r in items if r.up > r.down) / total,
            }
        )
    return out


def repeats_report(
    rows: Sequence[Asked], rule: ParaphraseRule, top: int = 10, since: int | None = None
) -> dict[str, Any]:
    """Clusters of repeated questions and the weekly measures of success.

    Parameters
    ----------
    rows
        Questions, oldest first (`BotStorage.asked`): the period's and, before it, the
        history a question of the period may repeat.
    rule
        When two questions are the same (the cache's rule).
    top
        Clusters listed (the largest; only questions asked at least twice in the period).
    since
        Where the period starts (Unix time); None: all of ``rows``. Only questions that
        were answered or refused count (not "busy", rate-limited or failed ones).

    Returns
    -------
    dict
        ``questions``, ``repeats`` (questions that repeat an earlier one), ``clusters``
        (each with its size, distinct askers, how it was answered, cache hits,
        feedback, an example and ``no_post``: refused more often than answered),
        ``weeks`` (questions, repeats and the three shares per week) and ``trend``
        (each share's change from the first week to the last).
    """
    asked = [r for r in rows if r.mode in (*ANSWERED, "refused")]
    clusters = cluster(asked, rule)
    repeats = {m.id for c in clusters for m in c[1:]}  # an earlier one, maybe before the period
    start = since if since is not None else min((r.created for r in asked), default=0)
    period = [r for r in asked if r.created >= start]
    weeks = _weeks(period, repeats)
    shares = ("repeat_share", "answered_share", "positive_share")
    trend = {s: weeks[-1][s] - weeks[0][s] for s in shares} if len(weeks) > 1 else {}
    in_period = [[m for m in c if m.created >= start] for c in clusters]
    listed = sorted((c for c in in_period if len(c) > 1), key=lambda c: (-len(c), c[0].created))
    repeated = sum(1 for r in period if r.id in repeats)
    return {
        "questions": len(period),
        "repeats": repeated,
        "repeat_share": repeated / len(period) if period else 0.0,
        "clusters": [_cluster_summary(c) for c in listed[:top]],
        "weeks": weeks,
        "trend": trend,
    }
