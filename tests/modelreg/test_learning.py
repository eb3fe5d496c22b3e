"""Training through the product: labels -> POST /train (a job) -> an evaluated,
deployed version of the tenant's own model -> corrections -> live accuracy."""

from __future__ import annotations

import hashlib
import io
import random
import zlib

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.batch import runner
from apps.batch.models import BatchJob
from apps.cad.features import DXF6_SLOTS
from apps.cad.models import Analysis, Drawing
from apps.cad.services import drawing_create
from apps.cad.synth import generate_part
from apps.modelreg.learning import training_request
from apps.modelreg.models import Deployment, Feedback, ModelVersion, RegisteredModel
from apps.modelreg.services import deployments, inference
from cadml import metrics
from tests.batch.conftest import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 47  # dxf-1


@pytest.fixture(autouse=True)
def _embedded(settings):  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = None
    settings.CADML_TRAIN_CV_FOLDS = 3
    yield
    runner.wait_idle(timeout=120)


def labelled_set(
    tenant, per_class: dict[str, int], *, seed: int = 0, start: int = 0
) -> list[Drawing]:  # type: ignore[no-untyped-def]
    """Drawings with stored dxf-1 vectors around one centre per class."""
    rng = np.random.default_rng(seed)
    out = []
    for ci, (label, n) in enumerate(sorted(per_class.items())):
        # crc32, not hash(): the same centres in every test process.
        centre = (
            np.random.default_rng(1000 + zlib.crc32(label.encode()) % 1000).random(
                WIDTH
            )
            * 4
        )
        for i in range(n):
            key = f"{tenant.pk}-{label}-{start + i}"
            vector = centre + rng.normal(0, 0.05, WIDTH)
            d = labelled_drawing(tenant, label, key, vector, name=f"{label}-{i}.dxf")
            out.append(d)
    return out


def labelled_drawing(
    tenant,
    label: str,
    key: str,
    vector: np.ndarray,
    *,
    name: str = "",
    version: str = "dxf-1",
) -> Drawing:  # type: ignore[no-untyped-def]
    """A labelled drawing with its stored vector (dxf-1 unless ``version``)."""
    d = Drawing.objects.create(
        tenant=tenant,
        name=name or f"{key}.dxf",
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        size=1,
        format="dxf",
        file=f"drawings/x/{key}",
        label=label,
    )
    Analysis.objects.create(
        drawing=d,
        tenant=tenant,
        status=Analysis.Status.DONE,
        feature_version=version,
        features=vector.tolist(),
    )
    return d


def train(client, name: str = "part-classifier", **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/models/{name}/train", body, format="json")


def test_training_from_labels_evaluates_registers_and_activates(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 12, "nut": 12, "bolt": 12})
    r = train(admin_client_a, deploy="active")
    assert r.status_code == 202, r.data
    assert r.data["model"] == "part-classifier"
    job = wait_for_job(r.data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    assert job.kind == "train"
    assert job.done == job.total
    body = admin_client_a.get(f"/api/v1/jobs/{job.pk}").data
    assert body["percent"] == 100.0
    assert body["summary"]["version"] == 1
    assert body["summary"]["deployment"]["status"] == "succeeded"

    model = admin_client_a.get("/api/v1/models/part-classifier").data
    assert model["owner"] == "tenant"
    assert model["active_version"] == 1
    v = admin_client_a.get("/api/v1/models/part-classifier/versions/1").data
    ev = v["evaluation"]
    assert ev["labels"] == ["bolt", "flange", "nut"]
    assert ev["cross_validation"]["folds"] == 3
    assert ev["cross_validation"]["macro_f1_mean"] > 0.9
    assert ev["held_out"]["macro_f1"] > 0.9
    assert set(ev["per_class"]) == {"bolt", "flange", "nut"}
    assert ev["per_class"]["nut"]["support"] >= 1
    assert len(ev["confusion_matrix"]["matrix"]) == 3
    assert 0 <= ev["calibration"]["ece"] <= 1
    assert ev["abstention"]["threshold"] == 0.6
    assert len(ev["snapshot_sha256"]) == 64 == len(v["snapshot_sha256"])
    assert ev["training_s"] > 0
    # Families count the same whatever their number of drawings.
    assert ev["class_weight"] == "balanced"
    # Why this estimator: the candidates' scores and the lead another needs
    # over extra trees.
    selection = ev["selection"]
    assert set(selection["macro_f1"]) == {
        "random_forest",
        "extra_trees",
        "logistic_regression",
    }
    assert selection["preferred"] == "extra_trees"
    assert selection["margin"] == 0.01
    best = max(selection["macro_f1"].values())
    chosen = ev["estimator"]
    assert selection["macro_f1"][chosen] == best or (
        chosen == "extra_trees" and selection["macro_f1"][chosen] >= best - 0.01
    )
    for pic in ("confusion", "calibration"):
        svg = admin_client_a.get(ev[f"{pic}_svg"])
        assert svg.status_code == 200
        assert svg.content.startswith(b"<svg")
    assert AuditEvent.objects.filter(action="model.trained").count() == 1
    # The tenant's analyses are now answered by its own model.
    centre = Analysis.objects.filter(drawing__label="nut").first().features
    out = inference.predict(
        features=centre, feature_version="dxf-1", tenant_id=tenant_a.pk
    )
    assert out["model_name"] == "part-classifier"
    assert out["prediction"]["label"] == "nut"


def test_the_evaluation_shows_the_calibration_of_the_answers_served(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # Nuts and bolts drawn alike, flanges apart: a model unsure of half its
    # answers, whose confidence the calibration moves.
    rng = np.random.default_rng(5)
    alike = rng.random(WIDTH) * 4
    centres = {"flange": rng.random(WIDTH) * 4, "nut": alike, "bolt": alike}
    for n, (label, centre) in enumerate(
        (label, centre) for label, centre in centres.items() for _ in range(20)
    ):
        vector = centre + rng.normal(0, 0.3, WIDTH)
        # The same word in every name: the names tell nothing.
        name = f"drawing-{n:03d}.dxf"
        labelled_drawing(tenant_a, label, f"{label}-{n}", vector, name=name)
    job = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    v = admin_client_a.get("/api/v1/models/part-classifier/versions/1").data
    served, ev = v["metrics"], v["evaluation"]
    assert served["calibration"]["ece_uncalibrated"] != served["ece"]
    # The reliability diagram and abstention rate a team reads are those of
    # the answers it gets (calibrated), not of the raw forest.
    assert ev["calibration"]["ece"] == served["ece"]
    assert ev["abstention"]["rate"] == served["abstention_rate"]


def test_drawings_labelled_not_a_part_teach_the_model_what_to_call_unknown(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 12, "nut": 12, "not_a_part": 12})
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    assert job.status == "succeeded", job.summary

    def answer(label: str) -> dict:
        centre = Analysis.objects.filter(drawing__label=label).first().features
        return inference.predict(
            features=centre, feature_version="dxf-1", tenant_id=tenant_a.pk
        )["prediction"]

    floor_plan = answer("not_a_part")
    assert floor_plan["unknown"] is True
    # The answer still names the closest part, scored as unsure as it is.
    assert floor_plan["label"] in {"flange", "nut"}
    assert floor_plan["needs_review"] is True
    assert "not_a_part" not in {p["label"] for p in floor_plan["top3"]}
    nut = answer("nut")
    assert nut["label"] == "nut" and nut["unknown"] is False


def test_the_snapshot_hash_is_the_labelled_set(admin_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    first = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    again = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert first.summary["snapshot_sha256"] == again.summary["snapshot_sha256"]
    Drawing.objects.filter(tenant=tenant_a, label="nut").first().delete()
    third = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert third.summary["snapshot_sha256"] != first.summary["snapshot_sha256"]
    assert list(
        ModelVersion.objects.order_by("number").values_list("number", flat=True)
    ) == [1, 2, 3]


def test_duplicates_are_removed_before_any_split(admin_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    ds = labelled_set(tenant_a, {"flange": 6, "nut": 6})
    # A second file with the very same vector (a re-saved drawing).
    twin = Drawing.objects.create(
        tenant=tenant_a,
        name="copy.dxf",
        sha256="f" * 64,
        size=1,
        format="dxf",
        file="drawings/x/copy",
        label="flange",
    )
    Analysis.objects.create(
        drawing=twin,
        tenant=tenant_a,
        status="done",
        feature_version="dxf-1",
        features=ds[0].analyses.first().features,
    )
    job = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    ev = ModelVersion.objects.get().evaluation
    assert ev["deduplication"]["dropped_duplicates"] == 1
    assert job.summary["drawings"] == 12


def test_the_evaluation_names_labels_given_to_drawings_that_read_the_same(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    ds = labelled_set(tenant_a, {"bolt": 6, "flange": 6, "nut": 6})
    flange = next(d for d in ds if d.label == "flange")
    vector = np.asarray(flange.analyses.first().features)
    # The same symbol filed under two families: once more as a nut, twice as
    # a bolt (two files of one drawing).
    as_nut = labelled_drawing(tenant_a, "nut", "same-as-nut", vector)
    as_bolt = [
        labelled_drawing(tenant_a, "bolt", f"same-as-bolt-{i}", vector)
        for i in range(2)
    ]
    job = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    body = admin_client_a.get("/api/v1/models/part-classifier/versions/1").data
    dedup = body["evaluation"]["deduplication"]
    assert dedup["dropped_conflicting_labels"] == 4
    assert dedup["conflicting_labels"] == [
        {
            "labels": ["bolt", "flange", "nut"],
            "drawings": 4,
            "examples": sorted([flange.pk, as_nut.pk, *(d.pk for d in as_bolt)]),
        }
    ]
    # None of them is learned from: each family keeps its other drawings.
    assert body["evaluation"]["class_counts"] == {"bolt": 6, "flange": 5, "nut": 6}


def test_the_evaluation_lists_the_families_mixed_up_most(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 12})
    # Bolts and screws drawn alike: the model cannot tell them apart. Enough
    # of them that six held out each are not all answered right by chance.
    rng = np.random.default_rng(3)
    centre = rng.random(WIDTH) * 4
    for i in range(48):
        label = "bolt" if i % 2 else "screw"
        labelled_drawing(
            tenant_a, label, f"alike-{i}", centre + rng.normal(0, 0.05, WIDTH)
        )
    job = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    ev = admin_client_a.get("/api/v1/models/part-classifier/versions/1").data[
        "evaluation"
    ]
    labels, matrix = ev["confusion_matrix"]["labels"], ev["confusion_matrix"]["matrix"]
    mixed = ev["most_confused"]
    assert mixed, matrix
    assert {(m["label"], m["answered"]) for m in mixed} <= {
        ("bolt", "screw"),
        ("screw", "bolt"),
    }
    for m in mixed:
        assert (
            m["drawings"]
            == matrix[labels.index(m["label"])][labels.index(m["answered"])]
        )
    assert [m["drawings"] for m in mixed] == sorted(
        (m["drawings"] for m in mixed), reverse=True
    )


def test_refusals_name_their_cause(admin_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    r = train(admin_client_a)
    assert r.status_code == 400
    assert r.data["code"] == "no_labelled_drawings"
    labelled_set(tenant_a, {"flange": 8})
    r = train(admin_client_a)
    assert r.status_code == 400
    assert r.data["code"] == "too_few_classes"
    labelled_set(tenant_a, {"nut": 8, "pin": 2}, start=100)
    r = train(admin_client_a, labels=["flange", "nut", "pin"], min_per_class=5)
    assert r.status_code == 400
    assert "'pin' has 2" in r.data["detail"]
    for bad in (
        {"deploy": "everywhere"},
        {"min_per_class": 1},
        {"candidate_percent": 0},
        {"labels": []},
    ):
        assert train(admin_client_a, **bad).status_code == 400, bad
    assert not BatchJob.objects.exists()
    # Without a label list the small class is left out, and the result says so.
    r = train(admin_client_a, min_per_class=5)
    assert r.status_code == 202
    job = wait_for_job(r.data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    assert job.summary["classes_left_out"] == {"pin": 2}
    assert job.summary["labels"] == ["flange", "nut"]


def test_another_tenants_labels_are_never_used(
    admin_client_a, tenant_a, tenant_b, owner_b
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import key_client

    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    client_b = key_client(tenant_b, owner_b, ["admin"])
    r = train(client_b)
    assert r.status_code == 400
    assert r.data["code"] == "no_labelled_drawings"
    job = BatchJob.objects.create(tenant=tenant_a, kind="train", total=6)
    assert client_b.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert client_b.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 404


def test_a_second_training_of_the_same_model_is_409(
    admin_client_a, tenant_a, owner_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    with transaction.atomic():
        first = training_request(tenant=tenant_a, user=owner_a, name="part-classifier")
        r = train(admin_client_a)
        assert r.status_code == 409
        assert f"job {first.pk}" in r.data["detail"]
        # Another model of the same tenant may train at the same time.
        assert train(admin_client_a, name="other").status_code == 202
    assert wait_for_job(first.pk, timeout=120).status == "succeeded"


def test_cancel_stops_the_training_and_registers_nothing(
    admin_client_a, tenant_a, owner_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    with transaction.atomic():
        job = training_request(tenant=tenant_a, user=owner_a, name="part-classifier")
        r = admin_client_a.post(f"/api/v1/jobs/{job.pk}/cancel")
        assert r.status_code == 202
    job = wait_for_job(job.pk, timeout=120)
    assert job.status == "cancelled"
    assert not ModelVersion.objects.exists()


def test_vectors_missing_are_computed_in_the_job(admin_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    for family in ("flange", "hex_nut"):
        for i in range(4):
            d = drawing_create(
                tenant=tenant_a,
                uploaded_by=None,
                name=f"{family}-{i}.dxf",
                content=generate_part(family, random.Random(i)),
            ).drawing
            d.label = family
            d.save()
    r = train(admin_client_a, min_per_class=3)
    job = wait_for_job(r.data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    assert job.summary["recomputed_vectors"] == 8
    assert Analysis.objects.filter(tenant=tenant_a, status="done").count() == 8


def test_retraining_with_a_new_class_keeps_the_old_versions_labels(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    labelled_set(tenant_a, {"washer": 6}, start=50)
    job = wait_for_job(train(admin_client_a, deploy="shadow").data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    v1, v2 = ModelVersion.objects.order_by("number")
    assert v1.class_labels() == ["flange", "nut"]
    assert v2.class_labels() == ["flange", "nut", "washer"]
    dep = Deployment.objects.get()
    assert (dep.active_version_id, dep.candidate_version_id, dep.mode) == (
        v1.pk,
        v2.pk,
        "shadow",
    )
    washer = Analysis.objects.filter(drawing__label="washer").first().features
    out = inference.predict(
        features=washer, feature_version="dxf-1", tenant_id=tenant_a.pk
    )
    assert out["model_version"] == 1
    assert out["prediction"]["label"] in ("flange", "nut")  # v1 knows no washer


def _predicted_analysis(tenant, label: str) -> Analysis:  # type: ignore[no-untyped-def]
    """An analysis as the pipeline stores it: predicted by what serves."""
    a = Analysis.objects.filter(tenant=tenant, drawing__label=label).first()
    out = inference.predict(
        features=a.features, feature_version="dxf-1", tenant_id=tenant.pk
    )
    a.prediction = out["prediction"]
    a.confidence = out["confidence"]
    a.model_name = out["model_name"]
    a.model_version = str(out["model_version"])
    a.variant = out["variant"]
    a.save()
    return a


def _feedback_count(outcome: str, version: str = "1") -> float:
    return metrics.model_feedback.labels(
        "part-classifier", version, outcome
    )._value.get()


def test_a_model_on_an_older_version_learns_from_drawings_analysed_as_a_newer_one(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    # Uploaded after an upgrade: only a dxf-6 analysis, whose first slots are
    # the dxf-1 vector the model reads.
    rng = np.random.default_rng(3)
    centre = rng.random(WIDTH) * 4
    for i in range(6):
        prefix = centre + rng.normal(0, 0.05, WIDTH)
        rest = rng.random(len(DXF6_SLOTS) - WIDTH)
        labelled_drawing(
            tenant_a, "washer", f"w{i}", np.hstack([prefix, rest]), version="dxf-6"
        )
    job = wait_for_job(train(admin_client_a, deploy="shadow").data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    assert job.summary["recomputed_vectors"] == 0
    v2 = ModelVersion.objects.order_by("number").last()
    assert v2.class_labels() == ["flange", "nut", "washer"]
    assert v2.model.feature_version == "dxf-1"


def test_a_new_model_trains_on_the_version_drawings_were_refeaturised_to(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    drawings = labelled_set(tenant_a, {"flange": 6, "nut": 6})
    # The tenant's model from before the upgrade, on dxf-1.
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    rng = np.random.default_rng(5)
    for d in drawings:
        # Analysed twice before the upgrade, then re-featurised: the history
        # holds more old analyses than new ones.
        old = Analysis.objects.get(drawing=d)
        rest = rng.random(len(DXF6_SLOTS) - WIDTH).tolist()
        for version, extra in (("dxf-1", []), ("dxf-6", rest)):
            Analysis.objects.create(
                drawing=d,
                tenant=tenant_a,
                status=Analysis.Status.DONE,
                feature_version=version,
                features=[*old.features, *extra],
            )
    job = wait_for_job(
        train(admin_client_a, "parts-v5", deploy="active").data["job"], timeout=120
    )
    assert job.status == "succeeded", job.summary
    new = ModelVersion.objects.get(model__name="parts-v5")
    assert new.model.feature_version == "dxf-6"
    # Both serve: a dxf-6 analysis is answered by the new model, an older
    # analysis still by the old one.
    latest = Analysis.objects.filter(drawing=drawings[0]).order_by("-pk")
    for analysis, model in ((latest[0], "parts-v5"), (latest[2], "part-classifier")):
        out = inference.predict(
            features=analysis.features,
            feature_version=analysis.feature_version,
            tenant_id=tenant_a.pk,
        )
        assert out["model_name"] == model
        assert out["prediction"]["label"] == "flange"


def test_feedback_relabels_and_counts_towards_live_accuracy(
    admin_client_a, api_client_a, api_client_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 8, "nut": 8})
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    a = _predicted_analysis(tenant_a, "nut")
    assert a.prediction["label"] == "nut"
    wrong_before = _feedback_count("wrong")
    r = api_client_a.post(
        f"/api/v1/analyses/{a.pk}/feedback",
        {"label": "Hex Nut", "comment": "it is a hex nut"},
        format="json",
    )
    assert r.status_code == 201, r.data
    assert r.data["predicted_label"] == "nut"
    assert r.data["corrected_label"] == "hex_nut"
    assert r.data["outcome"] == "wrong"
    assert r.data["version"] == 1
    a.drawing.refresh_from_db()
    assert a.drawing.label == "hex_nut"
    b = _predicted_analysis(tenant_a, "flange")
    r = api_client_a.post(
        f"/api/v1/analyses/{b.pk}/feedback", {"label": "flange"}, format="json"
    )
    assert r.data["outcome"] == "correct"
    live = api_client_a.get("/api/v1/models/part-classifier").data["live_accuracy"]
    assert live[0]["version"] == 1
    assert (live[0]["count"], live[0]["correct"], live[0]["accuracy"]) == (2, 1, 0.5)
    low, high = live[0]["ci95"]
    assert 0 < low < 0.5 < high < 1
    assert _feedback_count("wrong") == wrong_before + 1
    assert Feedback.objects.count() == 2
    events = AuditEvent.objects.filter(
        action="drawing.labelled", details__source="feedback"
    )
    assert events.count() == 1  # "flange" was already the label: no change
    # Other tenants, bad labels and analyses without a prediction.
    assert (
        api_client_b.post(
            f"/api/v1/analyses/{a.pk}/feedback", {"label": "nut"}, format="json"
        ).status_code
        == 404
    )
    assert (
        api_client_a.post(
            f"/api/v1/analyses/{a.pk}/feedback", {"label": "x" * 70}, format="json"
        ).status_code
        == 400
    )
    bare = Analysis.objects.filter(tenant=tenant_a, prediction__isnull=True).first()
    r = api_client_a.post(
        f"/api/v1/analyses/{bare.pk}/feedback", {"label": "nut"}, format="json"
    )
    assert r.status_code == 409


def test_the_accuracy_guardrail_rolls_back_a_version_people_keep_correcting(
    admin_client_a, api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    r = admin_client_a.post(
        "/api/v1/models/part-classifier/guardrail",
        {"min_accuracy": 0.5, "feedback_window": 3},
        format="json",
    )
    assert r.status_code == 200, r.data
    assert (r.data["min_accuracy"], r.data["feedback_window"]) == (0.5, 3)
    bad = admin_client_a.post(
        "/api/v1/models/part-classifier/guardrail",
        {"min_accuracy": 1.5},
        format="json",
    )
    assert bad.status_code == 400
    dep = Deployment.objects.get()
    assert dep.active_version.number == 2
    for label in ("flange", "nut", "flange"):
        a = _predicted_analysis(tenant_a, label)
        wrong = "nut" if a.prediction["label"] == "flange" else "flange"
        api_client_a.post(
            f"/api/v1/analyses/{a.pk}/feedback", {"label": wrong}, format="json"
        )
        a.drawing.label = label  # keep the set as it was for the next one
        a.drawing.save()
    dep.refresh_from_db()
    assert dep.active_version.number == 1
    event = RegisteredModel.objects.get().events.first()
    assert event.kind == "auto_rollback"
    assert "corrections" in event.detail


def test_a_training_costs_the_rate_limiter_in_proportion_to_its_drawings(
    admin_client_a, tenant_a, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_POLICIES = {"pro": {"key": ["1000/minute"]}}
    settings.CADML_TRAIN_DRAWINGS_PER_UNIT = 10
    labelled_set(tenant_a, {"flange": 20, "nut": 21})

    def remaining(r) -> int:  # type: ignore[no-untyped-def]
        return int(r["RateLimit"].split("r=")[1].split(";")[0].split(",")[0])

    before = remaining(admin_client_a.get("/api/v1/models"))
    r = train(admin_client_a)
    assert r.status_code == 202
    assert before - remaining(r) == 5  # 41 drawings, 10 per unit
    wait_for_job(r.data["job"], timeout=120)


def test_a_correction_counts_against_the_model_that_answered(
    admin_client_a, api_client_a, tenant_a, register
) -> None:  # type: ignore[no-untyped-def]
    """The platform's part-classifier answered before the tenant trained its
    own model of the same name: the correction is the platform version's."""
    platform = register()  # platform "part-classifier" v1: bracket, flange, gear
    deployments.deployment_request(model=platform.model, number=1, run_now=True)
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    early = _predicted_analysis(tenant_a, "nut")
    assert early.prediction["model_owner"] == "platform"
    wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    later = _predicted_analysis(tenant_a, "flange")
    assert later.prediction["model_owner"] == "tenant"
    for a in (early, later):
        r = api_client_a.post(
            f"/api/v1/analyses/{a.pk}/feedback", {"label": "washer"}, format="json"
        )
        assert r.status_code == 201
    owners = dict(Feedback.objects.values_list("analysis_id", "model__tenant_id"))
    assert owners == {early.pk: None, later.pk: tenant_a.pk}
    live = api_client_a.get("/api/v1/models/part-classifier").data["live_accuracy"]
    assert [(x["version"], x["count"]) for x in live] == [(1, 1)]


def test_a_trained_tenants_similar_drawings_come_from_the_models_classes_first(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """Brackets come in two sizes, one either side of the plates, on the one
    slot that tells them apart (ten other slots are noise): both families
    have the same mean there, so the learned per-slot metric does not weigh
    it and mixes them up; the model does not, so with its classes the five
    most similar drawings are all of the query's family."""
    rng = np.random.default_rng(5)
    sizes = {"bracket": (-2.0, 2.0), "plate": (0.0, 0.0)}
    drawings: dict[str, list[Drawing]] = {"bracket": [], "plate": []}
    for label, centres in sizes.items():
        for centre in centres:
            for _ in range(15):
                vector = np.zeros(WIDTH)
                vector[1:11] = rng.normal(0, 0.3, 10)
                vector[0] = centre + rng.normal(0, 0.05)
                key = f"{label}-{len(drawings[label])}"
                # Named by number only: the drawings alone tell the families.
                name = f"{len(drawings['bracket']) + len(drawings['plate'])}.dxf"
                drawings[label].append(
                    labelled_drawing(tenant_a, label, key, vector, name=name)
                )
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    label_of = {d.pk: d.label for ds in drawings.values() for d in ds}
    for query in (drawings["bracket"][0], drawings["plate"][20]):
        r = admin_client_a.get(f"/api/v1/drawings/{query.pk}/similar?k=5")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["space"] == "part-classifier-v1-metric+classes"
        found = [label_of[n["drawing"]["id"]] for n in body["results"]]
        assert found == [query.label] * 5


def plate(rng: random.Random, scale: float, title: str | None = None) -> bytes:
    """A plate with a few holes, about 50 mm across times ``scale``, in mm;
    ``title``: its part name, under the label "Benennung", on the sheet's
    paperspace layout (where CAD tools put the title block: none of the
    drawing's own views or words)."""
    import ezdxf

    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    w, h = rng.uniform(40, 60) * scale, rng.uniform(25, 40) * scale
    msp.add_lwpolyline([(0, 0), (w, 0), (w, h), (0, h)], close=True)
    for _ in range(rng.randint(2, 5)):
        r = rng.uniform(0.04, 0.1) * h
        msp.add_circle(
            (rng.uniform(2 * r, w - 2 * r), rng.uniform(2 * r, h - 2 * r)), r
        )
    if title:
        sheet = doc.paperspace()
        sheet.add_text(f"Benennung: {title}", height=2.5).set_placement((10, 10))
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def scribble(rng: random.Random) -> bytes:
    """An open zigzag of a dozen strokes: a sketch, no part."""
    import ezdxf

    doc = ezdxf.new(units=4)
    doc.modelspace().add_lwpolyline([(i * 10.0, rng.uniform(0, 80)) for i in range(12)])
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def test_families_that_differ_only_in_size_are_learned(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # The same plates a few times as large: every shape slot is alike, only
    # the size view tells the two families apart.
    rng = random.Random(8)
    for label, scale in (("plate_small", 1.0), ("plate_large", 6.0)):
        for i in range(8):
            d = drawing_create(
                tenant=tenant_a,
                uploaded_by=None,
                # Names of no word: the drawings alone tell the families.
                name=f"{scale:g}-{i}.dxf",
                content=plate(rng, scale),
            ).drawing
            d.label = label
            d.save()
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    version = ModelVersion.objects.get()
    assert version.model.feature_version == "dxf-7"
    assert version.evaluation["held_out"]["macro_f1"] == 1.0
    for label, scale in (("plate_small", 1.0), ("plate_large", 6.0)):
        r = admin_client_a.post(
            "/api/v1/drawings",
            {"file": SimpleUploadedFile("new.dxf", plate(rng, scale))},
            format="multipart",
        )
        assert r.status_code == 201, r.data
        assert r.data["analysis"]["prediction"] == label


def test_the_served_model_knows_every_drawing_it_was_taught(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # The company's own part numbers on look-alike plates: nothing in the
    # shapes predicts them, so only a model that learned a drawing knows it.
    rng = random.Random(3)
    taught = {}
    for i in range(15):
        content = plate(rng, 1.0)
        label = ("PN-100", "PN-200", "PN-300")[i % 3]
        d = drawing_create(
            tenant=tenant_a, uploaded_by=None, name=f"p{i}.dxf", content=content
        ).drawing
        d.label = label
        d.save()
        taught[content] = label
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    version = ModelVersion.objects.get()
    # The reported figures stay those of the model fitted without its test
    # split; the served one learned from all fifteen.
    assert version.evaluation["held_out"]["rows"] == 4
    assert version.training_summary["served_model_rows"] == 15
    for i, (content, label) in enumerate(taught.items()):
        # A copy (a DXF comment more: other bytes, the same drawing).
        r = admin_client_a.post(
            "/api/v1/drawings",
            {"file": SimpleUploadedFile("copy.dxf", b"999\ncopy %d\n" % i + content)},
            format="multipart",
        )
        assert r.status_code == 201, r.data
        assert r.data["analysis"]["prediction"] == label, i


def product_lines(  # type: ignore[no-untyped-def]
    tenant, rng: random.Random, *, numbered: bool = False
) -> None:
    """Two product lines of look-alike plates, 12 drawings each, labelled and
    named as the team names them ("Orion_Grundplatte-000.dxf", orion_line;
    ``numbered``: "A-10400.dxf", titled "Orion Grundplatte"): the drawings
    alone cannot tell them apart, their names can."""
    for i in range(24):
        line = ("Orion", "Vega")[i % 2]
        d = drawing_create(
            tenant=tenant,
            uploaded_by=None,
            name=f"A-{10400 + i}.dxf"
            if numbered
            else f"{line}_Grundplatte-{i:03d}.dxf",
            content=plate(rng, 1.0, title=f"{line} Grundplatte" if numbered else None),
        ).drawing
        d.label = f"{line.lower()}_line"
        d.save()


@pytest.mark.parametrize("numbered", [False, True], ids=["named", "numbered"])
def test_a_tenants_model_learns_the_words_of_its_file_names(
    admin_client_a, tenant_a, numbered
) -> None:  # type: ignore[no-untyped-def]
    # Named files ("Orion_Grundplatte-000.dxf"), or an archive of numbered
    # ones whose title blocks name the product line: their words are learned
    # and read alike.
    rng = random.Random(11)
    product_lines(tenant_a, rng, numbered=numbered)
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    ev = ModelVersion.objects.get().evaluation
    assert ev["held_out"]["macro_f1"] == 1.0
    assert ev["cross_validation"]["macro_f1_mean"] == 1.0
    assert ev["names"]["weight"] > 0
    assert ev["names"]["macro_f1_drawing_alone"] < 0.9
    for line in ("Orion", "Vega"):
        title = f"{line} Grundplatte" if numbered else None
        upload = "A-10999.dxf" if numbered else f"{line}-Grundplatte-117.DXF"
        r = admin_client_a.post(
            "/api/v1/drawings",
            {"file": SimpleUploadedFile(upload, plate(rng, 1.0, title=title))},
            format="multipart",
        )
        assert r.status_code == 201, r.data
        assert r.data["analysis"]["prediction"] == f"{line.lower()}_line"
        # The answer says what in the name counted (v2 `named`): the word the
        # two lines' names do not share, and where it was read.
        analysis = Analysis.objects.get(pk=r.data["analysis"]["id"])
        assert analysis.prediction["named"] == {
            "family": f"{line.lower()}_line",
            "word": line.lower(),
            "found_in": "title block" if numbered else "file name",
        }
        # The same by its vector, with and without a name (and title).
        vector = r.data["analysis"]["features"]
        named = (
            {"file_name": "A-1.dxf", "title": title}
            if numbered
            else {"file_name": f"{line}_Grundplatte.dxf"}
        )
        by_vector = admin_client_a.post(
            "/api/v1/models/part-classifier/predict",
            {"features": vector, **named},
            format="json",
        )
        assert by_vector.status_code == 200, by_vector.data
        assert by_vector.data["prediction"]["label"] == f"{line.lower()}_line"
        unnamed = admin_client_a.post(
            "/api/v1/models/part-classifier/predict",
            {"features": vector},
            format="json",
        ).data["prediction"]
        assert unnamed["confidence"] < by_vector.data["prediction"]["confidence"]
        similar = admin_client_a.get(f"/api/v1/drawings/{r.data['id']}/similar?k=5")
        assert similar.status_code == 200, similar.content
        assert similar.data["space"] == "part-classifier-v1-metric+classes+names"


def test_a_tenants_similar_drawings_weigh_the_file_names_its_model_learned(
    settings, admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """Look-alike plates of two product lines that only their names tell
    apart: the drawings of the query's own line come first, whether the
    query is a stored drawing or a file searched with, exactly or through
    the tenant's index."""
    from apps.cad.services import search_index_rebuild

    rng = random.Random(13)
    product_lines(tenant_a, rng)
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    label_of = dict(Drawing.objects.filter(tenant=tenant_a).values_list("pk", "label"))
    queries = list(Drawing.objects.filter(tenant=tenant_a).order_by("pk")[:4])
    files = {line: plate(rng, 1.0) for line in ("Orion", "Vega")}

    def answers() -> list[tuple[str, str, list[str]]]:
        """(space, the query's line, the lines of its five nearest)."""
        got = []
        for query in queries:
            r = admin_client_a.get(f"/api/v1/drawings/{query.pk}/similar?k=5")
            assert r.status_code == 200, r.content
            found = [label_of[n["drawing"]["id"]] for n in r.data["results"]]
            got.append((r.data["space"], query.label, found))
        for line, content in files.items():
            r = admin_client_a.post(
                "/api/v1/search",
                {"file": SimpleUploadedFile(f"{line}-Platte.dxf", content), "k": 5},
                format="multipart",
            )
            assert r.status_code == 200, r.content
            found = [label_of[n["drawing"]["id"]] for n in r.data["results"]]
            got.append((r.data["space"], f"{line.lower()}_line", found))
        return got

    exact = answers()
    for space, wanted, found in exact:
        assert space == "part-classifier-v1-metric+classes+names"
        assert found == [wanted] * 5
    settings.CADML_SEARCH_EXACT_BELOW = 0
    search_index_rebuild(tenant_id=tenant_a.pk, feature_version="dxf-7")
    assert answers() == exact


def test_a_process_that_searched_before_the_archive_changed_answers_as_a_new_one(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """Each process keeps its drawings' places in the model's classes and
    embeds again only rows that changed. Two files of one drawing (the same
    vector) under two lines' names sit side by side; when a drawing before
    them leaves and another arrives, each row holds another drawing: its
    place must follow the drawing's name, not the row's vector."""
    from apps.cad import matrices

    rng = random.Random(17)
    product_lines(tenant_a, rng)
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary

    def uploaded(name: str, content: bytes) -> Drawing:
        r = admin_client_a.post(
            "/api/v1/drawings",
            {"file": SimpleUploadedFile(name, content)},
            format="multipart",
        )
        assert r.status_code == 201, r.data
        return Drawing.objects.get(pk=r.data["id"])

    state = rng.getstate()
    twins = []
    for line in ("Orion", "Vega"):
        rng.setstate(state)  # the same plate; the file differs (its GUIDs)
        twins.append(uploaded(f"{line}_Kopie.dxf", plate(rng, 1.0)))
    assert twins[0].sha256 != twins[1].sha256
    vectors = [t.latest_analysis().features for t in twins]
    assert vectors[0] == vectors[1]
    queries = [*twins, Drawing.objects.filter(tenant=tenant_a).order_by("pk")[1]]

    def answers() -> list[list[int]]:
        got = []
        for query in queries:
            r = admin_client_a.get(f"/api/v1/drawings/{query.pk}/similar?k=10")
            assert r.status_code == 200, r.content
            got.append([n["drawing"]["id"] for n in r.data["results"]])
        return got

    answers()  # this process now keeps every row's place
    first = Drawing.objects.filter(tenant=tenant_a).order_by("pk").first()
    assert admin_client_a.delete(f"/api/v1/drawings/{first.pk}").status_code == 204
    uploaded("Vega_Neu.dxf", plate(rng, 1.0))
    kept = answers()
    matrices._learned.clear()  # as a process that never searched
    matrices._matrices.clear()
    assert kept == answers()


def test_a_model_that_learned_not_a_part_weighs_its_file_names_when_served(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # Two look-alike product lines and sketches labelled not_a_part: the
    # model has one label more than it has prototypes, and its names are
    # weighed all the same.
    rng = random.Random(12)
    product_lines(tenant_a, rng)
    for i in range(8):
        d = drawing_create(
            tenant=tenant_a,
            uploaded_by=None,
            name=f"Skizze-{i}.dxf",
            content=scribble(rng),
        ).drawing
        d.label = "not_a_part"
        d.save()
    job = wait_for_job(train(admin_client_a, deploy="active").data["job"], timeout=240)
    assert job.status == "succeeded", job.summary
    assert ModelVersion.objects.get().evaluation["names"]["weight"] > 0
    for line in ("Orion", "Vega"):
        r = admin_client_a.post(
            "/api/v1/drawings",
            {
                "file": SimpleUploadedFile(
                    f"{line}-Grundplatte-117.dxf", plate(rng, 1.0)
                )
            },
            format="multipart",
        )
        assert r.status_code == 201, r.data
        assert r.data["analysis"]["prediction"] == f"{line.lower()}_line"
        named = Analysis.objects.get(pk=r.data["analysis"]["id"]).prediction["named"]
        assert named == {
            "family": f"{line.lower()}_line",
            # Both words speak for it: "grundplatte" against the sketches.
            "word": f"{line.lower()} grundplatte",
            "found_in": "file name",
        }
