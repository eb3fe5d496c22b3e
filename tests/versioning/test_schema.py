from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.servers import PROJECT_ROOT

pytestmark = pytest.mark.django_db


def test_each_version_has_its_own_schema(client):
    v1 = client.get("/api/v1/schema/?format=json")
    v2 = client.get("/api/v2/schema/?format=json")
    assert v1.status_code == v2.status_code == 200
    s1, s2 = v1.json(), v2.json()
    assert s1["info"]["version"] == "1" and s2["info"]["version"] == "2"
    assert "/api/v1/me" in s1["paths"] and "/api/v2/me" not in s1["paths"]
    assert "/api/v2/me" in s2["paths"] and "/api/me" not in s2["paths"]
    keys = s2["paths"]["/api/v2/api-keys"]["get"]["responses"]
    body = keys["200"]["content"]["application/json"]["schema"]
    assert body["required"] == ["data", "meta"]
    assert "application/problem+json" in keys["404"]["content"]
    assert "Problem" not in s1.get("components", {}).get("schemas", {})
    # A v2-only endpoint (requires_feature) is documented in v2 only.
    assert "/api/v2/drawings/{drawing_id}/title-block" in s2["paths"]
    assert not any(p.endswith("/title-block") for p in s1["paths"])


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_point_at_their_versions_schema(client, page):
    for version in ("v1", "v2"):
        response = client.get(f"/api/{version}/{page}/")
        assert response.status_code == 200
        assert f"/api/{version}/schema/".encode() in response.content


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_schema_generates_without_a_warning_and_validates(version, tmp_path):
    # As CI and a user would run it: the real command, in its own process.
    out = tmp_path / "schema.yaml"
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--api-version",
            version,
            "--file",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr and "Error" not in result.stderr
    assert f"/api/{version}/drawings/{{drawing_id}}" in out.read_text()


def test_every_operation_of_both_versions_is_documented_with_its_bodies(client):
    for version in ("v1", "v2"):
        schema = client.get(f"/api/{version}/schema/?format=json").json()
        paths = schema["paths"]
        # The by_method routes: one URL, one view per method.
        assert {"get", "post"} <= set(paths[f"/api/{version}/drawings"])
        assert {"get", "delete"} <= set(
            paths[f"/api/{version}/drawings/{{drawing_id}}"]
        )
        assert {"get", "post"} <= set(paths[f"/api/{version}/jobs"])
        upload = paths[f"/api/{version}/drawings"]["post"]
        assert "multipart/form-data" in upload["requestBody"]["content"]
        for path, item in paths.items():
            for method, operation in item.items():
                ok = {s: r for s, r in operation["responses"].items() if s < "300"}
                assert ok, f"{method} {path} documents no success"
                for status, response in ok.items():
                    if status != "204":
                        assert response.get("content"), f"{method} {path} {status}"
                        for media in response["content"].values():
                            assert media["schema"], f"{method} {path} {status}"
    v1 = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    v2 = client.get("/api/v2/schema/?format=json").json()["components"]["schemas"]
    preview = client.get("/api/v2/schema/?format=json").json()["paths"][
        "/api/v2/drawings/{drawing_id}/preview.svg"
    ]["get"]["responses"]["200"]["content"]
    assert preview["image/svg+xml"]["schema"]["format"] == "binary"  # no envelope
    # Each version documents its own analysis shape (apps.versioning.changes).
    assert "predictions" in v2["AnalysisOutput"]["properties"]
    assert {"prediction", "confidence"} <= set(v1["AnalysisOutput"]["properties"])
    assert "predictions" not in v1["AnalysisOutput"]["properties"]


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_load_nothing_from_the_internet(client, page):
    html = client.get(f"/api/v2/{page}/").content.decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, html[:500]
    for url in assets:
        assert not url.startswith(("http:", "https:", "//")), url
    for url in scripts:
        served = client.get(url)
        assert served.status_code == 200, url
        assert (
            len(
                b"".join(
                    served.streaming_content if served.streaming else [served.content]
                )
            )
            > 1000
        )


def test_serving_the_schema_prints_no_generator_warnings(client, capsys):
    for version in ("v1", "v2"):
        assert client.get(f"/api/{version}/schema/?format=json").status_code == 200
    printed = capsys.readouterr()
    assert "unable to guess serializer" not in printed.err
    assert "Warning" not in printed.err and "Error" not in printed.err
