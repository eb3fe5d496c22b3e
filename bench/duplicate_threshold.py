"""The near-duplicate threshold: cosine in the pipeline's unsupervised space
between a drawing and a redrawn copy of it (rotated, moved, scaled, entities in
another order) against the closest *other* drawing. Calibrated on generator
seeds 0.., judged on seeds 1000.. (never the same drawings). One JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

import django  # noqa: E402

django.setup()

import ezdxf  # noqa: E402
import numpy as np  # noqa: E402
from ezdxf.math import Matrix44  # noqa: E402

from apps.cad.pipeline import analyze_bytes  # noqa: E402
from apps.cad.similarity import Space  # noqa: E402
from apps.cad.synth import generate_part  # noqa: E402
from apps.cad.synth.generator import PART_CLASSES  # noqa: E402


def redrawn(content: bytes, rng: random.Random) -> bytes:
    doc = ezdxf.read(io.StringIO(content.decode("utf-8", "replace")))
    msp = doc.modelspace()
    m = (
        Matrix44.scale(rng.uniform(0.5, 2.0))
        @ Matrix44.z_rotate(rng.uniform(0, 2 * math.pi))
        @ Matrix44.translate(rng.uniform(-500, 500), rng.uniform(-500, 500), 0)
    )
    entities = list(msp)
    rng.shuffle(entities)
    for e in entities:
        copy = e.copy()
        try:
            copy.transform(m)
        except Exception:  # noqa: BLE001 - e.g. text that cannot be transformed
            continue
        msp.add_entity(copy)
        msp.delete_entity(e)
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode()


def scores(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    originals, copies = [], []
    for i in range(n):
        part = generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng)
        originals.append(analyze_bytes("a.dxf", part, preview=False)["features"])
        copy = redrawn(part, rng)
        copies.append(analyze_bytes("b.dxf", copy, preview=False)["features"])
    a, b = np.asarray(originals), np.asarray(copies)
    space = Space.unsupervised(np.vstack([a, b]))
    ua, ub = space.unit(a), space.unit(b)
    same = np.sum(ua * ub, axis=1)
    cross = ua @ ua.T
    np.fill_diagonal(cross, -np.inf)
    return same, cross.max(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    cal_same, cal_other = scores(0, args.n)
    # Lowest threshold that no calibration pair of distinct drawings reaches.
    threshold = round(math.floor(float(cal_other.max()) * 1000 + 1) / 1000, 3)
    test_same, test_other = scores(1000, args.n)
    print(
        json.dumps(
            {
                "bench": "duplicate_threshold",
                "n_per_split": args.n,
                "threshold": threshold,
                "calibration_copy_min": round(float(cal_same.min()), 4),
                "calibration_other_max": round(float(cal_other.max()), 4),
                "heldout_copy_recall": round(float((test_same >= threshold).mean()), 4),
                "heldout_false_duplicate_rate": round(
                    float((test_other >= threshold).mean()), 4
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
