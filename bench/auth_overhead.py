"""Authentication overhead: GET /api/v1/me with an API key vs the same view with
AllowAny and no authentication, on the same daphne, in one run.

Prints one JSON line. Target: ratio >= 0.9.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, load, make_tenant  # noqa: E402
from tests.servers import running_daphne  # noqa: E402


def main() -> None:
    env = bench_env(DJANGO_SETTINGS_MODULE="bench.benchsite.settings")
    key = make_tenant(env)
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    with running_daphne(env) as server:
        auth = {"Authorization": f"Api-Key {key}"}
        load("/api/v1/me", server.port, headers=auth, seconds=1)  # warm up
        load("/bench/open-me", server.port, seconds=1)
        rounds = []
        for _ in range(2):  # interleave so drift hits both sides alike
            rounds.append(
                (
                    load("/api/v1/me", server.port, headers=auth, seconds=seconds),
                    load("/bench/open-me", server.port, seconds=seconds),
                )
            )
    with_auth = sum(r[0].rps for r in rounds) / len(rounds)
    open_view = sum(r[1].rps for r in rounds) / len(rounds)
    errors = sum(r[0].errors + r[1].errors for r in rounds)
    print(
        json.dumps(
            {
                "bench": "auth_overhead",
                "api_key_rps": round(with_auth, 1),
                "allow_any_rps": round(open_view, 1),
                "ratio": round(with_auth / open_view, 3),
                "target_ratio": 0.9,
                "errors": errors,
                "database": env["DATABASE_URL"].split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
