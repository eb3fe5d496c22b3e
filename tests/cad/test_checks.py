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
    assert ids == {"cad.E001", "cad.E005", "cad.E006", "cad.E007"}
