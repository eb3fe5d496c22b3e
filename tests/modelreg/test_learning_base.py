"""Training on the default base: a tenant's labels beside the default model's
generated drawings (``POST /models/{name}/train`` with ``base: "default"``)."""

from __future__ import annotations

import io
import math
import random

import ezdxf
import numpy as np
import pytest
from django.core.management.base import CommandError

from apps.batch import runner
from apps.cad.models import Analysis
from apps.cad.services import drawing_create
from apps.cad.synth import NOT_A_PART, PART_CLASSES, generate_part
from apps.modelreg import training
from apps.modelreg.models import ModelVersion
from tests.batch.conftest import wait_for_job
from tests.modelreg.test_learning import labelled_set, train
from tests.modelreg.test_openset import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def generated_sets(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One folder of generated sets for the module: the base is drawn by the
    first training that needs it and read back by the next, as in a
    deployment."""
    return tmp_path_factory.mktemp("generated")


@pytest.fixture(autouse=True)
def _embedded(settings, tmp_path, generated_sets):  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = None
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CADML_TRAIN_CV_FOLDS = 3
    # A small base: the families, not the default model's full set.
    settings.CADML_TRAIN_BASE_PER_CLASS = 20
    settings.CADML_GENERATED_SET_DIR = generated_sets
    yield
    runner.wait_idle(timeout=120)


def star(rng: random.Random) -> bytes:
    """A company's own family the generator never draws: a five-pointed star
    outline around a small hole."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    r = rng.uniform(20, 60)
    points = [
        (
            (r if i % 2 == 0 else r * 0.4) * math.cos(math.pi / 2 + i * math.pi / 5),
            (r if i % 2 == 0 else r * 0.4) * math.sin(math.pi / 2 + i * math.pi / 5),
        )
        for i in range(10)
    ]
    msp.add_lwpolyline(points, close=True)
    msp.add_circle((0, 0), r * rng.uniform(0.08, 0.15))
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode()


def labelled(tenant, name: str, content: bytes, label: str) -> None:  # type: ignore[no-untyped-def]
    d = drawing_create(
        tenant=tenant, uploaded_by=None, name=name, content=content
    ).drawing
    d.label = label
    d.save()


def test_a_tenant_teaches_one_family_of_its_own_and_keeps_the_default_ones(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    stars = [star(rng) for _ in range(3)]
    for i, content in enumerate(stars):
        labelled(tenant_a, f"star-{i}.dxf", content, "star_knob")
    # One correction of a family the default model knows is enough.
    plate = generate_part("hole_plate", random.Random(99))
    labelled(tenant_a, "plate.dxf", plate, "hole_plate")
    # A correction that contradicts the generated drawings: this company
    # calls its thin rings bushings.
    ring = generate_part("washer", random.Random(98))
    labelled(tenant_a, "ring.dxf", ring, "bushing")

    # On the tenant's labels alone one family cannot be a classifier.
    alone = train(admin_client_a)
    assert alone.status_code == 400
    assert alone.data["code"] == "too_few_classes"
    # On the base a family of the tenant's own still needs min_per_class.
    few = train(admin_client_a, base="default", labels=["star_knob"], min_per_class=4)
    assert few.status_code == 400
    assert few.data["code"] == "class_too_small"
    assert "'star_knob' has 3" in few.data["detail"]

    r = train(admin_client_a, base="default", deploy="active", min_per_class=3)
    assert r.status_code == 202, r.data
    job = wait_for_job(r.data["job"], timeout=300)
    assert job.status == "succeeded", job.summary
    assert job.summary["base"] == "default"
    assert job.summary["drawings"] == 5
    assert job.summary["base_drawings"] > 0

    version = ModelVersion.objects.get()
    assert version.model.tenant_id == tenant_a.pk
    assert version.class_labels() == sorted([*PART_CLASSES, NOT_A_PART, "star_knob"])
    assert version.model.feature_version == "dxf-3th"
    assert version.training_summary["base"] == "default"
    assert version.training_summary["taught_rows"] == 5
    # The served model learned the tenant's drawings, its held-out split too.
    assert (
        version.training_summary["served_model_rows"]
        == version.training_summary["base_rows"] + 5
    )

    # A new star the model never saw is the tenant's family; parts of the
    # families the tenant never labelled keep their default names (a small
    # base here: most of them, not all).
    new_star = upload(admin_client_a, star(random.Random(1234)), "new-star.dxf")
    assert new_star["analysis"]["prediction"] == "star_knob"
    # The corrected drawing, uploaded again (other bytes, the same drawing),
    # has the tenant's name for it.
    again = upload(admin_client_a, b"999\nagain\n" + ring, "ring-again.dxf")
    assert again["analysis"]["prediction"] == "bushing"
    # (Washers left out: the correction above moved their neighbours. On the
    # taught labels alone, three names would be all it could answer.)
    answers = {
        family: upload(
            admin_client_a, generate_part(family, random.Random(555)), f"{family}.dxf"
        )["analysis"]["prediction"]
        for family in PART_CLASSES
        if family != "washer"
    }
    assert "star_knob" not in answers.values(), answers
    right = sorted(family for family, label in answers.items() if family == label)
    assert len(right) >= 8, answers


def test_bad_bases_and_versions_are_refused(admin_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    labelled_set(tenant_a, {"gizmo": 2})
    r = train(admin_client_a, base="default")
    assert r.status_code == 400
    assert r.data["code"] == "too_few_drawings"
    assert "hole_plate" in r.data["detail"] and "'gizmo': 2" in r.data["detail"]
    labelled_set(tenant_a, {"flange": 6, "nut": 6})
    r = train(admin_client_a, base="everything")
    assert r.status_code == 400
    assert "base" in str(r.data)
    # A dxf-1 model cannot take a dxf-3th version from the base.
    job = wait_for_job(train(admin_client_a).data["job"], timeout=120)
    assert job.status == "succeeded", job.summary
    r = train(admin_client_a, base="default")
    assert r.status_code == 400
    assert r.data["code"] == "base_feature_version"
    assert "another model name" in r.data["detail"]


def test_the_generated_base_is_drawn_once_and_survives_a_torn_file(
    settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_GENERATED_SET_DIR = tmp_path / "generated"
    first = training.generated_base(per_class=2, seed=0, workers=1)
    files = list(settings.CADML_GENERATED_SET_DIR.glob("generated-*.npz"))
    assert len(files) == 1
    again = training.generated_base(per_class=2, seed=0, workers=1)
    assert np.array_equal(first.X, again.X)
    assert list(first.y) == list(again.y)
    assert again.feature_version == first.feature_version == "dxf-3th"
    files[0].write_bytes(b"half a file")
    redrawn = training.generated_base(per_class=2, seed=0, workers=1)
    assert np.array_equal(first.X, redrawn.X)
    assert set(redrawn.y) == {*PART_CLASSES, NOT_A_PART}


def test_train_classifier_takes_the_base_for_a_labelled_folder(
    settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import json

    from django.core.management import call_command

    settings.CADML_TRAIN_BASE_PER_CLASS = 4  # the labels, not the answers
    rng = random.Random(11)
    # One folder will do: the base holds the other families.
    (tmp_path / "parts" / "star_knob").mkdir(parents=True)
    for i in range(3):
        (tmp_path / "parts" / "star_knob" / f"s{i}.dxf").write_bytes(star(rng))
    out = io.StringIO()
    call_command(
        "train_classifier",
        "--data",
        str(tmp_path / "parts"),
        "--base",
        "default",
        "--json",
        "--workers",
        "1",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    assert result["labels"] == sorted([*PART_CLASSES, NOT_A_PART, "star_knob"])
    assert result["feature_version"] == "dxf-3th"
    assert result["training_summary"]["taught_rows"] == 3
    # Without the base one folder is not a classifier.
    with pytest.raises(CommandError, match="at least two label folders"):
        call_command("train_classifier", "--data", str(tmp_path / "parts"))
    # Without --data there is nothing to teach.
    with pytest.raises(CommandError, match="--base default goes with --data"):
        call_command("train_classifier", "--synthetic", "4", "--base", "default")


def test_the_evaluation_says_how_the_tenants_own_drawings_fared(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # Twelve drawings of a family only the tenant has: those of them in the
    # held-out split are exactly the split's star_knob rows.
    rng = random.Random(21)
    for i in range(12):
        labelled(tenant_a, f"star-{i}.dxf", star(rng), "star_knob")
    r = train(admin_client_a, base="default", min_per_class=3)
    job = wait_for_job(r.data["job"], timeout=300)
    assert job.status == "succeeded", job.summary
    version = ModelVersion.objects.get()
    ev = admin_client_a.get(
        f"/api/v1/models/part-classifier/versions/{version.number}"
    ).data["evaluation"]
    # On the base the default recipe's selection stands: the best mean wins.
    scores = ev["selection"]["macro_f1"]
    assert "preferred" not in ev["selection"]
    assert scores[ev["estimator"]] == max(scores.values())
    mine = ev["taught_held_out"]
    assert mine["rows"] == ev["per_class"]["star_knob"]["support"]
    assert mine["rows"] >= 1
    # Stars are unlike any generated part: the model fitted without them
    # still names them.
    assert mine["accuracy"] >= 0.5
    assert 0 <= mine["right_and_confident"] <= mine["accuracy"]


def test_on_the_default_base_the_model_learns_the_words_of_the_taught_names(
    admin_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    # Two product lines of look-alike knobs, taught beside the default
    # families: the drawings alone cannot tell the lines apart, their names
    # can; the generated drawings have no names at all.
    rng = random.Random(31)
    for i in range(24):
        line = ("Orion", "Vega")[i % 2]
        labelled(
            tenant_a,
            f"{line}_Sternknopf-{i:03d}.dxf",
            star(rng),
            f"{line.lower()}_knob",
        )
    r = train(admin_client_a, base="default", deploy="active", min_per_class=3)
    job = wait_for_job(r.data["job"], timeout=300)
    assert job.status == "succeeded", job.summary
    ev = ModelVersion.objects.get().evaluation
    assert ev["names"]["weight"] > 0
    # The taught drawings held out are told apart by their names (by their
    # drawings alone, one line or the other at random).
    assert ev["taught_held_out"]["accuracy"] >= 0.8
    for line in ("Orion", "Vega"):
        answer = upload(admin_client_a, star(rng), f"{line}-Sternknopf-117.dxf")
        assert answer["analysis"]["prediction"] == f"{line.lower()}_knob"
        analysis = Analysis.objects.get(pk=answer["analysis"]["id"])
        assert analysis.prediction["named"] == {
            "family": f"{line.lower()}_knob",
            "word": line.lower(),
            "found_in": "file name",
        }
    # A default family's drawing under a name of no taught word is not
    # pulled towards the taught lines.
    gear = upload(
        admin_client_a, generate_part("spur_gear", random.Random(555)), "zahnrad.dxf"
    )
    assert gear["analysis"]["prediction"] not in {"orion_knob", "vega_knob"}
    # The default families keep the names the default model reads in them
    # (file name or title), where the tenant's words say nothing.
    flange = upload(
        admin_client_a,
        generate_part("flange", random.Random(556)),
        "Flansch_DN50.dxf",
    )
    named = Analysis.objects.get(pk=flange["analysis"]["id"]).prediction["named"]
    assert named["family"] == "flange"
    assert flange["analysis"]["prediction"] == "flange"
    # Similar drawings are placed by that answer too: of two copies of one
    # washer, the one named for a flange is nearer a query named for one.
    washer = generate_part("washer", random.Random(557))
    copies = {
        name: upload(admin_client_a, b"999\n" + name.encode() + b"\n" + washer, name)
        for name in ("Flansch_A.dxf", "Scheibe_B.dxf", "Flansch_Q.dxf")
    }
    query = copies["Flansch_Q.dxf"]["id"]
    r = admin_client_a.get(f"/api/v1/drawings/{query}/similar?k=10")
    assert r.status_code == 200, r.data
    assert r.data["space"].endswith("-metric+classes+names")
    score = {n["drawing"]["name"]: n["score"] for n in r.data["results"]}
    assert score["Flansch_A.dxf"] > score["Scheibe_B.dxf"] + 0.01
