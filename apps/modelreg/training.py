"""Train a part classifier on feature vectors and export it to ONNX.

Data: ``DIR/<label>/*`` (labels from folder names only) or the CAD core's
synthetic generator. Files are de-duplicated by sha256 before a stratified
split. A few estimators are compared by macro-F1 on a validation split of the
training data; the winner is refitted on all training rows, exported to
ONNX (probabilities, no ZipMap; ``forest_onnx`` for forests, else skl2onnx)
and checked to predict exactly as
scikit-learn does on the test split before anything is registered.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from apps.cad import titleblock
from apps.cad.part_names import drawing_name, name_words
from cadml.lib.errors import InvalidInput

# Synthetic drawings per class for the default model (its generator draws each
# family in several conventions: sheets, one-view cut files, tooth styles; with
# that many conventions the forest needs the rows: docs/model-quality.md).
DEFAULT_PER_CLASS = 80
# Generated solids per class for the default 3D model (one solid is a few
# tenths of a second to build and analyse: the set takes under a minute).
DEFAULT_PER_CLASS_3D = 40
# Generated drawings of other domains per part class, labelled ``not_a_part``
# (apps.cad.synth.other): what the default model learns a part is not.
NOT_A_PART_PER_CLASS = 3
# What a training learns beside the drawings it is given: nothing, or the
# default model's generated drawings (its families and what is not a part).
BASES = ("none", "default")
# A model that learned ``not_a_part`` answers other domains with it; its
# novelty threshold is then this many times the parts' own 0.99 quantile, so
# that a real part in another tool's style is not ``unknown`` for its style.
NOVELTY_MARGIN = 1.5
# Labelled sets (a tenant's, a labelled folder; ``labelled=True``) weigh each
# class by the inverse of its count: families come in very different sizes,
# and each counts the same; and their extra trees weigh half the slots at each
# split, not the square root of them (both measured in docs/model-quality.md).
LABELLED_CLASS_WEIGHT = "balanced"
LABELLED_EXTRA_TREES_FEATURES = 0.5
# On every real labelled library measured, extra trees answered new drawings
# better than the random forest, while the selection folds' means of the two
# differ by noise when they are close; so for labelled sets a candidate must
# beat extra trees by more than this macro-F1 to be chosen over it.
LABELLED_PREFERRED = "extra_trees"
LABELLED_SELECTION_MARGIN = 0.01
# A forest whose model file would pass ``CADML_MODEL_MAX_MB`` keeps only its
# first trees, as many as fit (the file grows with the leaves, so with the
# rows trained on), but never fewer than this.
MIN_TREES = 25
# Probabilities closer than this are a tie between ONNX (float32) and
# scikit-learn (float64).
ONNX_TIE = 1e-5
# Real drawings the default model learns from beside the generated ones:
# generated parts beside real drawings of other domains alone teach "drawn by
# a person" as "not a part"; real parts beside them undo it
# (docs/model-quality.md). Each file's source and licence: SOURCES.tsv there.
SHIPPED_DRAWINGS = Path(__file__).with_name("shipped") / "drawings.tar.xz"
_SHIPPED_READ: dict[tuple[str, int, int, str], tuple[np.ndarray, np.ndarray]] = {}
SUFFIXES = {".dxf", ".stl", ".obj", ".ply", ".step", ".stp", ".igs", ".iges"}
Progress = Callable[[int, int, str], None]


@dataclass
class Dataset:
    X: np.ndarray
    y: np.ndarray
    feature_version: str
    summary: dict[str, Any] = field(default_factory=dict)
    # Each row's file-name words (``part_names.name_words``), when the rows
    # are drawings people named (None for a row nobody named: a generated
    # one); the model learns them.
    words: list[tuple[str, ...] | None] | None = None


def terminal_progress(stream: Any = sys.stderr) -> Progress:
    def show(done: int, total: int, stage: str) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        stream.write(
            f"\r{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        )
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def _quiet() -> None:
    import logging

    # ezdxf logs every document it creates at INFO: thousands of lines.
    logging.getLogger("ezdxf").setLevel(logging.WARNING)


def _extract(item: tuple[str, bytes]) -> tuple[str, list[float]] | tuple[str, str]:
    version, vec, _ = _extract_named(item)
    return version, vec


def _extract_named(item: tuple[str, bytes]) -> tuple[str, Any, str]:
    """``_extract``, and the drawing's name as its words are read: the file
    name and the part name its title block gives (``drawing_name``)."""
    from apps.cad.pipeline import analyze_bytes

    _quiet()
    name, content = item
    try:
        result = analyze_bytes(name, content, preview=False)
    except Exception as exc:  # noqa: BLE001 - reported as a skipped file
        return "error", f"{name}: {type(exc).__name__}: {exc}"[:300], name
    title = titleblock.part_name(result.get("title_block"))
    return result["feature_version"], result["features"], drawing_name(name, title)


def _synth_one(args: tuple[str, int, bool]) -> tuple[str, bytes]:
    from apps.cad.synth import NOT_A_PART, generate_other, generate_part

    label, seed, shift = args
    if label == NOT_A_PART:
        return label, generate_other(random.Random(seed))
    return label, generate_part(
        label, random.Random(seed), style_shift=shift, conventions=True
    )


def _synth_extract(args: tuple[str, int, bool]) -> tuple[str, str, Any]:
    _quiet()
    label, content = _synth_one(args)
    version, vec = _extract((f"{label}.dxf", content))
    return label, version, vec


def _solid_extract(args: tuple[str, int, bool]) -> tuple[str, str, Any]:
    from apps.cad.synth import NOT_A_PART
    from apps.cad.synth.other3d import generate_other_solid
    from apps.cad.synth.parts3d import generate_solid

    label, seed, _ = args
    if label == NOT_A_PART:
        name, content = generate_other_solid(random.Random(seed))
    else:
        name, content = generate_solid(label, random.Random(seed))
    version, vec = _extract((name, content))
    return label, version, vec


def _pool_map(
    fn: Callable, items: list, workers: int, progress: Progress | None, stage: str
):
    out = []
    if workers <= 1:
        for i, item in enumerate(items, 1):
            out.append(fn(item))
            if progress and (i % 20 == 0 or i == len(items)):
                progress(i, len(items), stage)
        return out
    # Forked from a clean server process, not from this one: a caller with
    # threads (a web or gRPC server, a test worker) can hold locks at fork
    # time that a child then waits on or crashes in (seen with OpenCascade).
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for i, res in enumerate(pool.map(fn, items, chunksize=8), 1):
            out.append(res)
            if progress and (i % 20 == 0 or i == len(items)):
                progress(i, len(items), stage)
    return out


def synthetic_dataset(
    *,
    per_class: int,
    seed: int = 0,
    style_shift: bool = False,
    workers: int = 2,
    progress: Progress | None = None,
    solids: bool = False,
) -> Dataset:
    """Generated drawings (DXF) with ``NOT_A_PART_PER_CLASS`` times
    ``per_class`` drawings of other domains labelled ``not_a_part``, or with
    ``solids`` generated 3D parts of the same families and models of other
    domains (``apps.cad.synth.other3d``) in the same share (STEP and IGES,
    ``apps.cad.synth.parts3d``)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from apps.cad.features import downgrade
    from apps.cad.synth import NOT_A_PART, PART_CLASSES

    # One seed per part, derived from (seed, class, index): stable and
    # independent of the worker that draws it.
    items = [
        (label, seed * 1_000_003 + ci * 10_007 + i, style_shift)
        for ci, label in enumerate(PART_CLASSES)
        for i in range(per_class)
    ]
    ci = len(PART_CLASSES)
    items += [
        (NOT_A_PART, seed * 1_000_003 + ci * 10_007 + i, style_shift)
        for i in range(NOT_A_PART_PER_CLASS * per_class)
    ]
    results = _pool_map(
        _solid_extract if solids else _synth_extract,
        items,
        workers,
        progress,
        "solids" if solids else "synthetic",
    )
    rows = [(label, vec) for label, version, vec in results if version != "error"]
    versions = {version for _, version, _ in results if version != "error"}
    if solids:
        version = versions.pop() if versions else settings.CADML_BREP_FEATURE_VERSION
    else:
        version = settings.CADML_SYNTHETIC_FEATURE_VERSION
        source = versions.pop() if versions else version
        read = [
            (label, downgrade(v, source=source, target=version)) for label, v in rows
        ]
        rows = [(label, v) for label, v in read if v is not None]
        if len(rows) < len(read):
            raise ImproperlyConfigured(
                f"CADML_SYNTHETIC_FEATURE_VERSION is {version}, which {source} "
                "vectors cannot be read as."
            )
    return Dataset(
        X=np.asarray([v for _, v in rows], dtype=np.float32),
        y=np.asarray([label for label, _ in rows]),
        feature_version=version,
        summary={
            "source": "synthetic solids" if solids else "synthetic",
            "per_class": per_class,
            "seed": seed,
            **({} if solids else {"style_shift": style_shift}),
            "rows": len(rows),
            "skipped": len(results) - len(rows),
        },
    )


def shipped_dataset(
    *,
    path: Path | None = None,
    workers: int = 2,
    progress: Progress | None = None,
) -> Dataset:
    """The real drawings shipped for the default model (``SHIPPED_DRAWINGS``:
    ``<label>/<file>.dxf`` members, other domains under ``not_a_part``), read
    as ``CADML_SYNTHETIC_FEATURE_VERSION``; a file that cannot be is left
    out. Read once a process: every base drawn reads them."""
    from django.conf import settings

    path = path or SHIPPED_DRAWINGS
    version = settings.CADML_SYNTHETIC_FEATURE_VERSION
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, version)
    if key not in _SHIPPED_READ:
        _SHIPPED_READ[key] = _read_shipped(path, version, workers, progress)
    X, y = _SHIPPED_READ[key]
    return Dataset(
        X=X.copy(),
        y=y.copy(),
        feature_version=version,
        summary={"source": "shipped real drawings", "rows": len(y)},
    )


def _read_shipped(
    path: Path, version: str, workers: int, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    import tarfile

    from apps.cad.features import downgrade

    with tarfile.open(path) as tar:
        items = []
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            stream = tar.extractfile(member) if member.isfile() else None
            if stream is not None and member.name.lower().endswith(".dxf"):
                items.append((member.name, stream.read()))
    results = _pool_map(_extract, items, workers, progress, "shipped drawings")
    rows = []
    for (name, _), (source, vec) in zip(items, results, strict=True):
        if source != "error":
            read = downgrade(list(vec), source=source, target=version)
            if read is not None:
                rows.append((name.split("/")[0], read))
    X = np.asarray([v for _, v in rows], dtype=np.float32).reshape(len(rows), -1)
    return X, np.asarray([label for label, _ in rows])


def default_dataset(
    *,
    per_class: int,
    seed: int = 0,
    workers: int = 2,
    progress: Progress | None = None,
) -> Dataset:
    """What the default model learns from: the generated drawings
    (``synthetic_dataset``) and, with ``CADML_DEFAULT_SHIPPED_DRAWINGS``, the
    real ones shipped beside the generator (``shipped_dataset``)."""
    from django.conf import settings

    data = synthetic_dataset(
        per_class=per_class, seed=seed, workers=workers, progress=progress
    )
    if not settings.CADML_DEFAULT_SHIPPED_DRAWINGS:
        return data
    real = shipped_dataset(workers=workers, progress=progress)
    return Dataset(
        X=np.vstack([data.X, real.X.astype(data.X.dtype)]),
        y=np.concatenate([data.y, real.y]),
        feature_version=data.feature_version,
        summary={**data.summary, "shipped_rows": int(len(real.y))},
    )


def generated_base(
    *,
    per_class: int | None = None,
    seed: int = 0,
    workers: int = 2,
    progress: Progress | None = None,
) -> Dataset:
    """The default model's set (``default_dataset`` as
    ``ensure_default_model`` draws it; ``per_class`` None:
    ``CADML_TRAIN_BASE_PER_CLASS``, else the default model's), kept in
    ``CADML_GENERATED_SET_DIR`` and read back while the code that draws and
    reads it is unchanged (its files' digest names the file): drawing it takes
    minutes, reading it milliseconds."""
    from django.conf import settings

    per_class = (
        per_class or int(settings.CADML_TRAIN_BASE_PER_CLASS) or DEFAULT_PER_CLASS
    )
    path = generated_base_path(per_class=per_class, seed=seed)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Dataset(
                    X=z["X"],
                    y=z["y"],
                    feature_version=str(z["feature_version"]),
                    summary=json.loads(str(z["summary"])),
                )
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn write: draw it again
    data = default_dataset(
        per_class=per_class, seed=seed, workers=workers, progress=progress
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then renamed: a reader never sees half.
    partial = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez(
        partial,
        X=data.X,
        y=data.y,
        feature_version=np.asarray(data.feature_version),
        summary=np.asarray(json.dumps(data.summary)),
    )
    os.replace(partial, path)
    return data


def generated_base_path(*, per_class: int, seed: int) -> Path:
    """Where ``generated_base`` keeps that set: in ``CADML_GENERATED_SET_DIR``,
    named by a digest of what draws and reads it (the CAD app, this module,
    the pinned requirements, the shipped drawings when they are learned) with
    ``per_class``, ``seed`` and the version."""
    from django.conf import settings

    root = Path(__file__).resolve().parent.parent
    shipped = bool(settings.CADML_DEFAULT_SHIPPED_DRAWINGS)
    version = settings.CADML_SYNTHETIC_FEATURE_VERSION
    digest = hashlib.sha256(f"{per_class} {seed} {version} {shipped}".encode())
    sources = [*root.glob("cad/**/*.py"), Path(__file__).with_name("training.py")]
    if shipped:
        sources.append(SHIPPED_DRAWINGS)
    for source in sorted([*sources, *root.parent.glob("requirements/*.txt")]):
        digest.update(source.read_bytes())
    folder = Path(settings.CADML_GENERATED_SET_DIR)
    return folder / f"generated-{digest.hexdigest()[:20]}.npz"


def on_base(base: Dataset, taught: Dataset) -> Dataset:
    """``taught`` (a tenant's labelled drawings) beside the generated ``base``:
    every family the default model knows, as it learns them, plus what the
    tenant taught, under the tenant's labels; ``taught`` is read as the
    base's feature version (``downgrade``), rows that cannot be are left out."""
    from apps.cad.features import downgrade

    names = taught.words or [None] * len(taught.y)
    rows = [
        (
            label,
            downgrade(
                list(v), source=taught.feature_version, target=base.feature_version
            ),
            name,
        )
        for label, v, name in zip(taught.y, taught.X, names, strict=True)
    ]
    rows = [(label, v, name) for label, v, name in rows if v is not None]
    if not rows:
        raise InvalidInput(
            f"None of the labelled drawings read as {base.feature_version}, the "
            "default model's feature version."
        )
    X = np.vstack([base.X, np.asarray([v for _, v, _ in rows], dtype=base.X.dtype)])
    y = np.concatenate([base.y, np.asarray([label for label, _, _ in rows])])
    # The generated rows have no names: the model learns the taught
    # drawings' words, and of the families taught none, that their names
    # are unknown (``NameWords``).
    words = [None] * len(base.y) + [w for _, _, w in rows]
    return Dataset(
        X=X,
        y=y,
        feature_version=base.feature_version,
        summary={
            **taught.summary,
            "base": "default",
            "base_rows": int(len(base.y)),
            "taught_rows": len(rows),
        },
        words=words if any(words) else None,
    )


def directory_dataset(
    *,
    root: Path,
    workers: int = 2,
    progress: Progress | None = None,
    min_labels: int = 2,
) -> Dataset:
    """``root/<label>/*``: the label is the folder name, never the file name,
    whose words the model learns beside the drawing (``min_labels`` 1: one
    folder will do, on the default base)."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a directory.")
    seen: dict[str, str] = {}
    items: list[tuple[str, bytes]] = []
    labels: list[str] = []
    duplicates = conflicts = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
                continue
            content = path.read_bytes()
            digest = hashlib.sha256(content).hexdigest()
            if digest in seen:
                # The same bytes twice would leak between train and test.
                duplicates += 1
                conflicts += seen[digest] != folder.name
                continue
            seen[digest] = folder.name
            items.append((path.name, content))
            labels.append(folder.name)
    if len(set(labels)) < min_labels:
        folders = "two label folders" if min_labels > 1 else "one label folder"
        raise InvalidInput(
            f"{root} needs at least {folders} with drawings (DIR/<label>/*.dxf)."
        )
    results = _pool_map(_extract_named, items, workers, progress, "features")
    by_version: dict[str, list[tuple[str, list[float], str]]] = {}
    errors = []
    for label, (version, vec, name) in zip(labels, results, strict=True):
        if version == "error":
            errors.append(vec)
        else:
            by_version.setdefault(version, []).append((label, vec, name))
    if not by_version:
        raise InvalidInput(f"None of the files under {root} could be analysed.")
    # One model takes one feature version: keep the majority (drawings or meshes).
    version, rows = max(by_version.items(), key=lambda kv: len(kv[1]))
    return Dataset(
        X=np.asarray([v for _, v, _ in rows], dtype=np.float32),
        y=np.asarray([label for label, _, _ in rows]),
        feature_version=version,
        words=[name_words(name) for _, _, name in rows],
        summary={
            "source": "directory",
            "rows": len(rows),
            "duplicates_dropped": duplicates,
            "duplicates_with_conflicting_labels": conflicts,
            "unreadable": len(errors),
            "other_feature_versions_dropped": sum(
                len(r) for v, r in by_version.items() if v != version
            ),
        },
    )


def candidates(seed: int, *, labelled: bool = False) -> dict[str, Any]:
    """The estimators a training chooses from; ``labelled``: as labelled sets
    train (``LABELLED_CLASS_WEIGHT``: a family of 15 drawings counts as much as
    one of 150; ``LABELLED_EXTRA_TREES_FEATURES``)."""
    from django.conf import settings
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    class_weight = LABELLED_CLASS_WEIGHT if labelled else None
    return {
        "random_forest": RandomForestClassifier(
            n_estimators=int(settings.CADML_TRAIN_RANDOM_FOREST_TREES),
            random_state=seed,
            n_jobs=2,
            class_weight=class_weight,
        ),
        "extra_trees": ExtraTreesClassifier(
            n_estimators=int(settings.CADML_TRAIN_EXTRA_TREES_TREES),
            random_state=seed,
            n_jobs=2,
            class_weight=class_weight,
            max_features=LABELLED_EXTRA_TREES_FEATURES if labelled else "sqrt",
        ),
        "logistic_regression": make_pipeline(
            StandardScaler(),
            LogisticRegression(max_iter=2000, C=3.0, class_weight=class_weight),
        ),
    }


def expected_calibration_error(
    probs: np.ndarray, y_idx: np.ndarray, bins: int = 10
) -> float:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_idx
    ece = 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def _selection(
    names: list[str],
    *,
    seed: int,
    labelled: bool,
    train: tuple[np.ndarray, np.ndarray],
    split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    progress: Progress | None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Each candidate's mean macro-F1 over ``CADML_TRAIN_SELECTION_FOLDS``
    stratified folds of the training rows (fewer when a class is smaller), or
    on the one validation ``split`` when that setting is 1 or the set is
    generated; and, with one split, the candidates fitted on it (the
    calibration reuses the winner)."""
    from django.conf import settings
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    X, y = train
    # A generated set is as large as asked for, and no split of generated
    # drawings says which estimator does better on real ones; measured on
    # real parts and other domains, the folds' pick for the default model
    # flagged fewer symbol libraries (docs/model-quality.md).
    wanted = int(settings.CADML_TRAIN_SELECTION_FOLDS) if labelled else 1
    k = min(wanted, min(Counter(y).values()))
    if k < 2:
        folds = [split]
    else:
        cut = StratifiedKFold(k, shuffle=True, random_state=seed + 1).split(X, y)
        folds = [(X[a], y[a], X[b], y[b]) for a, b in cut]
    scores: dict[str, float] = {}
    fitted: dict[str, Any] = {}
    for i, name in enumerate(names):
        f1s = []
        for j, (X_a, y_a, X_b, y_b) in enumerate(folds, 1):
            est = candidates(seed, labelled=labelled)[name]
            est.fit(X_a, y_a)
            f1s.append(float(f1_score(y_b, est.predict(X_b), average="macro")))
            if progress:
                progress(i * len(folds) + j, len(names) * len(folds), "selection")
        scores[name] = round(float(np.mean(f1s)), 4)
        if len(folds) == 1:
            fitted[name] = est
    return scores, fitted


def evaluate(
    probs: np.ndarray, y: np.ndarray, labels: list[str], threshold: float
) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    pred = np.asarray(labels)[probs.argmax(axis=1)]
    p, r, f, s = precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0
    )
    y_idx = np.asarray([labels.index(v) for v in y])
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "macro_f1": round(
            float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            label: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        "labels": labels,
        "ece": round(expected_calibration_error(probs, y_idx), 4),
        "confidence_threshold": threshold,
        "abstention_rate": round(float((probs.max(axis=1) < threshold).mean()), 4),
        "test_rows": int(len(y)),
    }


def to_onnx_bytes(model: Any, width: int) -> bytes:
    """ONNX bytes of a fitted classifier or pipeline, with a probabilities
    output and no ZipMap: forests by ``forest_onnx`` (fast, only the leaves'
    non-zero class weights), anything else by skl2onnx."""
    from apps.modelreg.forest_onnx import forest_to_onnx, is_forest

    if is_forest(model):
        return forest_to_onnx(model, width)
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    onx = to_onnx(
        model,
        initial_types=[("features", FloatTensorType([None, width]))],
        options={id(estimator): {"zipmap": False}},
        target_opset=17,
    )
    return onx.SerializeToString()


def export_within(estimator: Any, width: int, limit: int) -> tuple[bytes, int | None]:
    """ONNX bytes of ``estimator`` no larger than ``limit``, and the number of
    trees kept when a forest had to drop some (None when it kept them all).

    A fully grown forest's file grows with its leaves, so with the rows it
    learned: a tenant's large labelled archive would otherwise train for
    minutes and then be refused by the registry. Its first trees are an
    unbiased smaller forest (each is grown alike); ``estimator`` is trimmed in
    place. Raises ``InvalidInput`` when even ``MIN_TREES`` do not fit."""
    content = to_onnx_bytes(estimator, width)
    trees = getattr(estimator, "estimators_", None)
    kept: int | None = None
    while len(content) > limit and trees is not None and len(trees) > MIN_TREES:
        # Proportional, a little under: the file's fixed part is small.
        kept = max(
            MIN_TREES,
            min(len(trees) - 1, int(0.95 * len(trees) * limit / len(content))),
        )
        trees = keep_trees(estimator, kept)
        content = to_onnx_bytes(estimator, width)
    if len(content) > limit:
        raise InvalidInput(
            f"The model would be a {len(content) / 2**20:.0f} MB file, past the "
            f"{limit / 2**20:.0f} MB the registry takes (CADML_MODEL_MAX_MB), "
            f"even with {MIN_TREES} trees: label fewer drawings per class or "
            "raise the limit.",
            code="model_too_large",
        )
    return content, kept


def keep_trees(forest: Any, n: int) -> list[Any]:
    """Keep the forest's first ``n`` trees (in place); returns them."""
    forest.estimators_ = forest.estimators_[:n]
    forest.n_estimators = n
    return list(forest.estimators_)


def onnx_proba(content: bytes, X: np.ndarray) -> np.ndarray:
    from apps.modelreg.validation import _ort_session

    session = _ort_session(content)
    prob = next(
        o.name
        for o in session.get_outputs()
        if o.type == "tensor(float)" and len(o.shape or []) == 2
    )
    (probs,) = session.run([prob], {session.get_inputs()[0].name: X.astype(np.float32)})
    return np.asarray(probs)


@dataclass
class TrainResult:
    onnx: bytes
    labels: list[str]
    feature_version: str
    metrics: dict[str, Any]
    validation_sample: dict[str, Any]
    summary: dict[str, Any]
    estimator: Any  # the exported one
    # Fitted on the training split: the held-out figures (on X_test) are its.
    held_out_estimator: Any
    X_test: np.ndarray
    y_test: np.ndarray
    # The held-out rows answered as served: calibrated, file names weighed
    # in, and whether each is ``unknown`` (far from every prototype, or most
    # like another domain).
    probs_test: np.ndarray
    unknown_test: np.ndarray
    open_set: Any = None  # apps.modelreg.openset.OpenSet


def _with_names(
    calibration: Any,
    probs_val: np.ndarray,
    words: Sequence[tuple[str, ...] | None],
    labels: list[str],
    *,
    fit: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
) -> Any:
    """``calibration`` (an ``OpenSet``) with the file names' words: counted
    on the ``fit`` rows, weighed on the calibration rows ``val`` (which the
    estimator giving ``probs_val`` did not learn), then counted on every
    ``train`` row for the held-out figures. Each is (row indexes, labels)."""
    from dataclasses import replace

    from apps.modelreg.name_words import NameWords

    def rows(part: tuple[np.ndarray, np.ndarray]) -> tuple[list[Any], np.ndarray]:
        at, y = part
        return [words[i] for i in at], np.asarray([labels.index(str(v)) for v in y])

    names = NameWords.fit(*rows(fit), len(labels)).with_weight_for(
        calibration.calibrate(probs_val), *rows(val)
    )
    return replace(calibration, names=names.refitted(*rows(train)))


def names_in_folds(
    open_set: Any,
    words: Sequence[tuple[str, ...] | None] | None,
    y: np.ndarray,
    labels: list[str],
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None:
    """For ``evaluation.cross_validate``: a fold's probabilities calibrated
    and with the file names' words counted on the fold's training rows, as
    the model served weighs them; None when the model learned no names."""
    if open_set is None or open_set.names is None or not words:
        return None
    y_idx = np.asarray([labels.index(str(v)) for v in y])

    def weigh(probs: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray) -> Any:
        names = open_set.names.refitted([words[i] for i in train_idx], y_idx[train_idx])
        return names.weigh(open_set.calibrate(probs), [words[i] for i in test_idx])

    return weigh


def train(
    data: Dataset,
    *,
    seed: int = 0,
    threshold: float = 0.6,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
    open_set: bool = True,
    unknown_quantile: float = 0.99,
    labelled: bool = False,
) -> TrainResult:
    """Split, select an estimator, calibrate, fit prototypes, export, check.

    The estimator is the candidate with the best mean macro-F1 over
    stratified folds of the training rows for a labelled set, on one
    validation split for a generated one (``_selection``). A quarter of the
    training rows (the calibration split) is then held out: the winner fitted
    on the rest gives that split's probabilities, from which the temperature
    and the ``unknown`` threshold (``unknown_quantile`` of the split's
    novelty) are set. The winner is then refitted on every training row and
    scored on the test split (the held-out figures). ``open_set=False`` (or too
    few rows for a calibration split) registers plain probabilities.
    ``labelled``: as for ``candidates``, and the exported model (with its
    prototypes and metric) is refitted once more on every row, the test split
    included; the generated default sets are not labelled (their
    ``not_a_part`` share is deliberate) and export the model the figures
    describe, unless a tenant's drawings were taught beside them
    (``on_base``): those are refitted on every row too. A set with
    ``data.words`` (a labelled set, or drawings taught on the default base)
    also learns its file names' words (``name_words``: counted
    on the fit rows, weighed on the calibration split, counted again on every
    row the model learns from); the held-out figures weigh them as served,
    and ``metrics["names"]`` gives the drawings' alone.
    """
    from django.conf import settings
    from sklearn.model_selection import train_test_split

    from apps.cad.synth import NOT_A_PART
    from apps.modelreg.openset import OpenSet, set_aside

    labels = sorted({str(v) for v in data.y})
    counts = {label: int((data.y == label).sum()) for label in labels}
    if len(labels) < 2 or min(counts.values()) < 3:
        raise InvalidInput(
            f"Every label needs at least 3 distinct drawings; have {counts}."
        )
    X = np.nan_to_num(data.X.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    n_classes = len(labels)
    words = data.words if data.words and any(data.words) else None
    # Stratified splits need at least one row per class on each side.
    n_test = max(math.ceil(0.25 * len(data.y)), n_classes)
    X_train, X_test, y_train, y_test, i_train, i_test = train_test_split(
        X,
        data.y,
        np.arange(len(data.y)),
        test_size=n_test,
        stratify=data.y,
        random_state=seed,
    )
    scores: dict[str, float] = {}
    pool = candidates(seed, labelled=labelled)
    names = [n for n in pool if only is None or n in set(only)]
    if not names:
        raise InvalidInput(f"No such estimator; choose from {sorted(pool)}.")
    n_val = max(math.ceil(0.25 * len(y_train)), n_classes)
    can_hold_out = len(y_train) - n_val >= n_classes and all(
        int((y_train == label).sum()) >= 2 for label in labels
    )
    fitted: dict[str, Any] = {}
    if can_hold_out:
        X_fit, X_val, y_fit, y_val, i_fit, i_val = train_test_split(
            X_train,
            y_train,
            i_train,
            test_size=n_val,
            stratify=y_train,
            random_state=seed + 1,
        )
    if can_hold_out and len(names) > 1:
        scores, fitted = _selection(
            names,
            seed=seed,
            labelled=labelled,
            train=(X_train, y_train),
            split=(X_fit, y_fit, X_val, y_val),
            progress=progress,
        )
        best = max(names, key=lambda n: scores[n])
        preferred = scores.get(LABELLED_PREFERRED) if labelled else None
        if preferred is not None and scores[best] - preferred <= (
            LABELLED_SELECTION_MARGIN
        ):
            best = LABELLED_PREFERRED
    else:
        # Too few rows to hold out a validation split (or one candidate).
        best = names[0]
    calibration: OpenSet | None = None
    if open_set and can_hold_out:
        est = fitted.get(best)
        if est is None:
            est = candidates(seed, labelled=labelled)[best]
            est.fit(X_fit, y_fit)
        if [str(c) for c in est.classes_] == labels:
            calibration = OpenSet.fit(
                X_fit.astype(float),
                np.asarray([str(v) for v in y_fit]),
                labels,
                X_cal=X_val.astype(float),
                probs_cal=est.predict_proba(X_val),
                y_cal=np.asarray([str(v) for v in y_val]),
                quantile=unknown_quantile,
                margin=NOVELTY_MARGIN if NOT_A_PART in labels else 1.0,
                feature_version=data.feature_version,
            )
            if words is not None:
                calibration = _with_names(
                    calibration,
                    est.predict_proba(X_val),
                    words,
                    labels,
                    fit=(i_fit, y_fit),
                    val=(i_val, y_val),
                    train=(i_train, y_train),
                )
    held_out_estimator = candidates(seed, labelled=labelled)[best]
    held_out_estimator.fit(X_train, y_train)
    held_out_probs = held_out_estimator.predict_proba(X_test)
    estimator = held_out_estimator
    if labelled or data.summary.get("taught_rows"):
        # A tenant's labelled drawings are few and each counts: once the
        # held-out figures are taken, the served model learns from all of them
        # (a generated set is as large as asked for; its model is the one
        # measured).
        estimator = candidates(seed, labelled=labelled)[best]
        estimator.fit(X, data.y)
    if [str(c) for c in estimator.classes_] != labels:
        raise RuntimeError("estimator classes are not the sorted labels")
    from apps.modelreg.validation import max_model_bytes

    content, trees_kept = export_within(estimator, X.shape[1], max_model_bytes())
    if trees_kept is not None:
        # The held-out figures describe the recipe served: as many trees.
        if held_out_estimator is not estimator:
            keep_trees(held_out_estimator, trees_kept)
        held_out_probs = held_out_estimator.predict_proba(X_test)
    sk_probs = (
        held_out_probs
        if estimator is held_out_estimator
        else estimator.predict_proba(X_test)
    )
    ort_probs = onnx_proba(content, X_test)
    sk_pred = sk_probs.argmax(axis=1)
    ort_pred = ort_probs.argmax(axis=1)
    # A row disagrees when ONNX picks a class scikit-learn ranks lower; on a
    # tie (0.5 / 0.5 from a forest) float32 sums may pick either.
    behind = sk_probs.max(axis=1) - sk_probs[np.arange(len(ort_pred)), ort_pred]
    mismatches = int((behind > ONNX_TIE).sum())
    if mismatches:
        raise RuntimeError(
            f"ONNX and scikit-learn disagree on {mismatches} of {len(sk_pred)} test "
            "rows; refusing to register"
        )
    scored = calibration.calibrate(held_out_probs) if calibration else held_out_probs
    alone = scored
    if calibration is not None and words is not None:
        scored = calibration.with_names(scored, [words[i] for i in i_test])
    metrics = evaluate(scored, y_test, labels, threshold)
    metrics["estimator"] = best
    metrics["class_weight"] = LABELLED_CLASS_WEIGHT if labelled else None
    metrics["selection_macro_f1"] = scores
    metrics["selection_margin"] = (
        {"preferred": LABELLED_PREFERRED, "margin": LABELLED_SELECTION_MARGIN}
        if labelled and LABELLED_PREFERRED in scores
        else None
    )
    metrics["trees_kept_to_fit"] = trees_kept
    metrics["onnx_max_abs_prob_diff"] = float(np.abs(sk_probs - ort_probs).max())
    metrics["onnx_matches_sklearn"] = True
    unknown = set_aside(
        scored, labels, share=float(settings.CADML_MODEL_NOT_A_PART_SHARE)
    )[1]
    if calibration is not None:
        y_idx = np.asarray([labels.index(str(v)) for v in y_test])
        unknown = unknown | calibration.unknown(X_test.astype(float))
        confident = scored.max(axis=1) >= threshold
        correct = scored.argmax(axis=1) == y_idx
        metrics["calibration"] = {
            "temperature": calibration.temperature,
            "ece_uncalibrated": round(
                expected_calibration_error(held_out_probs, y_idx), 4
            ),
            "ece": metrics["ece"],
            "unknown_quantile": unknown_quantile,
        }
        metrics["unknown_rate"] = round(float(unknown.mean()), 4)
        metrics["right_and_confident_rate"] = round(
            float((correct & confident & ~unknown).mean()), 4
        )
        if calibration.names is not None:
            metrics["names"] = {
                "weight": calibration.names.weight,
                "words": len(calibration.names.vocabulary),
                "macro_f1_drawing_alone": evaluate(alone, y_test, labels, threshold)[
                    "macro_f1"
                ],
            }
        if estimator is not held_out_estimator:
            calibration = calibration.refitted(
                X.astype(float), np.asarray([str(v) for v in data.y]), labels, words
            )
        metrics["open_set"] = calibration.as_json()
    # Up to 200 test rows travel with the version for its health check.
    keep = np.random.default_rng(seed).permutation(len(y_test))[:200]
    sample_pred = ort_pred[keep]
    sample = {
        "features": X_test[keep].astype(float).tolist(),
        "labels": [str(v) for v in y_test[keep]],
    }
    metrics["validation_sample_accuracy"] = round(
        float(np.mean(np.asarray(labels)[sample_pred] == y_test[keep])), 4
    )
    summary = {
        **data.summary,
        "feature_version": data.feature_version,
        "class_counts": counts,
        "train_rows": int(len(y_train)),
        "test_rows": int(len(y_test)),
        # The exported model's rows: the training split, or every row.
        "served_model_rows": int(
            len(y_train) if estimator is held_out_estimator else len(data.y)
        ),
        "seed": seed,
    }
    return TrainResult(
        onnx=content,
        labels=labels,
        feature_version=data.feature_version,
        metrics=metrics,
        validation_sample=sample,
        summary=summary,
        estimator=estimator,
        held_out_estimator=held_out_estimator,
        X_test=X_test,
        y_test=y_test,
        probs_test=scored,
        unknown_test=unknown,
        open_set=calibration,
    )


def confusion_svg(labels: list[str], matrix: list[list[int]]) -> str:
    """A confusion matrix as a small self-contained SVG (rows: truth)."""
    n = len(labels)
    cell, left, top = 34, 120, 120
    size_w, size_h = left + n * cell + 10, top + n * cell + 10
    peak = max((max(row) for row in matrix), default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_w}" height="{size_h}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="14">predicted →</text>',
        f'<text x="4" y="{top - 6}">truth ↓</text>',
    ]
    for j, label in enumerate(labels):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text x="{x}" y="{top - 6}" transform="rotate(-60 {x} {top - 6})">'
            f"{escape(label)}</text>"
        )
    for i, label in enumerate(labels):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 4}" y="{y + cell / 2 + 4}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        for j in range(n):
            v = matrix[i][j]
            shade = int(255 - 200 * math.sqrt(v / peak)) if v else 255
            color = (
                f"rgb({shade},{shade},255)" if i == j else f"rgb(255,{shade},{shade})"
            )
            parts.append(
                f'<rect x="{left + j * cell}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="{color}" stroke="#ccc"/>'
            )
            if v:
                parts.append(
                    f'<text x="{left + j * cell + cell / 2}" y="{y + cell / 2 + 4}" '
                    f'text-anchor="middle">{v}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)
