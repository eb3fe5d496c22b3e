"""What the tenant model's classes cost similar-drawing search: one JSON line.

A tenant's own model makes ``/similar`` rank in ``<model>-v<n>-metric+classes``
(``apps/cad/similarity.py``): every archive row goes through the model once per
process, then only rows that are new or changed (``apps.cad.matrices.
learned_unit``). This measures, in one run, on ``--rows`` vectors of the real
width (``dxf-3``, generated drawings' vectors tiled with noise) and a model
trained the way ``POST /train`` trains (``training.train(labelled=True)``,
served through onnxruntime as the runtime serves it):

- baseline: the archive embedded in the model's metric alone (what ``/similar``
  did before), and one query against it;
- cold: the archive embedded with the classes (the first search of a process,
  or the first after a new model version);
- one new row: the archive grown by one drawing, through ``learned_unit``;
- warm query: the query embedded with the classes and scored against the kept
  rows (every later search);
- names: the archive embedded cold again, by a model that learned the words
  of its labels' file names (``<model>-v<n>-metric+classes+names``), each row
  with its drawing's name (``classes_with_names_embed_all_cold_ms``; reading
  the names from the database is not counted).

Run::

    .venv/bin/python bench/similar_classes.py [--rows 20000] [--per-class 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from types import SimpleNamespace

    from apps.cad import matrices
    from apps.cad.part_names import name_words
    from apps.cad.similarity import Space
    from apps.modelreg import training
    from apps.modelreg.validation import _ort_session
    from bench.common import best_of

    data = training.synthetic_dataset(per_class=args.per_class, seed=0, workers=2)
    # Names as a team gives them: the family's word and a number.
    file_names = [f"{label}-{i:05d}.dxf" for i, label in enumerate(data.y)]
    data.words = [name_words(n) for n in file_names]
    result = training.train(data, seed=0, labelled=True)
    assert result.open_set is not None and result.open_set.names is not None
    session = _ort_session(result.onnx)
    name = session.get_inputs()[0].name
    prob = session.get_outputs()[-1].name

    def classes(X: np.ndarray, names: object = None) -> np.ndarray:
        x = np.ascontiguousarray(X, dtype=np.float32)
        return np.asarray(session.run([prob], {name: x})[0], dtype=np.float64)

    open_set = result.open_set
    words = open_set.names

    def named_classes(X: np.ndarray, names: Sequence[str | None]) -> np.ndarray:
        return open_set.placed(classes(X), [name_words(n) for n in names])

    metric = Space.learned(result.open_set, name="bench-v1-metric")
    if metric is None:
        raise SystemExit("the trained model carries no metric")
    both = metric.with_classes(classes)
    named = metric.with_classes(named_classes, names=True)

    rng = np.random.default_rng(0)
    base = np.asarray(data.X, dtype=np.float64)
    picks = rng.integers(0, len(base), args.rows)
    raw = base[picks] + rng.normal(0, 0.02, (args.rows, base.shape[1]))
    row_names: list[str | None] = [file_names[int(p)] for p in picks]
    query = raw[0]

    def score(space: Space, rows: np.ndarray) -> np.ndarray:
        q = space.unit(query[None, :])[0]
        return rows @ q

    baseline_embed = best_of(3, lambda: metric.unit(raw))
    kept_metric = metric.unit(raw)
    baseline_query = best_of(20, lambda: score(metric, kept_metric))

    matrices._learned.clear()
    m = SimpleNamespace(raw=raw, drawing_ids=np.arange(args.rows))
    t0 = time.perf_counter()
    kept = matrices.learned_unit(m, both, tenant_id=0)  # type: ignore[arg-type]
    cold = time.perf_counter() - t0
    grown = SimpleNamespace(
        raw=np.vstack([raw, raw[:1] + 0.01]), drawing_ids=np.arange(args.rows + 1)
    )
    t0 = time.perf_counter()
    matrices.learned_unit(grown, both, tenant_id=0)  # type: ignore[arg-type]
    one_new = time.perf_counter() - t0
    warm_query = best_of(20, lambda: score(both, kept))
    t0 = time.perf_counter()
    named.unit(raw, row_names)
    named_cold = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "bench": "similar_classes",
                "rows": args.rows,
                "classes": len(result.labels),
                "estimator": result.metrics["estimator"],
                "onnx_bytes": len(result.onnx),
                "baseline_metric_embed_all_ms": round(baseline_embed * 1000, 1),
                "baseline_metric_query_ms": round(baseline_query * 1000, 2),
                "classes_embed_all_cold_ms": round(cold * 1000, 1),
                "classes_one_new_row_ms": round(one_new * 1000, 1),
                "classes_query_warm_ms": round(warm_query * 1000, 2),
                "classes_with_names_embed_all_cold_ms": round(named_cold * 1000, 1),
                "name_weight": words.weight,
                "ratio_warm_query_vs_baseline": round(warm_query / baseline_query, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
