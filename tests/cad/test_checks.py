from __future__ import annotations

from apps.cad.checks import check_cad_settings


def test_default_settings_pass() -> None:
    assert check_cad_settings() == []


def test_bad_limits_and_predictor_are_reported(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PARSE_TIMEOUT_S = 0
    settings.CADML_PARSE_MEMORY_MB = 64
    settings.CADML_PREDICTOR = "apps.nowhere.predict"
    settings.CADML_SIMILARITY_METRIC = "apps.nowhere.metric"
    ids = {e.id for e in check_cad_settings()}
    assert ids == {"cad.E001", "cad.E005", "cad.E006", "cad.E009"}


def test_a_body_limit_below_the_upload_limit_and_bad_slots_are_reported(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MAX_UPLOAD_MB = 50
    settings.CADML_MAX_REQUEST_BODY_MB = 10
    settings.CADML_ANALYSIS_TENANT_SLOTS = {"pro": 0}
    errors = {e.id: e.msg for e in check_cad_settings()}
    assert set(errors) == {"cad.E007", "cad.E008"}
    assert "CADML_MAX_REQUEST_BODY_MB (10)" in errors["cad.E007"]


def test_an_unknown_brep_feature_version_is_reported(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_BREP_FEATURE_VERSION = "brep-9"
    errors = {e.id: e.msg for e in check_cad_settings()}
    assert set(errors) == {"cad.E010"}
    assert "brep-1, brep-2" in errors["cad.E010"]
