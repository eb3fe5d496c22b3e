"""The per-process registry of loaded ONNX sessions and what each model serves.

Each process keeps sessions by version id and an immutable ``Snapshot`` of every
deployment. A reload reads the deployments, loads any new version *beside* the
sessions already loaded, builds a new snapshot and swaps it in with one
assignment; a prediction that already holds the old snapshot (and so the old
session) finishes on it. No lock is taken on the prediction path.

Reload notices: with a shared Redis (``REDIS_URL`` or the cluster) a daemon
thread per process listens on a pub/sub channel; without Redis (and as a safety
net with it) the process reads the registry generation number at most once per
``CADML_MODEL_RELOAD_POLL_S``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import close_old_connections

from apps.cad.features import readable_as
from cadml import metrics
from cadml.lib.redis_client import shared_redis, sync_client

logger = logging.getLogger(__name__)

RELOAD_CHANNEL = "cadml:modelreg:reload"


def reload_channel() -> str:
    """Pub/sub channels ignore Redis database numbers: name the channel after the
    database, so only processes that share the registry hear each other."""
    from django.db import connection

    db = connection.settings_dict
    ident = f"{db.get('HOST')}:{db.get('PORT')}/{db.get('NAME')}"
    return f"{RELOAD_CHANNEL}:{hashlib.sha256(ident.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class LoadedVersion:
    version_id: int
    number: int
    sha256: str
    labels: tuple[str, ...]
    width: int
    session: Any
    input_name: str
    prob_output: str
    # Calibration and prototypes trained with the version (None: plain
    # probabilities, never ``unknown``).
    open_set: Any = None
    # Trained beside the default model's generated drawings (``base:
    # default``): its default families are the default model's.
    on_default_base: bool = False

    def predict_proba(self, vector: list[float]) -> np.ndarray:
        return self.classes(np.asarray([vector]))[0]

    def classes(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of many raw vectors at once (rows)."""
        x = np.ascontiguousarray(np.atleast_2d(X)[:, : self.width], dtype=np.float32)
        if not len(x):
            return np.zeros((0, len(self.labels)))
        (probs,) = self.session.run([self.prob_output], {self.input_name: x})
        return np.asarray(probs, dtype=np.float64)


@dataclass(frozen=True)
class DeploymentView:
    deployment_id: int
    model_id: int
    name: str
    tenant_id: int | None
    feature_version: str
    active: LoadedVersion | None
    candidate: LoadedVersion | None
    mode: str
    candidate_percent: int
    sticky_by: str
    salt: str
    guardrail_max_error_rate: float
    guardrail_window: int


@dataclass(frozen=True)
class Snapshot:
    generation: int
    deployments: tuple[DeploymentView, ...] = field(default_factory=tuple)

    def pick(
        self, *, tenant_id: int | None, feature_version: str, name: str | None = None
    ) -> DeploymentView | None:
        """The tenant's own serving model first, then the platform's; the
        default model name before others (the 3D default for brep vectors)."""
        default = name or (
            settings.CADML_MODEL_NAME_3D
            if feature_version.startswith("brep")
            else settings.CADML_MODEL_NAME
        )
        best: tuple[int, int, str] | None = None
        chosen = None
        for dep in self.deployments:
            if dep.active is None or dep.feature_version != feature_version:
                continue
            if dep.tenant_id is not None and dep.tenant_id != tenant_id:
                continue
            if name is not None and dep.name != name:
                continue
            rank = (
                0 if dep.tenant_id is not None else 1,
                0 if dep.name == default else 1,
                dep.name,
            )
            if best is None or rank < best:
                best, chosen = rank, dep
        return chosen

    def serving(
        self, *, tenant_id: int | None, feature_version: str, name: str | None = None
    ) -> tuple[DeploymentView, str] | None:
        """What serves vectors of ``feature_version``, and the version it reads
        them as: a model of that version or of an older one the vectors can be
        read as (their prefix, a dxf-1 model on a dxf-2 analysis). The tenant's
        own model beats the platform's whatever its version; between equals
        the vectors' own version wins."""
        best: tuple[tuple[int, int], DeploymentView, str] | None = None
        for order, version in enumerate(readable_as(feature_version)):
            view = self.pick(tenant_id=tenant_id, feature_version=version, name=name)
            if view is None:
                continue
            rank = (0 if view.tenant_id is not None else 1, order)
            if best is None or rank < best[0]:
                best = (rank, view, version)
        return None if best is None else (best[1], best[2])


def _load_version(version: Any) -> LoadedVersion:
    from apps.modelreg.validation import _ort_session, feature_width

    with version.artefact.open("rb") as fh:
        content = fh.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != version.sha256:
        raise RuntimeError(
            f"artefact of {version} does not match its sha256 (stored file changed)"
        )
    session = _ort_session(content)
    outputs = session.get_outputs()
    prob = next(
        o.name for o in outputs if o.type == "tensor(float)" and len(o.shape or []) == 2
    )
    from apps.modelreg.openset import OpenSet, known_labels

    width = feature_width(version.model.feature_version)
    labels = tuple(version.class_labels())
    return LoadedVersion(
        version_id=version.pk,
        number=version.number,
        sha256=version.sha256,
        labels=labels,
        width=width,
        session=session,
        input_name=session.get_inputs()[0].name,
        prob_output=prob,
        open_set=OpenSet.from_json(
            (version.metrics or {}).get("open_set"),
            width=width,
            classes=len(known_labels(labels)),
            feature_version=version.model.feature_version,
            labels=len(labels),
        ),
        on_default_base=(version.training_summary or {}).get("base") == "default",
    )


def _export_active_versions(
    before: Iterable[DeploymentView], after: Iterable[DeploymentView]
) -> None:
    """``cadml_model_active_version_info``: 1 for what this process serves now,
    0 for what it served before and no longer does."""
    serving = {(v.name, str(v.active.number)) for v in after if v.active is not None}
    for view in before:
        if view.active is not None:
            key = (view.name, str(view.active.number))
            if key not in serving:
                metrics.model_active_version.labels(*key).set(0)
    for key in serving:
        metrics.model_active_version.labels(*key).set(1)


class Runtime:
    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._sessions: dict[int, LoadedVersion] = {}
        self._reload_lock = threading.Lock()
        self._next_poll = 0.0
        self._listener: threading.Thread | None = None
        self._pid = os.getpid()
        self.reloads = 0

    # --- reading ------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        self._after_fork()
        self._ensure_listener()
        snap = self._snapshot
        now = time.monotonic()
        if snap is None or now >= self._next_poll:
            self._next_poll = now + self._poll_interval()
            generation = self._db_generation()
            if snap is None or generation != snap.generation:
                snap = self.reload(generation=generation)
        return snap

    def loaded_versions(self) -> list[int]:
        return sorted(self._sessions)

    def request_reload(self) -> None:
        """Check the generation on the next prediction (this process changed it)."""
        self._next_poll = 0.0

    # --- reloading ----------------------------------------------------------
    def reload(self, *, generation: int | None = None) -> Snapshot:
        from apps.modelreg.models import Deployment

        with self._reload_lock:
            if generation is None:
                generation = self._db_generation()
            deployments = list(
                Deployment.objects.select_related(
                    "model", "active_version__model", "candidate_version__model"
                ).filter(active_version__isnull=False)
            )
            sessions = dict(self._sessions)
            previous = {
                v.deployment_id: v
                for v in (self._snapshot.deployments if self._snapshot else ())
            }
            views = []
            failed: set[int] = set()
            for dep in deployments:
                loaded: dict[str, LoadedVersion | None] = {}
                for role in ("active_version", "candidate_version"):
                    version = getattr(dep, role)
                    if version is None:
                        loaded[role] = None
                        continue
                    if version.pk not in sessions:
                        try:
                            sessions[version.pk] = _load_version(version)
                        except Exception:
                            # This process cannot load it (artefact missing here?):
                            # keep serving what it served before.
                            logger.exception("cannot load %s", version)
                            failed.add(dep.pk)
                            before = previous.get(dep.pk)
                            loaded[role] = (
                                getattr(before, role.split("_")[0], None)
                                if before
                                else None
                            )
                            continue
                    loaded[role] = sessions[version.pk]
                candidate = loaded["candidate_version"]
                if dep.mode == Deployment.Mode.NONE:
                    candidate = None
                views.append(
                    DeploymentView(
                        deployment_id=dep.pk,
                        model_id=dep.model_id,
                        name=dep.model.name,
                        tenant_id=dep.model.tenant_id,
                        feature_version=dep.model.feature_version,
                        active=loaded["active_version"],
                        candidate=candidate,
                        mode=dep.mode,
                        candidate_percent=dep.candidate_percent,
                        sticky_by=dep.sticky_by,
                        salt=dep.salt,
                        guardrail_max_error_rate=dep.guardrail_max_error_rate,
                        guardrail_window=dep.guardrail_window,
                    )
                )
            in_use = {
                v.version_id
                for view in views
                for v in (view.active, view.candidate)
                if v is not None
            }
            # Sessions no snapshot refers to are dropped from the registry; a
            # prediction still running on one keeps it alive until it returns.
            self._sessions = {k: v for k, v in sessions.items() if k in in_use}
            snap = Snapshot(generation=generation, deployments=tuple(views))
            self._snapshot = snap
            self.reloads += 1
            for dep in deployments:
                outcome = "failed" if dep.pk in failed else "ok"
                metrics.model_reloads.labels(dep.model.name, outcome).inc()
            _export_active_versions(previous.values(), views)
            return snap

    def _poll_interval(self) -> float:
        return float(settings.CADML_MODEL_RELOAD_POLL_S)

    @staticmethod
    def _db_generation() -> int:
        from apps.modelreg.models import RegistryGeneration

        row = RegistryGeneration.objects.filter(pk=1).values_list("value", flat=True)
        return int(row.first() or 0)

    def _after_fork(self) -> None:
        # Celery prefork children inherit a copy of the parent's runtime and
        # onnxruntime sessions that are not fork-safe: start afresh.
        if self._pid != os.getpid():
            self.__init__()  # type: ignore[misc]

    # --- Redis pub/sub ------------------------------------------------------
    def _ensure_listener(self) -> None:
        if not shared_redis() or self._listener is not None:
            return
        if not settings.CADML_MODEL_RELOAD_LISTENER:
            return
        with self._reload_lock:
            if self._listener is not None:
                return
            self._listener = threading.Thread(
                target=self._listen, name="modelreg-reload", daemon=True
            )
            self._listener.start()

    def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                # On a cluster any node relays every PUBLISH to its subscribers.
                client = sync_client(shared_redis())
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(reload_channel())
                backoff = 0.5
                # A notice may have been sent while we were (re)connecting.
                self._next_poll = 0.0
                for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    close_old_connections()
                    try:
                        self.reload()
                    except Exception:
                        logger.exception("model reload failed; polling will retry")
                        self._next_poll = 0.0
                    finally:
                        close_old_connections()
            except Exception:  # noqa: BLE001 - reconnect with backoff
                logger.warning("model reload listener lost Redis; reconnecting")
                self._next_poll = 0.0
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)


runtime = Runtime()


def notify_reload() -> None:
    """Tell every process (this one included) that what serves has changed."""
    runtime.request_reload()
    if shared_redis():
        try:
            client = sync_client(
                shared_redis(), socket_timeout=1, socket_connect_timeout=1
            )
            client.publish(reload_channel(), "reload")
            client.close()
        except Exception:  # noqa: BLE001 - the generation poll is the fallback
            logger.warning("could not publish the model reload notice")
