from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from apps.modelreg import stats
from apps.modelreg.runtime import runtime

WIDTH = 47  # dxf-1
LABELS = ["bracket", "flange", "gear"]


@pytest.fixture(autouse=True)
def _registry_env(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # A tenant's search index is the test's own (another test's tenant may
    # have the same id).
    settings.CADML_SEARCH_DIR = tmp_path / "search"
    # Health checks in the caller's thread; every prediction reads the registry
    # generation (test transactions roll back, so a cached snapshot would lie).
    settings.CADML_MODEL_HEALTHCHECK_MODE = "inline"
    settings.CADML_MODEL_RELOAD_POLL_S = 0
    settings.CADML_MODEL_RELOAD_LISTENER = False
    settings.CADML_MODEL_LATENCY_BUDGET_MS = 1000
    runtime.__init__()  # type: ignore[misc]
    stats._local.clear()


def sklearn_onnx(
    labels: list[str] = LABELS, *, width: int = WIDTH, seed: int = 0
) -> tuple[bytes, dict]:
    """A small logistic regression, exported as the trainer does, and a
    validation sample it classifies perfectly."""
    content, sample = _sklearn_onnx(tuple(labels), width, seed)
    return content, copy.deepcopy(sample)  # a test may change its sample


@functools.cache
def _sklearn_onnx(labels: tuple[str, ...], width: int, seed: int) -> tuple[bytes, dict]:
    # Deterministic for its arguments: fitted and exported once per session.
    from sklearn.linear_model import LogisticRegression

    from apps.modelreg.training import to_onnx_bytes

    rng = np.random.default_rng(seed)
    centres = rng.random((len(labels), width)) * 4
    X = np.vstack([c + rng.normal(0, 0.05, (20, width)) for c in centres]).astype(
        np.float32
    )
    y = np.repeat(list(labels), 20)
    model = LogisticRegression(max_iter=500).fit(X, y)
    sample = {
        "features": X[::5].astype(float).tolist(),
        "labels": [str(v) for v in y[::5]],
    }
    return to_onnx_bytes(model, width), sample


def centre_of(sample: dict, label: str) -> list[float]:
    return sample["features"][sample["labels"].index(label)]


def sqrt_onnx(
    labels: list[str] = LABELS, *, width: int = WIDTH, nan_always: bool = False
) -> bytes:
    """softmax(sqrt(x) @ W): NaN for any negative feature (or always)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(
        np.random.default_rng(1).random((width, len(labels))).astype(np.float32), "W"
    )
    nodes = [
        helper.make_node("Sqrt", ["features"], ["r"]),
        helper.make_node("MatMul", ["r", "W"], ["logits"]),
    ]
    if nan_always:
        nan = numpy_helper.from_array(np.full((len(labels),), np.nan, np.float32), "N")
        nodes.append(helper.make_node("Add", ["logits", "N"], ["logits2"]))
        inits = [w, nan]
        last = "logits2"
    else:
        inits = [w]
        last = "logits"
    nodes.append(helper.make_node("Softmax", [last], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, width])],
        [
            helper.make_tensor_value_info(
                "probabilities", TensorProto.FLOAT, [None, len(labels)]
            )
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture
def register() -> Callable[..., object]:
    """Register a version as a platform model (or for ``tenant``)."""
    from apps.modelreg.services.registry import version_register

    def make(
        name: str = "part-classifier",
        *,
        tenant=None,
        seed: int = 0,
        content: bytes | None = None,
        sample: dict | None = None,
        metrics: dict | None = None,
        labels: list[str] = LABELS,
    ):  # type: ignore[no-untyped-def]
        if content is None:
            content, default_sample = sklearn_onnx(labels, seed=seed)
            sample = default_sample if sample is None else sample
        return version_register(
            tenant=tenant,
            name=name,
            content=content,
            labels=labels,
            feature_version="dxf-1",
            metrics=metrics if metrics is not None else {"accuracy": 1.0},
            validation_sample=sample,
        )

    return make


def flange_front_view(doc, msp) -> None:  # type: ignore[no-untyped-def]
    """A flange's front view (hub, bore, six bolt holes), with no title block
    to name it: for ``tests.cad.conftest.dxf_bytes``."""
    msp.add_circle((0, 0), 60)
    msp.add_circle((0, 0), 25)
    for k in range(6):
        a = k * math.pi / 3
        msp.add_circle((45 * math.cos(a), 45 * math.sin(a)), 5)
