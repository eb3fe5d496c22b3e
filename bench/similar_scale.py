"""Approximate nearest-neighbour search at archive scale: one JSON line.

Vectors have the real dimensionality (``dxf-2``): the shared corpus' drawings
(analysed here, embedded in the unsupervised space) plus generated ones around
them (each a real drawing or a random centre, moved by noise of a random size),
so the set has the near-duplicates and clusters a real archive has. The same
run measures the baseline (exact cosine over the whole matrix, as
``/similar`` did) and the index (``--lib usearch`` as served, or ``faiss``
HNSW for the comparison in ``docs/search.md``): build time, memory, single and
8-concurrent query p50/p99, recall@10 against exact search, incremental add.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dxf"


def corpus_vectors() -> np.ndarray:
    from apps.cad.pipeline import analyze_bytes

    vecs = []
    for p in sorted(glob.glob(str(CORPUS / "**" / "*.dxf"), recursive=True)):
        try:
            r = analyze_bytes(Path(p).name, Path(p).read_bytes(), preview=False)
        except Exception:  # noqa: BLE001 - unreadable corpus files are skipped
            continue
        if r.get("features"):
            vecs.append(r["features"])
    return np.asarray(vecs, dtype=np.float64)


def dataset(n: int, real: np.ndarray, seed: int) -> np.ndarray:
    from apps.cad.similarity import Space

    rng = np.random.default_rng(seed)
    space = Space.unsupervised(real)
    base = space.embed(real)
    dim = base.shape[1]
    centres = np.vstack([base, rng.normal(size=(max(1000, n // 1000), dim))])
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
    ap.add_argument("--sweep", type=int, nargs="*", default=[32, 64, 128, 256])
    ap.add_argument("--real", help="a .npy of corpus vectors (skips analysing)")
    args = ap.parse_args()
    import django

    django.setup()
    from django.conf import settings

    real = np.load(args.real) if args.real else corpus_vectors()
    x = dataset(args.n + args.adds, real, args.seed)
    x, extra = x[: args.n], x[args.n :]
    rng = np.random.default_rng(args.seed + 1)
    qi = rng.integers(0, args.n, args.queries)
    queries = x[qi] + rng.normal(size=(args.queries, x.shape[1])).astype(
        np.float32
    ) * np.float32(0.01)
    k = 10

    from apps.cad import index as ann

    t0 = time.perf_counter()
    if args.lib == "usearch":
        idx = ann.new_index(x.shape[1])
        idx.add(np.arange(args.n, dtype=np.uint64), x)
        build_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "i.usearch")
            idx.save(path)
            index_bytes = os.path.getsize(path)

        def search(q: np.ndarray) -> np.ndarray:
            return idx.search(q, k, threads=1).keys

        def add(i: int, v: np.ndarray) -> None:
            idx.add(i, v, threads=1)
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

    exact_ms, truths = [], []
    for q in queries:
        t = time.perf_counter()
        truths.append(set(exact_top(x, q, k).tolist()))
        exact_ms.append((time.perf_counter() - t) * 1000)

    def measure() -> tuple[list[float], int]:
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
        if args.lib == "usearch":
            idx.expansion_search = ef
        else:
            idx.hnsw.efSearch = ef
        lat, hits = measure()
        sweep.append(
            {
                "expansion_search": ef,
                "recall_at_10": round(hits / (k * len(queries)), 4),
                "query_p50_ms": pct(lat, 50),
                "query_p99_ms": pct(lat, 99),
            }
        )
    ef = settings.CADML_SEARCH_EXPANSION_SEARCH
    if args.lib == "usearch":
        idx.expansion_search = ef
    else:
        idx.hnsw.efSearch = ef
    lat, hits = measure()

    def timed(q: np.ndarray) -> float:
        t = time.perf_counter()
        search(q)
        return (time.perf_counter() - t) * 1000

    with ThreadPoolExecutor(8) as pool:
        conc = list(pool.map(timed, np.vstack([queries, queries])))

    t = time.perf_counter()
    for j, v in enumerate(extra):
        add(args.n + j, v)
    add_ms = (time.perf_counter() - t) * 1000 / max(1, len(extra))

    print(
        json.dumps(
            {
                "bench": "similar_scale",
                "lib": args.lib,
                "n_vectors": args.n,
                "n_real": int(len(real)),
                "dim": int(x.shape[1]),
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
        )
    )


if __name__ == "__main__":
    main()
