"""Calibrated, open-set answers on top of a classifier's probabilities.

Training (``training.train``) fits two things on data the estimator did not
see, and stores them with the version's metrics under ``"open_set"``:

- a temperature ``T`` for the probabilities (``p ** (1 / T)``, renormalised),
  chosen by log-loss on the calibration split;
- class prototypes in a standardised feature space: each class's mean vector
  and its median member distance (its radius). A drawing's novelty is its
  smallest distance to a prototype in units of that class's radius; above the
  threshold (a high quantile of the training parts' novelty, each row measured
  out of fold) the answer is ``unknown``.

A model trained with drawings labelled ``not_a_part`` (the default model: other
domains from ``apps.cad.synth.other``) also answers ``unknown`` when that label
is its most likely one, or holds at least ``CADML_MODEL_NOT_A_PART_SHARE`` of
the calibrated probability; it has no prototype, and the answer's label is the most
likely part (``set_aside``).

A model none of whose parts was drawn as a lone rectangle (the default model:
every generated plate has holes) answers ``unknown`` for one: four edges and
nothing else are a blank sheet's border, a tile or a symbol as often as a
plate blank, and the model has nothing to tell them by (``lone_rectangles``).

All of it is a few numpy operations per drawing on the prediction path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apps.cad.features import SLOTS, named_indices
from apps.cad.synth import NOT_A_PART
from apps.modelreg.name_words import NameWords

Z_CLIP = 10.0  # a slot far outside the training range counts, but not forever
FOLDS = 5


@dataclass(frozen=True)
class OpenSet:
    mean: np.ndarray
    scale: np.ndarray
    prototypes: np.ndarray  # (classes, width), standardised
    radius: np.ndarray  # (classes,)
    threshold: float
    temperature: float
    # Per-slot weights of a diagonal metric learned from the labels (between-
    # over within-class variance, mean 1): what similar-drawing search uses.
    metric: np.ndarray | None = None
    # Where the lone-rectangle slots sit when such drawings are unknown to
    # this model (none of its parts was one), else None.
    lone_rectangle_columns: tuple[int, ...] | None = None
    # What the words of the labelled drawings' file names say about their
    # labels (a tenant's model), else None.
    names: NameWords | None = None

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        labels: list[str],
        *,
        X_cal: np.ndarray,
        probs_cal: np.ndarray,
        y_cal: np.ndarray,
        quantile: float,
        margin: float = 1.0,
        feature_version: str | None = None,
    ) -> OpenSet:
        """Prototypes of the part labels (all but ``not_a_part``) from
        ``X``/``y``; temperature and threshold from the calibration rows (which
        ``X`` must not contain). The threshold is ``margin`` times the
        ``quantile`` of the parts' novelty. With ``feature_version``, lone
        rectangles are unknown when no part row is one."""
        y_idx = np.asarray([labels.index(str(v)) for v in y_cal])
        temperature = fit_temperature(probs_cal, y_idx)
        parts = known_labels(labels)
        X, y = X[np.isin(y, parts)], y[np.isin(y, parts)]
        cal = np.isin(y_cal, parts)
        X_cal, y_cal = X_cal[cal], y_cal[cal]
        mean, scale, z, protos, radius = _prototypes(X, y, parts)
        # The threshold is a high quantile, so it is set on every row's novelty
        # out of fold (five folds of the training and calibration rows), not
        # on the calibration split alone: a 0.99 quantile of a hundred rows
        # is its largest value and moves with every retraining.
        X_all, y_all = np.vstack([X, X_cal]), np.concatenate([y, y_cal])
        fold = np.zeros(len(y_all), dtype=int)
        for label in parts:
            rows = np.flatnonzero(y_all == label)
            fold[rows] = np.arange(len(rows)) % FOLDS
        novelty = np.empty(len(y_all))
        for k in range(FOLDS):
            rest = fold != k
            if not (fold == k).any() or any(
                not (rest & (y_all == label)).any() for label in parts
            ):
                novelty[fold == k] = np.nan
                continue
            f_mean, f_scale, _, f_protos, f_radius = _prototypes(
                X_all[rest], y_all[rest], parts
            )
            partial = cls(f_mean, f_scale, f_protos, f_radius, math.inf, 1.0)
            novelty[fold == k] = partial.novelty(X_all[fold == k])
        novelty = novelty[np.isfinite(novelty)]
        threshold = (
            margin * float(np.quantile(novelty, quantile)) if len(novelty) else math.inf
        )
        metric = _fisher(z, y, protos, parts)
        return cls(
            mean,
            scale,
            protos,
            radius,
            threshold,
            temperature,
            metric,
            _unlearned_lone_rectangles(feature_version, X_all),
        )

    def refitted(
        self,
        X: np.ndarray,
        y: np.ndarray,
        labels: list[str],
        words: Sequence[Sequence[str] | None] | None = None,
    ) -> OpenSet:
        """The same temperature, threshold and name weight; standardisation,
        prototypes, radii, metric and the names' word counts from ``X``/``y``
        and ``words`` (every labelled row, once the calibration rows have set
        the rest)."""
        names = self.names
        if names is not None and words is not None:
            names = names.refitted(words, np.asarray([labels.index(str(v)) for v in y]))
        parts = known_labels(labels)
        X, y = X[np.isin(y, parts)], y[np.isin(y, parts)]
        mean, scale, z, protos, radius = _prototypes(X, y, parts)
        columns = self.lone_rectangle_columns
        if columns is not None and lone_rectangles(X, columns).any():
            columns = None
        return replace(
            self,
            mean=mean,
            scale=scale,
            prototypes=protos,
            radius=radius,
            metric=_fisher(z, y, protos, parts),
            lone_rectangle_columns=columns,
            names=names,
        )

    def novelty(self, X: np.ndarray) -> np.ndarray:
        z = np.clip((np.atleast_2d(X) - self.mean) / self.scale, -Z_CLIP, Z_CLIP)
        d = np.linalg.norm(z[:, None, :] - self.prototypes[None, :, :], axis=2)
        return (d / self.radius[None, :]).min(axis=1)

    def unknown(self, X: np.ndarray) -> np.ndarray:
        """Per row: far from every prototype, or a drawing of a kind none of
        the model's parts was (``unlearned_shape``)."""
        return (self.novelty(X) > self.threshold) | self.unlearned_shape(X)

    def unlearned_shape(self, X: np.ndarray) -> np.ndarray:
        """Per row: a lone rectangle, when none of the model's parts was one."""
        if self.lone_rectangle_columns is None:
            return np.zeros(len(np.atleast_2d(X)), dtype=bool)
        return lone_rectangles(X, self.lone_rectangle_columns)

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        return temper(probs, self.temperature)

    def answered(self, probs: np.ndarray, words: Sequence[str] = ()) -> np.ndarray:
        """One drawing's probabilities as served: calibrated, and its file
        name's ``words`` weighed in when the model learned its labels' names."""
        calibrated = self.calibrate(probs)
        if self.names is None:
            return calibrated
        return self.names.weigh(calibrated, [words])[0]

    def with_names(
        self, probs: np.ndarray, words: Sequence[Sequence[str] | None]
    ) -> np.ndarray:
        """Calibrated ``probs`` (rows) with each row's file name weighed in
        (as they were when the model learned no names)."""
        return probs if self.names is None else self.names.weigh(probs, words)

    @property
    def reads_names(self) -> bool:
        """Whether the model's answers weigh file names: it learned its
        labels' words, and gave them a weight."""
        return self.names is not None and self.names.weighed

    def placed(
        self, probs: np.ndarray, words: Sequence[Sequence[str] | None]
    ) -> np.ndarray:
        """The class probabilities (rows) similar-drawing search places
        drawings by: the model's own, which the temperature would only
        sharpen, or, for a model that reads names, the answer's: calibrated
        (which sets how far the drawing's evidence goes against its name's),
        each row's file name weighed in."""
        if not self.reads_names:
            return probs
        return self.with_names(self.calibrate(probs), words)

    def as_json(self) -> dict[str, Any]:
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "prototypes": [
                [round(float(v), 5) for v in row] for row in self.prototypes
            ],
            "radius": [round(float(v), 6) for v in self.radius],
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "temperature": self.temperature,
            "metric": None
            if self.metric is None
            else [round(float(v), 6) for v in self.metric],
            "lone_rectangles_unknown": self.lone_rectangle_columns is not None,
            "names": None if self.names is None else self.names.as_json(),
        }

    @classmethod
    def from_json(
        cls,
        data: Any,
        *,
        width: int,
        classes: int,
        feature_version: str | None = None,
        labels: int | None = None,
    ) -> OpenSet | None:
        """The stored parameters, or None when absent or not of this model's
        shape (a version registered by hand carries none): ``classes``
        prototypes (every label but ``not_a_part``), the names' word counts
        of every one of the model's ``labels`` (``classes`` when None). Lone
        rectangles are unknown only when stored so and ``feature_version``
        has their slots."""
        if not isinstance(data, dict):
            return None
        try:
            mean = np.asarray(data["mean"], dtype=float)
            scale = np.asarray(data["scale"], dtype=float)
            protos = np.asarray(data["prototypes"], dtype=float)
            radius = np.asarray(data["radius"], dtype=float)
            threshold = data.get("threshold")
            temperature = float(data.get("temperature") or 1.0)
            metric = (
                np.asarray(data["metric"], dtype=float)
                if data.get("metric") is not None
                else None
            )
        except (KeyError, TypeError, ValueError):
            return None
        if metric is not None and metric.shape != (width,):
            metric = None
        if (
            mean.shape != (width,)
            or scale.shape != (width,)
            or protos.shape != (classes, width)
            or radius.shape != (classes,)
            or not (np.all(scale > 0) and np.all(radius > 0) and temperature > 0)
        ):
            return None
        return cls(
            mean,
            scale,
            protos,
            radius,
            math.inf if threshold is None else float(threshold),
            temperature,
            metric,
            lone_rectangle_at(feature_version, width=width)
            if data.get("lone_rectangles_unknown") is True
            else None,
            NameWords.from_json(data.get("names"), classes=labels or classes),
        )


# What a lone rectangle reads as, slot by slot (least, most): one connected
# group of strokes, closed, at right angles and symmetric about both principal
# axes; no circle, arc, text, dimension or hatch.
_LONE_RECTANGLE = {
    "topo_log_components": (math.log(2) - 1e-4, math.log(2) + 1e-4),
    "topo_free_end_share": (0.0, 0.0),
    "topo_closed_length_share": (0.999, math.inf),
    "log_circles": (0.0, 0.0),
    "log_arcs": (0.0, 0.0),
    "log_texts": (0.0, 0.0),
    "log_dimensions": (0.0, 0.0),
    "log_hatches": (0.0, 0.0),
    "line_orthogonal_frac": (0.999, math.inf),
    "mirror_sym_major": (0.99, math.inf),
    "mirror_sym_minor": (0.99, math.inf),
}
_LEAST = np.asarray([lo for lo, _ in _LONE_RECTANGLE.values()])
_MOST = np.asarray([hi for _, hi in _LONE_RECTANGLE.values()])


def lone_rectangle_at(
    feature_version: str | None, width: int | None = None
) -> tuple[int, ...] | None:
    """Where the lone-rectangle slots sit in a ``feature_version`` vector, or
    None when it lacks one of them (no topology before ``dxf-6``/``dxf-3t``)
    or is not ``width`` slots wide."""
    version = feature_version or ""
    if width is not None and width != len(SLOTS.get(version, ())):
        return None
    return named_indices(version, tuple(_LONE_RECTANGLE))


def lone_rectangles(X: np.ndarray, columns: tuple[int, ...]) -> np.ndarray:
    """Per row of ``X``: is the drawing four edges of a rectangle and nothing
    else (``columns`` from ``lone_rectangle_at``)."""
    v = np.atleast_2d(X)[:, list(columns)]
    return np.asarray(((v >= _LEAST) & (v <= _MOST)).all(axis=1))


def _unlearned_lone_rectangles(
    feature_version: str | None, X_parts: np.ndarray
) -> tuple[int, ...] | None:
    """The lone-rectangle columns when none of the parts' rows is one."""
    columns = lone_rectangle_at(feature_version, width=X_parts.shape[1])
    if columns is None or lone_rectangles(X_parts, columns).any():
        return None
    return columns


def _prototypes(
    X: np.ndarray, y: np.ndarray, labels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardisation, standardised rows, class means and radii."""
    mean = X.mean(axis=0)
    scale = np.maximum(X.std(axis=0), 1e-3)
    z = np.clip((X - mean) / scale, -Z_CLIP, Z_CLIP)
    protos = np.stack([z[y == label].mean(axis=0) for label in labels])
    radius = np.asarray(
        [
            max(
                float(np.median(np.linalg.norm(z[y == label] - protos[i], axis=1))),
                1e-3,
            )
            for i, label in enumerate(labels)
        ]
    )
    return mean, scale, z, protos, radius


def _fisher(
    z: np.ndarray, y: np.ndarray, protos: np.ndarray, parts: list[str]
) -> np.ndarray:
    """Per-slot between- over within-class variance of the standardised rows,
    mean 1 (the diagonal metric)."""
    within = np.mean([z[y == label].var(axis=0) for label in parts], axis=0)
    fisher = protos.var(axis=0) / (within + 0.05)
    return fisher / fisher.mean() if fisher.mean() > 0 else np.ones_like(fisher)


def known_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """The labels that have prototypes: every label but ``not_a_part``."""
    return [label for label in labels if label != NOT_A_PART]


def set_aside(
    probs: np.ndarray, labels: list[str] | tuple[str, ...], share: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` (one row or many) with ``not_a_part``'s share set to 0 (not
    renormalised: the parts keep their own probabilities), and for each row
    whether the drawing is no part the model knows: ``not_a_part`` is its most
    likely label, or holds at least ``share`` of the probability."""
    if NOT_A_PART not in labels:
        return probs, np.zeros(np.shape(probs)[:-1], dtype=bool)
    i = list(labels).index(NOT_A_PART)
    probs = np.array(probs, dtype=float, copy=True)
    outside = (np.argmax(probs, axis=-1) == i) | (probs[..., i] >= share)
    probs[..., i] = 0.0
    return probs, outside


# How much likelier a drawing whose name or title names a family is to be of
# that family than of any other part (``NAME_LIKELIHOOD_RATIO``), and than
# of another domain (``NAME_PART_RATIO``): estimated on the dev and dev2 real
# parts (19 of 39 named for their family, 1 for another) and the half of the
# NLCS symbols no set measures (26 of 1,113 named for a family)
# (docs/model-quality.md#the-drawings-own-name-issue-22).
NAME_LIKELIHOOD_RATIO = 100.0
NAME_PART_RATIO = 20.0


def with_name(
    probs: np.ndarray,
    labels: list[str] | tuple[str, ...],
    family: str | None | Sequence[str | None],
) -> np.ndarray:
    """Calibrated ``probs`` updated by the drawing's name naming ``family``
    (one row and its family, or many rows and one family or None each), by
    Bayes' rule: the name is ``NAME_LIKELIHOOD_RATIO`` times likelier for
    that family than for another part, and ``NAME_PART_RATIO`` times likelier
    than for a drawing of another domain. So a screw the drawing alone leaves
    half a part is answered a screw when it is called one, while a street map
    saved as ``gear.dxf``, which no part resembles, stays no part. A row is as
    it was when its name names no family the model knows."""
    p = np.array(probs, dtype=float, copy=True)
    names = np.asarray(labels)
    families = [family] if family is None or isinstance(family, str) else family
    weights = np.ones((len(families), len(names)))
    for row, named in zip(weights, families, strict=True):
        if named in labels:
            row[names == named] = NAME_LIKELIHOOD_RATIO
            row[names == NOT_A_PART] = NAME_LIKELIHOOD_RATIO / NAME_PART_RATIO
    p = p * (weights if p.ndim > 1 else weights[0])
    total = p.sum(axis=-1, keepdims=True)
    return p / np.where(total > 0, total, 1.0)


def reads_named(
    family: str,
    labels: Sequence[str],
    words: Sequence[str],
    names: NameWords | None,
    *,
    tenant_model: bool,
    on_default_base: bool,
) -> bool:
    """Whether the default reading of a drawing's name (the ``family`` it
    names) counts for a model. A tenant's own model answers from what the
    tenant taught it: its labels and corrections are the tenant's word, even
    where a drawing's title says otherwise. On the default base the default
    families are the default model's, and so is its reading of their names,
    unless the tenant taught the name's ``words`` under other labels
    (``names``: what the model learned of its labels' names)."""
    if family not in labels:
        return False
    if not tenant_model:
        return True
    if not on_default_base:
        return False
    return names is None or not names.contradicts(words, list(labels).index(family))


def readings_that_count(
    families: Sequence[str | None],
    labels: Sequence[str],
    words: Sequence[Sequence[str] | None] | None,
    names: NameWords | None,
    *,
    tenant_model: bool,
    on_default_base: bool,
) -> list[str | None]:
    """Per row, the family its name names (``families``) where that reading
    counts for the model (``reads_named``), else None."""
    rows = words if words is not None else [None] * len(families)
    return [
        family
        if family is not None
        and reads_named(
            family,
            labels,
            w or (),
            names,
            tenant_model=tenant_model,
            on_default_base=on_default_base,
        )
        else None
        for family, w in zip(families, rows, strict=True)
    ]


def weighed(
    open_set: OpenSet | None,
    probs: np.ndarray,
    labels: Sequence[str],
    words: Sequence[Sequence[str] | None] | None,
    families: Sequence[str | None] | None,
) -> np.ndarray:
    """Rows of a model's probabilities as they are answered, before
    ``not_a_part`` is set aside (``set_aside``): calibrated, each row's file
    name ``words`` weighed in when the model learned its labels' names, and
    the family its name or title names (``families``: the readings that
    count, ``reads_named``; None for none)."""
    if open_set is not None:
        probs = open_set.calibrate(probs)
        if words is not None:
            probs = open_set.with_names(probs, words)
    return with_name(probs, list(labels), families)


def part_order(probs: np.ndarray, labels: list[str] | tuple[str, ...]) -> np.ndarray:
    """Label indexes, most likely first, without ``not_a_part``."""
    order = np.argsort(-np.asarray(probs))
    return np.asarray([i for i in order if labels[int(i)] != NOT_A_PART], dtype=int)


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0) ** (1.0 / temperature)
    return p / p.sum(axis=-1, keepdims=True)


def fit_temperature(probs: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature with the smallest log-loss on held-out rows."""
    if len(y_idx) == 0:
        return 1.0
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.2), math.log(5.0), 41)):
        p = temper(probs, float(t))
        loss = float(-np.log(np.clip(p[np.arange(len(y_idx)), y_idx], 1e-12, 1)).mean())
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return round(best_t, 4)
