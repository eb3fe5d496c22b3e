"""Which views of the default model's feature version earn their place: the
default recipe (generated drawings, ``training.train`` with its open set)
trained once with every view and once with each view left out (its slots set
to zero in training and in every drawing it answers: a constant slot is never
split on), over ``--data-seeds`` generated sets. Answers are taken as the
prediction service gives them (``bench.model_quality.Served``: calibrated,
``not_a_part`` set aside, the open set's ``unknown``). Judged on each
``--real DIR`` (``DIR/<class>/*.dxf``: right and confident) and each ``--ood
DIR`` (flagged ``unknown`` or ``needs_review``), means over the sets. One
JSON line.

Run (``--sets-cache`` shares the generated sets with ``bench/model_quality.py``)::

    .venv/bin/python bench/feature_ablation.py --real DIR [--real DIR2] \\
        [--ood DIR] [--data-seeds 3] [--sets-cache DIR]
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
from bench.model_quality import Served, files_dataset, generated_set  # noqa: E402


def rate(served: Served, X: np.ndarray, y: np.ndarray | None, drop: list[int]) -> float:
    """Right and confident (``y``) or flagged (``y`` None) as served, with
    the ``drop`` slots of the model's version zeroed."""
    X = served.read(X).copy()
    X[:, drop] = 0.0
    a = served.answer(X)
    if y is None:
        return float((a["unknown"] | ~a["confident"]).mean())
    return float(((a["label"] == y) & a["confident"] & ~a["unknown"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="append", default=[], type=Path)
    parser.add_argument("--ood", action="append", default=[], type=Path)
    parser.add_argument("--data-seeds", type=int, default=3)
    parser.add_argument("--sets-cache", type=Path)
    args = parser.parse_args()
    if not args.ood:
        corpus = Path(__file__).resolve().parent.parent / "../shared/corpus/dxf"
        if corpus.is_dir():
            args.ood = [corpus]
    sets = {f"real:{p.name}": files_dataset(p, labelled=True)[0] for p in args.real}
    sets |= {f"ood:{p.name}": files_dataset(p, labelled=False)[0] for p in args.ood}
    generated = [generated_set(s, args.sets_cache)[0] for s in range(args.data_seeds)]
    version = generated[0].feature_version
    views = features.VIEWS[version]
    out: dict[str, object] = {
        "bench": "feature_ablation",
        "feature_version": version,
        "generated_sets": args.data_seeds,
        "per_class": training.DEFAULT_PER_CLASS,
    }
    for left_out in ["none", *views]:
        drop = [] if left_out == "none" else list(range(*views[left_out]))
        scores: dict[str, list[float]] = {}
        for data in generated:
            X = data.X.copy()
            X[:, drop] = 0.0
            result = training.train(
                training.Dataset(X=X, y=data.y, feature_version=version), seed=0
            )
            served = Served(result, X.shape[1])
            for key, ds in sets.items():
                y = None if key.startswith("ood:") else ds.y
                scores.setdefault(key, []).append(rate(served, ds.X, y, drop))
        out["all views" if left_out == "none" else f"without {left_out}"] = {
            key: round(float(np.mean(v)), 3) for key, v in scores.items()
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
