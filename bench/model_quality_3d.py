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
  (``--names none``: the model alone).

Prints one JSON line. Nothing here is trained on a set it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="append", default=[], type=Path)
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
    t1 = time.perf_counter()
    result = training.train(
        data, seed=0, threshold=float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
    )
    train_s = round(time.perf_counter() - t1, 1)
    heldout = training.synthetic_dataset(per_class=20, seed=1000, solids=True)
    served = Served(result, data.X.shape[1])

    out: dict[str, object] = {
        "bench": "model_quality_3d",
        "names": args.names,
        "classes": len(result.labels),
        "default_model": {
            "name": settings.CADML_MODEL_NAME_3D,
            **trained_summary(result, gen_s, train_s),
        },
        "heldout_generated": served.scores(heldout),
    }
    for root in args.real:
        ds, names, unread = files_dataset(root, args.names)
        out[f"real:{root.name}"] = {
            **real_report(served, ds, names),
            "unreadable": unread,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
