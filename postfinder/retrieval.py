"""Hybrid retrieval: dense (vector store) and BM25 candidates, fused into one ranking.

The default fusion (``retrieval.fusion = "convex"``) is a weighted sum of each
retriever's min-max normalised scores (`convex_fuse`, weight ``retrieval.dense_weight``);
``"rrf"`` selects reciprocal rank fusion (`rrf_fuse`). When only one retriever returns
candidates (``bm25`` or ``dense`` mode, or nothing found by the other), its ranking is
kept as it is, through `rrf_fuse` of that single list.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from postfinder.channels import Channel
from postfinder.embeddings.base import Embedder
from postfinder.settings import RetrievalSettings
from postfinder.text import CONTROL_RE

SearchMode = Literal["hybrid", "bm25", "dense"]


class DenseCandidate(NamedTuple):
    """A post the dense retriever found, scored by its best-matching chunk."""

    post_id: int
    similarity: float  # of the query and the post's best chunk (cosine, larger is closer)
    chunk: str  # text of that chunk


class ScoredPost(NamedTuple):
    """A post with one score: BM25 for a lexical candidate, the fused score in a ranking."""

    post_id: int
    score: float


@dataclass(frozen=True)
class Hit:
    """One post found for a query."""

    post_id: int
    link: str
    date: int
    snippet: str
    score: float
    dense_similarity: float | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class ScoreProfile:
    """How the retrievers' scores for one query are spread, beyond the hits themselves.

    The refusal decision reads them (`postfinder.answering.refusal.features`): a clear
    winner and a flat field of middling matches look alike in the top hit alone.

    Attributes
    ----------
    dense_similarities
        Similarities of the best ten dense candidates, best first.
    bm25_scores
        BM25 scores of the best ten lexical candidates, best first.
    coverages
        Idf-weighted share of the query's terms found in each of the top three hits.
    query_terms
        Distinct terms of the tokenised query.
    """

    dense_similarities: tuple[float, ...] = ()
    bm25_scores: tuple[float, ...] = ()
    coverages: tuple[float, ...] = ()
    query_terms: int = 0


@dataclass
class SearchResult:
    """Hits, the spread of the scores behind them, and each stage's time in milliseconds."""

    query: str
    mode: SearchMode
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    profile: ScoreProfile = field(default_factory=ScoreProfile)


def rrf_fuse(rankings: list[list[int]], k: int) -> list[ScoredPost]:
    """Fuse ranked id lists with reciprocal rank fusion.

    Parameters
    ----------
    rankings
        Each list holds ids, best first.
    k
        RRF constant; larger values flatten the weight of top ranks.

    Returns
    -------
    list of ScoredPost
        ``(id, score)`` sorted by fused score, ties broken by first appearance.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return [ScoredPost(*kv) for kv in sorted(scores.items(), key=lambda kv: -kv[1])]


def minmax(scores: dict[int, float]) -> dict[int, float]:
    """Scale one result list's scores to [0, 1] (all 1.0 when they are equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def convex_fuse(
    dense: dict[int, float], lexical: dict[int, float], dense_weight: float
) -> list[ScoredPost]:
    """Fuse two scored candidate lists by a weighted sum of min-max normalised scores.

    Unlike rank fusion this keeps how far apart the candidates are: a post that one
    retriever scores far above the rest stays on top. A post missing from one list
    gets 0 from it.

    Parameters
    ----------
    dense, lexical
        ``{id: score}`` of each retriever's candidates.
    dense_weight
        Weight of the dense scores; the lexical ones get ``1 - dense_weight``.

    Returns
    -------
    list of ScoredPost
        ``(id, fused score)``, best first (ties: smaller id first).
    """
    dense_n, lexical_n = minmax(dense), minmax(lexical)
    if not dense_n or not lexical_n:  # one retriever found nothing: use the other alone
        dense_weight = 1.0 if dense_n else 0.0
    fused = {
        key: dense_weight * dense_n.get(key, 0.0) + (1 - dense_weight) * lexical_n.get(key, 0.0)
        for key in dense_n.keys() | lexical_n.keys()
    }
    return [ScoredPost(*kv) for kv in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]


def make_snippet(text: str, limit: int) -> str:
    """Return the start of ``text`` on one line, cut at a word boundary to ``limit`` chars.

    Control, bidi-override and ANSI escape characters are dropped: snippets reach
    terminals and chats, where they could recolour or reorder what people read.
    """
    flat = " ".join(CONTROL_RE.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


class HybridRetriever:
    """Searches one channel.

    Parameters
    ----------
    channel
        The channel to search.
    embedder
        Embedder for queries; must be the one the channel was built with.
    settings
        Retrieval settings.
    """

    def __init__(self, channel: Channel, embedder: Embedder, settings: RetrievalSettings) -> None:
        channel.check_embedder(embedder.name, embedder.dim)
        self.channel = channel
        self.embedder = embedder
        self.settings = settings

    def dense(
        self,
        query: str,
        n: int,
        timings: dict[str, float] | None = None,
        exclude: frozenset[int] = frozenset(),
    ) -> list[DenseCandidate]:
        """Return the top ``n`` posts by vector similarity, each scored by its best chunk."""
        started = time.perf_counter()
        vector = self.embedder.embed_queries([query])[0]
        embedded = time.perf_counter()
        # Several chunks may belong to one post: ask for more and keep each post's best.
        matches = self.channel.dense(vector, n * 2 + 2 * len(exclude))
        if timings is not None:
            timings["embed_ms"] = (embedded - started) * 1000
            timings["vector_ms"] = (time.perf_counter() - embedded) * 1000
        best: dict[int, DenseCandidate] = {}
        for match in matches:  # best first: a post's first chunk is its best one
            if match.post_id not in best and match.post_id not in exclude:
                best[match.post_id] = DenseCandidate(match.post_id, match.similarity, match.text)
        return list(best.values())[:n]

    def lexical(self, query: str, n: int) -> list[ScoredPost]:
        """Return the top ``n`` posts by BM25 score."""
        index = self.channel.lexical()
        found = index.search(self.channel.tokenizer().tokenize(query, query=True), n)
        return [ScoredPost(pid, score) for pid, score in found]

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: SearchMode | None = None,
        exclude: frozenset[int] = frozenset(),
        prefer: Sequence[int] = (),
    ) -> SearchResult:
        """Find the posts that best match ``query``.

        Parameters
        ----------
        query
            Free text in any language.
        k
            Number of posts to return (default from settings).
        mode
            ``hybrid``, ``bm25`` or ``dense`` (default from settings).
        exclude
            Posts to leave out, as if they were not indexed (calibration asks what
            the channel would answer without a post).
        prefer
            Posts to put first when a retriever found them among its best
            ``prefer_rank`` candidates (the post a comment thread is about).

        Returns
        -------
        SearchResult
            Hits, best first, with component scores and stage timings.
        """
        k = k or self.settings.top_k
        mode = mode or self.settings.mode
        n = max(self.settings.candidates, k)
        timings: dict[str, float] = {}
        dense: list[DenseCandidate] = []
        lexical: list[ScoredPost] = []
        # Tokenised and looked up once: BM25 and the coverage features both need them.
        tokens = self.channel.tokenizer().tokenize(query, query=True)
        lexical_index = self.channel.lexical()
        if mode in ("hybrid", "dense"):
            dense = self.dense(query, n, timings, exclude)
        if mode in ("hybrid", "bm25"):
            started = time.perf_counter()
            # Asked for more, so that ``n`` remain once the excluded posts are dropped.
            found = lexical_index.search(tokens, n + len(exclude))
            lexical = [ScoredPost(pid, score) for pid, score in found if pid not in exclude][:n]
            timings["bm25_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        fused = self._prefer(self._fuse(dense, lexical), dense, lexical, prefer)[:k]
        hits = self._hits(fused, dense, lexical)
        timings["fusion_ms"] = (time.perf_counter() - started) * 1000
        coverages = [lexical_index.coverage(tokens, hit.post_id) for hit in hits[:3]]
        return SearchResult(
            query=query,
            mode=mode,
            hits=hits,
            timings_ms=timings,
            profile=ScoreProfile(
                dense_similarities=tuple(c.similarity for c in dense[:10]),
                bm25_scores=tuple(c.score for c in lexical[:10]),
                coverages=tuple(coverages),
                query_terms=len(set(tokens)),
            ),
        )

    def _fuse(self, dense: list[DenseCandidate], lexical: list[ScoredPost]) -> list[ScoredPost]:
        if self.settings.fusion == "rrf" or not (dense and lexical):
            rankings = [[c.post_id for c in dense], [c.post_id for c in lexical]]
            return rrf_fuse([r for r in rankings if r], self.settings.rrf_k)
        return convex_fuse(
            {c.post_id: c.similarity for c in dense},
            {c.post_id: c.score for c in lexical},
            self.settings.dense_weight,
        )

    def _prefer(
        self,
        fused: list[ScoredPost],
        dense: list[DenseCandidate],
        lexical: list[ScoredPost],
        prefer: Sequence[int],
    ) -> list[ScoredPost]:
        if not prefer:
            return fused
        limit = self.settings.prefer_rank
        near = {c.post_id for c in dense[:limit]} | {c.post_id for c in lexical[:limit]}
        wanted = [item for item in fused if item.post_id in prefer and item.post_id in near]
        return wanted + [item for item in fused if item not in wanted]

    def _hits(
        self,
        fused: list[ScoredPost],
        dense: list[DenseCandidate],
        lexical: list[ScoredPost],
    ) -> list[Hit]:
        dense_at = {c.post_id: (rank, c.similarity) for rank, c in enumerate(dense, start=1)}
        lex_at = {c.post_id: (rank, c.score) for rank, c in enumerate(lexical, start=1)}
        posts = self.channel.posts(item.post_id for item in fused)
        hits = []
        for pid, score in fused:
            post = posts.get(pid)
            if post is None:  # vectors of a post whose row was never committed
                continue
            d_rank, d_sim = dense_at.get(pid, (None, None))
            l_rank, l_score = lex_at.get(pid, (None, None))
            hits.append(
                Hit(
                    post_id=pid,
                    link=self.channel.link(pid),
                    date=post.date,
                    snippet=make_snippet(post.text, self.settings.snippet_chars),
                    score=score,
                    dense_similarity=d_sim,
                    dense_rank=d_rank,
                    bm25_score=l_score,
                    bm25_rank=l_rank,
                )
            )
        return hits
