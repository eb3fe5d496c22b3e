"""The attacker's run of issue #18 (items 2-4) against a real daphne, for this
tree and, with ``--baseline DIR`` (a ``git archive`` of an earlier commit), the
same steps against that tree in the same run.

Steps, each on a fresh daphne (embedded batch runner, no Celery):
1. POST /api/v1/drawings declaring ``--anon-mb`` MB, no credentials: the body is
   streamed while another thread waits for the answer; time to the answer, MB
   sent by then, daphne's RSS growth (peak, /proc).
2. The same with a key, ``--keyed-mb`` MB.
3. A nested-block DXF (28 KB, 10^9 lines expanded): two preview requests.
4. Four concurrent previews of it from a free tenant while another tenant
   uploads a part (analysed in the request): that upload's time.
5. Twelve queued (202) uploads from a free tenant, then another tenant's
   one-item batch job: the job's time to finish.

Prints one JSON line: {"after": {...}, "before": {...}}.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import PROJECT_ROOT, bench_env  # noqa: E402
from tests.servers import free_port, wait_for_http  # noqa: E402

MB = 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _manage(src: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=src,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _tenant(src: Path, env: dict[str, str], slug: str, plan: str) -> str:
    out = _manage(
        src, env, "createtenant", slug, "--plan", plan, "--owner", f"{slug}-o", "--json"
    )
    return json.loads(out)["api_key"]


class Daphne:
    def __init__(self, src: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "daphne",
                "-v",
                "0",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "cadml.asgi:application",
            ],
            cwd=src,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for_http(f"{self.url}/healthz", timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _big_upload(server: Daphne, size: int, key: str | None) -> dict[str, Any]:
    """Declare ``size`` bytes, stream them, note when the answer comes."""
    pid = server.process.pid
    base = _rss(pid)
    peak = base
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = [
        "POST /api/v1/drawings HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: multipart/form-data; boundary=b",
        f"Content-Length: {size}",
    ]
    if key:
        head.append(f"Authorization: Api-Key {key}")
    sent = 0
    answer: dict[str, Any] = {}
    started = time.perf_counter()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def read() -> None:
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        answer["status"] = data.split(b"\r\n", 1)[0].decode("latin-1")
        answer["s"] = time.perf_counter() - started
        answer["mb_sent"] = round(sent / MB, 1)

    reader = threading.Thread(target=read)
    reader.start()
    piece = b"x" * MB
    try:
        while sent < size and reader.is_alive():
            sock.sendall(piece[: min(MB, size - sent)])
            sent += min(MB, size - sent)
            if sent % (32 * MB) == 0:
                peak = max(peak, _rss(pid))
    except OSError:
        pass
    # The baseline answers only after the whole body: give it time to.
    deadline = time.monotonic() + 300
    while reader.is_alive() and time.monotonic() < deadline:
        peak = max(peak, _rss(pid))
        reader.join(timeout=0.2)
    sock.close()
    time.sleep(1)
    return {
        "status": answer.get("status", "none"),
        "answer_s": round(answer.get("s", -1), 2),
        "mb_sent_at_answer": answer.get("mb_sent"),
        "mb_declared": round(size / MB),
        "rss_growth_peak_mb": round((peak - base) / MB, 1),
        "rss_growth_after_mb": round((_rss(pid) - base) / MB, 1),
    }


def _bomb() -> bytes:
    import ezdxf

    doc = ezdxf.new()
    block = doc.blocks.new("L0")
    for i in range(10):
        block.add_line((i, 0), (i, 1))
    for level in range(1, 9):
        block = doc.blocks.new(f"L{level}")
        for i in range(10):
            block.add_blockref(f"L{level - 1}", (i * 10**level, 0))
    doc.modelspace().add_blockref("L8", (0, 0))
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode()


def _part(seed: int, copies: int = 1) -> bytes:
    from apps.cad.synth import generate_part

    part = generate_part("flange", random.Random(seed))
    if copies == 1:
        return part
    # Repeat the entities section's content to reach a size (queued uploads).
    head, rest = part.split(b"ENTITIES\n", 1)
    body, tail = rest.rsplit(b"0\nENDSEC\n", 1)
    return head + b"ENTITIES\n" + body * copies + b"0\nENDSEC\n" + tail


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 2)


def run_tree(src: Path, args: argparse.Namespace, db: str) -> dict[str, Any]:
    env = bench_env(DATABASE_URL=db, MEDIA_ROOT=f"/tmp/cadml-attack-{db[-8:]}")
    env.pop("CELERY_BROKER_URL", None)  # the embedded runner: no worker needed
    env["CADML_SYNC_ANALYZE_MAX_MB"] = str(args.sync_mb)
    _manage(src, env, "migrate", "--noinput", "-v", "0")
    suffix = str(int(time.time() * 1000) % 10**8)
    key_free = _tenant(src, env, f"free-{suffix}", "free")
    key_other = _tenant(src, env, f"other-{suffix}", "pro")
    out: dict[str, Any] = {}
    free = {"Authorization": f"Api-Key {key_free}"}
    other = {"Authorization": f"Api-Key {key_other}"}

    server = Daphne(src, env)
    try:
        out["anon_upload"] = _big_upload(server, args.anon_mb * MB, None)
        out["keyed_upload"] = _big_upload(server, args.keyed_mb * MB, key_free)
    finally:
        server.stop()

    server = Daphne(src, env)
    try:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            bomb = _bomb()
            made = http.post(
                "/api/v1/drawings", files={"file": ("bomb.dxf", bomb)}, headers=free
            )
            drawing = made.json()["id"]
            previews = []
            for _ in range(2):
                r, s = _timed(
                    lambda: http.get(
                        f"/api/v1/drawings/{drawing}/preview.svg", headers=free
                    )
                )
                previews.append({"status": r.status_code, "s": s})
            out["bomb_preview"] = {
                "bytes": len(bomb),
                "upload_status": made.status_code,
                "requests": previews,
            }
            # A second bomb (new bytes, no stored refusal), four previews at once.
            bomb2 = bomb.replace(b"L8", b"M8")
            made2 = http.post(
                "/api/v1/drawings", files={"file": ("bomb2.dxf", bomb2)}, headers=free
            )
            if made2.status_code not in (200, 201):
                raise RuntimeError(f"bomb upload: {made2.status_code} {made2.text}")
            drawing2 = made2.json()["id"]
            statuses: list[int] = []

            def preview() -> None:
                with httpx.Client(base_url=server.url, timeout=300) as c:
                    statuses.append(
                        c.get(
                            f"/api/v1/drawings/{drawing2}/preview.svg", headers=free
                        ).status_code
                    )

            threads = [threading.Thread(target=preview) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.3)
            r, s = _timed(
                lambda: http.post(
                    "/api/v1/drawings",
                    files={"file": ("part.dxf", _part(7))},
                    headers=other,
                )
            )
            for t in threads:
                t.join()
            out["bombs_vs_other_tenant"] = {
                "other_upload_status": r.status_code,
                "other_upload_s": s,
                "bomb_statuses": sorted(statuses),
            }

            # Twelve queued uploads from the free tenant, then the other's job.
            big = [_part(100 + i, copies=args.big_copies) for i in range(12)]
            codes = []
            for i, content in enumerate(big):
                codes.append(
                    http.post(
                        "/api/v1/drawings",
                        files={"file": (f"big-{i}.dxf", content)},
                        headers=free,
                        params={"i": i},
                    ).status_code
                )
            t0 = time.perf_counter()
            job = http.post(
                "/api/v1/jobs",
                files={"files": ("job.dxf", _part(9))},
                headers=other,
            ).json()
            while True:
                state = http.get(f"/api/v1/jobs/{job['id']}", headers=other).json()
                if state["status"] in ("succeeded", "failed", "partial", "cancelled"):
                    break
                if time.perf_counter() - t0 > 600:
                    break
                time.sleep(0.05)
            out["queued_uploads_vs_other_job"] = {
                "upload_mb_each": round(len(big[0]) / MB, 1),
                "upload_statuses": sorted(set(codes)),
                "other_job_status": state["status"],
                "other_job_s": round(time.perf_counter() - t0, 2),
            }
    finally:
        server.stop()
    return out


def _createdb(name: str) -> str:
    import os
    from urllib.parse import urlparse

    url = urlparse(os.environ["DATABASE_URL"])
    host, port, user = url.hostname, str(url.port or 5432), url.username or "postgres"
    subprocess.run(  # noqa: S603
        ["dropdb", "--if-exists", "-h", host, "-p", port, "-U", user, name],  # noqa: S607
        check=True,
    )
    subprocess.run(  # noqa: S603
        ["createdb", "-h", host, "-p", port, "-U", user, name],  # noqa: S607
        check=True,
    )
    return f"postgres://{user}@{host}:{port}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, help="source tree to compare with")
    parser.add_argument("--anon-mb", type=int, default=1024)
    parser.add_argument("--keyed-mb", type=int, default=300)
    parser.add_argument("--sync-mb", type=int, default=1, help="queued above this")
    parser.add_argument("--big-copies", type=int, default=170, help="upload size")
    args = parser.parse_args()
    after_db = _createdb("cadml_h18b_attack_after")
    result = {"after": run_tree(PROJECT_ROOT, args, after_db)}
    print(json.dumps(result), file=sys.stderr)
    if args.baseline:
        result["before"] = run_tree(
            args.baseline, args, _createdb("cadml_h18b_attack_before")
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
