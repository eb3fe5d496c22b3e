"""The CAD core's prediction hook (``CADML_PREDICTOR``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from apps.cad.features import slot_indices
from apps.cad.part_names import drawing_words, name_parts, name_words, named_family
from apps.modelreg.openset import readings_that_count, weighed
from apps.modelreg.services.inference import predict
from cadml.lib.request_id import current_request_id


def predict_analysis(analysis: Any) -> dict[str, Any]:
    if not analysis.features:
        return {"prediction": None, "reason": "the analysis has no feature vector"}
    # An analysis of bytes that were never stored (the analyze command) has no
    # drawing: no user, and no drawing to keep an A/B variant for.
    drawing = analysis.drawing if analysis.drawing_id else None
    # The part name its title block gives, beside its file name.
    title = analysis.part_name
    file_name = drawing.name if drawing else analysis.file_name
    words, in_title = drawing_words(file_name, title)
    return predict(
        features=list(analysis.features),
        feature_version=analysis.feature_version,
        tenant_id=analysis.tenant_id,
        user_id=getattr(drawing, "uploaded_by_id", None),
        # Outside a request (batch) the drawing keeps its A/B variant.
        request_key=current_request_id.get(None)
        or (f"drawing:{analysis.drawing_id}" if drawing else None),
        named=named_family(file_name=file_name, title=title),
        words=words,
        in_title=in_title,
        parts=((analysis.stats or {}).get("solid") or {}).get("parts"),
    )


def active_model_ready() -> tuple[bool, str]:
    """``/readyz``: which platform model serves (ready even without one: analyses
    then answer ``prediction: null``)."""
    from apps.modelreg.runtime import runtime

    snap = runtime.snapshot()
    serving = [
        f"{d.name} v{d.active.number} ({d.feature_version})"
        + (f" + {d.mode} v{d.candidate.number}" if d.candidate else "")
        for d in snap.deployments
        if d.tenant_id is None and d.active is not None
    ]
    return True, ", ".join(serving) if serving else "no active model"


def similarity_metric(*, tenant_id: int, feature_version: str) -> Any:
    """``CADML_SIMILARITY_METRIC``: ``(space name, metric, classes, columns,
    names)`` of the tenant's own serving model for this feature version when
    it learned a metric, else None (the platform's default model knows the
    generator, not the tenant's parts). ``classes`` maps raw vectors and their
    drawings' file names to the class probabilities the model places them by
    (``OpenSet.placed``: the answer's, names weighed in, when it reads names;
    on the default base also the family a name names, ``openset.weighed``;
    ``names`` True); ``columns`` says where the model's slots sit in the raw
    vectors (None: first)."""
    from apps.modelreg.runtime import runtime

    # What inference would route these vectors to, if it is the tenant's own.
    routed = runtime.snapshot().serving(
        tenant_id=tenant_id, feature_version=feature_version
    )
    if routed is None:
        return None
    view, version = routed
    active = view.active
    if view.tenant_id is None or active is None:
        return None
    metric = active.open_set
    if metric is None or metric.metric is None:
        return None
    at = slot_indices(feature_version, version)
    columns = None if at is None or at == tuple(range(len(at))) else at
    picked = None if columns is None else np.asarray(columns, dtype=int)
    # On the default base the default families answer to the default reading
    # of a file name too (``openset.reads_named``): drawings are placed by the
    # answer it is weighed in.
    on_base = active.on_default_base
    reads = metric.reads_names or on_base
    labels = list(active.labels)

    def classes(X: np.ndarray, names: Sequence[str | None]) -> np.ndarray:
        X = np.atleast_2d(X)
        probs = active.classes(X if picked is None else X[:, picked])
        if not reads:
            return probs
        words = [name_words(n) if n else None for n in names]
        if not on_base:
            return metric.placed(probs, words)
        named: list[str | None] = []
        for n in names:
            file_name, title = name_parts(n)
            found = named_family(file_name=file_name, title=title) if n else None
            named.append(found.family if found else None)
        families = readings_that_count(
            named,
            labels,
            words,
            metric.names,
            tenant_model=True,
            on_default_base=True,
        )
        return weighed(metric, probs, labels, words, families)

    return (
        f"{view.name}-v{active.number}-metric",
        metric,
        classes,
        columns,
        reads,
    )
