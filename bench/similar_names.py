"""What weighing file names costs ``/similar`` without a tenant model: one JSON
line.

Without a model of the tenant's own, similar drawings are ordered in
``<version>-unsupervised+all-views+names`` (``Space.without_model``): every
view beside the words of the drawings' file names. Before, they were ordered
in ``<version>-unsupervised+all-views`` alone. This measures both in one run,
on a throw-away tenant of ``--rows`` drawings with real ``dxf-7`` vectors and
names (the shared corpus analysed, each drawing one of its drawings moved by
noise of a random size and named after it, numbered):

- exact search (smaller tenants): reading the tenant's rows from the database
  (now with the drawings' names, and the part names of their title blocks:
  every analysis holds a real sheet's), building its matrix (now fitting the
  names' weights and embedding them beside the drawing), the size of its kept
  rows (float64 before, float32 now) and a query against all of them;
- the index (``CADML_SEARCH_EXACT_BELOW`` reached): its build, its file's
  size, and a query's p50 through ``index.index_search``, each first in the
  every-view space (baseline) and then in the space with names (the query
  with its own file name, as ``/similar`` asks).

Run::

    DATABASE_URL=postgres://... .venv/bin/python bench/similar_names.py \
        [--rows 20000] [--queries 300]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

VERSION = "dxf-7"


def main() -> None:
    from bench.similar_scale import archive_parser

    args = archive_parser(__doc__, queries=300).parse_args()

    import django

    django.setup()
    from django.conf import settings

    from apps.cad import features, index, matrices
    from apps.cad.models import Analysis
    from apps.cad.similarity import Space, row_lengths
    from bench.common import best_of, p50
    from bench.similar_scale import corpus_archive_named, drop_tenant, seed_tenant

    raw, names = corpus_archive_named(args.rows, args.seed)
    if raw.shape[1] != len(features.SLOTS[VERSION]):
        raise SystemExit(f"the pipeline does not write {VERSION}")
    rng = np.random.default_rng(args.seed)
    from apps.cad.models import PART_NAME
    from apps.cad.part_names import drawing_name
    from apps.cad.pipeline import analyze_bytes

    # Every drawing carries a real sheet's title block, as the reader gave it.
    sheet = ROOT / "tests/data/drawings/hmmueller-PathDxf2GCode/8999.01P.dxf"
    block = analyze_bytes(sheet.name, sheet.read_bytes(), preview=False)["title_block"]
    tenant_id, _, ids = seed_tenant(raw, VERSION, names, title_block=block)
    # The names the matrix and the index read: file name and title.
    names = [drawing_name(n, block["part_name"]["value"]) for n in names]
    out: dict[str, object] = {"bench": "similar_names", "rows": args.rows}
    try:
        done = Analysis.objects.filter(
            tenant_id=tenant_id, feature_version=VERSION, status=Analysis.Status.DONE
        ).order_by("drawing_id", "-created", "-id")

        columns = ("drawing_id", "features", "created", "pk")

        def read(*more: Any) -> None:
            for _ in done.values_list(*columns, *more).iterator(chunk_size=2000):
                pass

        out["db_read_ms_baseline"] = round(best_of(3, read) * 1000)
        out["db_read_ms_names"] = round(
            best_of(3, lambda: read("drawing__name")) * 1000
        )
        out["db_read_ms_names_titles"] = round(
            best_of(3, lambda: read("drawing__name", PART_NAME)) * 1000
        )

        def before() -> None:
            Space.unsupervised(raw, VERSION).every_view().kept(raw)

        out["matrix_build_ms_baseline"] = round(best_of(3, before) * 1000)
        out["matrix_build_ms_names"] = round(
            best_of(
                3, lambda: matrices._matrix(VERSION, "", 0, ids, [], raw, names, {})
            )
            * 1000
        )
        # Exact search: one query against every kept row, as _ranked_exact.
        every = Space.unsupervised(raw, VERSION).every_view()
        kept = every.kept(raw)
        lengths = row_lengths(kept)
        m = matrices._matrix(VERSION, "", 0, ids, [], raw, names, {})
        out["matrix_kept_mb_baseline"] = round(kept.nbytes / 2**20, 1)
        out["matrix_kept_mb_names"] = round(m.kept.nbytes / 2**20, 1)
        picks = rng.integers(0, args.rows, args.queries).tolist()
        exact: dict[str, list[float]] = {"baseline": [], "names": []}
        for r in picks:
            t0 = time.perf_counter()
            every.scores(kept, raw[r], lengths=lengths)
            t1 = time.perf_counter()
            m.space.scores(m.kept, raw[r], lengths=m.lengths, name=names[r])
            t2 = time.perf_counter()
            exact["baseline"].append((t1 - t0) * 1000)
            exact["names"].append((t2 - t1) * 1000)
        for label, values in exact.items():
            out[f"exact_query_p50_ms_{label}"] = p50(values)
        with_names = Space.without_model(raw, names, VERSION)
        assert with_names.file_names is not None
        out["names_weight"] = round(with_names.file_names.weight, 3)
        settings.CADML_SEARCH_EXACT_BELOW = 0
        queries = rng.integers(0, args.rows, args.queries + 20).tolist()
        spaces = {
            "baseline": Space.unsupervised(raw, VERSION).every_view(),
            "names": None,  # the tenant's own: fitted on its rows and names
        }
        for label, space in spaces.items():
            t0 = time.perf_counter()
            index.search_index_build(
                tenant_id=tenant_id, feature_version=VERSION, space=space
            )
            out[f"index_build_s_{label}"] = round(time.perf_counter() - t0, 2)
            loaded = index._load(tenant_id, VERSION)
            if loaded is None:
                raise SystemExit("the index was not written")
            folder = Path(settings.CADML_SEARCH_DIR) / str(tenant_id)
            out[f"index_mb_{label}"] = round(
                (folder / loaded.meta["file"]).stat().st_size / 2**20, 1
            )
            lat: list[float] = []
            for j, row in enumerate(queries):
                t0 = time.perf_counter()
                found = index.index_search(
                    tenant_id=tenant_id,
                    feature_version=VERSION,
                    space=space,
                    query=raw[row],
                    k=10 + 64,
                    exclude=int(ids[row]),
                    name=names[row],
                )
                if found is None:
                    raise SystemExit("the index was not served")
                if j >= 20:  # the first ones map the index in
                    lat.append((time.perf_counter() - t0) * 1000)
            out[f"index_query_p50_ms_{label}"] = p50(lat)
        out["ratio_index_query_names_vs_baseline"] = round(
            float(str(out["index_query_p50_ms_names"]))
            / float(str(out["index_query_p50_ms_baseline"])),
            2,
        )
    finally:
        drop_tenant(tenant_id)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
