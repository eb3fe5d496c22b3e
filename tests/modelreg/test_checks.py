"""`manage.py check` refuses model settings that would answer nonsense."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings


def _modelreg_errors() -> list[str]:
    return [e.id for e in run_checks() if e.id.startswith("modelreg.")]


def test_the_shipped_model_settings_pass():
    assert _modelreg_errors() == []


@pytest.mark.parametrize("share", [0, -0.1, 1.5, "0.25"])
def test_a_not_a_part_share_outside_0_to_1_is_refused(share):
    # 0 would call every drawing unknown; above 1 only the most likely label
    # counts, which is what 1 already says.
    with override_settings(CADML_MODEL_NOT_A_PART_SHARE=share):
        assert "modelreg.E006" in _modelreg_errors()
