"""Malformed query parameters, headers and JSON bodies on every v1 and v2
endpoint: a 4xx that names the field, never a 500.

The known cases from the hardening issue are pinned one by one; Hypothesis then
throws broken dates, UTC offsets past a day, NUL and control characters, very
long strings, huge numbers and arbitrary text at each list and filter parameter,
and arbitrary JSON at each JSON body.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.batch.models import BatchJob
from apps.cad.services import drawing_create
from apps.cad.synth import generate_part
from tests.conftest import key_client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def world(tenant_a, owner_a) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An admin key of tenant A, one drawing and one job to point URLs at."""
    client = key_client(tenant_a, owner_a, ["read", "write", "admin"])
    drawing = drawing_create(
        tenant=tenant_a,
        uploaded_by=owner_a,
        name="washer.dxf",
        content=generate_part("washer", random.Random(3)),
    ).drawing
    job = BatchJob.objects.create(tenant=tenant_a, total=0)
    return {"client": client, "drawing": drawing.pk, "job": job.pk}


def names_field(response: Any, field: str) -> bool:
    """Whether a 400 says which field is wrong: v2 with a problem document whose
    errors point at it, v1 with DRF's body mentioning it."""
    body = response.json()
    if response["Content-Type"].startswith(PROBLEM):
        pointers = [e["pointer"] for e in body.get("errors", [])]
        return f"/{field}" in pointers and field in body["detail"] + str(body)
    return field in json.dumps(body)


# --- the inputs the hardening probe found answering 500 ---------------------

KNOWN = [
    ("jobs", "created_after", "2020-13-45"),
    ("jobs", "created_after", "2020-02-30"),
    ("jobs", "created_after", "2020-01-01T25:00:00"),
    ("jobs", "created_before", "2020-01-01T00:00:00+99:00"),
    ("audit/events", "actor", "ad\x00min"),
    ("audit/events", "resource_id", "4\x002"),
    ("audit/events", "resource_type", "\x00"),
    ("audit/events", "request_id", "abc\x00"),
    ("audit/events", "since", "2024-01-01T00:00:00+99:00"),
    ("audit/events", "until", "2024-01-01T24:00:00"),
    ("audit/reports", "from", "2024-01-01T00:00:00+99:00"),
    ("audit/reports", "to", "0001-01-01T00:00:00+12:00"),
    ("drawings", "created_from", "2020-02-30"),
    ("drawings", "created_to", "2020-01-01T00:00:00+99:00"),
    ("drawings", "limit", "99999999999999999999"),
    ("jobs", "offset", "-1"),
]


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(("path", "field", "value"), KNOWN)
def test_the_known_bad_filters_are_a_400_naming_the_parameter(
    world, version, path, field, value
):
    response = world["client"].get(f"/api/{version}/{path}", {field: value})
    assert response.status_code == 400, response.content
    assert names_field(response, field), response.json()
    if version == "v2":
        assert response["Content-Type"].startswith(PROBLEM)


def test_a_bad_date_says_what_is_wrong_with_it(world):
    response = world["client"].get("/api/v2/jobs", {"created_after": "2020-02-30"})
    problem = response.json()
    assert problem["status"] == 400
    assert problem["errors"] == [
        {"pointer": "/created_after", "detail": problem["errors"][0]["detail"]}
    ]
    assert "2020-02-30" in problem["errors"][0]["detail"]
    assert "day is out of range" in problem["errors"][0]["detail"]
    offset = world["client"].get(
        "/api/v1/audit/events", {"since": "2024-01-01T00:00:00+99:00"}
    )
    assert "+99:00" in offset.json()["detail"]
    assert "out of range" in offset.json()["detail"]


def test_valid_filters_still_filter(world, tenant_a):
    old = BatchJob.objects.create(tenant=tenant_a, total=0)
    BatchJob.objects.filter(pk=old.pk).update(created="2020-02-29T12:00:00+00:00")
    client = world["client"]
    ids = lambda r: {j["id"] for j in r.json()["results"]}  # noqa: E731
    day = client.get("/api/v1/jobs", {"created_before": "2020-02-29"})
    assert ids(day) == {old.pk}
    plus_one = client.get("/api/v1/jobs", {"created_after": "2020-02-29T12:30+01:00"})
    assert old.pk in ids(plus_one)
    # A date as the upper bound includes that whole day, on every list.
    today = timezone.now().date().isoformat()
    drawings = client.get("/api/v1/drawings", {"created_to": today}).json()
    assert [d["id"] for d in drawings["results"]] == [world["drawing"]]
    # A "+" sent unencoded arrives as a space, and still means +01:00.
    space = client.get("/api/v1/jobs?created_after=2020-02-29T12:30:00%2001:00")
    assert space.status_code == 200
    assert ids(space) == ids(plus_one)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("body", ["[1, 2]", '"drawings"', "null", "42", "true"])
def test_a_jobs_body_that_is_not_an_object_is_a_400(world, version, body):
    response = world["client"].post(
        f"/api/{version}/jobs", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "must be a JSON object" in detail
    assert BatchJob.objects.count() == 1  # only the world's job


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_nul_in_job_options_is_a_400_naming_options(world, version):
    response = world["client"].post(
        f"/api/{version}/jobs",
        {"drawings": [world["drawing"]], "options": {"note": "a\x00b"}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert names_field(response, "options")
    assert "U+0000" in json.dumps(response.json())
    nested_key = world["client"].post(
        f"/api/{version}/jobs",
        {"drawings": [world["drawing"]], "options": {"a": [{"k\x00": 1}]}},
        format="json",
    )
    assert nested_key.status_code == 400
    assert BatchJob.objects.count() == 1


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_an_idempotency_key_past_200_characters_is_a_400(world, version):
    client = world["client"]
    body = {"drawings": [world["drawing"]]}
    response = client.post(
        f"/api/{version}/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )
    assert response.status_code == 400, response.content
    assert names_field(response, "idempotency_key")
    assert "at most 200" in json.dumps(response.json())
    ok = client.post(
        f"/api/{version}/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 200
    )
    assert ok.status_code == 202, ok.content


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_on_an_upload_is_a_400(world, length):
    upload = SimpleUploadedFile("washer.dxf", generate_part("washer", random.Random(4)))
    response = world["client"].post(
        "/api/v2/drawings", {"file": upload}, format="multipart", CONTENT_LENGTH=length
    )
    assert response.status_code == 400, response.content
    assert names_field(response, "Content-Length"), response.json()


# --- every list and filter parameter, fuzzed ----------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
_D = st.integers(0, 99)
DATES = st.builds(
    "{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), _D, _D
) | st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}".format,
    st.integers(0, 9999),
    _D,
    _D,
    _D,
    _D,
    _D,
    st.sampled_from(
        ["", "Z", "+99:00", "-23:59", "+05:30", "+24:00", "-00:60", "+0100"]
    ),
)
WITH_NUL = st.builds(lambda a, b: f"{a}\x00{b}", TEXT, TEXT)
CONTROL = st.builds(lambda a, c: f"{a}{chr(c)}", TEXT, st.integers(1, 31))
LONG = st.integers(200, 5000).map(lambda n: "x" * n)
NUMBERS = st.integers(-(2**80), 2**80).map(str) | st.floats().map(str)
VALUES = st.one_of(TEXT, DATES, WITH_NUL, CONTROL, LONG, NUMBERS)

PAGE = ["limit", "offset", "fields"]
ENDPOINTS: dict[str, list[str]] = {
    "jobs": ["status", "kind", "created_after", "created_before", *PAGE],
    "jobs/{job}": ["fields"],
    "jobs/{job}/items": ["status", *PAGE],
    "jobs/{job}/results": ["format", "fields"],
    "drawings": [
        "name",
        "file_format",
        "material",
        "created_from",
        "created_to",
        *PAGE,
    ],
    "drawings/{drawing}": ["fields"],
    "drawings/{drawing}/analysis": ["fields"],
    "drawings/{drawing}/similar": ["k", "fields"],
    "audit/events": [
        "action",
        "actor",
        "outcome",
        "resource_type",
        "resource_id",
        "since",
        "until",
        "request_id",
        "tenant",
        "limit",
        "cursor",
    ],
    "audit/changes": ["object_type", "object_id", "limit", "tenant"],
    "audit/reports": ["from", "to", "format", "tenant"],
    "models": ["fields"],
    "models/part-classifier": ["fields"],
    "me": ["fields"],
    "tenant": ["fields"],
    "api-keys": ["fields"],
    "features/schema": ["fields"],
}

# Required companions, so that the fuzzed parameter is the one at fault.
BASE = {"audit/changes": {"object_type": "accounts.apikey", "object_id": "1"}}

FUZZ = hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
@FUZZ
@given(data=st.data())
def test_no_query_parameter_value_is_a_500(world, path, data):
    field = data.draw(st.sampled_from(ENDPOINTS[path]), label="field")
    value = data.draw(VALUES, label="value")
    version = data.draw(st.sampled_from(["v1", "v2"]), label="version")
    url = f"/api/{version}/" + path.format(**world)
    query = BASE.get(path, {}) | {field: value}
    response = world["client"].get(url, query)
    assert response.status_code < 500, response.content
    if response.status_code == 400:
        assert names_field(response, field), response.json()
        if version == "v2":
            assert response["Content-Type"].startswith(PROBLEM)


# --- JSON bodies --------------------------------------------------------------

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | VALUES
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(VALUES, inner, max_size=4)
    ),
    max_leaves=12,
)


def _object_with(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(fields) | TEXT if fields else TEXT
    return st.dictionaries(keys, JSON, max_size=5)


BODIES: dict[str, list[str]] = {
    "jobs": ["drawings", "kind", "priority", "callback_url", "options"],
    "api-keys": ["name", "scopes", "expires_at"],
    "api-keys/{key}/rotate": ["grace_hours"],
    "realtime/tickets": [],
    "models/part-classifier/predict": ["features"],
}


@pytest.mark.parametrize("path", sorted(BODIES))
@FUZZ
@given(data=st.data())
def test_no_json_body_is_a_500(world, path, data):
    body = data.draw(_object_with(BODIES[path]) | JSON, label="body")
    version = data.draw(st.sampled_from(["v1", "v2"]), label="version")
    client = world["client"]
    key = client.api_key.pk
    url = f"/api/{version}/" + path.format(key=key, **world)
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code < 500, response.content
    if response.status_code == 400 and version == "v2":
        problem = response.json()
        assert response["Content-Type"].startswith(PROBLEM)
        assert problem["detail"]


@FUZZ
@given(data=st.data())
def test_no_notification_body_is_a_500(world, staff, data):
    client = APIClient()
    client.force_login(staff)
    body = data.draw(_object_with(["tenant", "topic", "type", "data"]) | JSON)
    response = client.post(
        "/api/v2/notifications", json.dumps(body), content_type="application/json"
    )
    assert response.status_code < 500, response.content


FORM_VALUE = st.one_of(TEXT, WITH_NUL, LONG, NUMBERS, JSON.map(json.dumps))


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["drawings", "kind", "priority", "callback_url", "options"]),
        FORM_VALUE,
        min_size=1,
    )
)
def test_no_multipart_job_form_is_a_500(world, form):
    response = world["client"].post("/api/v2/jobs", form, format="multipart")
    assert response.status_code < 500, response.content
    if response.status_code == 400:
        assert response["Content-Type"].startswith(PROBLEM)


HEADERS = [
    "Idempotency-Key",
    "X-Request-ID",
    "X-Tenant",
    "API-Version",
    "X-API-Version",
    "Accept",
    "Authorization",
    "X-API-Key",
]


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    value=st.text(
        st.characters(
            min_codepoint=32, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)
        ),
        max_size=400,
    )
    | LONG,
)
def test_no_header_value_is_a_500(world, owner_a, header, value):
    client = APIClient()
    client.force_login(owner_a)
    meta = {"HTTP_" + header.upper().replace("-", "_"): value}
    response = client.post(
        "/api/jobs", {"drawings": [world["drawing"]]}, format="json", **meta
    )
    assert response.status_code < 500, response.content
    if header == "Idempotency-Key" and response.status_code == 400:
        assert names_field(response, "idempotency_key"), response.json()
