"""Quality of the default 3D (STEP/IGES) classifier, trained exactly as
``manage.py ensure_default_model`` trains it (``training.DEFAULT_PER_CLASS_3D``
generated solids per class, seed 0, ``apps.cad.synth.parts3d``), on parts it
never saw:

- held-out: the solid generator with other seeds (1000+), 20 per class;
- each real set given with ``--real DIR`` (``DIR/<class>/*.step|stp|igs``,
  classes named as the generator's; STEP files of single parts made by other
  people, listed in docs/data/real-step.tsv): per-class right-and-confident
  rate (right label, not ``unknown``, not ``needs_review``), top-1 accuracy,
  ``unknown`` and ``needs_review`` rates, and each file's answer, each file
  answered under its author's file name as the product weighs it
  (``--names none``: the model alone);
- each set of other domains given with ``--ood DIR`` (every STEP/IGES file
  under it: circuit boards, enclosures, assemblies, ... listed in
  docs/data/real-step.tsv): the share flagged ``unknown`` or
  ``needs_review``, and each file's answer;
- with ``--train-seeds K``, the same generated solids trained with seeds
  0..K-1 (another calibration split and forest): every figure above per
  model, and in ``over_training_seeds`` their means.

Prints one JSON line. Nothing here is trained on a set it reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.cad.synth import NOT_A_PART  # noqa: E402
from apps.modelreg import training  # noqa: E402
from bench.model_quality import Served, paths_dataset, trained_summary  # noqa: E402

SUFFIXES = {".step", ".stp", ".igs", ".iges"}


def files_dataset(
    root: Path, names: str = "original"
) -> tuple[training.Dataset, list[str], int]:
    """Every STEP/IGES file under ``root/<class>/``; the third value counts
    the files that could not be analysed (reported, never dropped silently).
    Each is answered under its author's file name (``names``: ``original``,
    from docs/data/real-step.tsv), as stored (``stored``) or under none
    (``none``), as the product weighs the family a name gives."""
    paths = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
    )
    ds, kept = paths_dataset(
        root, paths, settings.CADML_BREP_FEATURE_VERSION, names=names, chunksize=1
    )
    return ds, kept, len(paths) - len(kept)


def real_report(served: Served, ds: training.Dataset, names: list[str]) -> dict:
    named = ds.summary.get("named")
    a = served.answer(ds.X, named)
    right = a["label"] == ds.y
    ok = right & a["confident"] & ~a["unknown"]
    return {
        "rows": int(len(ds.y)),
        "named_rows": sum(f is not None for f in named or []),
        "right_and_confident": round(float(ok.mean()), 4) if len(ok) else None,
        "top1_accuracy": round(float(right.mean()), 4) if len(ok) else None,
        "unknown_rate": round(float(a["unknown"].mean()), 4) if len(ok) else None,
        "needs_review_rate": round(float((~a["confident"]).mean()), 4)
        if len(ok)
        else None,
        "per_class": {
            str(c): {
                "rows": int((ds.y == c).sum()),
                "right_and_confident": round(float(ok[ds.y == c].mean()), 4),
                "right": round(float(right[ds.y == c].mean()), 4),
            }
            for c in sorted(set(ds.y))
        },
        "files": {
            name: {
                "label": str(a["label"][i]),
                "confidence": round(float(a["probs"][i].max()), 3),
                "unknown": bool(a["unknown"][i]),
                "named": (named or [None] * len(names))[i],
            }
            for i, name in enumerate(names)
        },
    }


def ood_report(served: Served, ds: training.Dataset, names: list[str]) -> dict:
    named = ds.summary.get("named")
    a = served.answer(ds.X, named)
    flagged = a["unknown"] | ~a["confident"]
    return {
        "rows": int(len(ds.y)),
        "named_rows": sum(f is not None for f in named or []),
        "flagged_rate": round(float(flagged.mean()), 4) if len(ds.y) else None,
        "files": {
            name: {
                "label": str(a["label"][i]),
                "confidence": round(float(a["part_probability"][i]), 3),
                "unknown": bool(a["unknown"][i]),
                "named": (named or [None] * len(names))[i],
            }
            for i, name in enumerate(names)
        },
    }


def _only(ds: training.Dataset, rows: np.ndarray) -> training.Dataset:
    return dataclasses.replace(ds, X=ds.X[rows], y=ds.y[rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="append", default=[], type=Path)
    parser.add_argument("--ood", action="append", default=[], type=Path)
    parser.add_argument("--train-seeds", type=int, default=1)
    parser.add_argument(
        "--names",
        choices=("original", "stored", "none"),
        default="original",
        help="the file name each real file is answered under: the author's "
        "(from docs/data's lists), as stored, or none (the model alone)",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = training.synthetic_dataset(
        per_class=training.DEFAULT_PER_CLASS_3D, seed=0, workers=2, solids=True
    )
    gen_s = time.perf_counter() - t0
    heldout = training.synthetic_dataset(
        per_class=20, seed=1000, workers=2, solids=True
    )
    # The same solids without the other domains: the model before it learned
    # them, as the baseline of the same run.
    parts_only = _only(data, data.y != NOT_A_PART)
    held_parts = _only(heldout, heldout.y != NOT_A_PART)
    held_other = _only(heldout, heldout.y == NOT_A_PART)
    sets = [("real", root, *files_dataset(root, args.names)) for root in args.real] + [
        ("ood", root, *files_dataset(root, args.names)) for root in args.ood
    ]
    threshold = float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
    out: dict[str, object] = {"bench": "model_quality_3d", "names": args.names}
    rates: dict[str, dict[str, list[object]]] = {"default": {}, "parts_only": {}}
    for seed in range(args.train_seeds):
        for recipe, trained_on in (("default", data), ("parts_only", parts_only)):
            t1 = time.perf_counter()
            result = training.train(trained_on, seed=seed, threshold=threshold)
            train_s = round(time.perf_counter() - t1, 1)
            served = Served(result, data.X.shape[1])
            got = {
                "heldout_generated": served.scores(held_parts),
                "heldout_generated_other": served.ood(held_other),
            }
            for kind, root, ds, names, unread in sets:
                report = (real_report if kind == "real" else ood_report)(
                    served, ds, names
                )
                got[f"{kind}:{root.name}"] = {**report, "unreadable": unread}
            for key, value in got.items():
                rate = value.get("right_and_confident", value.get("flagged_rate"))
                rates[recipe].setdefault(key, []).append(rate)
            if seed == 0:
                out[recipe] = {
                    "name": settings.CADML_MODEL_NAME_3D,
                    "classes": len(result.labels),
                    **trained_summary(result, gen_s, train_s),
                    **got,
                }
    out["over_training_seeds"] = {
        recipe: {
            "models": args.train_seeds,
            **{
                k: round(float(np.mean(np.asarray(v, dtype=float))), 4)
                for k, v in by_set.items()
            },
        }
        for recipe, by_set in rates.items()
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
