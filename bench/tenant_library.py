"""Issue #22's tenant targets on a labelled library of real drawings.

A tenant's library is ``DIR/<category>/*.dxf`` (the folder names the label), for
instance the NLCS symbols listed in ``docs/data/nlcs-library.tsv``. The targets:
a tenant with 30+ labelled categories that trains through the API gets a
held-out macro-F1 >= 0.90, and >= 85 % of the top five similar drawings share
the query's category. Everything below calls the product's code, nothing here
trains or embeds its own way:

1. Every drawing analysed by ``apps.cad.pipeline.analyze_bytes`` (preview off);
   the earlier versions' vectors are ``apps.cad.features.downgrade`` of it. The
   evaluation set keeps the categories with at least ``--min-distinct`` distinct
   vectors of the analysed version (the API deduplicates identical vectors
   before training; scale bars or hatch-only symbols collapse to a few).
2. Classification as ``POST /api/v1/models/{name}/train`` does it
   (``apps.modelreg.learning``): ``evaluation.deduplicate`` (and the categories
   left with fewer than 3 rows dropped, which the API refuses) then
   ``training.train`` (``--seed``, ``CADML_MODEL_CONFIDENCE_THRESHOLD``): on its
   held-out split (25 %, stratified) macro-F1, accuracy, needs_review (calibrated
   confidence under the threshold), unknown, right-and-confident, ECE; and
   ``evaluation.cross_validate`` (``CADML_TRAIN_CV_FOLDS`` folds): the figures
   ``POST /train`` reports, of the model fitted without its own test split.
3. ``new_drawings``: a stratified quarter of the drawings kept from training
   altogether (drawings a tenant uploads after training; with the same seed,
   the rows (2) holds out), the model trained as in (2) on the rest, and the
   model it is served (the exported ONNX model, calibrated) scored on that
   quarter.
4. Similar drawings in the product's spaces (``apps.cad.similarity.Space``) of
   the model of (3): ``unsupervised`` fitted on all the tenant's vectors (where
   near duplicates are judged) and ``unsupervised_every_view`` (what
   ``/similar`` ranks in for a tenant without a model), and
   ``learned`` (the model's open-set metric), cosine on the unit embedding as
   ``apps.cad.index`` ranks: for every drawing of that quarter the share of its
   top five neighbours with its category among all other drawings and among the
   training drawings only, the same for the nearest one, and the top-five share
   for every drawing against all others; ``learned_with_classes`` is what
   ``/similar`` uses for a tenant with a model: the model's class probabilities
   (the exported ONNX model; with ``--names original`` and a model that
   learned the names, calibrated and each drawing's name weighed in, as
   answered) beside its metric. The training rows'
   probabilities are in-sample, as they are for a tenant whose labelled
   drawings are its archive.
5. With ``--group-pattern REGEX``: a drawing's group is its file stem with the
   pattern removed (NLCS: ``'^([BNVT]-)+'``, the same symbol in another
   representation, a near copy). ``..._no_variants`` repeats the all-drawings
   top five without the query's own group among the candidates, and
   ``grouped_split`` holds out whole groups (GroupShuffleSplit, 25 %), trains
   as in (2) on the rest and scores the served model and its spaces on the
   held-out groups. Without it both are null. With ``--grouped-splits N``
   (N > 1), ``grouped_splits`` repeats that for the split seeds ``--seed`` to
   ``--seed + N - 1`` and reports each split's macro-F1 and top five with
   the model's classes, and their means: one split of a quarter of the
   groups moves these by several points from seed to seed.
6. With ``--base default``, instead of (2) to (5): the library taught on the
   default base (``POST /train`` with ``base: default``), a stratified quarter
   kept from training, the served model's macro-F1 over the library's labels
   and right-and-confident on it (``on_default_base``).

Run (the analysis takes some minutes on two cores; ``--cache`` keeps the vectors,
keyed by every file's path and content and the pipeline's feature version)::

    nice -n 15 .venv/bin/python bench/tenant_library.py --data DIR \\
        [--group-pattern REGEX] [--versions dxf-3 dxf-2 dxf-1] [--cache FILE]

Prints one JSON line per feature version on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GroupShuffleSplit,
    train_test_split,
)

from apps.cad import features  # noqa: E402
from apps.cad.part_names import name_words  # noqa: E402
from apps.cad.similarity import Space  # noqa: E402
from apps.modelreg import evaluation, training  # noqa: E402

TARGETS = {"macro_f1": 0.90, "top5_share": 0.85}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _analyse(path: str) -> tuple[str, str, list[float] | None, str]:
    logging.disable(logging.INFO)
    from apps.cad.pipeline import analyze_bytes

    content = Path(path).read_bytes()
    try:
        out = analyze_bytes("drawing.dxf", content, preview=False)
    except Exception as exc:
        return path, "", None, f"{type(exc).__name__}: {exc}"[:200]
    return path, out["feature_version"], out["features"], ""


def _cache_key(rel: list[str], sha: list[str]) -> str:
    h = hashlib.sha256(features.DXF_FEATURE_VERSION.encode())
    h.update(str(len(features.SLOTS[features.DXF_FEATURE_VERSION])).encode())
    for name, digest in zip(rel, sha, strict=True):
        h.update(f"\n{name}\t{digest}".encode())
    return h.hexdigest()


def load(
    root: Path, cache: Path | None, workers: int
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], dict[str, str], float]:
    """Vectors of every ``root/<category>/*.dxf``: X, labels, relative paths,
    content sha256 (of the analysed files), {path: why} of those the pipeline
    refused, and the analysis seconds (0 from the cache)."""
    paths = sorted(
        p for p in root.glob("*/*") if p.is_file() and p.suffix.lower() == ".dxf"
    )
    rel = [p.relative_to(root).as_posix() for p in paths]
    sha = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    key = _cache_key(rel, sha)
    if cache is not None and cache.exists():
        z = np.load(cache, allow_pickle=False)
        if "key" in z.files and str(z["key"]) == key:
            log(f"{len(rel)} drawings: vectors from {cache}")
            return (
                z["X"],
                z["y"],
                [str(f) for f in z["files"]],
                [str(s) for s in z["sha"]],
                json.loads(str(z["failed"])),
                0.0,
            )
        log(f"{cache} is of another set or pipeline version: analysing again")
    log(f"analysing {len(paths)} drawings with {workers} workers")
    t0 = time.perf_counter()
    rows = []
    with multiprocessing.Pool(workers) as pool:
        for n, row in enumerate(
            pool.imap(_analyse, [str(p) for p in paths], chunksize=8), 1
        ):
            rows.append(row)
            if n % 250 == 0 or n == len(paths):
                log(f"  {n}/{len(paths)} in {time.perf_counter() - t0:.0f} s")
    analysis_s = time.perf_counter() - t0
    ok = [i for i, r in enumerate(rows) if r[2] is not None]
    versions = {rows[i][1] for i in ok}
    if len(versions) > 1:
        raise SystemExit(f"the pipeline answered several versions: {versions}")
    failed = {rel[i]: rows[i][3] for i, r in enumerate(rows) if r[2] is None}
    X = np.asarray([rows[i][2] for i in ok], dtype=np.float64)
    y = np.asarray([paths[i].parent.name for i in ok])
    files = [rel[i] for i in ok]
    ok_sha = [sha[i] for i in ok]
    if cache is not None:
        np.savez(
            cache,
            key=np.asarray(key),
            X=X,
            y=y,
            files=np.asarray(files),
            sha=np.asarray(ok_sha),
            failed=np.asarray(json.dumps(failed)),
        )
        log(f"vectors saved to {cache}")
    return X, y, files, ok_sha, failed, analysis_s


def as_version(X: np.ndarray, version: str) -> np.ndarray:
    """The analysed vectors read as ``version`` (``features.downgrade``)."""
    source = features.DXF_FEATURE_VERSION
    rows = [features.downgrade(list(row), source=source, target=version) for row in X]
    if any(r is None for r in rows):
        raise SystemExit(f"{source} vectors cannot be read as {version}")
    out = np.asarray(rows, dtype=np.float32)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def rows_and_queries(
    space: Space, X: np.ndarray, files: list[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``X`` as ``space`` ranks them: its unit rows and each row's
    query (``Space.query``, with its file name), whose products order the
    rows as ``/similar`` does."""
    names: list[str | None] = [None] * len(X) if files is None else list(files)
    E = space.unit(X, names)
    if space.file_names is None:  # a query is its unit row
        return E, E
    Q = np.vstack([space.query(x, name=f) for x, f in zip(X, names, strict=True)])
    return E, Q


def top5_share(
    E: np.ndarray,
    Q: np.ndarray,
    y: np.ndarray,
    queries: np.ndarray,
    candidates: Callable[[int], np.ndarray],
    k: int = 5,
) -> tuple[float, float]:
    """Mean share of each query's top ``k`` (its query row ``Q[i]`` against
    the rows ``E``, among the ``candidates(i)`` rows) with its label, and the
    1-NN rate."""
    shares, nn1 = [], []
    for i in queries:
        sims = np.where(candidates(i), E @ Q[i], -np.inf)
        top = np.argsort(-sims, kind="stable")[:k]
        top = top[np.isfinite(sims[top])]
        if not len(top):
            continue
        shares.append(float(np.mean(y[top] == y[i])))
        nn1.append(float(y[top[0]] == y[i]))
    return round(float(np.mean(shares)), 4), round(float(np.mean(nn1)), 4)


def similar_rows(
    E: np.ndarray,
    Q: np.ndarray,
    y: np.ndarray,
    test: np.ndarray,
    train_set: np.ndarray,
    groups: np.ndarray | None,
) -> dict[str, float | None]:
    n = np.arange(len(y))
    all_ = top5_share(E, Q, y, test, lambda i: n != i)
    trn = top5_share(E, Q, y, test, lambda i: train_set & (n != i))
    novar = (
        top5_share(E, Q, y, test, lambda i: groups != groups[i])[0]
        if groups is not None
        else None
    )
    return {
        "top5_same_category_heldout_vs_all": all_[0],
        "nn1_heldout_vs_all": all_[1],
        "top5_same_category_heldout_vs_train": trn[0],
        "nn1_heldout_vs_train": trn[1],
        "top5_same_category_heldout_vs_all_no_variants": novar,
        "top5_same_category_every_drawing_vs_all": top5_share(
            E, Q, y, n, lambda i: n != i
        )[0],
    }


def train_on(
    version: str,
    Xd: np.ndarray,
    yd: np.ndarray,
    tr: np.ndarray,
    seed: int,
    threshold: float,
    words: list[tuple[str, ...]] | None,
) -> training.TrainResult:
    """The model ``POST /train`` registers when the tenant's labelled drawings
    are the rows ``tr`` (``words``: every row's file-name words, or None)."""
    return training.train(
        training.Dataset(
            X=Xd[tr],
            y=yd[tr],
            feature_version=version,
            summary={},
            words=None if words is None else [words[i] for i in tr],
        ),
        seed=seed,
        threshold=threshold,
        labelled=True,
    )


def spaces_of(
    result: training.TrainResult,
    Xd: np.ndarray,
    files: list[str] | None = None,
) -> dict[str, Space]:
    """The spaces ``/similar`` searches for a tenant with this model, and
    without one (``without_model``: every view beside the file names;
    ``unsupervised_every_view`` without them; ``unsupervised`` is where near
    duplicates are judged then). ``files``: the rows' file names, which the
    model's classes weigh when it learned names (None: no name known)."""
    named = files is not None
    unsupervised = Space.unsupervised(Xd)
    spaces = {
        "unsupervised": unsupervised,
        "unsupervised_every_view": unsupervised.every_view(),
        "without_model": Space.without_model(Xd, files or [None] * len(Xd)),
    }
    learned = Space.learned(result.open_set, name="model-metric")
    if learned is not None:
        spaces["learned"] = learned
        o = result.open_set
        reads = named and o is not None and o.reads_names

        # What /similar uses for a tenant with a model: its classes (the
        # exported ONNX model, as served; placed as
        # apps.modelreg.predictor.similarity_metric places them) beside the
        # metric.
        def classes(X: np.ndarray, files: Sequence[str | None]) -> np.ndarray:
            probs = training.onnx_proba(result.onnx, X.astype(np.float32))
            if not reads or o is None:
                return probs
            return o.placed(probs, [name_words(f) for f in files])

        spaces["learned_with_classes"] = learned.with_classes(classes, names=reads)
    return spaces


def served_on(
    result: training.TrainResult,
    Xd: np.ndarray,
    yd: np.ndarray,
    te: np.ndarray,
    threshold: float,
    words: list[tuple[str, ...]] | None,
) -> dict[str, object]:
    """The exported model, calibrated as served (with the rows' file names
    when ``words``), on the rows ``te`` it never saw."""
    probs = training.onnx_proba(result.onnx, Xd[te].astype(np.float32))
    if result.open_set is not None:
        probs = result.open_set.calibrate(probs)
        if words is not None:
            probs = result.open_set.with_names(probs, [words[i] for i in te])
    m = training.evaluate(probs, yd[te], result.labels, threshold)
    out: dict[str, object] = {
        "macro_f1": m["macro_f1"],
        "accuracy": m["accuracy"],
        "needs_review_rate": m["abstention_rate"],
        "test_rows": m["test_rows"],
        "served_model_rows": result.summary.get("served_model_rows"),
    }
    if result.open_set is not None:
        unknown = result.open_set.unknown(Xd[te])
        right = np.asarray(result.labels)[probs.argmax(axis=1)] == yd[te]
        confident = probs.max(axis=1) >= threshold
        out["unknown_rate"] = round(float(unknown.mean()), 4)
        out["right_and_confident_rate"] = round(
            float((right & confident & ~unknown).mean()), 4
        )
    return out


def on_default_base(
    version: str,
    Xd: np.ndarray,
    yd: np.ndarray,
    seed: int,
    threshold: float,
    words: list[tuple[str, ...]] | None,
) -> dict[str, object]:
    """The library taught on the default base (``POST /train`` with ``base:
    default``): a stratified quarter kept from training, the rest taught
    beside the default model's generated set (``training.on_base``), and the
    served model (calibrated, the file names weighed in when ``words``, the
    open set's ``unknown``) on that quarter: macro-F1 over the tenant's
    labels and right and confident."""
    from sklearn.metrics import f1_score

    from apps.modelreg.openset import set_aside

    tr, te = train_test_split(
        np.arange(len(yd)), test_size=0.25, stratify=yd, random_state=seed
    )
    log(f"{version}: drawing or reading the default base")
    base = training.generated_base(workers=2)
    taught = training.Dataset(
        X=Xd[tr],
        y=yd[tr],
        feature_version=version,
        words=None if words is None else [words[i] for i in tr],
    )
    t0 = time.perf_counter()
    result = training.train(
        training.on_base(base, taught), seed=seed, threshold=threshold
    )
    fit_s = time.perf_counter() - t0
    rows = [
        features.downgrade(list(r), source=version, target=result.feature_version)
        for r in Xd[te]
    ]
    X_te = np.nan_to_num(np.asarray(rows, dtype=np.float32))
    probs = training.onnx_proba(result.onnx, X_te)
    unknown = np.zeros(len(te), dtype=bool)
    if result.open_set is not None:
        probs = result.open_set.calibrate(probs)
        if words is not None:
            probs = result.open_set.with_names(probs, [words[i] for i in te])
        unknown = result.open_set.unknown(X_te.astype(float))
    share = float(settings.CADML_MODEL_NOT_A_PART_SHARE)
    unknown |= set_aside(probs, result.labels, share=share)[1]
    pred = np.asarray(result.labels)[probs.argmax(axis=1)]
    right = pred == yd[te]
    confident = probs.max(axis=1) >= threshold
    names = result.open_set.names if result.open_set is not None else None
    return {
        "base_rows": int(len(base.y)),
        "base_feature_version": result.feature_version,
        "taught_rows": int(len(tr)),
        "macro_f1": round(
            float(
                f1_score(yd[te], pred, labels=sorted(set(yd.tolist())), average="macro")
            ),
            4,
        ),
        "accuracy": round(float(right.mean()), 4),
        "right_and_confident_rate": round(
            float((right & confident & ~unknown).mean()), 4
        ),
        "unknown_rate": round(float(unknown.mean()), 4),
        "test_rows": int(len(te)),
        "names": None
        if names is None
        else {"weight": names.weight, "words": len(names.vocabulary)},
        "train_s": round(fit_s, 1),
    }


def grouped_split(
    version: str,
    Xd: np.ndarray,
    yd: np.ndarray,
    groups: np.ndarray,
    seed: int,
    threshold: float,
    words: list[tuple[str, ...]] | None,
    files: list[str] | None = None,
) -> dict[str, object]:
    """Whole groups held out (25 %): the model trained on the rest, scored on
    them, and its spaces' top five among the rest (``files``: the rows' file
    names, when the model learns them)."""
    gss = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=seed)
    g_tr, g_te = next(gss.split(Xd, yd, groups))
    present = set(yd[g_tr].tolist())
    g_te = np.asarray([i for i in g_te if yd[i] in present])
    try:
        rg = train_on(version, Xd, yd, g_tr, seed, threshold, words)
    except Exception as exc:
        return {"error": str(exc)[:200]}
    out = served_on(rg, Xd, yd, g_te, threshold, words)
    gtrain = np.zeros(len(yd), bool)
    gtrain[g_tr] = True
    for name, space in spaces_of(rg, Xd, files).items():
        out[f"top5_{name}_heldout_vs_train"] = top5_share(
            *rows_and_queries(space, Xd, files), yd, g_te, lambda i: gtrain
        )[0]
    return out


def run(
    version: str,
    Xa: np.ndarray,
    y: np.ndarray,
    files: list[str],
    sha: list[str],
    *,
    pattern: re.Pattern[str] | None,
    seed: int,
    threshold: float,
    folds: int,
    grouped_splits: int = 1,
    names: bool = False,
    base: str = "none",
) -> dict[str, object]:
    X = as_version(Xa, version)
    dedup = evaluation.deduplicate(X, y, list(sha))
    too_few = {k: v for k, v in Counter(dedup.y.tolist()).items() if v < 3}
    if too_few:  # the API refuses these (class_too_small); a tenant drops them
        rows = np.asarray([lab not in too_few for lab in dedup.y])
        dedup = dataclasses.replace(
            dedup,
            X=dedup.X[rows],
            y=dedup.y[rows],
            keys=[k for k, r in zip(dedup.keys, rows, strict=True) if r],
        )
    Xd, yd = dedup.X, dedup.y
    kept = [files[sha.index(k)] for k in dedup.keys]
    groups = (
        np.asarray([pattern.sub("", Path(f).stem) for f in kept]) if pattern else None
    )
    file_names = [Path(f).name for f in kept] if names else None
    words = None if file_names is None else [name_words(f) for f in file_names]
    if base == "default":
        return {
            "feature_version": version,
            "drawings": int(len(yd)),
            "categories": len(set(yd.tolist())),
            "on_default_base": on_default_base(version, Xd, yd, seed, threshold, words),
        }
    log(f"{version}: {len(yd)} distinct drawings, training")
    t0 = time.perf_counter()
    result = train_on(version, Xd, yd, np.arange(len(yd)), seed, threshold, words)
    fit_s = time.perf_counter() - t0
    log(f"{version}: trained in {fit_s:.0f} s, cross-validating")
    cv = evaluation.cross_validate(
        lambda: clone(result.estimator),
        Xd,
        yd,
        folds=folds,
        seed=seed,
        weigh=training.names_in_folds(result.open_set, words, yd, result.labels),
    )
    m = result.metrics
    log(f"{version}: new drawings and similar drawings")
    # A quarter of the drawings (stratified) kept from training altogether,
    # as drawings a tenant uploads after training.
    tr_idx, te_idx = train_test_split(
        np.arange(len(yd)), test_size=0.25, stratify=yd, random_state=seed
    )
    served = train_on(version, Xd, yd, tr_idx, seed, threshold, words)
    new = served_on(served, Xd, yd, te_idx, threshold, words)
    train_set = np.zeros(len(yd), bool)
    train_set[tr_idx] = True
    sim: dict[str, dict[str, object]] = {
        name: {
            "space": space.name,
            **similar_rows(
                *rows_and_queries(space, Xd, file_names), yd, te_idx, train_set, groups
            ),
        }
        for name, space in spaces_of(served, Xd, file_names).items()
    }
    grouped = None
    if groups is not None:
        log(f"{version}: grouped split")
        grouped = grouped_split(
            version, Xd, yd, groups, seed, threshold, words, file_names
        )
    splits: dict[str, object] | None = None
    if groups is not None and grouped_splits > 1:
        log(f"{version}: {grouped_splits - 1} more grouped splits")
        every = [grouped or {}] + [
            grouped_split(
                version, Xd, yd, groups, seed + i, threshold, words, file_names
            )
            for i in range(1, grouped_splits)
        ]
        splits = {"seeds": [seed + i for i in range(grouped_splits)]}
        for key in ("macro_f1", "top5_learned_with_classes_heldout_vs_train"):
            got = [g.get(key) for g in every]
            splits[key] = got
            values = [float(v) for v in got if isinstance(v, float)]
            if len(values) == len(got):
                splits[f"mean_{key}"] = round(float(np.mean(values)), 4)
    per_class_f1 = {k: v["f1"] for k, v in m["per_class"].items()}
    worst = sorted(per_class_f1.items(), key=lambda kv: kv[1])[:6]
    counts = Counter(yd.tolist()).values()
    return {
        "feature_version": version,
        "drawings": int(len(yd)),
        "categories": len(result.labels),
        "duplicates_dropped": dedup.dropped_duplicates,
        "classes_dropped_fewer_than_3_distinct": too_few,
        "conflicting_duplicates_dropped": dedup.dropped_conflicts,
        "conflicting_label_sets": [
            ["+".join(names), len(keys)] for names, keys in dedup.conflicts[:6]
        ],
        "class_counts_min_max": [int(min(counts)), int(max(counts))],
        "estimator": m.get("estimator"),
        "selection_macro_f1": m.get("selection_macro_f1"),
        "heldout_macro_f1": m["macro_f1"],
        "names": m.get("names"),
        "heldout_accuracy": m["accuracy"],
        "heldout_rows": m["test_rows"],
        "needs_review_rate": m["abstention_rate"],
        "unknown_rate": m.get("unknown_rate"),
        "right_and_confident_rate": m.get("right_and_confident_rate"),
        "ece": m.get("ece"),
        "cv_macro_f1_mean": cv["macro_f1_mean"],
        "cv_macro_f1_std": cv["macro_f1_std"],
        "cv_folds": cv["folds"],
        "train_s": round(fit_s, 1),
        "worst_classes_f1": dict(worst),
        "new_drawings": new,
        "similar": sim,
        "grouped_split": grouped,
        "grouped_splits": splits,
        "targets": TARGETS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--data", type=Path, required=True, help="DIR/<category>/*.dxf")
    parser.add_argument(
        "--group-pattern",
        help="regex whose removal from a file stem gives its group "
        "(NLCS: '^([BNVT]-)+'); without it the grouped figures are null",
    )
    parser.add_argument(
        "--min-distinct",
        type=int,
        default=15,
        help="keep categories with at least this many distinct vectors",
    )
    parser.add_argument(
        "--versions",
        nargs="+",
        default=[features.DXF_FEATURE_VERSION],
        choices=features.readable_as(features.DXF_FEATURE_VERSION),
    )
    parser.add_argument("--seed", type=int, default=int(settings.CADML_TRAIN_SEED))
    parser.add_argument(
        "--cache", type=Path, help="npz of the vectors, re-analysed when stale"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--names",
        choices=("none", "original"),
        default="none",
        help="original: the model also learns the words of the files' own "
        "names, as POST /train does for uploaded drawings; none (default): "
        "the drawings alone, as if every file were named drawing.dxf",
    )
    parser.add_argument(
        "--base",
        choices=("none", "default"),
        default="none",
        help="default: the library taught beside the default model's generated "
        "set, as POST /train with base default does; only the served model on "
        "a quarter kept from training is reported (on_default_base)",
    )
    parser.add_argument(
        "--grouped-splits",
        type=int,
        default=1,
        help="with --group-pattern: hold out whole groups on this many split "
        "seeds and report each and their mean",
    )
    args = parser.parse_args()
    root = args.data.resolve()
    if not root.is_dir():
        parser.error(f"{root} is not a directory")
    pattern = re.compile(args.group_pattern) if args.group_pattern else None
    logging.disable(logging.INFO)

    t_start = time.perf_counter()
    X, y, files, sha, failed, analysis_s = load(root, args.cache, args.workers)
    if failed:
        log(json.dumps({"refused": failed}))
    # The evaluation set: the categories with at least --min-distinct distinct
    # vectors of the analysed version, the same set for every version.
    analysed = features.DXF_FEATURE_VERSION
    distinct = Counter(
        evaluation.deduplicate(as_version(X, analysed), y, list(sha)).y.tolist()
    )
    for lab in set(y.tolist()) - set(distinct):  # every vector shared with another
        distinct[lab] = 0
    cats = {k for k, v in distinct.items() if v >= args.min_distinct}
    keep = np.asarray([lab in cats for lab in y], dtype=bool)
    evaluation_set = {
        "categories_kept": len(cats),
        "drawings": int(keep.sum()),
        f"categories_left_out_distinct_{analysed.replace('-', '')}_vectors": {
            k: v for k, v in sorted(distinct.items()) if v < args.min_distinct
        },
        "min_distinct": args.min_distinct,
    }
    log(json.dumps(evaluation_set))
    X, y = X[keep], y[keep]
    files = [f for f, k in zip(files, keep, strict=True) if k]
    sha = [s for s, k in zip(sha, keep, strict=True) if k]
    for version in args.versions:
        t0 = time.perf_counter()
        out = run(
            version,
            X,
            y,
            files,
            sha,
            pattern=pattern,
            seed=args.seed,
            threshold=float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD),
            folds=int(settings.CADML_TRAIN_CV_FOLDS),
            grouped_splits=args.grouped_splits,
            names=args.names == "original",
            base=args.base,
        )
        line = {
            "bench": "tenant_library",
            "set": root.name,
            **out,
            "files_refused_by_pipeline": len(failed),
            "evaluation_set": evaluation_set,
            "group_pattern": args.group_pattern,
            "seed": args.seed,
            "file_names": args.names,
            "base": args.base,
            "analysis_s": round(analysis_s, 1),
            "version_s": round(time.perf_counter() - t0, 1),
            "total_s": round(time.perf_counter() - t_start, 1),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
