"""An evaluation a tenant can trust, for every version trained from labels.

Rows are de-duplicated by content before any split (the same drawing twice,
or two files with the same vector, would otherwise sit on both sides of it).
The report holds stratified k-fold cross-validated macro-F1 (mean and
standard deviation) of the chosen estimator, the held-out figures of the
fitted version (accuracy, macro-F1, per class, confusion matrix), expected
calibration error with a reliability diagram, the abstention rate at the
review threshold, the label set, the snapshot hash and the training time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from apps.modelreg.training import confusion_svg, expected_calibration_error


@dataclass
class Deduplicated:
    X: np.ndarray
    y: np.ndarray
    keys: list[str]
    dropped_duplicates: int
    dropped_conflicts: int
    # Each set of labels whose drawings read the same (sorted), with the keys
    # of those drawings; the set with the most drawings first.
    conflicts: list[tuple[tuple[str, ...], list[str]]] = field(default_factory=list)


# Entries a list of the report holds at most (the drawings named for a set of
# conflicting labels, the mistakes made most often): enough to look at.
LISTED = 5


def deduplicate(X: np.ndarray, y: np.ndarray, keys: list[str]) -> Deduplicated:
    """One row per content: ``keys`` (the drawings' sha256) must be unique and
    rows with the same vector are one drawing in two files. A vector that
    carries two different labels is dropped altogether: no model can learn it
    and it would count against the evaluation on both sides of a split."""
    seen_keys: set[str] = set()
    by_vector: dict[bytes, list[int]] = {}
    for i, key in enumerate(keys):
        if key in seen_keys:
            continue
        seen_keys.add(key)
        digest = hashlib.sha256(np.round(X[i], 6).astype(np.float64).tobytes()).digest()
        by_vector.setdefault(digest, []).append(i)
    keep: list[int] = []
    duplicates = 0
    clashes: dict[tuple[str, ...], list[str]] = {}
    for rows in by_vector.values():
        labels = {str(y[i]) for i in rows}
        if len(labels) > 1:
            clashes.setdefault(tuple(sorted(labels)), []).extend(keys[i] for i in rows)
            continue
        keep.append(rows[0])
        duplicates += len(rows) - 1
    keep.sort()
    duplicates += len(keys) - len(seen_keys)
    return Deduplicated(
        X=X[keep],
        y=y[keep],
        keys=[keys[i] for i in keep],
        dropped_duplicates=duplicates,
        dropped_conflicts=sum(len(k) for k in clashes.values()),
        conflicts=sorted(clashes.items(), key=lambda item: (-len(item[1]), item[0])),
    )


def snapshot_hash(rows: list[tuple[str, str]], feature_version: str) -> str:
    """sha256 over the sorted (drawing sha256, label) pairs and the vector kind:
    the same labelled set gives the same hash."""
    h = hashlib.sha256(feature_version.encode())
    for sha, label in sorted(rows):
        h.update(f"\n{sha}\t{label}".encode())
    return h.hexdigest()


def cross_validate(
    make_estimator: Callable[[], Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
    weigh: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Stratified k-fold macro-F1 (k at most the smallest class's size);
    ``weigh(probs, train_idx, test_idx)``: the fold's answers as served
    (``training.names_in_folds``), else the estimator's own."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    smallest = min(int((y == label).sum()) for label in set(y.tolist()))
    k = max(2, min(folds, smallest))
    scores: list[float] = []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(X, y):
        if should_stop is not None and should_stop():
            raise InterruptedError
        est = make_estimator()
        est.fit(X[train_idx], y[train_idx])
        if weigh is None:
            pred = est.predict(X[test_idx])
        else:
            probs = weigh(est.predict_proba(X[test_idx]), train_idx, test_idx)
            pred = np.asarray(est.classes_)[probs.argmax(axis=1)]
        scores.append(float(f1_score(y[test_idx], pred, average="macro")))
    return {
        "folds": k,
        "macro_f1_mean": round(float(np.mean(scores)), 4),
        "macro_f1_std": round(float(np.std(scores)), 4),
        "macro_f1_folds": [round(s, 4) for s in scores],
    }


def reliability(
    probs: np.ndarray, y_idx: np.ndarray, bins: int = 10
) -> list[dict[str, Any]]:
    """Confidence bins: how sure the model said it was, how often it was right."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_idx
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        out.append(
            {
                "from": round(float(lo), 2),
                "to": round(float(hi), 2),
                "count": int(mask.sum()),
                "confidence": round(float(conf[mask].mean()), 4)
                if mask.any()
                else None,
                "accuracy": round(float(correct[mask].mean()), 4)
                if mask.any()
                else None,
            }
        )
    return out


def calibration_svg(bins: list[dict[str, Any]], *, ece: float) -> str:
    """A reliability diagram: accuracy per confidence bin against the diagonal."""
    size, pad = 260, 36
    plot = size - 2 * pad

    def px(v: float) -> float:
        return round(pad + v * plot, 1)

    def py(v: float) -> float:
        return round(size - pad - v * plot, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{pad}" y="{pad}" width="{plot}" height="{plot}" fill="white" '
        'stroke="#999"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" '
        'stroke="#bbb" stroke-dasharray="4 3"/>',
        f'<text x="{pad}" y="{pad - 8}">reliability (ECE {ece:.3f})</text>',
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">confidence</text>',
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
        'text-anchor="middle">accuracy</text>',
    ]
    width = plot / max(len(bins), 1)
    for i, b in enumerate(bins):
        if not b["count"]:
            continue
        h = b["accuracy"] * plot
        parts.append(
            f'<rect x="{round(pad + i * width + 1, 1)}" y="{round(size - pad - h, 1)}" '
            f'width="{round(width - 2, 1)}" height="{round(h, 1)}" fill="#6b8fd6">'
            f"<title>{escape(str(b['count']))} drawings, confidence "
            f"{b['confidence']}, accuracy {b['accuracy']}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def report(
    *,
    probs: np.ndarray,
    y_test: np.ndarray,
    labels: list[str],
    held_out: dict[str, Any],
    cv: dict[str, Any],
    threshold: float,
    snapshot: str,
    dedup: Deduplicated,
    training_s: float,
    class_counts: dict[str, int],
    drawing_ids: Mapping[str, int],
) -> dict[str, Any]:
    """The evaluation stored on the version (the SVGs under ``svg``);
    ``probs``: the held-out rows' probabilities as served (calibrated, file
    names weighed in), so the calibration and abstention shown are those of
    the answers users get; ``drawing_ids``: the id of the drawing behind each
    key of ``dedup``."""
    probs = np.asarray(probs, dtype=float)
    y_idx = np.asarray([labels.index(str(v)) for v in y_test])
    ece = expected_calibration_error(probs, y_idx)
    bins = reliability(probs, y_idx)
    return {
        "cross_validation": cv,
        "held_out": {
            "accuracy": held_out["accuracy"],
            "macro_f1": held_out["macro_f1"],
            "rows": int(len(y_test)),
        },
        "per_class": held_out["per_class"],
        "confusion_matrix": {
            "labels": labels,
            "matrix": held_out["confusion_matrix"],
        },
        "most_confused": most_confused(labels, held_out["confusion_matrix"]),
        "calibration": {"ece": round(ece, 4), "bins": bins},
        "abstention": {
            "threshold": threshold,
            "rate": round(float((probs.max(axis=1) < threshold).mean()), 4),
        },
        "labels": labels,
        "class_counts": class_counts,
        "snapshot_sha256": snapshot,
        "deduplication": {
            "rows": int(len(dedup.y)),
            "dropped_duplicates": dedup.dropped_duplicates,
            "dropped_conflicting_labels": dedup.dropped_conflicts,
            # What the team can act on: relabel, or merge the labels.
            "conflicting_labels": [
                {
                    "labels": list(names),
                    "drawings": len(keys),
                    "examples": sorted(drawing_ids[k] for k in keys)[:LISTED],
                }
                for names, keys in dedup.conflicts
            ],
        },
        "training_s": round(training_s, 3),
        # How much the file names' words count, and the held-out macro-F1
        # of the drawings alone (None: the model learned no names).
        "names": held_out.get("names"),
        "estimator": held_out.get("estimator"),
        # Why that estimator: each candidate's mean macro-F1 over the folds,
        # and the lead another needs over the preferred one.
        "selection": {
            "macro_f1": held_out.get("selection_macro_f1") or {},
            **(held_out.get("selection_margin") or {}),
        },
        "class_weight": held_out.get("class_weight"),
        "svg": {
            "confusion": confusion_svg(labels, held_out["confusion_matrix"]),
            "calibration": calibration_svg(bins, ece=ece),
        },
    }


def most_confused(
    labels: list[str], matrix: list[list[int]], top: int = LISTED
) -> list[dict[str, Any]]:
    """The held-out mistakes made most often, as (label, the label answered,
    drawings): with forty families the matrix is hard to read, and these are
    the families to look at (drawn alike, or filed by something not drawn)."""
    m = np.asarray(matrix, dtype=np.int64).reshape(len(labels), len(labels))
    truth, answered = np.nonzero(m - np.diag(np.diag(m)))
    order = sorted(
        zip(truth.tolist(), answered.tolist(), strict=True), key=lambda ij: -m[ij]
    )
    return [
        {"label": labels[i], "answered": labels[j], "drawings": int(m[i, j])}
        for i, j in order[:top]
    ]


def taught_held_out(
    result: Any, taught_X: np.ndarray, threshold: float
) -> dict[str, Any]:
    """On the default base the held-out split is mostly generated drawings:
    the figures of the tenant's own drawings in it (those of ``taught_X``),
    answered as served (``result.probs_test`` and ``unknown_test``)."""
    taught = {row.tobytes() for row in np.asarray(taught_X, dtype=np.float32)}
    X_test = np.asarray(result.X_test, dtype=np.float32)
    mine = np.asarray([row.tobytes() in taught for row in X_test], dtype=bool)
    if not mine.any():
        return {"rows": 0, "accuracy": None, "right_and_confident": None}
    probs = np.asarray(result.probs_test)[mine]
    unknown = np.asarray(result.unknown_test, dtype=bool)[mine]
    right = np.asarray(result.labels)[probs.argmax(axis=1)] == result.y_test[mine]
    confident = probs.max(axis=1) >= threshold
    return {
        "rows": int(mine.sum()),
        "accuracy": round(float(right.mean()), 4),
        "right_and_confident": round(float((right & confident & ~unknown).mean()), 4),
    }


def public(evaluation: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """The evaluation as the API shows it: the pictures as links."""
    if not evaluation:
        return {}
    out = {k: v for k, v in evaluation.items() if k != "svg"}
    out["confusion_svg"] = f"{base_url}/confusion.svg"
    out["calibration_svg"] = f"{base_url}/calibration.svg"
    return out


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % interval of a proportion (sound for small counts too)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)
