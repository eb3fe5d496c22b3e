"""Malformed registry input: a 400 naming the field, never a 500."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.modelreg.models import ModelVersion
from tests.conftest import key_client
from tests.modelreg.conftest import LABELS, sklearn_onnx

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def admin_a(tenant_a, owner_a):  # type: ignore[no-untyped-def]
    return key_client(tenant_a, owner_a, ["read", "write", "admin"])


@pytest.fixture(scope="module")
def onnx_file() -> bytes:
    return sklearn_onnx()[0]


def register(client, onnx: bytes, version: str = "v2", **fields):  # type: ignore[no-untyped-def]
    body = {
        "file": SimpleUploadedFile("m.onnx", onnx),
        "labels": json.dumps(LABELS),
        "feature_version": "dxf-1",
        **fields,
    }
    return client.post(f"/api/{version}/models/mine/versions", body, format="multipart")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metrics", json.dumps({"accuracy": "9\u0000"})),
        ("metrics", json.dumps({"acc\u0000": 1})),
        ("labels", json.dumps(["bracket", "fla\u0000nge", "gear"])),
        ("labels", "bracket,fla\x00nge,gear"),
        ("feature_version", "dxf\x00-1"),
        ("feature_version", "x" * 500),
        ("validation_sample", json.dumps({"labels": ["a\u0000"], "features": [[1]]})),
        ("metrics", "[" * 5000),
    ],
)
def test_bad_registration_fields_are_a_400_naming_the_field(
    admin_a, onnx_file, field, value
):
    response = register(admin_a, onnx_file, **{field: value})
    assert response.status_code == 400, response.content
    problem = response.json()
    assert response["Content-Type"].startswith(PROBLEM)
    assert {"pointer": f"/{field}", "detail": problem["detail"]} in problem["errors"]
    assert field in problem["detail"]
    assert ModelVersion.objects.count() == 0


def test_a_good_registration_still_registers(admin_a, onnx_file):
    response = register(admin_a, onnx_file, metrics=json.dumps({"accuracy": 0.9}))
    assert response.status_code == 201, response.content
    assert ModelVersion.objects.count() == 1


JSON_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | JSON_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(JSON_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)


@hsettings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(["activate", "experiment", "predict", "rollback", "stop"]),
    body=st.dictionaries(
        st.sampled_from(["version", "mode", "percent", "sticky_by", "features"])
        | JSON_TEXT,
        JSON,
        max_size=4,
    ),
)
def test_no_body_on_a_models_action_is_a_500(admin_a, onnx_file, path, body):
    if not ModelVersion.objects.exists():
        assert register(admin_a, onnx_file).status_code == 201
    response = admin_a.post(
        f"/api/v2/models/mine/{path}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code < 500, response.content
