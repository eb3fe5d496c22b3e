"""Quality of the default part classifier, trained exactly as
``manage.py ensure_default_model`` trains it (40 synthetic drawings per class,
seed 0), on drawings it never saw:

- held-out: the generator with other seeds (1000+), 30 per class;
- style-shifted: the generator's style shift (other layer names, imperial units,
  Chinese title block, heavy clutter), then every drawing rotated by a random
  angle in [0, 360) degrees and scaled by a random factor in [0.1, 10] (log-
  uniform), 30 per class, seeds 2000+.

Baselines in the same run: the most-frequent-class classifier, and every other
candidate estimator on the same sets. Prints one JSON line (targets: held-out
macro-F1 >= 0.95, style-shifted >= 0.90).
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from apps.modelreg import training  # noqa: E402


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
        feature_version="dxf-1",
    )


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4)


def main() -> None:
    t0 = time.perf_counter()
    data = training.synthetic_dataset(per_class=40, seed=0, workers=2)
    result = training.train(data, seed=0)
    train_s = round(time.perf_counter() - t0, 1)
    heldout = training.synthetic_dataset(per_class=30, seed=1000, workers=2)
    shifted = shifted_dataset(30, 2000)
    labels = result.labels

    def scores(ds: training.Dataset) -> dict[str, object]:
        X = np.nan_to_num(ds.X, nan=0.0, posinf=0.0, neginf=0.0)
        probs = training.onnx_proba(result.onnx, X)
        metrics = training.evaluate(probs, ds.y, labels, 0.6)
        return {
            "macro_f1": metrics["macro_f1"],
            "accuracy": metrics["accuracy"],
            "ece": metrics["ece"],
            "abstention_rate": metrics["abstention_rate"],
            "rows": int(len(ds.y)),
            "worst_class": min(
                metrics["per_class"].items(), key=lambda kv: kv[1]["f1"]
            )[0],
        }

    out: dict[str, object] = {
        "bench": "model_quality",
        "default_model": {
            "estimator": result.metrics["estimator"],
            "train_rows": result.summary["train_rows"],
            "train_seconds_incl_generation": train_s,
            "internal_test_macro_f1": result.metrics["macro_f1"],
            "onnx_bytes": len(result.onnx),
        },
        "heldout": scores(heldout),
        "style_shifted": scores(shifted),
    }
    # Baselines on the same sets.
    X_all = np.nan_to_num(data.X, nan=0.0, posinf=0.0, neginf=0.0)
    majority = max(set(data.y), key=list(data.y).count)
    baselines: dict[str, dict[str, float]] = {
        "most_frequent": {
            "heldout": macro_f1(heldout.y, np.full(len(heldout.y), majority)),
            "style_shifted": macro_f1(shifted.y, np.full(len(shifted.y), majority)),
        }
    }
    for name, est in training.candidates(0).items():
        est.fit(X_all, data.y)
        baselines[name] = {
            "heldout": macro_f1(heldout.y, est.predict(np.nan_to_num(heldout.X))),
            "style_shifted": macro_f1(shifted.y, est.predict(np.nan_to_num(shifted.X))),
        }
    out["baselines"] = baselines
    hf, sf = out["heldout"]["macro_f1"], out["style_shifted"]["macro_f1"]  # type: ignore[index]
    out["targets_met"] = {
        "heldout>=0.95": hf >= 0.95,
        "style_shifted>=0.90": sf >= 0.90,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
