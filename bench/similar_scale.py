"""Approximate nearest-neighbour search at archive scale: one JSON line.

Vectors have the real dimensionality (``dxf-2``): the shared corpus' drawings
(analysed here, embedded in the unsupervised space) plus generated ones around
them (each a real drawing or a random centre, moved by noise of a random size),
so the set has the near-duplicates and clusters a real archive has. The same
run measures the baseline (exact cosine over the whole matrix, as
``/similar`` did) and the index (``--lib usearch`` as served, or ``faiss``
HNSW for the comparison in ``docs/search.md``): build time, memory, single and
8-concurrent query p50/p99, recall@10 against exact search, incremental add.

``--http`` also serves the index: a throw-away tenant gets one drawing and one
done analysis per vector (bulk ``COPY``, the vectors as their features), the
index built here is saved as that tenant's index (keyed by drawing id, in an
identity space, so the served path embeds nothing differently), and ``GET
/api/v1/drawings/{id}/similar`` is timed through daphne one request at a time
(``http_similar_p50_ms`` / ``http_similar_p99_ms``). The tenant's rows are
deleted at the end.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

VERSION = "dxf-2"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dxf"


def corpus_vectors() -> np.ndarray:
    return corpus_named()[0]


def corpus_named() -> tuple[np.ndarray, list[str]]:
    """The shared corpus' vectors and their files' names."""
    from apps.cad.pipeline import analyze_bytes

    vecs, names = [], []
    for p in sorted(glob.glob(str(CORPUS / "**" / "*.dxf"), recursive=True)):
        try:
            r = analyze_bytes(Path(p).name, Path(p).read_bytes(), preview=False)
        except Exception:  # noqa: BLE001 - unreadable corpus files are skipped
            continue
        if r.get("features"):
            vecs.append(r["features"])
            names.append(Path(p).name)
    return np.asarray(vecs, dtype=np.float64), names


def dataset(
    n: int, real: np.ndarray, seed: int, n_centres: int | None = None
) -> np.ndarray:
    from apps.cad.similarity import Space

    rng = np.random.default_rng(seed)
    space = Space.unsupervised(real)
    base = space.embed(real)
    dim = base.shape[1]
    extra = n_centres or max(1000, n // 1000)
    centres = np.vstack([base, rng.normal(size=(extra, dim))])
    out = np.empty((n, dim), dtype=np.float32)
    out[: len(base)] = base
    step = 100_000
    for lo in range(len(base), n, step):
        hi = min(n, lo + step)
        pick = centres[rng.integers(0, len(centres), hi - lo)]
        noise = rng.normal(size=pick.shape) * rng.uniform(0.02, 1.0, (hi - lo, 1))
        out[lo:hi] = pick + noise
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def archive_parser(doc: str | None, queries: int) -> argparse.ArgumentParser:
    """The options of the benches that search a throw-away tenant's archive
    (``corpus_archive``): its size, how many queries, the seed."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=queries)
    parser.add_argument("--seed", type=int, default=7)
    return parser


def corpus_archive(rows: int, seed: int) -> np.ndarray:
    """``rows`` raw vectors of the pipeline's version around the shared
    corpus' drawings: each one of them moved by noise of a random size."""
    return corpus_archive_named(rows, seed)[0]


def corpus_archive_named(rows: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``corpus_archive`` and a file name for each row: the name of the
    corpus drawing it was moved from, numbered."""
    vecs, names = corpus_named()
    real = np.nan_to_num(vecs)
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(real), rows)
    pick = real[picked]
    noise = rng.normal(size=pick.shape) * real.std(axis=0)
    named = [f"{names[j].removesuffix('.dxf')}-{i}.dxf" for i, j in enumerate(picked)]
    return pick + noise * rng.uniform(0.02, 0.5, (rows, 1)), named


def seed_tenant(
    x: np.ndarray,
    feature_version: str,
    names: list[str] | None = None,
    title_block: dict | None = None,
) -> tuple[int, str, np.ndarray]:
    """A new tenant holding one drawing and one done analysis per row of ``x``
    (``names``: the drawings' file names; ``part-<row>.dxf`` by default;
    ``title_block``: every analysis' title block, empty by default); its id,
    an API key and the drawing ids in row order."""
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import Tenant
    from apps.cad.models import Analysis
    from bench.common import bench_env, make_tenant

    slug = f"bench-similar-{int(time.time())}"
    key = make_tenant(bench_env(), slug)
    tenant_id = Tenant.objects.get(slug=slug).pk
    now = timezone.now().isoformat()
    n = len(x)
    names = names or [f"part-{i}.dxf" for i in range(n)]
    if any(set(name) & set("\t\n\\") for name in names):
        raise ValueError("file names for COPY cannot hold tabs, newlines or \\")
    step = 50_000
    with connection.cursor() as cur:
        with cur.copy(
            "COPY cad_drawing (tenant_id, name, sha256, size, format, file, label,"
            " created) FROM STDIN"
        ) as cp:
            for lo in range(0, n, step):
                cp.write(
                    "".join(
                        f"{tenant_id}\t{names[i]}\t{i:064x}\t1000\tdxf\t"
                        f"bench/{i}.dxf\t\t{now}\n"
                        for i in range(lo, min(n, lo + step))
                    )
                )
        cur.execute(
            "SELECT id FROM cad_drawing WHERE tenant_id = %s ORDER BY id", [tenant_id]
        )
        ids = np.asarray([r[0] for r in cur.fetchall()], dtype=np.int64)
        # Every other NOT NULL column gets the model's default.
        fixed = {
            "tenant_id": str(tenant_id),
            "status": Analysis.Status.DONE,
            "feature_version": feature_version,
            "created": now,
            "finished": now,
        }
        for f in Analysis._meta.concrete_fields:
            column = f.column
            if column is None or column in fixed or f.null or f.primary_key:
                continue
            if column in ("drawing_id", "features"):
                continue
            v = f.get_default()
            if f.get_internal_type() == "JSONField":
                v = json.dumps(v)
            elif isinstance(v, bool):
                v = "t" if v else "f"
            fixed[column] = str(v)
        if title_block is not None:
            fixed["title_block"] = json.dumps(title_block).replace("\\", "\\\\")
        cols = ", ".join(["drawing_id", "features", *fixed])
        tail = "\t".join(fixed.values()) + "\n"
        with cur.copy(f"COPY cad_analysis ({cols}) FROM STDIN") as cp:
            for lo in range(0, n, step):
                rows = x[lo : lo + step].round(5).tolist()
                cp.write(
                    "".join(
                        f"{d}\t{json.dumps(r)}\t{tail}"
                        for d, r in zip(ids[lo : lo + step].tolist(), rows, strict=True)
                    )
                )
        cur.execute("ANALYZE cad_drawing")
        cur.execute("ANALYZE cad_analysis")
    return tenant_id, key, ids


def tenant_watermark(tenant_id: int) -> int:
    from apps.cad.models import Analysis

    return Analysis.objects.filter(tenant_id=tenant_id).order_by("-pk")[0].pk


def drop_tenant(tenant_id: int) -> None:
    """The throw-away tenant's drawings, analyses and index files gone."""
    from django.conf import settings

    drop_tenant_rows(tenant_id)
    shutil.rmtree(Path(settings.CADML_SEARCH_DIR) / str(tenant_id), ignore_errors=True)


def drop_tenant_rows(tenant_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM cad_analysis WHERE tenant_id = %s", [tenant_id])
        cur.execute("DELETE FROM cad_drawing WHERE tenant_id = %s", [tenant_id])


def http_similar(
    ids: np.ndarray, key: str, requests: int, seed: int
) -> dict[str, float]:
    """GET /similar for random drawings through daphne, one at a time."""
    import http.client

    from tests.servers import running_daphne

    rng = np.random.default_rng(seed)
    picks = ids[rng.integers(0, len(ids), requests + 20)].tolist()
    lat: list[float] = []
    with running_daphne() as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for j, did in enumerate(picks):
            t = time.perf_counter()
            conn.request(
                "GET",
                f"/api/v1/drawings/{did}/similar?k=10",
                headers={"Authorization": f"Api-Key {key}"},
            )
            resp = conn.getresponse()
            body = resp.read()
            ms = (time.perf_counter() - t) * 1000
            if resp.status != 200 or len(json.loads(body)["results"]) != 10:
                raise SystemExit(f"GET /similar answered {resp.status}: {body[:300]!r}")
            if j >= 20:  # the first ones map the index in
                lat.append(ms)
        conn.close()
    return {
        "http_requests": requests,
        "http_similar_p50_ms": pct(lat, 50),
        "http_similar_p99_ms": pct(lat, 99),
    }


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = x @ q
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def pct(values: list[float], p: float) -> float:
    return round(float(np.percentile(values, p)), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--lib", choices=["usearch", "faiss"], default="usearch")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--adds", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sweep", type=int, nargs="*", default=[64, 128, 256, 512, 1024])
    ap.add_argument("--real", help="a .npy of corpus vectors (skips analysing)")
    ap.add_argument(
        "--centres",
        type=int,
        help="random centres (default max(1000, n/1000)); fewer make a small set "
        "as crowded around each centre as a larger one, the hard case for HNSW",
    )
    ap.add_argument(
        "--http", action="store_true", help="also time GET /similar through daphne"
    )
    ap.add_argument("--http-requests", type=int, default=300)
    args = ap.parse_args()
    if args.http and args.lib != "usearch":
        raise SystemExit("--http serves the usearch index only")
    search_dir = tempfile.mkdtemp(prefix="cadml-search-bench-")
    # The server process must read the index this process writes.
    os.environ["CADML_SEARCH_DIR"] = search_dir
    import django

    django.setup()

    real = np.load(args.real) if args.real else corpus_vectors()
    x = dataset(args.n + args.adds, real, args.seed, args.centres)
    x, extra = x[: args.n], x[args.n :]
    rng = np.random.default_rng(args.seed + 1)
    qi = rng.integers(0, args.n, args.queries)
    queries = x[qi] + rng.normal(size=(args.queries, x.shape[1])).astype(
        np.float32
    ) * np.float32(0.01)

    out: dict[str, object] = {
        "bench": "similar_scale",
        "lib": args.lib,
        "n_vectors": args.n,
        "n_real": int(len(real)),
        "dim": int(x.shape[1]),
        "centres": args.centres or max(1000, (args.n + args.adds) // 1000),
    }
    tenant_id = 0
    try:
        if args.http:
            t0 = time.perf_counter()
            tenant_id, key, ids = seed_tenant(x, VERSION)
            out["seed_s"] = round(time.perf_counter() - t0, 1)
        else:
            key, ids = "", np.arange(args.n, dtype=np.int64)
        out.update(measure(args, x, extra, queries, ids, tenant_id))
        if args.http:
            out.update(http_similar(ids, key, args.http_requests, args.seed + 2))
    finally:
        if tenant_id:
            drop_tenant_rows(tenant_id)
        shutil.rmtree(search_dir, ignore_errors=True)
    print(json.dumps(out))


def measure(
    args: argparse.Namespace,
    x: np.ndarray,
    extra: np.ndarray,
    queries: np.ndarray,
    ids: np.ndarray,
    tenant_id: int,
) -> dict[str, object]:
    """Build, size, recall and latency of the index over ``x`` keyed by ``ids``
    (with ``tenant_id``: saved as that tenant's index, as the service does)."""
    from django.conf import settings

    from apps.cad import index as ann
    from apps.cad.similarity import Space

    k = 10
    t0 = time.perf_counter()
    if args.lib == "usearch":
        idx = ann.new_index(x.shape[1])
        idx.add(ids.astype(np.uint64), x)
        build_s = time.perf_counter() - t0
        if tenant_id:
            # The vectors are stored as the features: embedding is the identity.
            dim = x.shape[1]
            one = np.ones(dim)
            space = Space(f"{VERSION}-unsupervised", np.zeros(dim), one, one)
            ann._save(tenant_id, VERSION, idx, space, tenant_watermark(tenant_id))
            meta = json.loads(ann._meta_path(tenant_id, VERSION).read_bytes())
            index_bytes = os.path.getsize(ann._dir(tenant_id) / meta["file"])
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "i.usearch")
                idx.save(path)
                index_bytes = os.path.getsize(path)

        def search(q: np.ndarray) -> np.ndarray:
            return np.searchsorted(ids, idx.search(q, k, threads=1).keys)

        def add(i: int, v: np.ndarray) -> None:
            idx.add(i, v, threads=1)

        def breadth(ef: int) -> None:
            idx.expansion_search = ef
    else:
        import faiss

        faiss.omp_set_num_threads(2)
        idx = faiss.IndexHNSWFlat(x.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = 64
        idx.add(x)
        build_s = time.perf_counter() - t0
        index_bytes = len(faiss.serialize_index(idx))
        faiss.omp_set_num_threads(1)

        def search(q: np.ndarray) -> np.ndarray:
            return idx.search(q[None, :], k)[1][0]

        def add(i: int, v: np.ndarray) -> None:
            idx.add(v[None, :])

        def breadth(ef: int) -> None:
            idx.hnsw.efSearch = ef

    exact_ms, truths = [], []
    for q in queries:
        t = time.perf_counter()
        truths.append(set(exact_top(x, q, k).tolist()))
        exact_ms.append((time.perf_counter() - t) * 1000)

    def timed_recall() -> tuple[list[float], int]:
        lat, hits = [], 0
        for q, truth in zip(queries, truths, strict=True):
            t = time.perf_counter()
            got = search(q)
            lat.append((time.perf_counter() - t) * 1000)
            hits += len(truth & {int(g) for g in got})
        return lat, hits

    # The search-time breadth trades recall for latency without a rebuild.
    sweep = []
    for ef in args.sweep:
        breadth(ef)
        lat, hits = timed_recall()
        sweep.append(
            {
                "expansion_search": ef,
                "recall_at_10": round(hits / (k * len(queries)), 4),
                "query_p50_ms": pct(lat, 50),
                "query_p99_ms": pct(lat, 99),
            }
        )
    ef = settings.CADML_SEARCH_EXPANSION_SEARCH
    breadth(ef)
    lat, hits = timed_recall()

    def timed(q: np.ndarray) -> float:
        t = time.perf_counter()
        search(q)
        return (time.perf_counter() - t) * 1000

    with ThreadPoolExecutor(8) as pool:
        conc = list(pool.map(timed, np.vstack([queries, queries])))

    t = time.perf_counter()
    top = int(ids[-1]) + 1
    for j, v in enumerate(extra):
        add(top + j, v)
    add_ms = (time.perf_counter() - t) * 1000 / max(1, len(extra))
    return {
        "dtype": settings.CADML_SEARCH_DTYPE if args.lib == "usearch" else "f32",
        "connectivity": settings.CADML_SEARCH_CONNECTIVITY,
        "expansion_add": settings.CADML_SEARCH_EXPANSION_ADD,
        "build_s": round(build_s, 2),
        "index_bytes": index_bytes,
        "memory_ratio": round(index_bytes / (args.n * x.shape[1] * 4), 3),
        "recall_at_10": round(hits / (k * len(queries)), 4),
        "query_p50_ms": pct(lat, 50),
        "query_p99_ms": pct(lat, 99),
        "concurrent_query_p99_ms": pct(conc, 99),
        "add_ms_per_vector": round(add_ms, 4),
        "expansion_search": ef,
        "sweep": sweep,
        "baseline_exact_p50_ms": pct(exact_ms, 50),
        "baseline_exact_p99_ms": pct(exact_ms, 99),
    }


if __name__ == "__main__":
    main()
