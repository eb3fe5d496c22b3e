"""Open-set answers: calibrated probabilities, ``unknown`` far from every known
class, and similar-drawing search in the space the tenant's labels taught."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from apps.cad.features import downgrade
from apps.cad.synth import NOT_A_PART, generate_part
from apps.modelreg import training
from apps.modelreg.openset import (
    OpenSet,
    fit_temperature,
    lone_rectangle_at,
    lone_rectangles,
    set_aside,
    temper,
    with_name,
)
from apps.modelreg.services.training import classifier_train
from tests.cad.conftest import dxf_bytes
from tests.modelreg.conftest import flange_front_view

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name: str = "part.dxf") -> dict:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert r.status_code == 201, r.data
    return r.data


def own_parts_model(tenant) -> None:  # type: ignore[no-untyped-def]
    """The tenant's own model ``own-parts``, trained and serving."""
    classifier_train(
        synthetic_per_class=5,
        seed=4,
        workers=1,
        estimators=["logistic_regression"],
        tenant=tenant,
        name="own-parts",
        register=True,
        activate=True,
    )


def platform_model(settings, per_class: int = 5) -> dict:  # type: ignore[no-untyped-def]
    """The platform's model from generated drawings alone (``per_class`` a
    family), trained and serving."""
    settings.CADML_DEFAULT_SHIPPED_DRAWINGS = False
    return classifier_train(
        synthetic_per_class=per_class,
        seed=4,
        workers=1,
        estimators=["random_forest"],
        register=True,
        activate=True,
    )


def street_plan(doc, msp) -> None:  # type: ignore[no-untyped-def]
    # Nothing like a part: a grid of streets and a legend.
    for i in range(12):
        msp.add_line((0, i * 37.0), (900, i * 37.0 + 3 * i))
        msp.add_line((i * 71.0, 0), (i * 71.0 - 5, 450))
    for word in ("MAIN STREET", "PARK", "RIVER", "NORTH", "LEGEND"):
        msp.add_text(word, height=9)


@pytest.fixture(scope="module")
def synthetic() -> training.Dataset:
    return training.synthetic_dataset(per_class=6, seed=21, workers=1)


def test_training_stores_calibration_prototypes_and_a_threshold(synthetic) -> None:  # type: ignore[no-untyped-def]
    result = training.train(synthetic, seed=0, only=["random_forest"])
    m = result.metrics
    assert m["open_set"]["threshold"] is not None and m["open_set"]["threshold"] > 0
    assert 0.2 <= m["calibration"]["temperature"] <= 5
    assert 0 <= m["unknown_rate"] <= 1
    # The generated drawings of other domains are a class without a prototype.
    assert NOT_A_PART in result.labels
    os_ = OpenSet.from_json(
        m["open_set"],
        width=synthetic.X.shape[1],
        classes=len(result.labels) - 1,
    )
    assert os_ is not None and os_.metric is not None
    # The held-out synthetic parts are mostly known; a street plan is not a
    # part: the model ranks it "not_a_part", which is answered unknown.
    parts = result.y_test != NOT_A_PART
    assert (os_.novelty(result.X_test[parts]) <= os_.threshold).mean() >= 0.8
    from apps.cad.pipeline import analyze_bytes

    plan = analyze_bytes("plan.dxf", dxf_bytes(street_plan), preview=False)
    as_trained = downgrade(
        plan["features"],
        source=plan["feature_version"],
        target=synthetic.feature_version,
    )
    probs = result.estimator.predict_proba(np.asarray([as_trained]))
    assert set_aside(probs, result.labels)[1][0]


def test_set_aside_keeps_the_parts_own_probabilities() -> None:
    labels = ("flange", NOT_A_PART, "washer")
    probs, outside = set_aside(np.asarray([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]]), labels)
    assert outside.tolist() == [True, False]
    # Not renormalised: a drawing most like no part is not a confident flange.
    assert probs.tolist() == [[0.2, 0.0, 0.1], [0.5, 0.0, 0.2]]
    plain, none = set_aside(np.asarray([0.6, 0.4]), ("flange", "washer"))
    assert plain.tolist() == [0.6, 0.4] and not none.any()


def test_a_name_tips_a_drawing_half_a_part_but_not_one_no_part_resembles() -> None:
    labels = ("flange", NOT_A_PART, "washer")
    probs = np.asarray([[0.1, 0.3, 0.6], [0.001, 0.998, 0.001], [0.1, 0.6, 0.3]])
    named = with_name(probs, labels, "flange")
    assert np.allclose(named.sum(axis=1), 1.0)
    # Among the parts, the name outweighs the drawing's lean to the washer.
    assert named[0, 0] > named[0, 2]
    parts, outside = set_aside(named, labels, share=0.25)
    # A drawing no part resembles stays no part, named or not; one the drawing
    # alone leaves unsure whether it is a part is answered the part it is
    # called.
    assert outside.tolist() == [False, True, False]
    assert set_aside(probs, labels, share=0.25)[1].tolist() == [True, True, True]
    assert parts[2].argmax() == 0 and parts[2, 0] > 0.6
    # One row, or one family per row; no family the model knows, no change.
    assert np.allclose(with_name(probs[0], labels, "flange"), named[0])
    assert np.allclose(
        with_name(probs, labels, ["flange", None, "hex_nut"]),
        [named[0], probs[1], probs[2]],
    )
    assert with_name(probs, labels, None).tolist() == probs.tolist()
    assert with_name(probs, labels, "hex_nut").tolist() == probs.tolist()


def test_a_drawing_that_may_well_be_of_another_domain_is_set_aside() -> None:
    labels = ("flange", NOT_A_PART, "washer")
    probs = np.asarray([[0.62, 0.3, 0.08], [0.62, 0.2, 0.18]])
    # A confident flange, unless "not_a_part" holds at least the share.
    parts, outside = set_aside(probs, labels, share=0.25)
    assert outside.tolist() == [True, False]
    assert parts[:, 1].tolist() == [0.0, 0.0]
    # With the share at 1, only a most likely "not_a_part" is set aside.
    assert not set_aside(probs, labels, share=1.0)[1].any()
    assert set_aside(probs[0], labels, share=0.25)[1]


def test_without_open_set_a_model_keeps_plain_probabilities(synthetic) -> None:  # type: ignore[no-untyped-def]
    result = training.train(
        synthetic, seed=0, only=["logistic_regression"], open_set=False
    )
    assert result.open_set is None and "open_set" not in result.metrics


def test_temperature_fitting_softens_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    # Always 97 % sure, right only 60 % of the time.
    pred = np.where(rng.random(400) < 0.6, y, (y + 1) % 3)
    probs = np.full((400, 3), 0.015)
    probs[np.arange(400), pred] = 0.97
    t = fit_temperature(probs, y)
    assert t > 1.5
    calibrated = temper(probs, t).max(axis=1).mean()
    assert abs(calibrated - 0.6) < 0.1
    assert np.allclose(temper(probs, t).sum(axis=1), 1.0)


def test_v2_analyses_say_unknown_and_v1_keeps_its_shape(api_client_a, settings) -> None:  # type: ignore[no-untyped-def]
    # Generated drawings alone: with five a family, the 30 real drawings of
    # other domains shipped beside them would make `not_a_part` the first
    # reason for the blank sheet below, whose own reason this checks.
    out = platform_model(settings)
    assert out["activation"]["status"] == "succeeded"
    # The caller reads the calibration; the parameters travel with the version.
    assert "open_set" not in out and out["calibration"]["temperature"] > 0
    from apps.modelreg.models import ModelVersion

    assert ModelVersion.objects.get(number=out["version"]).metrics["open_set"]
    part = upload(api_client_a, generate_part("flange", random.Random(77)))
    plan = upload(api_client_a, dxf_bytes(street_plan), "plan.dxf")
    v2 = api_client_a.get(f"/api/v2/drawings/{plan['id']}/analysis").json()["data"]
    assert v2["unknown"] is True
    assert isinstance(v2["needs_review"], bool)
    assert v2["predictions"] and 0 < v2["predictions"][0]["score"] <= 1
    # The answer's labels are parts, even when "not_a_part" made it unknown.
    assert NOT_A_PART not in {p["label"] for p in v2["predictions"]}
    v2_part = api_client_a.get(f"/api/v2/drawings/{part['id']}/analysis").json()
    assert v2_part["data"]["unknown"] is False
    assert v2_part["data"]["unknown_reason"] is None
    # CADML_MODEL_NOT_A_PART_SHARE decides how much "not_a_part" makes a
    # drawing unknown; at the least share there is, every drawing is.
    with override_settings(CADML_MODEL_NOT_A_PART_SHARE=1e-300):
        other = upload(api_client_a, generate_part("flange", random.Random(78)))
    v2_other = api_client_a.get(f"/api/v2/drawings/{other['id']}/analysis").json()
    assert v2_other["data"]["unknown"] is True
    assert v2_other["data"]["unknown_reason"] == "not_a_part"
    assert v2_other["data"]["predictions"][0]["label"] != NOT_A_PART
    v1 = api_client_a.get(f"/api/v1/drawings/{plan['id']}/analysis").json()
    assert not {"unknown", "unknown_reason", "needs_review"} & set(v1)
    assert v1["prediction"] == v2["predictions"][0]["label"]
    # gRPC clients see it too (new field 11 of Prediction).
    from apps.cad.models import Analysis
    from apps.grpcapi.messages import prediction_message

    assert prediction_message(Analysis.objects.get(pk=v2["id"])).unknown is True
    known = Analysis.objects.get(pk=v2_part["data"]["id"])
    assert prediction_message(known).unknown is False
    assert prediction_message(known).unknown_reason == ""
    # Every plate it learned from has holes: a blank A4 sheet's border (four
    # edges and nothing else) is unknown to it, not a confident plate.
    version = ModelVersion.objects.get(number=out["version"])
    assert version.metrics["open_set"]["lone_rectangles_unknown"] is True
    sheet = upload(
        api_client_a,
        dxf_bytes(lambda doc, msp: msp.add_lwpolyline(rectangle(210, 297), close=True)),
        "a4.dxf",
    )
    v2_sheet = api_client_a.get(f"/api/v2/drawings/{sheet['id']}/analysis").json()
    assert v2_sheet["data"]["unknown"] is True
    # ... and says why: neither far from every part nor most like another
    # domain, but a kind of drawing no part it learned was.
    assert v2_sheet["data"]["unknown_reason"] == "lone_rectangle"
    assert v2["unknown_reason"] in ("not_a_part", "far_from_known_parts")
    sheet_analysis = Analysis.objects.get(pk=v2_sheet["data"]["id"])
    assert prediction_message(sheet_analysis).unknown_reason == "lone_rectangle"


def test_similar_uses_the_tenants_own_model_metric_when_it_has_one(
    api_client_a, api_client_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(8)
    ids = [
        upload(api_client_a, generate_part(label, rng))["id"]
        for label in ("flange", "flange", "washer", "hex_nut")
    ]
    before = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar?k=3").json()
    assert before["space"] == "dxf-7-unsupervised+all-views+names"
    own_parts_model(tenant_a)
    after = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar?k=3").json()
    assert after["space"] == "own-parts-v1-metric+classes"
    assert after["results"][0]["drawing"]["id"] == ids[1]
    # Another tenant's search never uses tenant A's model.
    other = upload(api_client_b, generate_part("flange", rng))["id"]
    upload(api_client_b, generate_part("washer", rng))
    theirs = api_client_b.get(f"/api/v1/drawings/{other}/similar?k=1").json()
    assert theirs["space"] == "dxf-7-unsupervised+all-views+names"


def test_with_an_index_the_tenants_similar_drawings_are_those_of_exact_search(
    settings, api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    from apps.cad import index, services
    from bench.duplicate_threshold import redrawn

    rng = random.Random(5)
    labels = ("flange", "spur_gear", "stepped_shaft", "hole_plate")
    parts = [generate_part(labels[i % 4], rng) for i in range(12)]
    ids = [upload(api_client_a, p)["id"] for p in parts]
    copy = upload(api_client_a, redrawn(parts[0], random.Random(1)))["id"]
    own_parts_model(tenant_a)

    def similar(
        d: int, what: str = "similar?k=5"
    ) -> tuple[str, list[tuple[int, float]]]:
        body = api_client_a.get(f"/api/v1/drawings/{d}/{what}").json()
        found = [(x["drawing"]["id"], x["score"]) for x in body["results"]]
        return body["space"], found

    settings.CADML_SEARCH_EXACT_BELOW = 10**9
    exact = {d: similar(d) for d in ids[:3]}
    exact_duplicates = similar(ids[0], "duplicates")
    assert exact_duplicates[0] == "own-parts-v1-metric"
    assert [d for d, _ in exact_duplicates[1]] == [copy]
    settings.CADML_SEARCH_EXACT_BELOW = 0
    assert services.search_index_rebuild(tenant_id=tenant_a.pk, feature_version="dxf-7")
    # The index holds the model's classes beside its metric: similar drawings
    # are ranked by both, near duplicates by the metric alone.
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None and loaded.space.name == "own-parts-v1-metric+classes"
    for d, (space, want) in exact.items():
        assert space == "own-parts-v1-metric+classes"
        got_space, got = similar(d)
        assert got_space == space
        assert [g[0] for g in got] == [w[0] for w in want]
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want], abs=2e-3)
    space, got = similar(ids[0], "duplicates")
    assert space == exact_duplicates[0]
    assert [g[0] for g in got] == [copy]
    assert got[0][1] == pytest.approx(exact_duplicates[1][0][1], abs=2e-3)


def test_a_drawing_stored_after_a_search_is_found_in_the_models_space_at_once(
    api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    from apps.cad import matrices

    rng = random.Random(6)
    labels = ("flange", "spur_gear", "washer")
    ids = [
        upload(api_client_a, generate_part(labels[i % 3], rng))["id"] for i in range(9)
    ]
    own_parts_model(tenant_a)

    def similar(d: int) -> list[tuple[int, float]]:
        body = api_client_a.get(f"/api/v1/drawings/{d}/similar?k=20").json()
        assert body["space"] == "own-parts-v1-metric+classes"
        return [(x["drawing"]["id"], x["score"]) for x in body["results"]]

    assert len(similar(ids[0])) == 8
    new = upload(api_client_a, generate_part("flange", rng))["id"]
    found = similar(ids[0])
    assert new in [d for d, _ in found]
    # The same answer as a process that embeds every drawing afresh.
    matrices._learned.clear()
    assert similar(ids[0]) == found


def rectangle(w: float, h: float, turn: float = 0.0) -> list[tuple[float, float]]:
    c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    return [(x * c - y * s + 40, x * s + y * c + 15) for x, y in corners]


def as_lines(points):  # type: ignore[no-untyped-def]
    def build(doc, msp) -> None:  # type: ignore[no-untyped-def]
        for i, p in enumerate(points):
            msp.add_line(p, points[(i + 1) % len(points)])

    return build


def analysed(build) -> np.ndarray:  # type: ignore[no-untyped-def]
    from apps.cad.pipeline import analyze_bytes

    out = analyze_bytes("x.dxf", dxf_bytes(build), preview=False)
    assert out["feature_version"] == "dxf-7"
    return np.asarray(out["features"], dtype=float)


def test_a_lone_rectangle_is_told_from_a_part_however_it_is_drawn() -> None:
    at = lone_rectangle_at("dxf-7")
    assert at is not None and lone_rectangle_at("dxf-5") is None  # no topology

    def box(doc, msp) -> None:  # type: ignore[no-untyped-def]
        as_lines(rectangle(300, 120))(doc, msp)

    lone = {
        "four lines": box,
        "a closed polyline": lambda doc, msp: msp.add_lwpolyline(
            rectangle(297, 210), close=True
        ),
        "turned": as_lines(rectangle(300, 120, turn=30)),
        "a square": as_lines(rectangle(100, 100)),
    }
    more = {
        "with a hole": lambda doc, msp: (box(doc, msp), msp.add_circle((190, 75), 10)),
        "with a note": lambda doc, msp: (box(doc, msp), msp.add_text("A4")),
        "with a second outline": lambda doc, msp: (
            box(doc, msp),
            msp.add_lwpolyline(
                [(x + 500, y) for x, y in rectangle(50, 20)], close=True
            ),
        ),
        "an L profile": lambda doc, msp: msp.add_lwpolyline(
            [(0, 0), (100, 0), (100, 20), (20, 20), (20, 80), (0, 80)], close=True
        ),
        "three sides": lambda doc, msp: [
            msp.add_line(a, b) for a, b in zip(rectangle(80, 40), rectangle(80, 40)[1:])
        ],
    }
    for name, build in lone.items():
        assert lone_rectangles(analysed(build), at)[0], name
    for name, build in more.items():
        assert not lone_rectangles(analysed(build), at)[0], name


def test_a_tenant_whose_parts_are_rectangles_keeps_them_known() -> None:
    # Tiles are rectangles: a model that learned them answers them by its
    # prototypes, not as unknown for their shape.
    tiles = [
        analysed(as_lines(rectangle(100 + 37 * i, 100 + 11 * (i % 5))))
        for i in range(12)
    ]
    rings = [
        analysed(
            lambda doc, msp, i=i: (
                msp.add_circle((0, 0), 50),
                msp.add_circle((0, 0), 12 + 2.5 * i),
            )
        )
        for i in range(12)
    ]
    data = training.Dataset(
        X=np.asarray(tiles + rings, dtype=np.float32),
        y=np.asarray(["tile"] * 12 + ["washer"] * 12),
        feature_version="dxf-7",
    )
    result = training.train(data, seed=0, only=["random_forest"], labelled=True)
    stored = result.metrics["open_set"]
    assert stored["lone_rectangles_unknown"] is False
    os_ = OpenSet.from_json(stored, width=351, classes=2, feature_version="dxf-7")
    assert os_ is not None and os_.lone_rectangle_columns is None
    tile = np.asarray(tiles[:1])
    assert os_.unknown(tile)[0] == (os_.novelty(tile)[0] > os_.threshold)
    # A version stored before the rule (no key) answers as it did.
    del stored["lone_rectangles_unknown"]
    older = OpenSet.from_json(stored, width=351, classes=2, feature_version="dxf-7")
    assert older is not None and older.lone_rectangle_columns is None
    # The same drawings as a model that never saw a rectangle as a part: the
    # rule is the model's, stored with it.
    flagged = dict(stored, lone_rectangles_unknown=True)
    os_flagged = OpenSet.from_json(
        flagged, width=351, classes=2, feature_version="dxf-7"
    )
    assert os_flagged is not None and os_flagged.unknown(tile)[0]


def test_a_drawing_named_for_its_family_is_answered_surer(
    api_client_a, settings
) -> None:  # type: ignore[no-untyped-def]
    """The same drawing under a plain file name and under its family's name
    in another language: the name is evidence beside the drawing; a street
    plan named after a part is no part for it; v1 does not show it."""
    # Ten a family: with five the model is not yet sure a street plan is no
    # part, and its name would then make it one.
    platform_model(settings, per_class=10)

    flange = dxf_bytes(flange_front_view)

    def answer(content: bytes, name: str) -> dict:
        drawing = upload(api_client_a, content, name)
        r = api_client_a.get(f"/api/v2/drawings/{drawing['id']}/analysis")
        return r.json()["data"]

    plain = answer(flange, "part-0042.dxf")
    # Another file (a DXF comment first), the same drawing.
    named = answer(b"999\nsame drawing\n" + flange, "Flansch_DN50.dxf")
    assert plain["named"] is None
    assert named["named"] == {
        "family": "flange",
        "word": "flansch",
        "found_in": "file name",
    }

    def score(data: dict) -> float:
        return next(
            (p["score"] for p in data["predictions"] if p["label"] == "flange"), 0.0
        )

    assert named["predictions"][0]["label"] == "flange"
    assert named["predictions"][0]["score"] > score(plain)
    # A search by example reads the name of the file it is given too.
    query = api_client_a.post(
        "/api/v2/search",
        {"file": SimpleUploadedFile("Flansch_DN50.dxf", flange)},
        format="multipart",
    ).json()["data"]["query"]
    assert query["named"] == named["named"]
    assert query["predictions"][0] == named["predictions"][0]
    plan = answer(dxf_bytes(street_plan), "gear.dxf")
    assert plan["unknown"] is True
    v1 = api_client_a.get(f"/api/v1/drawings/{named['drawing_id']}/analysis").json()
    assert "named" not in v1
    from apps.cad.models import Analysis
    from apps.grpcapi.messages import prediction_message

    answered = prediction_message(Analysis.objects.get(pk=named["id"]))
    assert answered.named_family == "flange"
    assert prediction_message(Analysis.objects.get(pk=plain["id"])).named_family == ""


def test_a_russian_sheet_is_named_by_the_title_in_its_gost_inscription(
    api_client_a, settings
) -> None:  # type: ignore[no-untyped-def]
    """An ESKD drawing stored under its designation: the part's name stands
    unlabelled in the GOST main inscription, and names its family."""
    from tests.cad.titleblock_set import combine, gost_form_1

    platform_model(settings, per_class=10)
    sheet = combine(
        flange_front_view,
        gost_form_1({"designation": "07-54-105", "name": "Фланец"}),
    )
    drawing = upload(api_client_a, dxf_bytes(sheet), "07-54-105.dxf")
    data = api_client_a.get(f"/api/v2/drawings/{drawing['id']}/analysis").json()["data"]
    assert data["title_block"]["part_name"]["value"] == "Фланец"
    assert data["title_block"]["drawing_number"]["value"] == "07-54-105"
    assert data["named"] == {
        "family": "flange",
        "word": "фланец",
        "found_in": "title block",
    }
