"""``/similar`` and near duplicates at index scale for a tenant with a model of
its own: one JSON line.

A throw-away tenant of ``--rows`` drawings with real ``dxf-7`` vectors (the
shared corpus analysed, each drawing one of them moved by noise of a random
size), searched through its index (``CADML_SEARCH_EXACT_BELOW`` reached): in
the same run first without a model (the baseline: the unsupervised index) and
then with one of its own, trained the way ``train_classifier`` trains
(generated drawings, extra trees), registered and serving; each time
``selectors.vector_similar`` for similar drawings (``k`` 10) and for near
duplicates (as an upload's analysis looks them up), p50 over ``--queries``.

Run::

    DATABASE_URL=postgres://... .venv/bin/python bench/similar_with_model.py \\
        [--rows 20000] [--queries 200]
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

VERSION = "dxf-7"


def main() -> None:
    from bench.similar_scale import archive_parser

    args = archive_parser(__doc__, queries=200).parse_args()

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings

    from apps.accounts.models import Tenant
    from apps.cad import selectors, services
    from apps.modelreg.services.training import classifier_train
    from bench.common import p50
    from bench.similar_scale import corpus_archive, drop_tenant, seed_tenant

    raw = corpus_archive(args.rows, args.seed)
    tenant_id, _, ids = seed_tenant(raw, VERSION)
    rng = np.random.default_rng(args.seed)
    queries = rng.integers(0, args.rows, args.queries + 20).tolist()
    out: dict[str, object] = {"bench": "similar_with_model", "rows": args.rows}

    def p50s(label: str) -> None:
        t0 = time.perf_counter()
        services.search_index_rebuild(tenant_id=tenant_id, feature_version=VERSION)
        out[f"{label}_index_build_s"] = round(time.perf_counter() - t0, 2)
        lat: dict[str, list[float]] = {"similar": [], "duplicates": []}
        for j, row in enumerate(queries):
            for key, floor in (("similar", None), ("duplicates", 0.942)):
                t0 = time.perf_counter()
                found = selectors.vector_similar(
                    tenant_id=tenant_id,
                    feature_version=VERSION,
                    vector=raw[row].tolist(),
                    sha256="",
                    exclude_id=int(ids[row]),
                    k=10 if floor is None else 100,
                    min_score=floor,
                )
                if j >= 20:  # the first ones map the index in
                    lat[key].append((time.perf_counter() - t0) * 1000)
                if floor is None:
                    out[f"{label}_space"] = found.space
        for key, values in lat.items():
            out[f"{label}_{key}_p50_ms"] = p50(values)

    try:
        settings.CADML_SEARCH_EXACT_BELOW = 0
        p50s("no_model")
        trained = classifier_train(
            synthetic_per_class=8,
            seed=0,
            tenant=Tenant.objects.get(pk=tenant_id),
            name="own",
            register=True,
            activate=True,
            workers=1,
            estimators=["extra_trees"],
        )
        out["model_feature_version"] = trained["feature_version"]
        p50s("with_model")
        with_model, without = (
            float(str(out[f"{label}_similar_p50_ms"]))
            for label in ("with_model", "no_model")
        )
        out["ratio_similar_with_model_vs_no_model"] = round(with_model / without, 2)
    finally:
        drop_tenant(tenant_id)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
