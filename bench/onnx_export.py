"""Exporting a fully grown forest to ONNX: ``forest_onnx`` (what training
does) against skl2onnx's conversion (what it did), on the same fitted forest
in the same run, beside the forest's own fit. Prints one JSON line.

The forest is the one ``POST /train`` fits on a tenant's labelled archive:
``training.candidates``' extra trees for labelled drawings, on ``--rows`` vectors of
``--classes`` families (Gaussian clusters of the width of ``dxf-7``, spread as
real families overlap), or on the vectors of ``--npz`` (``X``, ``y``, as
``bench/tenant_library.py --cache`` writes them).

    .venv/bin/python bench/onnx_export.py --rows 3875 --classes 77
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

import numpy as np  # noqa: E402


def skl2onnx_bytes(forest, width: int) -> bytes:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    return to_onnx(
        forest,
        initial_types=[("features", FloatTensorType([None, width]))],
        options={id(forest): {"zipmap": False}},
        target_opset=17,
    ).SerializeToString()


def probabilities(content: bytes, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    prob = next(o.name for o in session.get_outputs() if o.type == "tensor(float)")
    return np.asarray(session.run([prob], {"features": X.astype(np.float32)})[0])


def main() -> None:
    from apps.cad.features import SLOTS
    from apps.modelreg import training
    from apps.modelreg.forest_onnx import forest_to_onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3875)
    parser.add_argument("--classes", type=int, default=77)
    parser.add_argument("--npz", type=Path, help="X and y of real vectors")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    if args.npz:
        data = np.load(args.npz, allow_pickle=True)
        X, y = np.nan_to_num(data["X"].astype(np.float32)), np.asarray(data["y"])
        if "sha" in data:  # one row a file, as training de-duplicates
            first = np.sort(np.unique(data["sha"], return_index=True)[1])
            X, y = X[first], y[first]
    else:
        width = len(SLOTS["dxf-7"])
        centres = rng.normal(size=(args.classes, width))
        idx = rng.integers(0, args.classes, args.rows)
        X = (centres[idx] + rng.normal(0, 1.5, (args.rows, width))).astype(np.float32)
        y = np.asarray([f"family {i}" for i in idx])
    forest = training.candidates(0, labelled=True)["extra_trees"]
    t0 = time.perf_counter()
    forest.fit(X, y)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ours = forest_to_onnx(forest, X.shape[1])
    ours_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    theirs = skl2onnx_bytes(forest, X.shape[1])
    theirs_s = time.perf_counter() - t2
    probe = X[rng.choice(len(X), min(500, len(X)), replace=False)]
    expected = forest.predict_proba(probe)
    print(
        json.dumps(
            {
                "bench": "onnx_export",
                "rows": int(len(y)),
                "classes": int(len(forest.classes_)),
                "trees": len(forest.estimators_),
                "nodes": int(sum(t.tree_.node_count for t in forest.estimators_)),
                "fit_s": round(fit_s, 2),
                "forest_onnx_s": round(ours_s, 2),
                "skl2onnx_s": round(theirs_s, 2),
                "speedup": round(theirs_s / ours_s, 1),
                "forest_onnx_mb": round(len(ours) / 2**20, 1),
                "skl2onnx_mb": round(len(theirs) / 2**20, 1),
                "max_abs_prob_diff": {
                    "forest_onnx": float(
                        np.abs(probabilities(ours, probe) - expected).max()
                    ),
                    "skl2onnx": float(
                        np.abs(probabilities(theirs, probe) - expected).max()
                    ),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
