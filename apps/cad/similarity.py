"""The spaces in which similar drawings are searched.

- ``unsupervised`` (``dxf-2`` to ``dxf-7``): every slot standardised over the
  tenant's own drawings, then each view (geometry, picture, words, outline,
  names, hatch) scaled to a fixed total weight whatever its number of slots,
  the geometry four times the others, the size, topology and layout views not
  at all:
  title blocks and borders move the picture, and the words change with the
  drafter's language (weights measured in ``docs/model-quality.md``). Near
  duplicates are found in it when the tenant has no model.
- ``unsupervised+all-views`` (``every_view()``): the same standardisation with
  the size, topology and layout views weighed like the others. Similar
  drawings without a model of the tenant's own are ordered in it: drawings of
  one kind in an archive share their size, how their strokes connect and
  which way they lie, while a copy turned or redrawn at another scale, which
  it sets apart, is still a near duplicate in ``unsupervised``.
- ``learned``: the standardisation the tenant's model was trained with, each
  slot weighted by how well it separated the tenant's labels (between-class
  over within-class variance, a diagonal linear metric). Used when the tenant
  has a trained model that serves its drawings' feature version; near
  duplicates are found in it.
- ``learned`` with the model's classes (``with_classes``): the model's class
  probabilities (less the uniform answer) beside the learned metric, each
  half of unit length, so that drawings the model puts in the query's class
  come first and the metric orders them (the tenant's similar drawings;
  docs/model-quality.md). A model that learned the words of its labels'
  file names weighs each drawing's name in its classes as in its answers
  (``+classes+names``): the rows and the query carry their file names.

Neighbours are ranked by cosine similarity in the chosen space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apps.cad import features

Z_CLIP = 10.0
VIEW_WEIGHTS = {
    "geometry": 4.0,
    "picture": 1.0,
    "words": 1.0,
    "outline": 1.0,
    "names": 1.0,
    "hatch": 1.0,
    # Near duplicates stay scale-invariant: a copy redrawn at another scale
    # is still one. A tenant's learned metric weighs size by how well it
    # separates the tenant's labels.
    "size": 0.0,
    # Left out so that the near-duplicate threshold stays the one measured
    # on dxf-5; a learned metric weighs it.
    "topology": 0.0,
    # The same, and a turned copy stays a near duplicate.
    "layout": 0.0,
}
# Similar drawings (not near duplicates) without a model: every view counts.
SIMILAR_VIEW_WEIGHTS = {**VIEW_WEIGHTS, "size": 1.0, "topology": 1.0, "layout": 1.0}
ALL_VIEWS_SUFFIX = "+all-views"
CLASSES_SUFFIX = "+classes"
NAMES_SUFFIX = "+names"
MIN_INVARIANT_LENGTH = 1e-3


# (raw vectors, their drawings' file names) -> class probabilities, one row each
Classes = Callable[[np.ndarray, Sequence[str | None]], np.ndarray]


@dataclass(frozen=True)
class Space:
    name: str
    centre: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    # Raw vectors and their drawings' file names (None where unknown) -> the
    # model's class probabilities (rows); None: the metric alone.
    classes: Classes | None = None
    # Which slots of the raw vectors the space reads (a model of dxf-3t reads
    # a selection of dxf-6's); None: their first ones.
    columns: tuple[int, ...] | None = None
    # Whether ``classes`` weigh the drawings' file names: rows and queries
    # are embedded with theirs.
    reads_names: bool = False

    def embed(
        self, X: np.ndarray, names: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Raw vectors in this space; ``names``: their drawings' file names,
        which a model's classes may weigh (None: none known)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        read = (
            X[:, : len(self.centre)]
            if self.columns is None
            else np.ascontiguousarray(X[:, np.asarray(self.columns, dtype=int)])
        )
        z = np.clip((read - self.centre) / self.scale, -Z_CLIP, Z_CLIP)
        if self.classes is None:
            return z * self.weight
        probs = np.asarray(
            self.classes(X, [None] * len(X) if names is None else names), dtype=float
        )
        # Centred on the uniform answer: two drawings the model puts in
        # different classes point apart (with two classes, opposite).
        centred = probs - 1.0 / max(probs.shape[1], 1)
        return np.hstack([unit_rows(centred), unit_rows(z * self.weight)])

    def with_classes(self, classes: Classes, *, names: bool = False) -> Space:
        """This metric beside the model's ``classes``; ``names``: they weigh
        the drawings' file names."""
        suffix = CLASSES_SUFFIX + (NAMES_SUFFIX if names else "")
        return replace(
            self, name=f"{self.name}{suffix}", classes=classes, reads_names=names
        )

    def without_classes(self) -> Space:
        if self.classes is None:
            return self
        name = self.name.removesuffix(NAMES_SUFFIX).removesuffix(CLASSES_SUFFIX)
        return replace(self, name=name, classes=None, reads_names=False)

    @classmethod
    def unsupervised(cls, X: np.ndarray, version: str | None = None) -> Space:
        """Fitted on the rows ``X`` of ``version`` (by default the drawing
        version of their width)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        width = X.shape[1]
        if len(X) == 0:
            centre, spread = np.zeros(width), np.ones(width)
        else:
            centre, spread = X.mean(axis=0), X.std(axis=0)
        scale = np.maximum(spread, 1e-3)
        weight = _view_weights(width, VIEW_WEIGHTS)
        return cls(f"{version or _version(width)}-unsupervised", centre, scale, weight)

    def every_view(self) -> Space:
        """This unsupervised space with every view weighed
        (``SIMILAR_VIEW_WEIGHTS``); itself when the version has no view it
        leaves out (``dxf-2`` to ``dxf-4``) or the space is not unsupervised."""
        if not self.name.endswith("-unsupervised"):
            return self
        weight = _view_weights(len(self.centre), SIMILAR_VIEW_WEIGHTS)
        if np.array_equal(weight, self.weight):
            return self
        return replace(self, name=f"{self.name}{ALL_VIEWS_SUFFIX}", weight=weight)

    def invariant(self) -> Space:
        """The space near duplicates are judged in: the metric alone beside
        the model's classes, the unsupervised space an every-view one was made
        from; any other space itself."""
        if self.classes is not None:
            return self.without_classes()
        if not self.name.endswith(ALL_VIEWS_SUFFIX):
            return self
        return replace(
            self,
            name=self.name.removesuffix(ALL_VIEWS_SUFFIX),
            weight=_view_weights(len(self.centre), VIEW_WEIGHTS),
        )

    def unit(
        self, X: np.ndarray, names: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """Raw vectors as unit rows in this space (cosine is their product)."""
        if not len(X):
            return np.zeros((0, len(self.centre)))
        return unit_rows(self.embed(X, names))

    def _invariant_columns(self, width: int) -> np.ndarray:
        """Which of an embedding's ``width`` columns the invariant space's
        embedding is (the rest are zero in it): the metric after the classes,
        the views an every-view space adds left out."""
        if self.classes is not None:
            return np.arange(width) >= width - len(self.centre)
        return self.invariant().weight > 0

    def kept(
        self, X: np.ndarray, names: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """The rows an index keeps of raw vectors ``X``: unit embeddings,
        except in a space with an invariant one (every view; the model's
        classes beside its metric), whose embedding is divided by the length
        of its invariant columns. Those rows serve both searches exactly:
        their invariant columns are the unit invariant embedding (cosine with
        a query from ``query(near_duplicates=True)``; shorter for a row within
        ``MIN_INVARIANT_LENGTH`` of the tenant's mean), and a row over its
        length is the unit embedding (``query()``, the score divided by the
        row's length)."""
        if self.invariant() is self or not len(X):
            return self.unit(X, names)
        emb = self.embed(X, names)
        inv = np.linalg.norm(
            emb[:, self._invariant_columns(emb.shape[1])], axis=1, keepdims=True
        )
        # A drawing at the tenant's mean in every invariant view (a tenant of
        # one) would make its row huge, past what a half-precision index holds.
        return emb / np.maximum(inv, MIN_INVARIANT_LENGTH)

    def query(
        self,
        x: np.ndarray,
        *,
        near_duplicates: bool = False,
        name: str | None = None,
    ) -> np.ndarray:
        """A raw vector as the unit query against ``kept`` rows: in this space,
        or with ``near_duplicates`` in its invariant one (its columns alone);
        ``name``: its file name, when known."""
        emb = self.embed(np.asarray(x, dtype=float)[None, :], [name])
        if near_duplicates and self.invariant() is not self:
            emb[:, ~self._invariant_columns(emb.shape[1])] = 0.0
        return unit_rows(emb)[0]

    def by_length(self, *, near_duplicates: bool = False) -> bool:
        """Whether a kept row's product with a ``query`` is divided by the
        row's length to be the cosine (a space with an invariant one, not near
        duplicates)."""
        return not near_duplicates and self.invariant() is not self

    def scores(
        self,
        kept: np.ndarray,
        x: np.ndarray,
        *,
        near_duplicates: bool = False,
        lengths: np.ndarray | None = None,
        name: str | None = None,
    ) -> np.ndarray:
        """Cosine of the ``kept`` rows with a raw vector, in this space or with
        ``near_duplicates`` its invariant one; ``lengths``: the rows' (from
        ``row_lengths``) when known; ``name``: the query's file name."""
        products = kept @ self.query(x, near_duplicates=near_duplicates, name=name)
        if not self.by_length(near_duplicates=near_duplicates):
            return products
        return products / (row_lengths(kept) if lengths is None else lengths)

    @classmethod
    def learned(
        cls,
        open_set: Any,
        *,
        name: str = "model-metric",
        columns: tuple[int, ...] | None = None,
    ) -> Space | None:
        """The model's metric, or None when the model carries none;
        ``columns``: where the model's slots sit in the raw vectors (None:
        first)."""
        if open_set is None or getattr(open_set, "metric", None) is None:
            return None
        return cls(
            name,
            np.asarray(open_set.mean, dtype=float),
            np.asarray(open_set.scale, dtype=float),
            np.sqrt(np.asarray(open_set.metric, dtype=float)),
            columns=columns,
        )


def unit_rows(a: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (a zero row stays zero)."""
    a = np.asarray(a, dtype=float)
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norms == 0, 1, norms)


def row_lengths(rows: np.ndarray) -> np.ndarray:
    """Each row's length, 1 for a zero row (its products are 0 anyway)."""
    lengths = np.linalg.norm(rows, axis=1)
    return np.where(lengths == 0, 1.0, lengths)


def _view_weights(width: int, weights: dict[str, float]) -> np.ndarray:
    """Each view of the version ``width`` slots wide scaled to its total
    weight in ``weights`` whatever its number of slots."""
    weight = np.ones(width)
    views = features.VIEWS.get(_version(width))
    if views:
        for view, (lo, hi) in views.items():
            weight[lo:hi] = weights[view] / np.sqrt(hi - lo)
    else:
        weight /= np.sqrt(width)
    return weight


def _version(width: int) -> str:
    for version, slots in features.SLOTS.items():
        if len(slots) == width:
            return version
    return "features"
