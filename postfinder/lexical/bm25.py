"""BM25 index on bm25s sparse matrices, scored exactly like ``rank_bm25.BM25Okapi``.

bm25s stores one precomputed score per (document, term) in a CSC matrix, so a query
costs one sparse column sum. We compute that matrix ourselves with Okapi's idf (terms
in more than half of the documents get ``epsilon`` times the mean idf, as rank-bm25
does) or Lucene's idf, then let bm25s hold, persist and query it.
"""

from __future__ import annotations

import json
import shutil
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import bm25s
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from postfinder.errors import StoreError

IdfMethod = Literal["okapi", "lucene"]
META_FILE = "postfinder.meta.json"


def _idf(df: npt.NDArray[np.float64], n_docs: int, method: IdfMethod, epsilon: float) -> Any:
    """Return the idf of each term from its document frequency."""
    if method == "lucene":
        return np.log1p((n_docs - df + 0.5) / (df + 0.5))
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    floor = epsilon * idf.mean() if idf.size else 0.0
    return np.where(idf < 0, floor, idf)


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
        self._retriever: Any = None
        self.meta: dict[str, Any] = {}

    def __len__(self) -> int:
        """Return the number of indexed documents."""
        return int(self.doc_ids.size)

    def build(self, doc_ids: Sequence[int], corpus_tokens: Iterable[Sequence[str]]) -> None:
        """Index documents given as token lists.

        Parameters
        ----------
        doc_ids
            One id per document.
        corpus_tokens
            Tokens of each document, in the same order; consumed once, so a generator
            keeps memory to the term counts (compact integer arrays), not the tokens.
        """
        vocab: dict[str, int] = {}
        # Rows arrive in order, so the term counts are built directly as CSR arrays of
        # 4-byte numbers (no COO triplets): at 200k posts this is the index's peak memory.
        cols, counts = array("i"), array("f")
        indptr, lengths = array("q", [0]), array("f")
        for tokens in corpus_tokens:
            lengths.append(len(tokens))
            for term, count in Counter(tokens).items():
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(count)
            indptr.append(len(cols))
        if len(lengths) != len(doc_ids):
            raise StoreError(f"BM25 build got {len(lengths)} documents for {len(doc_ids)} ids.")
        n_docs, n_terms = len(lengths), max(len(vocab), 1)
        tf = sp.csr_matrix(
            (
                np.frombuffer(counts, dtype=np.float32),
                np.frombuffer(cols, dtype=np.int32),
                np.frombuffer(indptr, dtype=np.int64),
            ),
            shape=(n_docs, n_terms),
            copy=False,
        ).tocsc()
        del cols, counts
        lengths_np = np.frombuffer(lengths, dtype=np.float32)
        df = np.diff(tf.indptr).astype(np.float64)
        idf = _idf(df, n_docs, self.idf, self.epsilon).astype(np.float32)
        avgdl = float(lengths_np.mean()) if n_docs else 1.0
        norm = (self.k1 * (1 - self.b + self.b * lengths_np / max(avgdl, 1e-9))).astype(np.float32)
        # In place, a slice at a time (no temporary as long as all entries):
        # tf * (k1 + 1) / (tf + norm) * idf of the entry's column.
        data, indptr_np = tf.data, tf.indptr
        step = 1 << 20
        for start in range(0, data.size, step):
            part = data[start : start + step]
            stop = start + part.size
            column = np.searchsorted(indptr_np, np.arange(start, stop), side="right") - 1
            part *= (self.k1 + 1) / (part + norm[tf.indices[start:stop]]) * idf[column]
        retriever = bm25s.BM25(k1=self.k1, b=self.b, method="robertson")
        retriever.scores = {
            "data": tf.data.astype(np.float32, copy=False),
            "indices": tf.indices.astype(np.int32, copy=False),
            "indptr": tf.indptr.astype(np.int32, copy=False),
            "num_docs": n_docs,
        }
        retriever.vocab_dict = vocab
        retriever.unique_token_ids_set = set(vocab.values())
        retriever.nonoccurrence_array = None
        self._retriever = retriever
        self.doc_ids = np.asarray(doc_ids, dtype=np.int64)

    def scores(self, query_tokens: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return the BM25 score of every document for the query, in index order."""
        if self._retriever is None or len(self) == 0:
            return np.zeros(0, dtype=np.float32)
        ids = [
            self._retriever.vocab_dict[t] for t in query_tokens if t in self._retriever.vocab_dict
        ]
        if not ids:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)

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
        indptr, indices = self._retriever.scores["indptr"], self._retriever.scores["indices"]
        vocab = self._retriever.vocab_dict
        n_docs = max(len(self), 1)
        total = found = 0.0
        for term in set(query_tokens):
            col = vocab.get(term)
            df = 0 if col is None else int(indptr[col + 1] - indptr[col])
            weight = float(np.log1p((n_docs - df + 0.5) / (df + 0.5)))
            total += weight
            if col is not None and row in indices[indptr[col] : indptr[col + 1]]:
                found += weight
        return found / total if total else 0.0

    def search(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Return up to ``k`` ``(doc_id, score)`` pairs with a positive score, best first."""
        scores = self.scores(query_tokens)
        if not scores.size:
            return []
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.doc_ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, directory: Path) -> None:
        """Write the index to ``directory`` atomically (a crash leaves the old one intact)."""
        if self._retriever is None:
            raise StoreError("Cannot save an empty BM25 index; build it first.")
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self._retriever.save(str(tmp), show_progress=False)
        meta = {
            **self.meta,
            "k1": self.k1,
            "b": self.b,
            "idf": self.idf,
            "epsilon": self.epsilon,
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
            If the files are missing or unreadable.
        """
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            retriever = bm25s.BM25.load(str(directory), mmap=False)
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"BM25 index in {directory} is unreadable ({exc}).") from exc
        index = cls(k1=meta["k1"], b=meta["b"], idf=meta["idf"], epsilon=meta["epsilon"])
        index.doc_ids = np.asarray(meta.pop("doc_ids"), dtype=np.int64)
        index.meta = meta
        index._retriever = retriever
        return index
