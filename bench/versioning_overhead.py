"""Versioning overhead: GET /api/v2/me (envelope) and /api/v1/me (version
changes) vs the same view without the versioning layer, on one daphne, one run.

Prints one JSON line. Target: both ratios >= 0.9.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, load, make_tenant  # noqa: E402
from tests.servers import running_daphne  # noqa: E402

PATHS = {
    "v2": "/api/v2/me",
    "v1": "/api/v1/me",
    "baseline": "/bench/unversioned-me",
}


def main() -> None:
    env = bench_env(
        DJANGO_SETTINGS_MODULE="bench.benchsite.settings",
        CADML_RATELIMIT_ENABLED="0",
        CADML_AUDIT_ENABLED="0",
    )
    key = make_tenant(env)
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    auth = {"Authorization": f"Api-Key {key}"}
    rps: dict[str, list[float]] = {name: [] for name in PATHS}
    errors = 0
    with running_daphne(env) as server:
        for path in PATHS.values():  # warm up
            load(path, server.port, headers=auth, seconds=1)
        for _ in range(2):  # interleave so drift hits every side alike
            for name, path in PATHS.items():
                result = load(path, server.port, headers=auth, seconds=seconds)
                rps[name].append(result.rps)
                errors += result.errors
    mean = {name: sum(v) / len(v) for name, v in rps.items()}
    print(
        json.dumps(
            {
                "bench": "versioning_overhead",
                "v2_envelope_rps": round(mean["v2"], 1),
                "v1_transform_rps": round(mean["v1"], 1),
                "unversioned_rps": round(mean["baseline"], 1),
                "v2_ratio": round(mean["v2"] / mean["baseline"], 3),
                "v1_ratio": round(mean["v1"] / mean["baseline"], 3),
                "target_ratio": 0.9,
                "errors": errors,
                "database": env["DATABASE_URL"].split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
