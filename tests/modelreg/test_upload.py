"""Uploading ONNX versions: only valid ONNX that fits the feature version."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.modelreg.conftest import LABELS, sklearn_onnx, sqrt_onnx

pytestmark = pytest.mark.django_db


def upload(
    client, content: bytes, *, labels=LABELS, fv="dxf-1", name="my-model", **extra
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/models/{name}/versions",
        {
            "file": SimpleUploadedFile("m.onnx", content),
            "labels": json.dumps(labels),
            "feature_version": fv,
            **extra,
        },
        format="multipart",
    )


def test_an_admin_uploads_a_version_and_reads_it_back(admin_client_a) -> None:  # type: ignore[no-untyped-def]
    content, sample = sklearn_onnx()
    r = upload(
        admin_client_a,
        content,
        metrics=json.dumps({"accuracy": 0.97}),
        validation_sample=json.dumps(sample),
    )
    assert r.status_code == 201, r.data
    assert r.data["version"] == 1 and r.data["status"] == "registered"
    assert r.data["validation_rows"] == len(sample["labels"])
    r2 = upload(admin_client_a, content)
    assert r2.data["version"] == 2
    listing = admin_client_a.get("/api/v1/models").data["results"]
    assert [(m["name"], m["owner"]) for m in listing] == [("my-model", "tenant")]
    detail = admin_client_a.get("/api/v1/models/my-model").data
    assert detail["labels"] == LABELS and detail["active_version"] is None
    versions = admin_client_a.get("/api/v1/models/my-model/versions").data["results"]
    assert [v["version"] for v in versions] == [2, 1]
    v1 = admin_client_a.get("/api/v1/models/my-model/versions/1").data
    assert v1["metrics"] == {"accuracy": 0.97}
    assert admin_client_a.get("/api/v1/models/my-model/versions/9").status_code == 404


@pytest.mark.parametrize(
    ("content", "labels", "code", "words"),
    [
        (b"\x80\x04\x95pickle", LABELS, "not_onnx", "not a valid ONNX"),
        (b"", LABELS, "not_onnx", "empty"),
        ("truncated", LABELS, "not_onnx", "not a valid ONNX"),
        ("wide", LABELS, "bad_input_width", "takes 12 features"),
        ("ok", ["a", "b"], "label_mismatch", "3 class probabilities but 2 labels"),
        ("ok", ["gear", "flange", "bracket"], "label_mismatch", "order"),
        ("nan", LABELS, "nan_output", "NaN"),
    ],
)
def test_bad_artefacts_get_a_400_that_says_what_is_wrong(
    admin_client_a, content, labels, code, words
) -> None:  # type: ignore[no-untyped-def]
    good, _ = sklearn_onnx()
    content = {
        "truncated": good[: len(good) // 2],
        "wide": sklearn_onnx(width=12)[0],
        "ok": good,
        "nan": sqrt_onnx(nan_always=True),
    }.get(content, content)
    r = upload(admin_client_a, content, labels=labels)
    assert r.status_code == 400, r.data
    assert r.data["code"] == code if "code" in r.data else True
    assert words in json.dumps(r.data)
    assert admin_client_a.get("/api/v1/models").data["results"] == []


def test_unknown_feature_version_and_missing_fields_are_400(admin_client_a) -> None:  # type: ignore[no-untyped-def]
    good, _ = sklearn_onnx()
    r = upload(admin_client_a, good, fv="dxf-99")
    assert r.status_code == 400 and "dxf-99" in json.dumps(r.data)
    r = admin_client_a.post("/api/v1/models/x/versions", {}, format="multipart")
    assert r.status_code == 400 and "file" in json.dumps(r.data)


def test_oversized_models_are_413(admin_client_a, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MODEL_MAX_MB = 0
    good, _ = sklearn_onnx()
    assert upload(admin_client_a, good).status_code == 413


def test_read_write_keys_cannot_upload(api_client_a) -> None:  # type: ignore[no-untyped-def]
    good, _ = sklearn_onnx()
    assert upload(api_client_a, good).status_code == 403


def test_another_tenants_model_is_404(admin_client_a, api_client_b) -> None:  # type: ignore[no-untyped-def]
    good, _ = sklearn_onnx()
    assert upload(admin_client_a, good).status_code == 201
    assert api_client_b.get("/api/v1/models/my-model").status_code == 404
    assert api_client_b.get("/api/v1/models/my-model/versions/1").status_code == 404
    assert api_client_b.get("/api/v1/models").data["results"] == []


def test_a_new_version_must_keep_the_labels(admin_client_a) -> None:  # type: ignore[no-untyped-def]
    good, _ = sklearn_onnx()
    assert upload(admin_client_a, good).status_code == 201
    other, _ = sklearn_onnx(["a", "b", "c"])
    r = upload(admin_client_a, other, labels=["a", "b", "c"])
    assert r.status_code == 400 and "same labels" in json.dumps(r.data)


def test_brep_models_are_checked_against_their_own_width(admin_client_a) -> None:  # type: ignore[no-untyped-def]
    from apps.cad.formats.brep import BREP2_SLOTS, BREP_SLOTS

    brep1, _ = sklearn_onnx(width=len(BREP_SLOTS))
    brep2, _ = sklearn_onnx(width=len(BREP2_SLOTS))
    assert upload(admin_client_a, brep1, fv="brep-1", name="b1").status_code == 201
    assert upload(admin_client_a, brep2, fv="brep-2", name="b2").status_code == 201
    r = upload(admin_client_a, brep1, fv="brep-2", name="b3")
    assert r.status_code == 400
    assert f"brep-2 vectors have {len(BREP2_SLOTS)}" in json.dumps(r.data)
