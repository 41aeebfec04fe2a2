"""When two questions are the same question: one rule for the cache and for the stats.

Same normal form: the same question. Otherwise two conditions, both needed:

- the cosine of their embeddings reaches ``min_similarity`` (which finds candidates
  fast among thousands, and keeps out questions on other subjects), and
- they ask with the same words up to order, inflection and typos, with the same
  question word, negation and numbers (`postfinder.repeats.keys.same_terms`).

The embedding alone cannot be trusted: measured on labelled pairs
(``scripts/fit_paraphrase.py``), "Во сколько открывается каток?" and "Во сколько
закрывается каток?" embed at 0.985, above most true paraphrases, and a cached answer
to the other question is worse than a slow right one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from postfinder.repeats.keys import same_terms, terms

CANDIDATES = 16  # entries compared word by word, the most similar first


@dataclass(frozen=True)
class ParaphraseRule:
    """Tells a repeat of a question from a different question.

    Parameters
    ----------
    min_similarity
        Least cosine similarity of two questions' embeddings to be compared word by
        word; above 1 only identical normal forms match.
    """

    min_similarity: float

    def same(self, key_a: str, key_b: str, similarity: float) -> bool:
        """Whether two questions (normal forms and their embeddings' cosine) are one."""
        if key_a == key_b:
            return True
        return similarity >= self.min_similarity and same_terms(terms(key_a), terms(key_b))

    def best(
        self,
        key: str,
        vector: npt.NDArray[np.float32],
        keys: list[str],
        matrix: npt.NDArray[np.float32],
    ) -> list[tuple[int, float]]:
        """Rows of ``matrix`` (with normal forms ``keys``) that are the same question as
        ``key``/``vector``, with their similarity, most similar first."""
        if not keys:
            return []
        similarities = matrix @ vector
        rows = np.flatnonzero(similarities >= self.min_similarity)
        if len(rows) > CANDIDATES:  # a repeat embeds closest of all: compare the nearest only
            rows = rows[np.argpartition(-similarities[rows], CANDIDATES)[:CANDIDATES]]
        rows = rows[np.argsort(-similarities[rows])]
        return [
            (int(i), float(similarities[i]))
            for i in rows
            if self.same(key, keys[i], float(similarities[i]))
        ]
