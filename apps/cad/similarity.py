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
  the size, topology and layout views weighed like the others. Drawings of
  one kind in an archive share their size, how their strokes connect and
  which way they lie, while a copy turned or redrawn at another scale, which
  it sets apart, is still a near duplicate in ``unsupervised``.
- ``unsupervised+all-views+names`` (``without_model``): that space beside the
  words of the drawings' file names (``FileNames``), where similar drawings
  are ordered for a tenant without a model: a drawing scores the mean of its
  cosine there and of its name's, the name weighed by how much drawings whose
  names share words look alike in the tenant's archive (not at all when they
  look no more alike than any two). Names make no near duplicate.
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

import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import sparse

from apps.cad import features
from apps.cad.part_names import name_words

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
NAME_BUCKETS = 256
# The names' weight beside the drawing (their cosine's share of the score is
# weight / (1 + weight)) when drawings whose names share words look alike
# by at least NAMES_FULL_AGREEMENT (docs/model-quality.md).
NAMES_WEIGHT = 0.5
NAMES_FULL_AGREEMENT = 0.2


# (raw vectors, their drawings' file names) -> class probabilities, one row each
Classes = Callable[[np.ndarray, Sequence[str | None]], np.ndarray]


@functools.lru_cache(maxsize=1 << 16)
def _buckets(name: str | None) -> tuple[int, ...]:
    """The buckets of a file name's words. Cached: a tenant's matrix is
    fitted again on all its names whenever a drawing comes or goes."""
    return tuple(zlib.crc32(w.encode()) % NAME_BUCKETS for w in name_words(name))


def _name_counts(names: Sequence[str | None]) -> sparse.csr_array:
    """Which hashed words each file name has (rows of 0 and 1, sparse: a name
    has a few of the buckets)."""
    found = [_buckets(name) for name in names]
    sizes = np.fromiter((len(b) for b in found), dtype=np.int64, count=len(found))
    columns = np.fromiter(
        (b for buckets in found for b in buckets), dtype=np.int64, count=sizes.sum()
    )
    pointers = np.concatenate([[0], np.cumsum(sizes)])
    H = sparse.csr_array(
        (np.ones(len(columns)), columns, pointers), shape=(len(names), NAME_BUCKETS)
    )
    H.sum_duplicates()  # two words in one bucket count once
    H.data[:] = 1.0
    return H


def _weighed(
    H: sparse.csr_array, idf: np.ndarray
) -> tuple[sparse.csr_array, np.ndarray]:
    """``H``'s words weighed by ``idf``, each row scaled to unit length, and
    the rows' lengths before (0 for a name without such words)."""
    W = H.multiply(idf[None, :]).tocsr()
    lengths = np.sqrt(np.asarray(W.multiply(W).sum(axis=1)).ravel())
    return sparse.diags_array(1.0 / np.where(lengths > 0, lengths, 1.0)) @ W, lengths


def _agreement(names: sparse.csr_array, drawings: np.ndarray) -> float:
    """How alike drawings whose names share words are: the mean cosine of two
    ``drawings`` (unit rows) weighted by their ``names``' (unit rows), beyond
    that of any two, over ``NAMES_FULL_AGREEMENT``, between 0 and 1. Names
    that say nothing of how drawings look (the author, a project code across
    every kind) get nothing. Over every pair at once: the weighted sum is
    ``|names.T @ drawings|^2`` less each drawing with itself."""
    n = names.shape[0]
    if n < 3:
        return 0.0
    total = np.asarray(names.sum(axis=0)).ravel()
    own_names = np.asarray(names.multiply(names).sum(axis=1)).ravel()
    pairs = float(total @ total - own_names.sum())
    if pairs <= 0:
        return 0.0
    own = own_names * (drawings**2).sum(axis=1)
    named = float(((names.T @ drawings) ** 2).sum() - own.sum()) / pairs
    every = drawings.sum(axis=0)
    anyhow = float(every @ every - (drawings**2).sum()) / (n * (n - 1))
    share = (named - anyhow) / max(1.0 - anyhow, 1e-9)
    return float(np.clip(share / NAMES_FULL_AGREEMENT, 0.0, 1.0))


@dataclass(frozen=True)
class FileNames:
    """The words of a tenant's file names (``part_names.name_words``) as
    similar drawings without a model weigh them. Each word is hashed to one of
    ``NAME_BUCKETS`` and weighed by how few of the tenant's names have it
    (inverse document frequency: nothing for a word every name has or none
    has), the row scaled to unit length; a name without such words is a
    column of its own in stored rows and nothing in a query, so it neither
    matches another one nor counts against the drawing."""

    idf: np.ndarray  # (NAME_BUCKETS,)
    weight: float  # the names' cosine weighs this much beside the drawing's

    @classmethod
    def fit(
        cls, names: Sequence[str | None], drawings: np.ndarray
    ) -> tuple[FileNames, np.ndarray]:
        """Fitted on the ``names`` of drawings whose unit rows in the space
        the names go beside are ``drawings``; with the names' stored
        ``rows``."""
        H = _name_counts(names)
        df = np.asarray(H.sum(axis=0)).ravel()
        n = len(names)
        idf = np.where(df > 0, np.log((1 + n) / (1 + df)), 0.0)
        unit, lengths = _weighed(H, idf)
        fitted = cls(idf, NAMES_WEIGHT * _agreement(unit, drawings))
        return fitted, fitted._rows(unit, lengths)

    def rows(self, names: Sequence[str | None]) -> np.ndarray:
        """Stored rows: ``sqrt(weight)`` times the unit name row, or the
        no-words column."""
        return self._rows(*_weighed(_name_counts(names), self.idf))

    def _rows(self, unit: sparse.csr_array, lengths: np.ndarray) -> np.ndarray:
        out = np.zeros((unit.shape[0], NAME_BUCKETS + 1))
        out[:, :NAME_BUCKETS] = unit.toarray()
        out[:, NAME_BUCKETS] = lengths == 0
        out *= np.sqrt(self.weight)
        return out

    def query(self, drawing: np.ndarray, row: np.ndarray) -> np.ndarray:
        """A query from its unit ``drawing`` row and its ``rows`` name row,
        scaled so that its product with a stored row over that row's length
        is ``(cos + weight * cos of the names) / (1 + weight)``, or the
        drawings' cosine alone for a name without words."""
        words = row.copy()
        words[-1] = 0.0
        full = 1.0 + self.weight
        scale = np.sqrt(full) / (full if words.any() else 1.0)
        return np.concatenate([drawing, words]) * scale


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
    # Whether ``classes`` weigh the drawings' file names.
    classes_read_names: bool = False
    # The file names' words beside the metric (``without_model``).
    file_names: FileNames | None = None

    @property
    def reads_names(self) -> bool:
        """Whether rows and queries are embedded with their file names."""
        return self.classes_read_names or self.file_names is not None

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
        listed = [None] * len(X) if names is None else names
        if self.classes is None:
            if self.file_names is None:
                return z * self.weight
            return np.hstack([unit_rows(z * self.weight), self.file_names.rows(listed)])
        probs = np.asarray(self.classes(X, listed), dtype=float)
        # Centred on the uniform answer: two drawings the model puts in
        # different classes point apart (with two classes, opposite).
        centred = probs - 1.0 / max(probs.shape[1], 1)
        return np.hstack([unit_rows(centred), unit_rows(z * self.weight)])

    def with_classes(self, classes: Classes, *, names: bool = False) -> Space:
        """This metric beside the model's ``classes``; ``names``: they weigh
        the drawings' file names."""
        suffix = CLASSES_SUFFIX + (NAMES_SUFFIX if names else "")
        return replace(
            self, name=f"{self.name}{suffix}", classes=classes, classes_read_names=names
        )

    def without_classes(self) -> Space:
        if self.classes is None:
            return self
        name = self.name.removesuffix(NAMES_SUFFIX).removesuffix(CLASSES_SUFFIX)
        return replace(self, name=name, classes=None, classes_read_names=False)

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

    @classmethod
    def without_model(
        cls,
        X: np.ndarray,
        names: Sequence[str | None],
        version: str | None = None,
    ) -> Space:
        """The space similar drawings of a tenant without a model are ordered
        in: every view of the unsupervised space fitted on the rows ``X``
        beside their file ``names``."""
        return cls.fit_without_model(X, names, version)[0]

    @classmethod
    def fit_without_model(
        cls,
        X: np.ndarray,
        names: Sequence[str | None],
        version: str | None = None,
    ) -> tuple[Space, np.ndarray]:
        """``without_model`` and the rows it keeps of ``X`` (``kept``), each
        embedded once."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        every = cls.unsupervised(X, version).every_view()
        drawings = unit_rows(every.embed(X))
        fitted, name_rows = FileNames.fit(names, drawings)
        space = replace(every, name=f"{every.name}{NAMES_SUFFIX}", file_names=fitted)
        if not len(X):
            return space, space.kept(X, names)
        return space, space._over_invariant(np.hstack([drawings, name_rows]))

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
        space = self
        if self.file_names is not None:
            space = replace(
                self,
                name=self.name.removesuffix(NAMES_SUFFIX),
                file_names=None,
            )
        if not space.name.endswith(ALL_VIEWS_SUFFIX):
            return space
        return replace(
            space,
            name=space.name.removesuffix(ALL_VIEWS_SUFFIX),
            weight=_view_weights(len(space.centre), VIEW_WEIGHTS),
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
        columns = np.zeros(width, dtype=bool)
        columns[: len(self.centre)] = self.invariant().weight > 0
        return columns

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
        return self._over_invariant(self.embed(X, names))

    def _over_invariant(self, emb: np.ndarray) -> np.ndarray:
        """Embedded rows divided by the length of their invariant columns."""
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
        elif self.file_names is not None:
            width = len(self.centre)
            return self.file_names.query(emb[0, :width], emb[0, width:])
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
        q = self.query(x, near_duplicates=near_duplicates, name=name)
        # In the rows' precision: a matrix kept in float32 is not copied.
        products = kept @ q.astype(kept.dtype, copy=False)
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
