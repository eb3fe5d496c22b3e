"""The default 3D model: ``ensure_default_model`` trains it on generated
solids beside the 2D one, and a STEP upload is classified by it while a DXF
upload still reaches the 2D default."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.cad.synth import NOT_A_PART, PART_CLASSES, generate_part
from apps.cad.synth.other3d import generate_other_solid
from apps.cad.synth.parts3d import generate_solid

pytestmark = pytest.mark.django_db


def upload(client, name: str, content: bytes) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return stored(client, name, content)["analysis"]  # type: ignore[no-any-return]


def stored(client, name: str, content: bytes) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert r.status_code == 201, r.data
    return r.data  # type: ignore[no-any-return]


def answer_v2(client, name: str, content: bytes) -> dict:  # type: ignore[no-untyped-def, type-arg]
    drawing = stored(client, name, content)["id"]
    r = client.get(f"/api/v2/drawings/{drawing}/analysis")
    assert r.status_code == 200, r.content
    return r.json()["data"]  # type: ignore[no-any-return]


def test_a_step_upload_is_classified_by_the_3d_default_and_a_dxf_by_the_2d_one(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command(
        "ensure_default_model", "--per-class", "4", "--per-class-3d", "4", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("trained part-classifier v1")
    assert lines[1].startswith("trained part-classifier-3d v1")
    assert "held-out synthetic solids (STEP/IGES)" in lines[1]
    assert "activation succeeded" in lines[1]

    # A solid the model never saw (other seeds than training's).
    step = upload(api_client_a, *generate_solid("flange", random.Random(424242)))
    assert step["feature_version"] == "brep-2"
    assert step["model"]["name"] == "part-classifier-3d"
    assert step["prediction"] in PART_CLASSES
    assert 0 < step["confidence"] <= 1
    drawing = upload(
        api_client_a, "part.dxf", generate_part("washer", random.Random(5))
    )
    assert drawing["model"]["name"] == "part-classifier"
    assert drawing["prediction"] in PART_CLASSES

    # Once active, neither is trained again.
    again = StringIO()
    call_command("ensure_default_model", stdout=again)
    assert again.getvalue().splitlines() == [
        "part-classifier v1 is already active",
        "part-classifier-3d v1 is already active",
    ]


def test_the_3d_default_can_be_ensured_alone_and_under_its_own_name(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MODEL_NAME_3D = "solids"
    out = StringIO()
    call_command(
        "ensure_default_model", "--only", "3d", "--per-class-3d", "4", stdout=out
    )
    assert out.getvalue().startswith("trained solids v1")
    from apps.modelreg.models import RegisteredModel

    model = RegisteredModel.objects.get()
    assert model.name == "solids"
    assert model.feature_version == "brep-2"
    assert model.deployment.active_version.labels == sorted([*PART_CLASSES, NOT_A_PART])


def test_a_circuit_board_or_an_assembly_is_no_part_and_a_part_still_is(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    call_command(
        "ensure_default_model", "--only", "3d", "--per-class-3d", "6", stdout=StringIO()
    )
    answers = {
        kind: answer_v2(api_client_a, *generate_other_solid(random.Random(4242), kind))
        for kind in ("board", "assembly")
    }
    # Set aside as another domain, not merely as far from the parts: novelty
    # sets real parts aside as often as boards.
    for kind, v2 in answers.items():
        assert v2["unknown"] is True, kind
        assert v2["unknown_reason"] == "not_a_part", kind
        assert NOT_A_PART not in {p["label"] for p in v2["predictions"]}
    gear = answer_v2(api_client_a, *generate_solid("spur_gear", random.Random(4242)))
    assert gear["unknown"] is False
    assert gear["predictions"][0]["label"] == "spur_gear"


def test_each_part_of_an_assembly_is_answered_and_v1_keeps_its_shape(
    api_client_a, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from apps.cad.synth import parts3d
    from apps.cad.synth import solids as S

    call_command(
        "ensure_default_model", "--only", "3d", "--per-class-3d", "6", stdout=StringIO()
    )
    rng = random.Random(90210)
    # Product names that name no family: the answers are the shapes'.
    shapes = [
        ("P-100", parts3d.build_solid("spur_gear", rng), [{"move": (0, 0, 0)}]),
        ("P-200", parts3d.build_solid("flange", rng), [{"move": (400, 0, 0)}]),
        (
            "DIN 125 A 10.5",
            parts3d.build_solid("washer", rng),
            [{"move": (0, 400, 0)}, {"move": (0, 500, 0)}],
        ),
    ]
    content = S.assembly_step_bytes("gearbox", shapes)
    drawing = stored(api_client_a, "gearbox.step", content)["id"]
    v2 = api_client_a.get(f"/api/v2/drawings/{drawing}/analysis").json()["data"]
    parts = v2["part_predictions"]
    listed = v2["stats"]["solid"]["parts"]
    assert [p["index"] for p in parts] == [p["index"] for p in listed]
    assert [p["name"] for p in parts] == ["P-100", "P-200"] + ["DIN 125 A 10.5"] * 2
    assert [p["label"] for p in parts] == ["spur_gear", "flange", "washer", "washer"]
    assert all(0 < p["confidence"] <= 1 for p in parts)
    # A part's product name counts as a file's name does.
    assert parts[2]["named"] == {
        "family": "washer",
        "word": "din125",
        "found_in": "product name",
    }
    assert parts[0]["named"] is None
    # gRPC clients get the same answers (Prediction.parts, field 14).
    from apps.cad.models import Analysis
    from apps.grpcapi.messages import prediction_message

    message = prediction_message(Analysis.objects.get(pk=v2["id"]))
    assert [(p.index, p.label, p.named_family) for p in message.parts] == [
        (p["index"], p["label"], (p["named"] or {}).get("family", "")) for p in parts
    ]
    # `manage.py analyze` answers the parts of a file it does not store.
    path = tmp_path / "gearbox.step"
    path.write_bytes(content)
    out = StringIO()
    call_command("analyze", str(path), "--json", stdout=out)
    analysed = json.loads(out.getvalue())["part_predictions"]
    assert [p["label"] for p in analysed] == [p["label"] for p in parts]
    line = StringIO()
    call_command("analyze", str(path), stdout=line)
    assert line.getvalue().rstrip().endswith("; parts: spur_gear, flange, 2 x washer")
    # A file of one part lists none; v1 answers the whole file only.
    single = stored(api_client_a, *generate_solid("washer", random.Random(5)))["id"]
    one = api_client_a.get(f"/api/v2/drawings/{single}/analysis").json()["data"]
    assert one["part_predictions"] == []
    v1 = api_client_a.get(f"/api/v1/drawings/{drawing}/analysis").json()
    assert "part_predictions" not in v1 and v1["prediction"]
