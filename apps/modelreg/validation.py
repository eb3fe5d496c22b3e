"""ONNX artefact checks: only ONNX, well-formed, the right input width and labels.

Nothing here unpickles anything: the artefact is parsed as a protobuf by ``onnx``
and run by onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadml.lib.errors import InvalidInput, PayloadTooLarge

ONNX_MAGIC_HINT = (
    "Upload an ONNX model (for scikit-learn: skl2onnx.to_onnx with "
    'options={id(model): {"zipmap": False}}).'
)


def feature_width(feature_version: str) -> int:
    from apps.cad import features
    from apps.cad.formats import brep

    widths = {version: len(slots) for version, slots in features.SLOTS.items()}
    widths.update(
        (version, len(slots)) for version, slots in brep.BREP_VERSIONS.items()
    )
    if feature_version not in widths:
        known = ", ".join(sorted(widths))
        raise InvalidInput(
            f"Unknown feature_version {feature_version!r}; known: {known}.",
            code="unknown_feature_version",
        )
    return widths[feature_version]


@dataclass(frozen=True)
class OnnxSignature:
    input_name: str
    width: int
    probabilities_output: str
    label_output: str | None


def _ort_session(content: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One model per process, small vectors: extra threads only add contention.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        content, sess_options=options, providers=["CPUExecutionProvider"]
    )


def max_model_bytes() -> int:
    """The largest model file the registry takes (``CADML_MODEL_MAX_MB``)."""
    from django.conf import settings

    return int(settings.CADML_MODEL_MAX_MB) * 1024 * 1024


def check_onnx(
    content: bytes, *, feature_version: str, labels: list[str], max_bytes: int
) -> OnnxSignature:
    """Validate an artefact; raise ``InvalidInput`` saying what is wrong."""
    import onnx

    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"The model file is {len(content)} bytes; the limit is {max_bytes}.",
            code="model_too_large",
        )
    if not content:
        raise InvalidInput("The model file is empty.", code="not_onnx")
    width = feature_width(feature_version)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise InvalidInput(
            "labels must list at least two distinct class names.", code="bad_labels"
        )
    try:
        proto = onnx.load_model_from_string(content)
        onnx.checker.check_model(proto)
    except Exception as exc:  # noqa: BLE001 - any parse/check failure is bad input
        raise InvalidInput(
            f"The file is not a valid ONNX model ({type(exc).__name__}: "
            f"{str(exc)[:200]}). {ONNX_MAGIC_HINT}",
            code="not_onnx",
        ) from None
    if len(proto.graph.input) != 1:
        raise InvalidInput(
            f"The model must have exactly one input (a float tensor [N, {width}]); "
            f"it has {len(proto.graph.input)}.",
            code="bad_input",
        )
    try:
        session = _ort_session(content)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(
            f"onnxruntime cannot load the model: {str(exc)[:200]}", code="not_onnx"
        ) from None
    inp = session.get_inputs()[0]
    if inp.type != "tensor(float)":
        raise InvalidInput(
            f"The model input must be tensor(float); it is {inp.type}.",
            code="bad_input",
        )
    declared = inp.shape[-1] if inp.shape else None
    if isinstance(declared, int) and declared != width:
        raise InvalidInput(
            f"The model takes {declared} features but {feature_version} vectors have "
            f"{width}.",
            code="bad_input_width",
        )
    outputs = session.get_outputs()
    prob = next(
        (o for o in outputs if o.type == "tensor(float)" and len(o.shape or []) == 2),
        None,
    )
    if prob is None:
        raise InvalidInput(
            "The model has no probabilities output (a float tensor [N, classes]); "
            "export without ZipMap.",
            code="no_probabilities",
        )
    label_out = next((o.name for o in outputs if o.name != prob.name), None)
    signature = OnnxSignature(inp.name, width, prob.name, label_out)

    # Probe with deterministic vectors: catches a dynamic width that does not fit,
    # a wrong number of classes and NaN outputs.
    probe = np.random.default_rng(0).random((8, width), dtype=np.float32)
    probe[0] = 0.0
    try:
        result = session.run(None, {inp.name: probe})
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(
            f"The model fails on a [8, {width}] input: {str(exc)[:200]}",
            code="bad_input_width",
        ) from None
    by_name = dict(zip([o.name for o in outputs], result, strict=True))
    probs = np.asarray(by_name[prob.name])
    if probs.ndim != 2 or probs.shape[1] != len(labels):
        got = probs.shape[1] if probs.ndim == 2 else probs.shape
        raise InvalidInput(
            f"The model outputs {got} class probabilities but {len(labels)} labels "
            "were given.",
            code="label_mismatch",
        )
    if not np.isfinite(probs).all():
        raise InvalidInput(
            "The model outputs NaN or infinite probabilities.", code="nan_output"
        )
    if label_out is not None:
        predicted = np.asarray(by_name[label_out]).reshape(-1)
        if predicted.dtype.kind in "OUS":
            unknown = sorted({str(p) for p in predicted} - set(labels))
            if unknown:
                raise InvalidInput(
                    f"The model predicts labels {unknown} that are not in labels "
                    f"{labels}.",
                    code="label_mismatch",
                )
            # The probability columns must be in the order of ``labels``.
            if any(
                labels[int(np.argmax(p))] != str(lbl)
                for p, lbl in zip(probs, predicted, strict=True)
            ):
                raise InvalidInput(
                    "labels are not in the order of the model's probability columns "
                    "(for scikit-learn: model.classes_).",
                    code="label_mismatch",
                )
    return signature
