"""What the words of a tenant's file names say about its labels.

A team's drawings are often named for what they are ("bracket_left_v2.dxf",
"Flansch-DN50.dxf", "SAL-AANKLEDING_AUTO1.dxf"), in its own words and
codes, which no list of part words knows. A model trained on the tenant's
labelled drawings (``training.train`` with ``labelled``) also learns, from
the same drawings, how often each word of a file name (``part_names
.name_words``) goes with each label, and weighs a drawing's name beside its
drawing by Bayes' rule:

    p(label | drawing, name) ~ p(label | drawing) * prod_w p(w | label) ** weight

``p(w | label)`` is the share of the label's drawings whose name has the word
(add-one smoothed); a word no training drawing's name had says nothing, so a
drawing named ``part-0042.dxf`` is answered by its drawing alone. Rows with no
name at all (None: the generated drawings of the default base, beside which a
tenant teaches its own) are not counted, and a label none of whose drawings
had a name takes each word's share of all named drawings: its names are
unknown, not nameless, so no word speaks for or against it more than the
average. The
``weight`` (0 to 1) is chosen on the calibration split, rows neither the
forest nor the word counts learned from, by log-loss: names that say nothing
about the labels get little or no weight; the words of a name are not independent
evidence, so a weight under 1 keeps several words of one phrase from counting
as many.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

ALPHA = 1.0  # add-one smoothing of each word's share of a label's drawings
WEIGHTS = (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0)
MAX_VOCABULARY = 5000  # the words most drawings' names have, if more


@dataclass(frozen=True)
class NameWords:
    vocabulary: tuple[str, ...]
    # (words, labels): how many of each label's training drawings have the word.
    counts: np.ndarray
    sizes: np.ndarray  # (labels,): training drawings of each label
    weight: float = 1.0

    @classmethod
    def fit(
        cls,
        words: Sequence[Sequence[str] | None],
        y_idx: np.ndarray,
        n_labels: int,
        weight: float = 1.0,
    ) -> NameWords:
        seen: dict[str, np.ndarray] = {}
        sizes = np.zeros(n_labels)
        for row, label in zip(words, y_idx, strict=True):
            if row is None:
                continue
            sizes[int(label)] += 1
            for word in set(row):
                seen.setdefault(word, np.zeros(n_labels))[int(label)] += 1
        vocabulary = sorted(seen, key=lambda w: (-seen[w].sum(), w))[:MAX_VOCABULARY]
        counts = (
            np.stack([seen[w] for w in vocabulary])
            if vocabulary
            else np.zeros((0, n_labels))
        )
        return cls(tuple(vocabulary), counts, sizes, float(weight))

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocabulary)}

    @functools.cached_property
    def _log_share(self) -> np.ndarray:
        """Per word and label, log p(word | label) less its largest."""
        if not len(self.counts):
            return np.zeros_like(self.counts)
        share = (self.counts + ALPHA) / (self.sizes + 2 * ALPHA)
        unnamed = self.sizes == 0
        if unnamed.any():
            overall = (self.counts.sum(axis=1) + ALPHA) / (self.sizes.sum() + 2 * ALPHA)
            share[:, unnamed] = overall[:, None]
        share = np.log(share)
        return share - share.max(axis=1, keepdims=True)

    def _known(self, name: Sequence[str] | None) -> list[int]:
        """The vocabulary rows of a name's distinct words the model learned."""
        return [i for w in set(name or ()) if (i := self._index.get(w)) is not None]

    def evidence(self, words: Sequence[Sequence[str] | None]) -> np.ndarray:
        """(rows, labels): each name's log-likelihood under each label, up to
        a constant per row (0 for a name of no known word, or none)."""
        out = np.zeros((len(words), len(self.sizes)))
        for row, name in zip(out, words, strict=True):
            known = self._known(name)
            if known:
                row += self._log_share[known].sum(axis=0)
        return out

    def telling(self, name: Sequence[str]) -> tuple[int, tuple[str, ...]] | None:
        """The label a name's words make at least twice as likely as any
        other label whose drawings' names were learned, and the words that
        point to it; None when they point nowhere. (Of a label none of whose
        drawings had a name nothing is known to compare.)"""
        known = self.sizes > 0
        if known.sum() < 2 or self.weight <= 0:
            return None
        e = np.where(known, self.weight * self.evidence([name])[0], -np.inf)
        best = int(np.argmax(e))
        if e[best] - np.partition(e, -2)[-2] < math.log(2):
            return None
        at = int(np.flatnonzero(known).tolist().index(best))
        rows = [
            (w, self._log_share[i][known])
            for w in name
            if (i := self._index.get(w)) is not None
        ]
        telling = [
            w
            for w, row in rows
            if row[at] == row.max() and row.max() - row.min() > math.log(2)
        ]
        return best, tuple(telling or (w for w, _ in rows))

    def contradicts(self, name: Sequence[str], label: int) -> bool:
        """Whether the name's words, as the tenant's names taught them, make
        a label they were taught under at least twice as likely as ``label``
        (a drawing the team called a bushing as ``ring.dxf``, against a
        default reading of "ring" as a washer); one drawing of a kind named
        otherwise among many is not enough."""
        taught = self.counts[self._known(name)].sum(axis=0) > 0
        if not taught.any():
            return False
        e = self.evidence([name])[0]
        return bool(e[taught].max() - e[label] >= math.log(2))

    @property
    def weighed(self) -> bool:
        """Whether names move answers at all (a weight and words to weigh)."""
        return self.weight > 0 and len(self.vocabulary) > 0

    def weigh(
        self, probs: np.ndarray, words: Sequence[Sequence[str] | None]
    ) -> np.ndarray:
        """``probs`` (rows, labels) with each row's name weighed in."""
        p = np.atleast_2d(np.asarray(probs, dtype=float))
        if not self.weighed:
            return p
        e = self.weight * self.evidence(words)
        p = p * np.exp(e - e.max(axis=1, keepdims=True))
        total = p.sum(axis=1, keepdims=True)
        return p / np.where(total > 0, total, 1.0)

    def with_weight_for(
        self,
        probs: np.ndarray,
        words: Sequence[Sequence[str] | None],
        y_idx: np.ndarray,
    ) -> NameWords:
        """The weight of ``WEIGHTS`` whose answers on these held-out rows have
        the least log-loss (the smallest on a tie)."""
        rows = np.arange(len(y_idx))

        def loss(weight: float) -> float:
            p = replace(self, weight=weight).weigh(probs, words)
            return float(-np.log(np.clip(p[rows, y_idx], 1e-12, 1.0)).mean())

        losses = [loss(w) for w in WEIGHTS]
        return replace(self, weight=WEIGHTS[int(np.argmin(losses))])

    def refitted(
        self, words: Sequence[Sequence[str] | None], y_idx: np.ndarray
    ) -> NameWords:
        """The same weight, the counts of ``words`` (every labelled row)."""
        return NameWords.fit(words, y_idx, len(self.sizes), self.weight)

    def as_json(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "sizes": [int(v) for v in self.sizes],
            "words": {
                w: {str(i): int(c) for i, c in enumerate(row) if c}
                for w, row in zip(self.vocabulary, self.counts, strict=True)
            },
        }

    @classmethod
    def from_json(cls, data: Any, *, classes: int) -> NameWords | None:
        """The stored counts, or None when absent or not of ``classes`` labels."""
        if not isinstance(data, dict):
            return None
        try:
            weight = float(data["weight"])
            sizes = np.asarray(data["sizes"], dtype=float)
            stored = data["words"]
            vocabulary = tuple(str(w) for w in stored)
            counts = np.zeros((len(vocabulary), classes))
            for row, word in zip(counts, vocabulary, strict=True):
                for i, c in stored[word].items():
                    if not 0 <= int(i) < classes:
                        return None
                    row[int(i)] = float(c)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None
        finite = np.isfinite(counts).all() and np.isfinite(sizes).all()
        if (
            sizes.shape != (classes,)
            or not 0 <= weight <= 1
            or not finite
            or (counts < 0).any()
            or (sizes < 0).any()
        ):
            return None
        return cls(vocabulary, counts, sizes, weight)
