"""One ONNX prediction (onnxruntime, as the registry serves it) vs the
scikit-learn model's ``predict_proba`` on the same single vector, in the same
run; and the share of an analysis's time spent in inference.

The model is trained as the default one is (synthetic drawings, seed 0) but on
20 per class to keep the run short. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from apps.modelreg import training  # noqa: E402
from apps.modelreg.validation import _ort_session  # noqa: E402


def median_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    training._quiet()
    data = training.synthetic_dataset(per_class=20, seed=0, workers=2)
    out: dict[str, object] = {"bench": "inference"}
    from apps.cad.pipeline import analyze_bytes
    from apps.cad.synth import PART_CLASSES, generate_part

    rng = random.Random(7)
    drawings = [generate_part(PART_CLASSES[i % 10], rng) for i in range(30)]
    analysis_ms = median_ms(
        lambda: analyze_bytes("x.dxf", drawings[rng.randrange(30)], preview=True), 30
    )
    for name in ("random_forest", "logistic_regression"):
        result = training.train(data, seed=0, only=[name])
        est = result.estimator
        session = _ort_session(result.onnx)
        inp = session.get_inputs()[0].name
        prob = [o.name for o in session.get_outputs() if o.type == "tensor(float)"][0]
        x = result.X_test[:1].astype(np.float32)
        for _ in range(20):  # warm-up
            session.run([prob], {inp: x})
            est.predict_proba(x)
        onnx_ms = median_ms(
            lambda s=session, p=prob, i=inp, v=x: s.run([p], {i: v}), 500
        )
        sk_ms = median_ms(lambda e=est, v=x: e.predict_proba(v), 200)
        out[name] = {
            "onnx_ms": round(onnx_ms, 4),
            "sklearn_ms": round(sk_ms, 4),
            "sklearn_over_onnx": round(sk_ms / onnx_ms, 1),
            "inference_share_of_analysis": round(onnx_ms / (analysis_ms + onnx_ms), 5),
        }
    out["analysis_ms_median_with_preview"] = round(analysis_ms, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
