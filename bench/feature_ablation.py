"""Which views of ``dxf-3`` earn their place: the default model's recipe
(synthetic drawings, seed 0, open set) trained on each subset of the views
(geometry = the dxf-1 slots, picture, words, outline), judged on held-out synthetic
drawings (seeds 1000+), each ``--real DIR`` (``DIR/<class>/*.dxf``:
right-and-confident rate) and each ``--ood DIR`` (default: the shared ezdxf
corpus; share flagged unknown or needs_review). One JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from apps.cad import features  # noqa: E402
from apps.modelreg import training  # noqa: E402
from bench.model_quality import THRESHOLD, files_dataset  # noqa: E402

SUBSETS = {
    "geometry": ("geometry",),
    "picture": ("picture",),
    "words": ("words",),
    "geometry+picture": ("geometry", "picture"),
    "geometry+picture+words": ("geometry", "picture", "words"),
    "outline": ("outline",),
    "geometry+picture+words+outline": ("geometry", "picture", "words", "outline"),
}


def columns(views: tuple[str, ...]) -> list[int]:
    return [i for v in views for i in range(*features.DXF3_VIEWS[v])]


def judge(
    result: training.TrainResult, X: np.ndarray, y: np.ndarray | None
) -> dict[str, float]:
    X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
    probs = result.estimator.predict_proba(X)
    os_ = result.open_set
    probs = os_.calibrate(probs)
    unknown = os_.unknown(X.astype(float))
    confident = probs.max(axis=1) >= THRESHOLD
    label = np.asarray(result.labels)[probs.argmax(axis=1)]
    if y is None:
        return {"flagged": round(float((unknown | ~confident).mean()), 4)}
    right = label == y
    return {
        "accuracy": round(float(right.mean()), 4),
        "right_and_confident": round(float((right & confident & ~unknown).mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="append", default=[], type=Path)
    parser.add_argument("--ood", action="append", default=[], type=Path)
    parser.add_argument("--per-class", type=int, default=training.DEFAULT_PER_CLASS)
    args = parser.parse_args()
    if not args.ood:
        corpus = Path(__file__).resolve().parent.parent / "../shared/corpus/dxf"
        if corpus.is_dir():
            args.ood = [corpus]
    data = training.synthetic_dataset(per_class=args.per_class, seed=0, workers=2)
    heldout = training.synthetic_dataset(per_class=20, seed=1000, workers=2)
    reals = {f"real:{p.name}": files_dataset(p, labelled=True)[0] for p in args.real}
    oods = {f"ood:{p.name}": files_dataset(p, labelled=False)[0] for p in args.ood}
    out: dict[str, object] = {"bench": "feature_ablation", "per_class": args.per_class}
    for name, views in SUBSETS.items():
        cols = columns(views)
        result = training.train(
            training.Dataset(X=data.X[:, cols], y=data.y, feature_version="subset"),
            seed=0,
        )
        row: dict[str, object] = {
            "estimator": result.metrics["estimator"],
            "heldout": judge(result, heldout.X[:, cols], heldout.y),
        }
        for key, ds in {**reals, **oods}.items():
            row[key] = judge(
                result, ds.X[:, cols], None if key.startswith("ood:") else ds.y
            )
        out[name] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
