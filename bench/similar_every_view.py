"""What weighing every view costs ``/similar`` without a tenant model: one JSON
line.

Without a model of the tenant's own, similar drawings are ranked in
``<version>-unsupervised+all-views`` (``apps/cad/similarity.py``) and near
duplicates in ``<version>-unsupervised``, from the same kept rows
(``Space.kept``). This measures both search paths in one run, on a throw-away
tenant of ``--rows`` drawings with real ``dxf-7`` vectors (the shared corpus
analysed, each drawing one of them moved by noise of a random size):

- the index (``CADML_SEARCH_EXACT_BELOW`` reached): a query in the invariant
  space, as every query was answered before (baseline, and near duplicates
  now), against one in every view (its hits' kept rows read back from the
  index to score them exactly); then the whole of ``selectors.vector_similar``
  as ``/similar`` calls it, and how many of its top ten differ from the
  invariant space's;
- exact search (smaller tenants): building a tenant's matrix, unit rows in one
  space as before (baseline) against the kept rows and their lengths.

Run::

    DATABASE_URL=postgres://... .venv/bin/python bench/similar_every_view.py \
        [--rows 20000] [--queries 300]
"""

from __future__ import annotations

import json
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

    args = archive_parser(__doc__, queries=300).parse_args()

    import django

    django.setup()
    from django.conf import settings

    from apps.cad import features, index, matrices, selectors, services
    from apps.cad.similarity import Space
    from bench.common import best_of, p50
    from bench.similar_scale import corpus_archive, drop_tenant, seed_tenant

    raw = corpus_archive(args.rows, args.seed)
    if raw.shape[1] != len(features.SLOTS[VERSION]):
        raise SystemExit(f"the pipeline does not write {VERSION}")
    rng = np.random.default_rng(args.seed)
    tenant_id, _, ids = seed_tenant(raw, VERSION)
    out: dict[str, object] = {"bench": "similar_every_view", "rows": args.rows}
    try:
        settings.CADML_SEARCH_EXACT_BELOW = 0
        t0 = time.perf_counter()
        services.search_index_rebuild(tenant_id=tenant_id, feature_version=VERSION)
        out["index_build_s"] = round(time.perf_counter() - t0, 2)
        queries = rng.integers(0, args.rows, args.queries + 20).tolist()
        name = index.unsupervised_name(VERSION)
        lat: dict[str, list[float]] = {"baseline": [], "every_view": [], "similar": []}
        moved = []
        for j, row in enumerate(queries):
            q = raw[row]
            timed, top = {}, {}
            for key, near in (("baseline", True), ("every_view", False)):
                t0 = time.perf_counter()
                found = index.index_search(
                    tenant_id=tenant_id,
                    feature_version=VERSION,
                    space=None,
                    query=q,
                    k=10 + 64,
                    exclude=int(ids[row]),
                    near_duplicates=near,
                )
                timed[key] = (time.perf_counter() - t0) * 1000
                if found is None:
                    raise SystemExit("the index was not served")
                top[key] = [h.drawing_id for h in found[1][:10]]
            t0 = time.perf_counter()
            answer = selectors.vector_similar(
                tenant_id=tenant_id,
                feature_version=VERSION,
                vector=q.tolist(),
                sha256="",
                exclude_id=int(ids[row]),
                k=10,
            )
            timed["similar"] = (time.perf_counter() - t0) * 1000
            if answer.space != name:
                raise SystemExit(f"/similar ranked in {answer.space}, not {name}")
            if [n.drawing.pk for n in answer.neighbours] != top["every_view"]:
                raise SystemExit("/similar did not answer the index's every-view top")
            if j >= 20:  # the first ones map the index in
                for key, ms in timed.items():
                    lat[key].append(ms)
                moved.append(len(set(top["every_view"]) - set(top["baseline"])))
        out.update(
            {
                "index_query_p50_ms_baseline": p50(lat["baseline"]),
                "index_query_p50_ms_every_view": p50(lat["every_view"]),
                "similar_p50_ms": p50(lat["similar"]),
                "ratio_index_query_every_view_vs_baseline": round(
                    p50(lat["every_view"]) / p50(lat["baseline"]), 2
                ),
                "top10_changed_by_every_view_mean": round(float(np.mean(moved)), 2),
            }
        )
        space = Space.unsupervised(raw)

        def build() -> None:
            matrices._matrix(VERSION, "", 0, ids, [], raw, [""] * len(raw), {})

        out["matrix_build_ms_baseline"] = round(
            best_of(3, lambda: space.unit(raw)) * 1000, 2
        )
        out["matrix_build_ms_every_view"] = round(best_of(3, build) * 1000, 2)
    finally:
        drop_tenant(tenant_id)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
