"""Training from labels through the product, end to end.

A tenant with N labelled drawings (synthetic parts of the generator's classes,
analysed once beforehand so their dxf-1 vectors are stored):

(a) baseline: ``training.train`` alone, in this process, on the same vectors
    (the fit, selection and ONNX export every training pays);
(b) ``POST /api/v1/models/{name}/train`` with ``deploy=active`` on a real
    ``celery -A cadml worker -c 1``, timed until the new version serves
    (the job succeeded and a prediction in this process answers with it);
(c) as (b) for another tenant whose N drawings have no stored vector, so the
    job analyses each one again (``--recompute 0`` skips it).

``--data DIR`` takes a labelled library ``DIR/<label>/*.dxf`` of real drawings
instead of generated ones (issue 22's tenant: 30+ categories through the API).
``--base default`` trains as ``{"base": "default"}`` does: the labelled drawings
beside the default model's generated set, which this process draws (or reads
from ``CADML_GENERATED_SET_DIR``) before (a), as ``ensure_default_model`` does
on a deployment; ``base_draw_s`` is that once-only cost.

Prints one JSON line with the seconds and b/a, c/b. Targets: (b) <= 60 s,
(c) <= 3 x 60 s on the 2-core machine with one worker. Needs DATABASE_URL (PostgreSQL),
REDIS_URL and CELERY_BROKER_URL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _analyse(item: tuple[str, bytes]) -> tuple[str, list[float]]:
    import logging

    logging.disable(logging.INFO)
    from apps.cad.pipeline import analyze_bytes

    out = analyze_bytes(item[0], item[1], preview=False)
    return out["feature_version"], out["features"]


def _contents(n: int, salt: str, seed: int) -> list[tuple[str, str, bytes]]:
    from apps.cad.synth import PART_CLASSES, generate_part

    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = PART_CLASSES[i % len(PART_CLASSES)]
        content = generate_part(label, rng) + f"999\n{salt}-{i}\n".encode()
        out.append((label, f"{label}-{i}.dxf", content))
    return out


def _library(root: Path) -> list[tuple[str, str, bytes]]:
    """A labelled library ``DIR/<label>/*.dxf``, each content once."""
    out, seen = [], set()
    for path in sorted(root.glob("*/*.dxf")):
        content = path.read_bytes()
        if content not in seen:
            seen.add(content)
            out.append((path.parent.name, path.name, content))
    return out


def _tenant(slug: str, contents: list, vectors: list | None):  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    from apps.accounts.services import api_key_create, tenant_create
    from apps.cad.models import Analysis, Drawing

    tenant = tenant_create(slug=slug, plan="internal")
    import hashlib

    drawings = []
    for label, name, content in contents:
        d = Drawing(
            tenant=tenant,
            name=name,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            format="dxf",
            label=label,
        )
        d.file.save(d.sha256, ContentFile(content), save=False)
        drawings.append(d)
    Drawing.objects.bulk_create(drawings, batch_size=500)
    if vectors is not None:
        Analysis.objects.bulk_create(
            [
                Analysis(
                    drawing=d,
                    tenant=tenant,
                    status=Analysis.Status.DONE,
                    feature_version=fv,
                    features=vec,
                )
                for d, (fv, vec) in zip(drawings, vectors, strict=True)
            ],
            batch_size=500,
        )
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user(username=f"{slug}-owner")
    from apps.accounts.models import Membership
    from apps.accounts.services import membership_create

    membership_create(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    key = api_key_create(
        tenant=tenant, name="bench", scopes=["admin"], created_by=owner
    )
    return tenant, key.plaintext


def _train_until_serving(
    tenant, key: str, timeout: float, base: str = "none"
) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from apps.batch.models import BatchJob
    from apps.cad.models import Analysis
    from apps.modelreg.services.inference import predict

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    t0 = time.perf_counter()
    r = client.post(
        "/api/v1/models/part-classifier/train",
        {"deploy": "active", "base": base},
        format="json",
    )
    if r.status_code != 202:
        raise SystemExit(f"train refused: {r.status_code} {r.content[:300]!r}")
    job_id = r.json()["job"]
    while True:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in BatchJob.TERMINAL:
            break
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"job {job_id} still {job.status} after {timeout}s")
        time.sleep(0.2)
    if job.status != "succeeded":
        raise SystemExit(f"job {job_id} {job.status}: {job.summary}")
    deployment = job.summary.get("deployment") or {}
    if deployment.get("status") == "failed":
        raise SystemExit(f"the trained version did not deploy: {deployment}")
    fv, vec = (
        Analysis.objects.filter(tenant=tenant, status="done")
        .values_list("feature_version", "features")
        .first()
    )
    while True:  # the new version serves in this process too
        out = predict(features=vec, feature_version=fv, tenant_id=tenant.pk)
        if out.get("model_version") == job.summary["version"]:
            break
        if time.perf_counter() - t0 > timeout:
            raise SystemExit("the trained version never served")
        time.sleep(0.1)
    return time.perf_counter() - t0, job.summary


def main() -> None:
    from apps.modelreg.training import BASES  # no settings read on import

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drawings", type=int, default=1000)
    parser.add_argument("--recompute", type=int, default=1000)
    parser.add_argument(
        "--data",
        type=Path,
        help="a labelled library DIR/<label>/*.dxf instead of generated drawings "
        "(every label needs 3 distinct vectors, as the API asks)",
    )
    parser.add_argument("--base", choices=BASES, default="none")
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} must be set (PostgreSQL, Redis and a Redis broker)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-" + "k" * 60,
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        CADML_AUDIT_SIGNING_KEY="bench-audit-" + "a" * 40,
        CADML_RATELIMIT_ENABLED="0",
        MEDIA_ROOT=f"/tmp/bench-train-media-{uuid.uuid4().hex[:6]}",
    )
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    salt = uuid.uuid4().hex[:8]

    contents = _library(args.data) if args.data else _contents(args.drawings, salt, 1)
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(2) as pool:
        vectors = pool.map(_analyse, [(n, c) for _, n, c in contents], chunksize=8)
    tenant, key = _tenant(f"bench-train-{salt}", contents, vectors)

    # (a) the fit alone on the same vectors.
    import numpy as np

    from apps.modelreg import training

    data = training.Dataset(
        X=np.asarray([v for _, v in vectors], dtype=np.float32),
        y=np.asarray([label for label, _, _ in contents]),
        feature_version=vectors[0][0],
    )
    base_draw_s = None
    if args.base == "default":
        t0 = time.perf_counter()
        data = training.on_base(training.generated_base(), data)
        base_draw_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    training.train(
        data,
        threshold=float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD),
        labelled=args.base == "none",
    )
    baseline_s = time.perf_counter() - t0

    from cadml.celery import app

    app.control.purge()
    log = Path(f"/tmp/bench-train-worker-{salt}.log")
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cadml",
                "worker",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-train-{salt}@%h",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(3)
        stored_s, summary = _train_until_serving(tenant, key, 600, args.base)
        recompute_s = None
        if args.recompute:
            fresh = _contents(args.recompute, salt + "r", 2)
            tenant2, key2 = _tenant(f"bench-train-{salt}-r", fresh, None)
            recompute_s, summary2 = _train_until_serving(tenant2, key2, 1800, args.base)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    print(
        json.dumps(
            {
                "bench": "train_from_labels",
                "drawings": len(contents),
                "data": args.data.name if args.data else "generated",
                "base": args.base,
                "base_drawings": summary.get("base_drawings"),
                "base_draw_s": None if base_draw_s is None else round(base_draw_s, 1),
                "classes": len(summary["labels"]),
                "baseline_train_only_s": round(baseline_s, 2),
                "api_train_until_serving_s": round(stored_s, 2),
                "ratio_api_vs_train_only": round(stored_s / baseline_s, 3),
                "target_api_s": 60,
                "recompute_drawings": args.recompute,
                "api_train_with_recompute_s": round(recompute_s, 2)
                if recompute_s
                else None,
                "ratio_recompute_vs_stored": round(recompute_s / stored_s, 3)
                if recompute_s
                else None,
                "target_recompute_s": 180,
                "cv_macro_f1": summary["cv_macro_f1"],
                "held_out_macro_f1": summary["held_out_macro_f1"],
                "worker": "celery -c 1 (prefork)",
            }
        )
    )


if __name__ == "__main__":
    main()
