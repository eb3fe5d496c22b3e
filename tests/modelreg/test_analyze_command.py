"""`manage.py analyze` answers with the prediction the API would give."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.cad.synth import generate_part
from apps.modelreg.services.deployments import deployment_request
from tests.cad.conftest import dxf_bytes
from tests.modelreg.conftest import LABELS, flange_front_view

pytestmark = pytest.mark.django_db

_KEYS = {
    "file",
    "format",
    "recovered",
    "fixes",
    "feature_version",
    "features",
    "text",
    "title_block",
    "dimensions",
    "stats",
}


@pytest.fixture
def drawing(tmp_path: Path) -> Path:
    path = tmp_path / "part.dxf"
    path.write_bytes(generate_part("flange", random.Random(3)))
    return path


def analyze(*args: str) -> str:
    out = StringIO()
    call_command("analyze", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_prediction_with_its_model_and_version(register, drawing) -> None:  # type: ignore[no-untyped-def]
    v = register("part-classifier")
    deployment_request(model=v.model, number=1, run_now=True)

    (line,) = analyze(str(drawing), "--json").splitlines()
    out = json.loads(line)
    assert _KEYS <= set(out)  # the keys scripts already read stay
    assert out["predictions"][0]["label"] in LABELS
    assert 0 <= out["predictions"][0]["score"] <= 1
    assert out["model"]["name"] == "part-classifier"
    assert out["model"]["version"] == "1"
    assert out["prediction_reason"] is None

    text = analyze(str(drawing))
    assert "predicted " in text and "part-classifier v1" in text


def test_without_an_active_model_it_says_why_there_is_none(drawing) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(analyze(str(drawing), "--json"))
    assert out["predictions"] == [] and out["model"] is None
    assert "no active model" in out["prediction_reason"]
    assert "no prediction (no active model" in analyze(str(drawing))


def test_no_predict_leaves_the_output_as_it_was(register, drawing) -> None:  # type: ignore[no-untyped-def]
    v = register("part-classifier")
    deployment_request(model=v.model, number=1, run_now=True)
    out = json.loads(analyze(str(drawing), "--json", "--no-predict"))
    assert set(out) == _KEYS
    text = analyze(str(drawing), "--no-predict")
    assert "predicted " not in text and "no prediction" not in text


def test_the_file_name_counts_as_it_does_for_an_upload(register, drawing) -> None:  # type: ignore[no-untyped-def]
    # The same bytes under a plain name and under the name of their family,
    # in German: the command reads the name as the API reads an upload's.
    v = register("part-classifier")
    deployment_request(model=v.model, number=1, run_now=True)

    drawing.write_bytes(dxf_bytes(flange_front_view))
    named_path = drawing.with_name("Flansch_DN50.dxf")
    named_path.write_bytes(drawing.read_bytes())
    plain, named = (
        json.loads(line)
        for line in analyze(str(drawing), str(named_path), "--json").splitlines()
    )
    for out in (plain, named):
        # The whole v2 prediction: whether the model knows such a drawing.
        assert {"unknown", "unknown_reason", "needs_review", "named"} <= set(out)
    assert plain["named"] is None
    assert named["named"] == {
        "family": "flange",
        "word": "flansch",
        "found_in": "file name",
    }

    def flange(out: dict) -> float:
        return next(p["score"] for p in out["predictions"] if p["label"] == "flange")

    assert named["predictions"][0]["label"] == "flange"
    assert flange(named) > flange(plain)
    assert "named 'flansch'" in analyze(str(named_path))
