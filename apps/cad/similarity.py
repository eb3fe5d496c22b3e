"""The spaces in which similar drawings are searched.

- ``unsupervised`` (``dxf-2`` to ``dxf-7``): every slot standardised over the
  tenant's own drawings, then each view (geometry, picture, words, outline,
  names, hatch) scaled to a fixed total weight whatever its number of slots,
  the geometry four times the others, the size, topology and layout views not
  at all:
  title blocks and borders move the picture, and the words change with the
  drafter's language (weights measured in ``docs/model-quality.md``).
- ``learned``: the standardisation the tenant's model was trained with, each
  slot weighted by how well it separated the tenant's labels (between-class
  over within-class variance, a diagonal linear metric). Used when the tenant
  has a trained model that serves its drawings' feature version; near
  duplicates are found in it.
- ``learned`` with the model's classes (``with_classes``): the model's class
  probabilities (less the uniform answer) beside the learned metric, each
  half of unit length, so that drawings the model puts in the query's class
  come first and the metric orders them (the tenant's similar drawings;
  docs/model-quality.md).

Neighbours are ranked by cosine similarity in the chosen space.
"""

from __future__ import annotations

from collections.abc import Callable
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
    # Unsupervised search stays scale-invariant: a copy redrawn at another
    # scale is still a near duplicate. A tenant's learned metric weighs size
    # by how well it separates the tenant's labels.
    "size": 0.0,
    # Left out so that unsupervised neighbours and the near-duplicate
    # threshold stay those measured on dxf-5; a learned metric weighs it.
    "topology": 0.0,
    # The same, and a turned copy stays a near duplicate.
    "layout": 0.0,
}


@dataclass(frozen=True)
class Space:
    name: str
    centre: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    # Raw vectors -> the model's class probabilities (rows); None: the metric
    # alone.
    classes: Callable[[np.ndarray], np.ndarray] | None = None
    # Which slots of the raw vectors the space reads (a model of dxf-3t reads
    # a selection of dxf-6's); None: their first ones.
    columns: tuple[int, ...] | None = None

    def embed(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        read = (
            X[:, : len(self.centre)]
            if self.columns is None
            else np.ascontiguousarray(X[:, np.asarray(self.columns, dtype=int)])
        )
        z = np.clip((read - self.centre) / self.scale, -Z_CLIP, Z_CLIP)
        if self.classes is None:
            return z * self.weight
        probs = np.asarray(self.classes(X), dtype=float)
        # Centred on the uniform answer: two drawings the model puts in
        # different classes point apart (with two classes, opposite).
        centred = probs - 1.0 / max(probs.shape[1], 1)
        return np.hstack([unit_rows(centred), unit_rows(z * self.weight)])

    def with_classes(self, classes: Callable[[np.ndarray], np.ndarray]) -> Space:
        return replace(self, name=f"{self.name}+classes", classes=classes)

    def without_classes(self) -> Space:
        if self.classes is None:
            return self
        return replace(self, name=self.name.removesuffix("+classes"), classes=None)

    @classmethod
    def unsupervised(cls, X: np.ndarray) -> Space:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        width = X.shape[1]
        if len(X) == 0:
            centre, spread = np.zeros(width), np.ones(width)
        else:
            centre, spread = X.mean(axis=0), X.std(axis=0)
        scale = np.maximum(spread, 1e-3)
        weight = np.ones(width)
        views = features.VIEWS.get(_version(width))
        if views:
            for view, (lo, hi) in views.items():
                weight[lo:hi] = VIEW_WEIGHTS[view] / np.sqrt(hi - lo)
        else:
            weight /= np.sqrt(width)
        return cls(f"{_version(width)}-unsupervised", centre, scale, weight)

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


def _version(width: int) -> str:
    for version, slots in features.SLOTS.items():
        if len(slots) == width:
            return version
    return "features"
