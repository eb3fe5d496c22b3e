"""Training through the product: a tenant's labelled drawings become a version
of the tenant's own model, as a batch job.

``training_request`` checks what can be checked at once (refusals are 4xx) and
queues a ``BatchJob`` of kind ``train``; ``training_run`` (a Celery task, or the
in-process pool when embedded) goes through the stages below, publishing
``batch.progress`` on ``job:<id>`` after each and stopping between stages when
the job is cancelled. The version and the job's record of it are written in one
transaction, so a worker killed at any point leaves either no version or a
version the redelivered job picks up (it then only deploys).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.batch import events, runner
from apps.batch.models import BatchJob
from apps.cad.features import DXF_FEATURE_VERSION, downgrade, served_by
from apps.cad.labels import label_normalise
from apps.cad.models import PART_NAME, Analysis, Drawing
from apps.cad.part_names import drawing_name, name_words
from apps.cad.services import analysis_run
from apps.modelreg import evaluation, tasks, training
from apps.modelreg.models import ActivationEvent, RegisteredModel
from apps.modelreg.services.deployments import deployment_request
from apps.modelreg.services.registry import version_register
from cadml.lib.channels import tenant_channel
from cadml.lib.errors import Conflict, DomainError, InvalidInput
from cadml.lib.events import record

logger = logging.getLogger(__name__)

STAGES = ("snapshot", "features", "fit", "cross_validation", "register", "deploy")
DEPLOY_MODES = ("none", "shadow", "candidate", "active")
Job = BatchJob.Status


class Cancelled(Exception):
    pass


@dataclass
class Snapshot:
    drawing_ids: list[int]
    shas: list[str]
    labels: list[str]
    counts: dict[str, int]
    dropped: dict[str, int]


def _labelled(tenant: Tenant, wanted: list[str] | None) -> list[tuple[int, str, str]]:
    qs = Drawing.objects.filter(tenant=tenant).exclude(label="")
    if wanted is not None:
        qs = qs.filter(label__in=wanted)
    return list(qs.order_by("pk").values_list("pk", "sha256", "label"))


def _choose(
    rows: list[tuple[int, str, str]],
    *,
    wanted: list[str] | None,
    min_per_class: int,
    base: str = "none",
) -> tuple[list[tuple[int, str, str]], dict[str, int]]:
    """Refuse what cannot be trained; returns the rows kept and the classes
    left out for having fewer than ``min_per_class`` drawings (only when the
    caller did not name the labels). On the ``default`` base a family the
    base already draws needs one drawing, and one class is enough."""
    if not rows:
        raise InvalidInput(
            "There are no labelled drawings"
            + (f" with the labels {wanted}" if wanted else "")
            + ": label drawings first (PATCH /api/v1/drawings/{id}, "
            "POST /api/v1/drawings/labels or a zip with label_from=folder).",
            code="no_labelled_drawings",
        )
    counts = Counter(label for _, _, label in rows)
    if wanted is not None:
        missing = sorted(set(wanted) - set(counts))
        if missing:
            raise InvalidInput(
                f"No drawing is labelled {', '.join(missing)}.", code="label_missing"
            )
    known = _base_labels(base)
    small = {
        label: n
        for label, n in counts.items()
        if n < min_per_class and label not in known
    }
    if small and wanted is not None:
        label, n = min(small.items(), key=lambda kv: (kv[1], kv[0]))
        raise InvalidInput(
            f"Class {label!r} has {n} drawing(s); min_per_class is {min_per_class}"
            + (
                f" (also under it: {sorted(set(small) - {label})})"
                if len(small) > 1
                else ""
            )
            + ". Label more drawings, lower min_per_class or leave the class out.",
            code="class_too_small",
        )
    kept = [r for r in rows if r[2] not in small]
    if not kept and base == "default":
        raise InvalidInput(
            "Training on the default base needs a drawing labelled with one of "
            f"its families ({', '.join(sorted(known))}) or a family of your own "
            f"with at least {min_per_class} drawings; have "
            f"{dict(sorted(counts.items()))}.",
            code="too_few_drawings",
        )
    if base == "none" and len(set(r[2] for r in kept)) < 2:
        raise InvalidInput(
            "Training needs at least two classes with at least "
            f"{min_per_class} drawings each; have {dict(sorted(counts.items()))}.",
            code="too_few_classes",
        )
    return kept, dict(sorted(small.items()))


def _base_labels(base: str) -> set[str]:
    from apps.cad.synth import NOT_A_PART, PART_CLASSES

    return {*PART_CLASSES, NOT_A_PART} if base == "default" else set()


def _existing_model(tenant: Tenant, name: str) -> RegisteredModel | None:
    return RegisteredModel.objects.filter(tenant=tenant, name=name).first()


def training_request(
    *,
    tenant: Tenant,
    user: Any,
    name: str,
    labels: list[str] | None = None,
    min_per_class: int = 5,
    deploy: str = "none",
    candidate_percent: int = 10,
    base: str = "none",
) -> BatchJob:
    """Queue a training of the tenant's model ``name`` on its labelled drawings
    (``base`` "default": beside the default model's generated drawings, so the
    model knows its families too and the tenant's labels correct and extend them).

    400: no labelled drawings, fewer than two classes, a named class under
    ``min_per_class``, bad options; 409: a training of this model is already
    queued or running. Only the tenant's own model is ever trained: a name
    the tenant has no model of becomes its own model on the first version.
    """
    if deploy not in DEPLOY_MODES:
        raise InvalidInput(
            f"deploy must be one of {', '.join(DEPLOY_MODES)}.", code="bad_deploy"
        )
    if base not in training.BASES:
        raise InvalidInput(
            f"base must be one of {', '.join(training.BASES)}.", code="bad_base"
        )
    if base == "default":
        existing = _existing_model(tenant, name)
        wanted_version = str(settings.CADML_SYNTHETIC_FEATURE_VERSION)
        if existing is not None and existing.feature_version != wanted_version:
            raise InvalidInput(
                f"Model {name!r} reads {existing.feature_version} vectors; the "
                f"default base is {wanted_version}. Train base default under "
                "another model name.",
                code="base_feature_version",
            )
    if not 1 <= int(candidate_percent) <= 99:
        raise InvalidInput(
            "candidate_percent must be between 1 and 99.", code="bad_percent"
        )
    floor = int(settings.CADML_TRAIN_MIN_PER_CLASS_FLOOR)
    if int(min_per_class) < floor:
        raise InvalidInput(
            f"min_per_class must be at least {floor} (a class needs drawings on "
            "both sides of the held-out split).",
            code="bad_min_per_class",
        )
    wanted = None
    if labels is not None:
        if not isinstance(labels, list) or not labels:
            raise InvalidInput(
                "labels must be a non-empty list of label names.", code="bad_labels"
            )
        wanted = sorted({label_normalise(v) for v in labels})
    rows = _labelled(tenant, wanted)
    kept, dropped = _choose(
        rows, wanted=wanted, min_per_class=int(min_per_class), base=base
    )
    with transaction.atomic():
        # The tenant row serialises two requests for the same model.
        Tenant.objects.select_for_update().get(pk=tenant.pk)
        running = BatchJob.objects.filter(
            tenant=tenant,
            kind=BatchJob.Kind.TRAIN,
            status__in=BatchJob.ACTIVE,
            options__model=name,
        ).first()
        if running is not None:
            raise Conflict(
                f"Model {name!r} is already being trained by job {running.pk}; "
                f"watch it on job:{running.pk} or cancel it first.",
                code="training_in_progress",
            )
        job = BatchJob.objects.create(
            tenant=tenant,
            created_by=user if getattr(user, "pk", None) else None,
            kind=BatchJob.Kind.TRAIN,
            priority=5,
            total=len(STAGES),
            options={
                "model": name,
                "labels": wanted,
                "min_per_class": int(min_per_class),
                "deploy": deploy,
                "candidate_percent": int(candidate_percent),
                "drawings": len(kept),
                "base": base,
            },
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    events.audit(
        "batch.submitted",
        tenant=tenant,
        job_id=job.pk,
        user=user,
        details={"kind": "train", "model": name, "drawings": len(kept)},
    )
    return job


def _enqueue(job_id: int) -> None:
    runner.enqueue(tasks.model_train_run, (job_id,), priority=5)


def training_cost(*, tenant: Tenant) -> int:
    """Rate-limiter units of a training request: one per
    ``CADML_TRAIN_DRAWINGS_PER_UNIT`` labelled drawings, at least one."""
    per = max(1, int(settings.CADML_TRAIN_DRAWINGS_PER_UNIT))
    n = Drawing.objects.filter(tenant=tenant).exclude(label="").count()
    return max(1, -(-n // per))


# --- the job ------------------------------------------------------------------


class _Run:
    """One execution of a training job: progress, cancellation, the result."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.channels = [job.channel, tenant_channel(job.tenant.slug)]

    def cancelled(self) -> bool:
        status = BatchJob.objects.filter(pk=self.job.pk).values_list(
            "status", flat=True
        )[0]
        return status == Job.CANCELLING

    def stage(self, done: int, name: str, **detail: Any) -> None:
        if self.cancelled():
            raise Cancelled
        BatchJob.objects.filter(pk=self.job.pk).update(
            done=done, last_progress_at=timezone.now()
        )
        self.job.done = done
        events.publish(
            self.channels,
            "batch.progress",
            {
                "job_id": self.job.pk,
                "status": Job.RUNNING,
                "percent": self.job.percent,
                "total": self.job.total,
                "done": done,
                "failed": 0,
                "skipped": 0,
                "stage": name,
                **detail,
            },
        )

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        now = timezone.now()
        fields: dict[str, Any] = {"status": status, "finished": now, "summary": summary}
        if status == Job.SUCCEEDED:
            fields["done"] = self.job.total
        elif status == Job.FAILED:
            fields["failed"] = self.job.total - self.job.done
        else:
            fields["skipped"] = self.job.total - self.job.done
        if not BatchJob.objects.filter(
            pk=self.job.pk, status__in=BatchJob.ACTIVE
        ).update(**fields):
            return
        self.job.refresh_from_db()
        payload = {
            "job_id": self.job.pk,
            "tenant": self.job.tenant.slug,
            "kind": self.job.kind,
            "status": status,
            "total": self.job.total,
            "summary": summary,
        }
        kinds: dict[str, str] = {
            Job.SUCCEEDED: "batch.completed",
            Job.FAILED: "batch.failed",
            Job.CANCELLED: "batch.cancelled",
        }
        kind = kinds[status]
        events.publish(self.channels, kind, payload)
        events.audit(
            "batch.cancelled" if status == Job.CANCELLED else "batch.completed",
            tenant=self.job.tenant,
            job_id=self.job.pk,
            details={"status": status, "kind": "train"},
        )


def training_run(*, job_id: int) -> None:
    """Run (or, redelivered, resume) a training job; never raises for bad data:
    the job fails with the reason in its summary."""
    job = BatchJob.objects.select_related("tenant", "created_by").get(pk=job_id)
    if job.status in BatchJob.TERMINAL:
        return
    run = _Run(job)
    if job.status == Job.CANCELLING:
        run.finish(Job.CANCELLED, {**job.summary, "cancelled_at": "queued"})
        return
    if BatchJob.objects.filter(pk=job.pk, status=Job.QUEUED).update(
        status=Job.RUNNING, started=timezone.now()
    ):
        events.publish(
            run.channels, "batch.started", {"job_id": job.pk, "total": job.total}
        )
    # Where it runs (which worker to look at when it is slow or lost).
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if not (job.summary or {}).get("version"):
        job.summary = {"worker": worker}
        BatchJob.objects.filter(pk=job.pk).update(summary=job.summary)
    try:
        summary = _train(run)
    except Cancelled:
        job.refresh_from_db()
        run.finish(Job.CANCELLED, {**job.summary, "cancelled_at": STAGES[job.done]})
    except DomainError as exc:
        job.refresh_from_db()
        run.finish(Job.FAILED, {**job.summary, "error": exc.message, "code": exc.code})
    except InterruptedError:
        job.refresh_from_db()
        run.finish(Job.CANCELLED, {**job.summary, "cancelled_at": STAGES[job.done]})
    except Exception as exc:
        # A bug, not the data's fault: end the job with the reason rather than
        # leave it running (the version, if registered, stays registered).
        logger.exception("training job %s failed unexpectedly", job.pk)
        job.refresh_from_db()
        run.finish(
            Job.FAILED,
            {
                **job.summary,
                "error": f"unexpected error ({type(exc).__name__}); retry later",
                "code": "internal_error",
            },
        )
    else:
        run.finish(Job.SUCCEEDED, {**summary, "worker": worker})


def _vectors(
    run: _Run, drawing_ids: list[int], feature_version: str
) -> tuple[dict[int, list[float]], dict[int, str | None], int]:
    """The newest stored vector per drawing that reads as ``feature_version``
    (its own or a later dxf version's prefix: a dxf-3 model keeps learning
    from drawings analysed as a later one), with the part name that
    analysis read in its title block; drawings without one are analysed again
    here (and keep that analysis)."""
    found: dict[int, list[float]] = {}
    titles: dict[int, str | None] = {}
    rows = (
        Analysis.objects.filter(
            drawing_id__in=drawing_ids,
            status=Analysis.Status.DONE,
            feature_version__in=served_by(feature_version),
        )
        .order_by("drawing_id", "-created", "-id")
        .values_list("drawing_id", "feature_version", "features", PART_NAME)
    )
    for drawing_id, version, vec, title in rows.iterator(chunk_size=500):
        if drawing_id in found:
            continue  # an older analysis of a drawing already read
        readable = downgrade(vec or [], source=version, target=feature_version)
        if readable:
            found[drawing_id] = readable
            titles[drawing_id] = title
    missing = [i for i in drawing_ids if i not in found]
    recomputed = 0
    for n, drawing in enumerate(
        Drawing.objects.filter(pk__in=missing).order_by("pk").iterator(), 1
    ):
        if n % 10 == 0:
            run.stage(1, "features", recomputed=n, to_recompute=len(missing))
        try:
            analysis = analysis_run(drawing=drawing)
        except DomainError:
            continue  # a file the pipeline refuses cannot be learnt from
        readable = downgrade(
            list(analysis.features or []),
            source=analysis.feature_version,
            target=feature_version,
        )
        if readable:
            found[drawing.pk] = readable
            titles[drawing.pk] = analysis.part_name
            recomputed += 1
    return found, titles, recomputed


def _feature_version(tenant: Tenant, name: str, drawing_ids: list[int]) -> str:
    """The model's own, else what most of the drawings' newest vectors are (a
    re-featurised drawing counts once, as its newest version)."""
    model = _existing_model(tenant, name)
    if model is not None:
        return model.feature_version
    newest: dict[int, str] = {}
    rows = (
        Analysis.objects.filter(drawing_id__in=drawing_ids, status=Analysis.Status.DONE)
        .exclude(feature_version="")
        .order_by("drawing_id", "-created", "-id")
        .values_list("drawing_id", "feature_version")
    )
    for drawing_id, version in rows.iterator(chunk_size=2000):
        newest.setdefault(drawing_id, version)
    versions = Counter(newest.values())
    if versions:
        return versions.most_common(1)[0][0]
    return DXF_FEATURE_VERSION


def _train(run: _Run) -> dict[str, Any]:
    job = run.job
    opts = job.options
    name = opts["model"]
    summary: dict[str, Any] = dict(job.summary or {})
    if summary.get("version") is None:
        started = time.monotonic()
        run.stage(0, "snapshot")
        base = opts.get("base", "none")
        rows = _labelled(job.tenant, opts.get("labels"))
        kept, dropped = _choose(
            rows,
            wanted=opts.get("labels"),
            min_per_class=opts["min_per_class"],
            base=base,
        )
        ids = [r[0] for r in kept]
        feature_version = (
            str(settings.CADML_SYNTHETIC_FEATURE_VERSION)
            if base == "default"
            else _feature_version(job.tenant, name, ids)
        )
        run.stage(1, "features", drawings=len(ids))
        vectors, titles, recomputed = _vectors(run, ids, feature_version)
        usable = [r for r in kept if r[0] in vectors]
        # Classes may have lost drawings to unreadable files: check again.
        usable, dropped_late = _choose(
            usable,
            wanted=opts.get("labels"),
            min_per_class=opts["min_per_class"],
            base=base,
        )
        dropped = {**dropped, **dropped_late}
        snapshot = evaluation.snapshot_hash(
            [(sha, label) for _, sha, label in usable], feature_version
        )
        X = np.asarray([vectors[i] for i, _, _ in usable], dtype=np.float32)
        X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
        y = np.asarray([label for _, _, label in usable])
        dedup = evaluation.deduplicate(X, y, [sha for _, sha, _ in usable])
        counts = dict(sorted(Counter(dedup.y.tolist()).items()))
        known = _base_labels(base)
        small = {k: v for k, v in counts.items() if v < 3 and k not in known}
        if small:
            raise InvalidInput(
                f"After removing duplicate drawings, {small} have fewer than 3 "
                "distinct drawings.",
                code="class_too_small",
            )
        threshold = float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
        seed = int(settings.CADML_TRAIN_SEED)
        # Each distinct drawing's file name and title (the first drawing's,
        # when the same bytes were uploaded under two names): their words are
        # learned beside the drawing.
        names: dict[str, str] = {}
        for pk, sha, file_name in (
            Drawing.objects.filter(pk__in=[r[0] for r in usable])
            .order_by("pk")
            .values_list("pk", "sha256", "name")
        ):
            names.setdefault(sha, drawing_name(file_name, titles.get(pk)))
        data = training.Dataset(
            X=dedup.X,
            y=dedup.y,
            feature_version=feature_version,
            summary={"source": "labels", "snapshot_sha256": snapshot},
            words=[name_words(names.get(sha)) for sha in dedup.keys],
        )
        run.stage(2, "fit", drawings=int(len(dedup.y)), base=base)
        if base == "default":
            # Drawn once (minutes) and then read from disk; a worker process
            # of Celery's pool may not start processes of its own.
            generated = training.generated_base(
                workers=1 if multiprocessing.current_process().daemon else 2
            )
            data = training.on_base(generated, data)
            counts = dict(sorted(Counter(data.y.tolist()).items()))
        # The generated base keeps its recipe (its share of other domains is
        # deliberate); the model served learns every drawing either way.
        result = training.train(
            data, seed=seed, threshold=threshold, labelled=base == "none"
        )
        run.stage(3, "cross_validation", estimator=result.metrics.get("estimator"))
        from sklearn.base import clone

        cv = evaluation.cross_validate(
            lambda: clone(result.estimator),
            data.X,
            data.y,
            folds=int(settings.CADML_TRAIN_CV_FOLDS),
            seed=seed,
            should_stop=run.cancelled,
            weigh=training.names_in_folds(
                result.open_set, data.words, data.y, result.labels
            ),
        )
        report = evaluation.report(
            probs=result.probs_test,
            y_test=result.y_test,
            labels=result.labels,
            held_out=result.metrics,
            cv=cv,
            threshold=threshold,
            snapshot=snapshot,
            dedup=dedup,
            training_s=time.monotonic() - started,
            class_counts=counts,
            drawing_ids={sha: pk for pk, sha, _ in usable},
        )
        if base == "default":
            # The base's rows come first, the tenant's last (on_base).
            report["taught_held_out"] = evaluation.taught_held_out(
                result, data.X[-int(data.summary["taught_rows"]) :], threshold
            )
        run.stage(4, "register")
        with transaction.atomic():
            version = version_register(
                tenant=job.tenant,
                name=name,
                content=result.onnx,
                labels=result.labels,
                feature_version=result.feature_version,
                metrics=result.metrics,
                validation_sample=result.validation_sample,
                training_summary={
                    **result.summary,
                    "job": job.pk,
                    "recomputed_vectors": recomputed,
                    "classes_left_out": dropped,
                },
                created_by=job.created_by,
                evaluation=report,
                snapshot_sha256=snapshot,
                new_labels_allowed=True,
            )
            summary = {
                "model": name,
                "version": version.number,
                "labels": result.labels,
                "drawings": int(len(dedup.y)),
                "base": base,
                "base_drawings": int(data.summary.get("base_rows", 0)),
                "recomputed_vectors": recomputed,
                "classes_left_out": dropped,
                "snapshot_sha256": snapshot,
                "cv_macro_f1": cv["macro_f1_mean"],
                "held_out_macro_f1": result.metrics["macro_f1"],
                "held_out_accuracy": result.metrics["accuracy"],
                "url": f"/api/v1/models/{name}/versions/{version.number}",
            }
            # With the version, in its transaction: a redelivered job finds it.
            BatchJob.objects.filter(pk=job.pk).update(summary=summary)
            _audit_trained(job, version, summary)
    run.stage(5, "deploy", version=summary["version"])
    summary["deployment"] = _deploy(job, summary["version"])
    return summary


def _audit_trained(job: BatchJob, version: Any, summary: dict[str, Any]) -> None:
    record(
        "modelreg",
        action="model.trained",
        tenant=job.tenant,
        actor_user=job.created_by,
        actor_system=None if job.created_by else "modelreg",
        resource_type="model_version",
        resource_id=f"{version.model.name}:v{version.number}"[:64],
        details={
            k: summary[k]
            for k in ("version", "drawings", "snapshot_sha256", "cv_macro_f1")
        }
        | {"job": job.pk},
    )


def _deploy(job: BatchJob, number: int) -> dict[str, Any]:
    """Deploy as asked, through the health-checked activation."""
    mode = job.options.get("deploy", "none")
    if mode == "none":
        return {"mode": "none"}
    model = RegisteredModel.objects.get(tenant=job.tenant, name=job.options["model"])
    dep = getattr(model, "deployment", None)
    kind = {
        "active": ActivationEvent.Kind.ACTIVATE,
        "candidate": ActivationEvent.Kind.AB_START,
        "shadow": ActivationEvent.Kind.SHADOW_START,
    }[mode]
    if kind != ActivationEvent.Kind.ACTIVATE and (
        dep is None or dep.active_version_id is None
    ):
        # Nothing serves yet: a first version is activated, not compared.
        kind = ActivationEvent.Kind.ACTIVATE
    try:
        event = deployment_request(
            model=model,
            number=number,
            kind=kind,
            percent=int(job.options.get("candidate_percent", 10)),
            actor=job.created_by,
            run_now=True,
        )
    except DomainError as exc:
        return {"mode": mode, "status": "refused", "detail": exc.message}
    return {
        "mode": mode,
        "kind": kind,
        "status": event.status,
        "detail": event.detail,
    }
