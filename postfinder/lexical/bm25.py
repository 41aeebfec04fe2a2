"""BM25 index on bm25s, scored like ``rank_bm25.BM25Okapi`` (or with Lucene's idf).

bm25s precomputes one score per (document, term) in a sparse matrix, so a query costs
one sparse column sum per term. Only its public, documented API is used: the `bm25s.BM25`
constructor, `index` with a `bm25s.tokenization.Tokenized` corpus, `get_tokens_ids`,
`get_scores` (with token ids, as bm25s's own tests call it), `save` and `load`. Nothing
is read from or written to its attributes, so a bm25s release may reorganise them.

bm25s is built with ``method="atire", idf_method="lucene"`` (its README: "equivalent to
bm25-pt"): a term's score in a document is Okapi's ``tf * (k1 + 1) / (tf + k1 * (1 - b +
b * dl / avgdl))`` times Lucene's idf. Lucene's idf is positive for every term, so each
term's column can be rescaled to another idf at query time: Okapi's, which rank-bm25
floors at ``epsilon`` times the mean idf for terms in more than half of the documents
(bm25s has no such floor, and its ``robertson`` idf clamps them to 0, which would lose
their term frequencies). The document frequencies this needs are counted here while the
corpus streams in, and saved next to bm25s's files. Scores equal rank-bm25's to float32
rounding (a relative 1e-6).
"""

from __future__ import annotations

import inspect
import json
import shutil
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import bm25s
import numpy as np
import numpy.typing as npt
from bm25s.tokenization import Tokenized

from postfinder.errors import StoreError

IdfMethod = Literal["okapi", "lucene"]
# A query term's weight in the sum (its count in the query; 0 if its idf is 0) and its
# score in each document, nonzero exactly where the document contains it.
_TermScores = tuple[int, npt.NDArray[np.float32]]
META_FILE = "postfinder.meta.json"
DF_FILE = "postfinder.df.npy"
# 2: bm25s holds Okapi tf parts times Lucene's idf, document frequencies in DF_FILE.
# Format 1 (no "format" key) held the final scores in bm25s's matrix: read with format 2
# it would rank wrongly, so it is refused and the caller rebuilds from the post store.
FORMAT = 2


def _idf(df: npt.NDArray[np.float64], n_docs: int, method: IdfMethod, epsilon: float) -> Any:
    """Return the idf of each term from its document frequency."""
    if method == "lucene":
        return np.log1p((n_docs - df + 0.5) / (df + 0.5))
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    floor = epsilon * idf.mean() if idf.size else 0.0
    return np.where(idf < 0, floor, idf)


class _TokenRows(Sequence[list[int]]):
    """The token ids of each document, packed in one array, unpacked one at a time.

    bm25s takes the corpus as a sequence of token-id lists and only measures and
    iterates it; as Python lists (8 bytes a token, plus a list per document) the ids of
    200k posts would take more than twice this array, at the build's peak.
    """

    def __init__(self, ids: array[int], offsets: array[int]) -> None:
        self._ids, self._offsets = ids, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, item: int) -> list[int]: ...

    @overload
    def __getitem__(self, item: slice) -> list[list[int]]: ...

    def __getitem__(self, item: int | slice) -> list[int] | list[list[int]]:
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        if not -len(self) <= item < len(self):
            raise IndexError(item)
        item %= len(self)
        return self._ids[self._offsets[item] : self._offsets[item + 1]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        ids, offsets = self._ids, self._offsets
        for i in range(len(offsets) - 1):
            yield ids[offsets[i] : offsets[i + 1]].tolist()


def _new_bm25s(k1: float, b: float) -> Any:
    """Return an empty bm25s index scoring Okapi's tf part times Lucene's idf."""
    options: dict[str, str] = {}
    # bm25s 0.3 added a numpy CSC builder as the default, with about twice the peak
    # memory of scipy's COO-to-CSC conversion (before 0.3 the only one, always used).
    if "csc_backend" in inspect.signature(bm25s.BM25).parameters:
        options["csc_backend"] = "scipy"
    return bm25s.BM25(k1=k1, b=b, method="atire", idf_method="lucene", **options)


class BM25Index:
    """A BM25 index over documents identified by integer ids.

    Parameters
    ----------
    k1, b
        BM25 parameters.
    idf
        ``okapi`` (rank-bm25's BM25Okapi) or ``lucene`` (never negative, no floor).
    epsilon
        Okapi's floor for negative idf, as a fraction of the mean idf.
    """

    def __init__(
        self, k1: float = 1.5, b: float = 0.75, idf: IdfMethod = "okapi", epsilon: float = 0.25
    ) -> None:
        self.k1, self.b, self.idf, self.epsilon = k1, b, idf, epsilon
        self.doc_ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.meta: dict[str, Any] = {}
        self._built = False
        self._retriever: Any = None  # None while no document has a term
        self._df: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._scale: npt.NDArray[np.float64] | None = None  # per term; None: Lucene as is
        # The per-term scores of the last query: `search` and then `coverage` of its top
        # hits ask for the same query (see `Retriever.search`). Replaced whole, never
        # changed in place, so concurrent searches at worst compute them twice.
        self._last: tuple[tuple[str, ...], dict[int, _TermScores]] = ((), {})

    def __len__(self) -> int:
        """Return the number of indexed documents."""
        return int(self.doc_ids.size)

    def build(self, doc_ids: Sequence[int], corpus_tokens: Iterable[Sequence[str]]) -> None:
        """Index documents given as token lists.

        Parameters
        ----------
        doc_ids
            One id per document; read only after ``corpus_tokens`` is consumed, so a
            generator may fill it as it goes.
        corpus_tokens
            Tokens of each document, in the same order; consumed once, so a generator
            keeps memory to the token ids (one 4-byte number per token), not the tokens.

        Raises
        ------
        StoreError
            If there are not as many documents as ids.
        """
        vocab: dict[str, int] = {}
        # Token ids of all documents end to end (bm25s needs each document's length and
        # term counts), and each document's distinct ids, for the document frequencies.
        ids, offsets, distinct = array("i"), array("q", [0]), array("i")
        for tokens in corpus_tokens:
            distinct.extend([vocab.setdefault(term, len(vocab)) for term in dict.fromkeys(tokens)])
            ids.extend(map(vocab.__getitem__, tokens))
            offsets.append(len(ids))
        df = np.bincount(np.frombuffer(distinct, dtype=np.int32), minlength=len(vocab))
        del distinct
        n_docs = len(offsets) - 1
        if n_docs != len(doc_ids):
            raise StoreError(f"BM25 build got {n_docs} documents for {len(doc_ids)} ids.")
        retriever = None
        if vocab:  # bm25s cannot average the length of documents without terms
            retriever = _new_bm25s(self.k1, self.b)
            # No empty token: it would get an id past the matrix's last column.
            retriever.index(
                Tokenized(ids=_TokenRows(ids, offsets), vocab=vocab),
                create_empty_token=False,
                show_progress=False,
            )
        del ids, offsets
        self._set(retriever, df.astype(np.int64, copy=False), np.asarray(doc_ids, np.int64))

    def _set(
        self, retriever: Any, df: npt.NDArray[np.int64], doc_ids: npt.NDArray[np.int64]
    ) -> None:
        """Install a built or loaded index and derive the per-term rescaling."""
        self._retriever, self._df, self.doc_ids, self._built = retriever, df, doc_ids, True
        self._last = ((), {})
        self._scale = None
        if self.idf == "okapi" and df.size:
            df_f = df.astype(np.float64)
            n_docs = len(doc_ids)
            lucene = _idf(df_f, n_docs, "lucene", self.epsilon)
            self._scale = _idf(df_f, n_docs, "okapi", self.epsilon) / lucene

    def _term_scores(self, query_tokens: Sequence[str]) -> dict[int, _TermScores]:
        """Return ``{term id: (weight, score of each document)}`` for the query's known terms."""
        key = tuple(query_tokens)
        last = self._last
        if last[0] == key:
            return last[1]
        terms: dict[int, _TermScores] = {}
        for term, count in Counter(self._retriever.get_tokens_ids(list(query_tokens))).items():
            # A fresh array per call, so it is rescaled in place: one pass fewer per term.
            scores = np.asarray(self._retriever.get_scores([term]), dtype=np.float32)
            scale = 1.0 if self._scale is None else float(self._scale[term])
            if scale:
                scores *= scale  # a Python float keeps the product in float32
            # An idf of 0 (in exactly half of the documents) adds nothing; the unscaled
            # scores still tell `coverage` which documents contain the term.
            terms[term] = (count if scale else 0, scores)
        self._last = (key, terms)
        return terms

    def scores(self, query_tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return the BM25 score of every document for the query, in index order."""
        total = np.zeros(len(self), dtype=np.float32)
        if self._retriever is None or not query_tokens:
            return total
        for weight, scores in self._term_scores(query_tokens).values():
            if weight == 1:
                total += scores
            elif weight:
                total += weight * scores  # a repeated query term counts each time
        return total

    def coverage(self, query_tokens: Sequence[str], doc_id: int) -> float:
        """Return the idf-weighted share of the query's distinct terms found in a document.

        1.0 means the document contains every query term; rare terms weigh more than
        common ones. Terms unknown to the index count as missing.
        """
        if self._retriever is None or not query_tokens:
            return 0.0
        rows = np.flatnonzero(self.doc_ids == doc_id)
        if not rows.size:
            return 0.0
        row = int(rows[0])
        n_docs = max(len(self), 1)

        def weight(df: int) -> float:
            return float(np.log1p((n_docs - df + 0.5) / (df + 0.5)))

        terms = self._term_scores(query_tokens)
        unknown = len(set(query_tokens)) - len(terms)  # distinct tokens, distinct ids
        total = found = 0.0
        for term, (_, scores) in terms.items():
            w = weight(int(self._df[term]))
            total += w
            if scores[row] != 0:
                found += w
        total += unknown * weight(0)
        return found / total if total else 0.0

    def search(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Return up to ``k`` ``(doc_id, score)`` pairs with a positive score, best first."""
        scores = self.scores(query_tokens)
        if not scores.size or k < 1:
            return []
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return list(zip(self.doc_ids[top].tolist(), scores[top].tolist()))

    def save(self, directory: Path) -> None:
        """Write the index to ``directory`` atomically (a crash leaves the old one intact).

        Raises
        ------
        StoreError
            If the index was never built.
        """
        if not self._built:
            raise StoreError("Cannot save an empty BM25 index; build it first.")
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp))
        np.save(tmp / DF_FILE, self._df, allow_pickle=False)
        meta = {
            **self.meta,
            "format": FORMAT,
            "k1": self.k1,
            "b": self.b,
            "idf": self.idf,
            "epsilon": self.epsilon,
            "terms": int(self._df.size),
            "doc_ids": self.doc_ids.tolist(),
        }
        (tmp / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by `save`.

        Raises
        ------
        StoreError
            If the files are missing, unreadable or of another format (an index saved by
            an older version: rebuild it).
        """
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise StoreError(
                    f"BM25 index in {directory} has format {meta.get('format', 1)}, "
                    f"not {FORMAT}; it must be rebuilt."
                )
            df = np.load(directory / DF_FILE, allow_pickle=False)
            if df.ndim != 1 or df.size != meta["terms"]:
                raise StoreError(f"BM25 index in {directory} has a damaged {DF_FILE}.")
            retriever = bm25s.BM25.load(str(directory), mmap=False) if df.size else None
            if retriever is not None and len(retriever.get_scores([0])) != len(meta["doc_ids"]):
                raise StoreError(f"BM25 index in {directory} does not match its document ids.")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"BM25 index in {directory} is unreadable ({exc}).") from exc
        index = cls(k1=meta["k1"], b=meta["b"], idf=meta["idf"], epsilon=meta["epsilon"])
        doc_ids = np.asarray(meta.pop("doc_ids"), dtype=np.int64)
        for key in ("format", "terms"):
            meta.pop(key)
        index.meta = meta
        index._set(retriever, df.astype(np.int64, copy=False), doc_ids)
        return index
