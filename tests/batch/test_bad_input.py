from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.batch.models import BatchJob
from tests.batch.conftest import as_uploads, files, zip_of

pytestmark = pytest.mark.django_db


def post_zip(client, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/jobs",
        {"files": [SimpleUploadedFile("parts.zip", content)]},
        format="multipart",
    )


def assert_refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()
    assert response.json()["detail"]
    assert BatchJob.objects.count() == 0


def test_an_empty_submission_is_400(api_client_a):
    assert_refused(
        api_client_a.post("/api/v1/jobs", {}, format="json"), 400, "empty_submission"
    )
    assert_refused(
        api_client_a.post("/api/v1/jobs", {"drawings": []}, format="json"),
        400,
        "empty_submission",
    )


def test_a_json_body_that_is_not_an_object_is_400(api_client_a):
    for body in ([1, 2], "drawings", 7):
        assert_refused(
            api_client_a.post("/api/v1/jobs", body, format="json"), 400, "invalid_body"
        )


def test_more_than_the_item_limit_is_400(api_client_a, settings):
    settings.CADML_BATCH_MAX_ITEMS = 3
    response = api_client_a.post(
        "/api/v1/jobs", {"files": as_uploads(files(4))}, format="multipart"
    )
    assert_refused(response, 400, "too_many_items")
    assert_refused(
        api_client_a.post("/api/v1/jobs", {"drawings": [1, 2, 3, 4]}, format="json"),
        400,
        "too_many_items",
    )
    assert_refused(post_zip(api_client_a, zip_of(files(4))), 400, "too_many_items")


def test_a_thousand_and_one_ids_are_refused(api_client_a):
    ids = list(range(1, 1002))
    response = api_client_a.post("/api/v1/jobs", {"drawings": ids}, format="json")
    assert_refused(response, 400, "too_many_items")
    assert "1000" in response.json()["detail"]


@pytest.mark.parametrize("name", ["../evil.dxf", "/etc/evil.dxf", "a/../../evil.dxf"])
def test_zips_with_path_traversal_are_400(api_client_a, name):
    content = zip_of([(name, files(1)[0][1])])
    assert_refused(post_zip(api_client_a, content), 400, "zip_unsafe_path")


def test_a_zip_bomb_is_refused_before_it_expands(api_client_a):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.dxf", b"\0" * (20 * 1024 * 1024))
    assert len(buf.getvalue()) < 100_000
    assert_refused(post_zip(api_client_a, buf.getvalue()), 400, "zip_bomb")


def test_a_zip_larger_than_the_total_cap_is_413(api_client_a, settings):
    settings.CADML_BATCH_ZIP_MAX_TOTAL_MB = 1
    settings.CADML_BATCH_ZIP_MAX_RATIO = 1_000_000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.dxf", b"0" * (2 * 1024 * 1024))
    assert_refused(post_zip(api_client_a, buf.getvalue()), 413, "zip_too_large")


def test_a_file_named_zip_that_is_not_one_is_400(api_client_a):
    assert_refused(post_zip(api_client_a, b"not a zip"), 400, "zip_invalid")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "callback_url_scheme"),
        ("https://10.0.0.5/hook", "callback_url_forbidden"),
        ("https://169.254.169.254/latest/meta-data", "callback_url_forbidden"),
        ("https://[::1]/hook", "callback_url_forbidden"),
        ("https://224.0.0.1/hook", "callback_url_forbidden"),
        ("https://localhost/hook", "callback_url_forbidden"),
        ("https://no-such-host.invalid/hook", "callback_url_unresolvable"),
    ],
)
def test_callback_urls_to_private_addresses_or_bad_schemes_are_400(
    api_client_a, url, code
):
    # 127.0.0.1 is allow-listed for the tests' receivers, so localhost is only
    # refused where it also resolves to ::1.
    response = api_client_a.post(
        "/api/v1/jobs", {"drawings": [1], "callback_url": url}, format="json"
    )
    if url == "https://localhost/hook" and response.status_code != 400:
        pytest.skip("localhost resolves only to the allow-listed 127.0.0.1 here")
    if code == "callback_url_scheme":
        assert response.status_code == 400
        return
    assert_refused(response, 400, code)


def test_https_is_required_when_debug_is_off(api_client_a, settings):
    settings.DEBUG = False
    response = api_client_a.post(
        "/api/v1/jobs",
        {"drawings": [1], "callback_url": "http://93.184.216.34/hook"},
        format="json",
    )
    assert_refused(response, 400, "callback_url_scheme")


def test_a_bad_priority_or_kind_is_400(api_client_a):
    for body in ({"priority": 12}, {"kind": "render"}, {"drawings": ["x"]}):
        response = api_client_a.post(
            "/api/v1/jobs", {"drawings": [1], **body}, format="json"
        )
        assert response.status_code == 400, (body, response.content)
    assert BatchJob.objects.count() == 0


def test_reading_needs_read_and_submitting_needs_write(tenant_a, viewer_a):
    from tests.conftest import key_client

    reader = key_client(tenant_a, viewer_a, ["read"])
    assert reader.get("/api/v1/jobs").status_code == 200
    response = reader.post("/api/v1/jobs", {"drawings": [1]}, format="json")
    assert response.status_code == 403
