"""Quality of the default part classifier, trained exactly as
``manage.py ensure_default_model`` trains it (``training.DEFAULT_PER_CLASS``
synthetic drawings per class, seed 0, the current dxf version, and the real
drawings shipped in apps/modelreg/shipped unless
``CADML_DEFAULT_SHIPPED_DRAWINGS=0``; ``default`` in the output), on drawings
it never saw, beside the same model trained on the dxf-1 slots of the same
drawings (``dxf1``) in the same run:

- held-out: the generator with other seeds (1000+), 30 per class;
- style-shifted: the generator's style shift (other layer names, imperial units,
  Chinese title block, heavy clutter), then every drawing rotated by a random
  angle in [0, 360) degrees and scaled by a random factor in [0.1, 10] (log-
  uniform), 30 per class, seeds 2000+;
- each real set given with ``--real DIR`` (``DIR/<class>/*.dxf``, classes named
  as the generator's): per-class right-and-confident rate (right label, not
  ``unknown``, not ``needs_review``), and over the set the top-1 right, ``unknown``,
  ``needs_review`` (under the confidence threshold, not unknown) and confidently
  wrong rates;
- each out-of-domain set given with ``--ood DIR`` (every DXF under it; default
  the shared ezdxf corpus): the share flagged ``unknown`` or ``needs_review``;
- similar drawings on the style-shifted set and on each real set: the share of
  the top five neighbours of the query's class, in the unsupervised space of the
  current version (near duplicates), the same with every view (what
  ``/similar`` ranks in without a tenant model), the model's learned metric,
  and plain cosine on dxf-1;
- with ``--train-seeds K``, the same dataset trained with seeds 1..K-1 as well
  (another calibration split, estimator selection and forest): the mean, least
  and most right-and-confident (real sets) and flagged (out-of-domain sets)
  rates over the K models, in ``over_training_seeds``;
- with ``--data-seeds K``, the recipe on K generated sets (seeds 0..K-1,
  training seed 0) the same way, in ``over_generated_sets``. On sets of a few
  dozen drawings one model's rate moves by several drawings between training
  seeds and more between generated sets; compare changes on these means;
- with both, ``over_all_models``: the same over every model of the run
  (``1 + (K_train - 1) + (K_data - 1)``), the steadiest figure to compare two
  runs by;
- with ``--answers FILE``, every real and out-of-domain drawing's answer from
  each model (the seed-0 model, then the other training seeds, then the other
  generated sets) as tab-separated rows: set, file, class (``-`` for other
  domains), then per model ``label:probability`` with `` unknown`` or
  `` review`` when so flagged and ``ok`` when the answer counts (right and
  confident for a part, flagged for another domain): which drawings a change
  moved, without a script of one's own;
- with ``--sets-cache DIR``, the generated sets are kept in ``DIR`` (as
  ``training.generated_base`` keeps the product's) and read back when the
  generator, the pipeline, the recipe and the pinned requirements are
  unchanged (their files' digest is in the file name), so a change to the
  open set is measured without generating again;
- with ``--teach DIR``, every model is trained as ``POST /train`` with base
  ``default`` trains a tenant's model: the real drawings under ``DIR``
  (``DIR/<class>/*.dxf``, a tenant's labels) beside each generated set
  (``training.on_base``, learning the taught files' names), the served model
  refitted on every row and answering as a tenant's model on the default
  base does (the file names' learned words weighed, and the default reading
  of a name unless its words were taught under other labels); and, in
  ``taught_leave_one_out``, each taught drawing answered by the seed-0 model
  taught all the others beside the untaught model's answer (and, with
  ``--teach-sizes K ...``, by one taught K of them). Never pass the same
  drawings as ``--real`` as well;
- with ``--misnamed``, each other-domain set answered as if every file were
  named for one part family, each in turn, by every model: the flagged rate
  under the family that costs most and the mean over the families (what a
  misleading file name can cost, in ``misnamed``);
- with ``--negatives DIR``, the real drawings under ``DIR`` are added to every
  generated set as ``not_a_part`` before training (real outlier exposure; the
  product does not do this: docs/model-quality.md). Never pass them as
  ``--ood`` as well.

The confidence threshold and the ``not_a_part`` share are the settings'
(``CADML_MODEL_CONFIDENCE_THRESHOLD``, ``CADML_MODEL_NOT_A_PART_SHARE``), as
served; set them in the environment to compare.

Prints one JSON line. Nothing here is trained on a set it reports.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import io
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from apps.cad import features, similarity  # noqa: E402
from apps.cad.part_names import (  # noqa: E402
    drawing_name,
    name_parts,
    name_words,
    named_family,
)
from apps.cad.synth import NOT_A_PART  # noqa: E402
from apps.modelreg import training  # noqa: E402
from apps.modelreg.openset import (  # noqa: E402
    readings_that_count,
    set_aside,
    weighed,
)

THRESHOLD = float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
# As served: not_a_part this likely (or most likely) is unknown.
SHARE = float(settings.CADML_MODEL_NOT_A_PART_SHARE)
DXF1_WIDTH = len(features.DXF_SLOTS)


def _shifted(args: tuple[str, int]) -> tuple[str, str, object]:
    import ezdxf
    from ezdxf.math import Matrix44

    from apps.cad.synth import generate_part

    training._quiet()
    label, seed = args
    rng = random.Random(seed)
    content = generate_part(label, rng, style_shift=True)
    doc = ezdxf.read(io.StringIO(content.decode(_encoding(content))))
    angle = rng.uniform(0, 2 * math.pi)
    scale = math.exp(rng.uniform(math.log(0.1), math.log(10)))
    m = Matrix44.chain(Matrix44.z_rotate(angle), Matrix44.scale(scale))
    for entity in list(doc.modelspace()):
        try:
            entity.transform(m)
        except Exception:  # noqa: BLE001, S112 - e.g. a non-uniformly scalable entity
            continue
    out = io.StringIO()
    doc.write(out)
    version, vec = training._extract((f"{label}.dxf", out.getvalue().encode("utf-8")))
    return label, version, vec


def _encoding(content: bytes) -> str:
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def shifted_dataset(per_class: int, seed: int) -> training.Dataset:
    from apps.cad.synth import PART_CLASSES

    items = [
        (label, seed * 1_000_003 + ci * 10_007 + i)
        for ci, label in enumerate(PART_CLASSES)
        for i in range(per_class)
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = [r for r in pool.map(_shifted, items, chunksize=8) if r[1] != "error"]
    return training.Dataset(
        X=np.asarray([v for _, _, v in rows], dtype=np.float32),
        y=np.asarray([label for label, _, _ in rows]),
        feature_version=features.DXF_FEATURE_VERSION,
    )


def generated_set(seed: int, cache: Path | None) -> tuple[training.Dataset, bool]:
    """The default recipe's generated set ``seed``, and whether it came from
    ``cache``: the folder ``training.generated_base`` keeps it in, read back
    while the code that draws and reads it is unchanged."""
    if cache is None:
        data = training.default_dataset(
            per_class=training.DEFAULT_PER_CLASS, seed=seed, workers=2
        )
        return data, False
    with override_settings(CADML_GENERATED_SET_DIR=cache):
        per_class = training.DEFAULT_PER_CLASS
        cached = training.generated_base_path(per_class=per_class, seed=seed).exists()
        data = training.generated_base(per_class=per_class, seed=seed, workers=2)
    return data, cached


def dxf_files(root: Path) -> list[Path]:
    """Every DXF under ``root``, through symlinked folders too (a set is often
    a folder of links to another's categories; ``rglob`` does not follow them)."""
    return sorted(
        Path(folder) / name
        for folder, _, names in os.walk(root, followlinks=True)
        for name in names
        if name.lower().endswith(".dxf")
    )


@functools.cache
def original_names() -> dict[str, str]:
    """Stored file name -> the name its author gave it, from the data lists
    of docs/data (their ``file`` and ``path`` columns): the sets store a file
    as ``owner__repo__name`` and converted files under a new extension."""
    names: dict[str, str] = {}
    for tsv in sorted((PROJECT / "docs" / "data").glob("*.tsv")):
        with tsv.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row.get("file") and row.get("path"):
                    names[Path(row["file"]).name] = Path(row["path"]).name
    return names


def files_dataset(
    root: Path, labelled: bool, names: str = "original"
) -> tuple[training.Dataset, list[str]]:
    """The DXF drawings under ``root`` (``paths_dataset``)."""
    return paths_dataset(
        root,
        dxf_files(root),
        features.DXF_FEATURE_VERSION,
        labelled=labelled,
        names=names,
    )


def paths_dataset(
    root: Path,
    paths: list[Path],
    version: str,
    *,
    labelled: bool = True,
    names: str = "original",
    chunksize: int = 4,
) -> tuple[training.Dataset, list[str]]:
    """The vectors of ``paths`` that analyse as ``version``, their labels
    (``root/<class>/``) and, in the summary's ``named``, the family each
    file's name or title names: by its original name (``names``:
    ``original``), the name it is stored under (``stored``), or no name at
    all (``none``: the model's answers alone). Also the kept files' paths
    relative to ``root``."""
    given = {"original": original_names(), "stored": {}}.get(names)
    file_names = [None if given is None else given.get(p.name, p.name) for p in paths]
    items = [
        (name or p.name, p.read_bytes())
        for p, name in zip(paths, file_names, strict=True)
    ]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(training._extract_named, items, chunksize=chunksize))
    # Each drawing's title, out of the name training reads (``drawing_name``).
    rows = [
        (p, vec, name, name_parts(read)[1])
        for p, name, (got, vec, read) in zip(paths, file_names, results, strict=True)
        if got == version
    ]
    y = [p.relative_to(root).parts[0] if labelled else "?" for p, *_ in rows]
    named = [
        None
        if names == "none"
        else (n.family if (n := named_family(file_name=name, title=title)) else None)
        for _, _, name, title in rows
    ]
    return (
        training.Dataset(
            X=np.asarray([r[1] for r in rows], dtype=np.float32).reshape(len(rows), -1),
            y=np.asarray(y),
            feature_version=version,
            summary={"named": named},
            # A tenant's model (``--teach``) learns and weighs these.
            words=None
            if given is None
            else [name_words(drawing_name(name, title)) for _, _, name, title in rows],
        ),
        [str(p.relative_to(root)) for p, *_ in rows],
    )


class Served:
    """What the prediction service answers, computed the same way offline."""

    def __init__(self, result: training.TrainResult, width: int) -> None:
        from apps.modelreg.validation import _ort_session

        self.result, self.width = result, width
        self.labels = np.asarray(result.labels)
        self.session = _ort_session(result.onnx)
        self.prob = next(
            o.name
            for o in self.session.get_outputs()
            if o.type == "tensor(float)" and len(o.shape or []) == 2
        )
        self.input = self.session.get_inputs()[0].name

    def read(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the model reads it, as inference does (``downgrade``): a
        ``dxf-3t`` model takes its slots out of analysed ``dxf-7`` vectors."""
        if X.shape[1] == self.width:
            return X
        source = next(v for v, s in features.SLOTS.items() if len(s) == X.shape[1])
        at = features.slot_indices(source, self.result.feature_version)
        assert at is not None, f"{source} vectors do not read as the model's"
        return X[:, list(at)]

    def of(self, ds: training.Dataset) -> dict[str, np.ndarray]:
        """``ds`` answered as served, under its files' names."""
        return self.answer(ds.X, ds.summary.get("named"), ds.words)

    def answer(
        self,
        X: np.ndarray,
        named: list[str | None] | None = None,
        words: list[tuple[str, ...] | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """As served, by the same functions (``openset.readings_that_count`` and
        ``openset.weighed``, as ``services.inference._weighed`` calls them);
        ``named``: per row, the family the drawing's name or title names
        (None: none), weighed by the default model and by a tenant's model on
        the default base unless it was taught the name's words under other
        labels; ``words``: per row, the file name's words, which a model that
        learned its labels' names weighs."""
        X = np.nan_to_num(self.read(X), nan=0.0, posinf=0.0, neginf=0.0)
        (probs,) = self.session.run([self.prob], {self.input: X.astype(np.float32)})
        os_ = self.result.open_set
        unknown = (
            os_.unknown(X.astype(float))
            if os_ is not None
            else np.zeros(len(X), dtype=bool)
        )
        labels = list(self.labels)
        if named is not None:
            # The default model, or a model taught on the default base: the
            # default reading counts unless the tenant taught the name's
            # words under other labels.
            named = readings_that_count(
                named,
                labels,
                words,
                os_.names if os_ is not None else None,
                tenant_model=True,
                on_default_base=True,
            )
        probs = weighed(os_, probs, labels, words, named)
        # As served: "not_a_part" this likely is unknown, the label the most
        # likely part with its own probability.
        parts, outside = set_aside(probs, labels, share=SHARE)
        best = parts.max(axis=1)
        return {
            "probs": probs,
            "part_probability": best,
            "label": self.labels[parts.argmax(axis=1)],
            "confident": best >= THRESHOLD,
            "unknown": unknown | outside,
        }

    def scores(self, ds: training.Dataset) -> dict[str, object]:
        a = self.of(ds)
        m = training.evaluate(a["probs"], ds.y, list(self.result.labels), THRESHOLD)
        right = a["label"] == ds.y
        part = ds.y != NOT_A_PART
        out = {
            "macro_f1": m["macro_f1"],
            "accuracy": m["accuracy"],
            "ece": m["ece"],
            "needs_review_rate": m["abstention_rate"],
            "unknown_rate": round(float(a["unknown"][part].mean()), 4),
            "right_and_confident": round(
                float((right & a["confident"] & ~a["unknown"])[part].mean()), 4
            ),
            "rows": int(len(ds.y)),
            "worst_class": min(m["per_class"].items(), key=lambda kv: kv[1]["f1"])[0],
        }
        if (~part).any():  # generated drawings of other domains
            out["not_a_part_flagged"] = round(
                float((a["unknown"] | ~a["confident"])[~part].mean()), 4
            )
        return out

    def real(self, ds: training.Dataset) -> dict[str, object]:
        a = self.of(ds)
        ok = (a["label"] == ds.y) & a["confident"] & ~a["unknown"]
        per_class = {
            str(c): {
                "right_and_confident": round(float(ok[ds.y == c].mean()), 4),
                "rows": int((ds.y == c).sum()),
            }
            for c in sorted(set(ds.y))
        }
        right = a["label"] == ds.y
        known = a["confident"] & ~a["unknown"]

        def rate(mask: np.ndarray) -> float | None:
            return round(float(mask.mean()), 4) if len(mask) else None

        return {
            "right_and_confident": rate(ok),
            "top1_right": rate(right),
            "unknown": rate(a["unknown"]),
            "needs_review": rate(~a["confident"] & ~a["unknown"]),
            "confidently_wrong": rate(~right & known),
            "rows": int(len(ds.y)),
            "named_rows": sum(f is not None for f in ds.summary.get("named") or []),
            "per_class": per_class,
        }

    def cells(self, ds: training.Dataset, part: bool) -> list[str]:
        """One ``--answers`` cell per drawing of ``ds``."""
        a = self.of(ds)
        out = []
        for i, label in enumerate(a["label"]):
            flag = " unknown" if a["unknown"][i] else ""
            flag = flag or ("" if a["confident"][i] else " review")
            ok = (
                label == ds.y[i] and not flag
                if part
                else a["unknown"][i] or not a["confident"][i]
            )
            p = a["part_probability"][i]
            out.append(f"{label}:{p:.2f}{flag}" + (" ok" if ok else ""))
        return out

    def ood(self, ds: training.Dataset) -> dict[str, object]:
        a = self.of(ds)
        flagged = a["unknown"] | ~a["confident"]
        return {
            "flagged_rate": round(float(flagged.mean()), 4) if len(flagged) else None,
            "unknown_rate": round(float(a["unknown"].mean()), 4)
            if len(flagged)
            else None,
            "rows": int(len(ds.y)),
            "named_rows": sum(f is not None for f in ds.summary.get("named") or []),
        }


def misnamed(models: list[Served], ds: training.Dataset) -> dict[str, object]:
    """Other-domain drawings answered as if every file were named for one
    part family, each family in turn: the flagged rate (mean over
    ``models``) under the family that costs most, and the mean over the
    families."""
    families = [str(f) for f in models[0].labels if f != NOT_A_PART]
    rates = {}
    for family in families:
        named = dataclasses.replace(ds, summary={"named": [family] * len(ds.y)})
        rates[family] = float(
            np.mean([m.ood(named)["flagged_rate"] or 0.0 for m in models])
        )
    worst = min(rates, key=lambda f: rates[f])
    return {
        "worst_family": worst,
        "worst_flagged_rate": round(rates[worst], 4),
        "mean_over_families": round(float(np.mean(list(rates.values()))), 4),
    }


def trained_summary(
    result: training.TrainResult, generation_s: float | None, train_s: float
) -> dict[str, object]:
    """How a default model was trained, for a bench line (``generation_s``
    None: the set came from ``--sets-cache``)."""
    return {
        "feature_version": result.feature_version,
        "estimator": result.metrics["estimator"],
        "train_rows": result.summary["train_rows"],
        "generation_seconds": None if generation_s is None else round(generation_s, 1),
        "train_seconds": train_s,
        "temperature": result.metrics.get("calibration", {}).get("temperature"),
    }


def spread(first: object, more: list) -> dict[str, float]:
    """Mean, least and most of one rate over several models."""
    values = [float(r) for r in [first, *more] if r is not None]
    if not values:
        return {}
    return {
        "mean": round(sum(values) / len(values), 4),
        "min": min(values),
        "max": max(values),
    }


def top5_same_class(
    emb: np.ndarray, y: np.ndarray, queries: np.ndarray | None = None
) -> float:
    """Share of each query's five nearest others (cosine) that have its class;
    ``queries`` (a mask) picks which rows ask, every row can answer."""
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    unit = emb / np.where(norms == 0, 1, norms)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1, kind="stable")[:, :5]
    same = y[top] == y[:, None]
    if queries is not None:
        same = same[queries]
    return round(float(same.mean()), 4) if len(same) else float("nan")


def real_similar(
    ds: training.Dataset, learned: similarity.Space | None
) -> dict[str, object]:
    """Top-5 same class on a real set, as a tenant's archive of exactly these
    drawings would rank them (``learned`` reads its model's slots of the
    analysed vectors). Only drawings of classes with six or more members ask
    (five others of the class must exist for a perfect answer)."""
    X = np.nan_to_num(ds.X.astype(float))
    counts = {c: int((ds.y == c).sum()) for c in set(ds.y)}
    queries = np.asarray([counts[c] >= 6 for c in ds.y])
    return {
        "queries": int(queries.sum()),
        "unsupervised": top5_same_class(
            similarity.Space.unsupervised(X).embed(X), ds.y, queries
        ),
        "unsupervised_every_view": top5_same_class(
            similarity.Space.unsupervised(X).every_view().embed(X), ds.y, queries
        ),
        "model_metric": top5_same_class(learned.embed(X), ds.y, queries)
        if learned
        else None,
        "dxf1_cosine": top5_same_class(X[:, :DXF1_WIDTH], ds.y, queries),
    }


def taught_leave_one_out(
    data: training.Dataset,
    taught: training.Dataset,
    fit: Callable[..., training.TrainResult],
    untaught: Served,
    sizes: list[int],
) -> dict[str, object]:
    """Each taught drawing answered by the seed-0 model taught all the others
    (what a team's next drawing meets once it has taught the ones before),
    beside the untaught model's answer: right and confident, overall and per
    class; and for each of ``sizes``, by a model taught that many of the
    others drawn at random (how many corrections it takes)."""

    def ok(served: Served, at: np.ndarray) -> np.ndarray:
        a = served.of(rows(at))
        return (a["label"] == taught.y[at]) & a["confident"] & ~a["unknown"]

    named = taught.summary.get("named")

    def rows(at: np.ndarray) -> training.Dataset:
        """The taught drawings ``at``, with their names."""
        return training.Dataset(
            X=taught.X[at],
            y=taught.y[at],
            feature_version=taught.feature_version,
            summary={"named": [named[i] for i in at]} if named else {},
            words=None if taught.words is None else [taught.words[i] for i in at],
        )

    def taught_some(k: int | None) -> np.ndarray:
        """Each drawing answered by a model taught the others (``k`` None) or
        ``k`` of them drawn at random."""
        hits = np.zeros(len(taught.y), dtype=bool)
        for i in range(len(taught.y)):
            pick = np.flatnonzero(np.arange(len(taught.y)) != i)
            if k is not None:
                pick = np.random.default_rng(1000 * k + i).permutation(pick)[:k]
            served = Served(fit(data, 0, rows(pick)), data.X.shape[1])
            hits[i] = ok(served, np.asarray([i]))[0]
        return hits

    before = ok(untaught, np.arange(len(taught.y)))
    after = taught_some(None)
    fewer = {str(k): round(float(taught_some(k).mean()), 4) for k in sizes}
    return {
        "rows": int(len(taught.y)),
        "untaught": round(float(before.mean()), 4),
        "taught_the_others": round(float(after.mean()), 4),
        "taught_k_of_the_others": fewer,
        "per_class": {
            str(c): {
                "rows": int((taught.y == c).sum()),
                "untaught": round(float(before[taught.y == c].mean()), 4),
                "taught_the_others": round(float(after[taught.y == c].mean()), 4),
            }
            for c in sorted(set(taught.y))
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="append", default=[], type=Path)
    parser.add_argument("--ood", action="append", default=[], type=Path)
    parser.add_argument("--train-seeds", type=int, default=1)
    parser.add_argument("--data-seeds", type=int, default=1)
    parser.add_argument("--answers", type=Path, help="TSV of every drawing's answers")
    parser.add_argument("--sets-cache", type=Path, help="folder for generated sets")
    parser.add_argument(
        "--names",
        choices=("original", "stored", "none"),
        default="original",
        help="the file name each real and other-domain drawing is answered "
        "under, as the product reads the family a name gives: the author's "
        "(from docs/data's lists, else as stored), as stored, or none",
    )
    parser.add_argument(
        "--misnamed",
        action="store_true",
        help="also answer every other-domain drawing as if its file were named "
        "for each part family in turn: the flagged rate under the worst family "
        "and the mean over the families (what a misleading name can cost)",
    )
    parser.add_argument(
        "--estimator",
        help="train only this candidate (random_forest, extra_trees, ...): "
        "compares two versions of the code on the same learner, since the "
        "selection between two close candidates can flip between them",
    )
    parser.add_argument(
        "--negatives",
        type=Path,
        help="real drawings of other domains added to every generated set as "
        "not_a_part (never also pass them as --ood)",
    )
    parser.add_argument(
        "--teach",
        type=Path,
        help="a tenant's labelled real drawings (DIR/<class>/*.dxf) trained "
        "beside every generated set, as base default (never also --real)",
    )
    parser.add_argument(
        "--teach-sizes",
        type=int,
        nargs="*",
        default=[],
        metavar="K",
        help="with --teach: also answer each taught drawing by a model taught "
        "K of the others, for each K",
    )
    args = parser.parse_args()
    if not args.ood:
        corpus = Path(__file__).resolve().parent.parent / "../shared/corpus/dxf"
        if corpus.is_dir():
            args.ood = [corpus]
    # Before minutes of generation and training, not after.
    for root in [*args.real, *args.ood, args.negatives, args.teach]:
        if root is not None and not dxf_files(root):
            parser.error(f"no DXF file under {root}")

    negatives = (
        files_dataset(args.negatives, labelled=False)[0] if args.negatives else None
    )

    taught = files_dataset(args.teach, labelled=True)[0] if args.teach else None

    def fit(
        data: training.Dataset, seed: int, teach: training.Dataset | None = taught
    ) -> training.TrainResult:
        only = [args.estimator] if args.estimator else None
        if teach is None:
            return training.train(data, seed=seed, only=only)
        # As learning._train trains on the default base.
        return training.train(training.on_base(data, teach), seed=seed, only=only)

    def with_negatives(data: training.Dataset) -> training.Dataset:
        if negatives is None:
            return data
        at = features.slot_indices(negatives.feature_version, data.feature_version)
        assert at is not None, "the negatives do not read as the generated set"
        return training.Dataset(
            X=np.vstack([data.X, negatives.X[:, list(at)].astype(data.X.dtype)]),
            y=np.concatenate([data.y, np.full(len(negatives.y), NOT_A_PART)]),
            feature_version=data.feature_version,
        )

    t0 = time.perf_counter()
    data, cached = generated_set(0, args.sets_cache)
    gen_s = None if cached else time.perf_counter() - t0
    data = with_negatives(data)
    t1 = time.perf_counter()
    result = fit(data, 0)
    train_s = round(time.perf_counter() - t1, 1)
    data1 = training.Dataset(
        X=data.X[:, :DXF1_WIDTH], y=data.y, feature_version="dxf-1"
    )
    baseline = training.train(data1, seed=0, open_set=False)
    heldout = training.synthetic_dataset(per_class=30, seed=1000, workers=2)
    shifted = shifted_dataset(30, 2000)
    new, old = Served(result, data.X.shape[1]), Served(baseline, DXF1_WIDTH)

    out: dict[str, object] = {
        "bench": "model_quality",
        "classes": len(result.labels),
        "taught_rows": None if taught is None else len(taught.y),
        "default_model": {
            **trained_summary(result, gen_s, train_s),
            "onnx_bytes": len(result.onnx),
        },
        "heldout": new.scores(heldout),
        "style_shifted": new.scores(shifted),
        "baseline_dxf1": {
            "heldout": old.scores(heldout),
            "style_shifted": old.scores(shifted),
        },
    }
    learned = similarity.Space.learned(result.open_set)
    analysed = features.slot_indices(
        features.DXF_FEATURE_VERSION, result.feature_version
    )
    learned_analysed = similarity.Space.learned(result.open_set, columns=analysed)
    # Other models of the same recipe: other training seeds on this set, and
    # the default training seed on other generated sets.
    groups: dict[str, list[Served]] = {
        "over_training_seeds": [
            Served(fit(data, seed), data.X.shape[1])
            for seed in range(1, args.train_seeds)
        ],
        "over_generated_sets": [
            Served(
                fit(with_negatives(generated_set(seed, args.sets_cache)[0]), 0),
                data.X.shape[1],
            )
            for seed in range(1, args.data_seeds)
        ],
    }
    rates: dict[str, list[tuple[str, object, list[object]]]] = {}

    def collect(name: str, first: object, rate: Callable) -> None:
        """One set's rate for the seed-0 model (``first``) and every other
        model, per group and over all of them."""
        of = {group: [rate(m) for m in models] for group, models in groups.items()}
        for group, more in of.items():
            rates.setdefault(group, []).append((name, first, more))
        every_other = [r for more in of.values() for r in more]
        rates.setdefault("over_all_models", []).append((name, first, every_other))

    every = [new, *groups["over_training_seeds"], *groups["over_generated_sets"]]
    answers: list[str] = []

    def answered(kind: str, root: Path, ds: training.Dataset, names: list[str]):
        part = kind == "real"
        columns = [m.cells(ds, part) for m in every]
        for i, name in enumerate(names):
            expected = str(ds.y[i]) if part else "-"
            row = [f"{kind}:{root.name}", name, expected, *(c[i] for c in columns)]
            answers.append("\t".join(row))

    for root in args.real:
        ds, names = files_dataset(root, labelled=True, names=args.names)
        if args.answers:
            answered("real", root, ds, names)
        answered_by_default = new.real(ds)
        out[f"real:{root.name}"] = {
            "default": answered_by_default,
            "dxf1": old.real(ds),
            "similar_top5_same_class": real_similar(ds, learned_analysed),
        }
        collect(
            f"real:{root.name}",
            answered_by_default["right_and_confident"],
            lambda m, ds=ds: m.real(ds)["right_and_confident"],
        )
    costs: dict[str, object] = {}
    for root in args.ood:
        ds, names = files_dataset(root, labelled=False, names=args.names)
        if args.answers:
            answered("ood", root, ds, names)
        flagged_by_default = new.ood(ds)
        out[f"ood:{root.name}"] = {"default": flagged_by_default, "dxf1": old.ood(ds)}
        collect(
            f"ood:{root.name}",
            flagged_by_default["flagged_rate"],
            lambda m, ds=ds: m.ood(ds)["flagged_rate"],
        )
        if args.misnamed:
            costs[f"ood:{root.name}"] = misnamed(every, ds)
    if args.misnamed:
        out["misnamed"] = costs
    counts = {group: len(models) for group, models in groups.items()}
    # Every model of the run together, when there are both kinds: the
    # steadiest figure to compare two runs by.
    if all(counts.values()):
        counts["over_all_models"] = sum(counts.values())
    for group, n in counts.items():
        if n:
            out[group] = {
                "models": n + 1,
                **{name: spread(first, more) for name, first, more in rates[group]},
            }
    X = np.nan_to_num(shifted.X.astype(float))
    out["similar_top5_same_class_style_shifted"] = {
        "unsupervised": top5_same_class(
            similarity.Space.unsupervised(X).embed(X), shifted.y
        ),
        "unsupervised_every_view": top5_same_class(
            similarity.Space.unsupervised(X).every_view().embed(X), shifted.y
        ),
        "model_metric": top5_same_class(learned.embed(X), shifted.y)
        if learned
        else None,
        "dxf1_cosine": top5_same_class(X[:, :DXF1_WIDTH], shifted.y),
    }
    t2 = time.perf_counter()
    n = 0
    for row in shifted.X[:200]:
        new.answer(row[None, :])
        n += 1
    out["inference_ms_per_drawing_incl_open_set"] = round(
        (time.perf_counter() - t2) * 1000 / n, 3
    )
    if taught is not None:
        out["taught_leave_one_out"] = taught_leave_one_out(
            data,
            taught,
            fit,
            Served(training.train(data, seed=0), data.X.shape[1]),
            args.teach_sizes,
        )
    if args.answers:
        head = ["set", "file", "class", "seed 0"]
        head += [f"training seed {k}" for k in range(1, args.train_seeds)]
        head += [f"generated set {k}" for k in range(1, args.data_seeds)]
        args.answers.write_text("\n".join(["\t".join(head), *answers]) + "\n")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
