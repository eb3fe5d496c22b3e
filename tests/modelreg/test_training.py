"""Training, the default model, and predictions in real analyses."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.cad.synth import NOT_A_PART, PART_CLASSES, generate_part
from apps.modelreg.models import ModelVersion, RegisteredModel
from apps.modelreg.services.training import classifier_train

pytestmark = pytest.mark.django_db


def tiny_model(**kw):  # type: ignore[no-untyped-def]
    return classifier_train(
        synthetic_per_class=4,
        seed=3,
        workers=1,
        estimators=["logistic_regression"],
        **kw,
    )


def upload(client, content: bytes):  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("part.dxf", content)},
        format="multipart",
    )
    assert r.status_code == 201, r.data
    return r.data["analysis"]


def test_without_a_model_an_analysis_succeeds_with_a_reason(api_client_a) -> None:  # type: ignore[no-untyped-def]
    analysis = upload(api_client_a, generate_part("washer", random.Random(1)))
    assert analysis["status"] == "done"
    assert analysis["prediction"] is None
    assert "no active model" in analysis["prediction_reason"]


def test_a_trained_model_labels_uploaded_drawings(api_client_a) -> None:  # type: ignore[no-untyped-def]
    out = tiny_model(register=True, activate=True)
    assert out["version"] == 1 and out["activation"]["status"] == "succeeded"
    assert out["labels"] == sorted((*PART_CLASSES, NOT_A_PART))
    assert out["onnx_matches_sklearn"] is True
    assert set(out) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "ece"}
    assert "<svg" in out["confusion_svg"]
    analysis = upload(api_client_a, generate_part("flange", random.Random(99)))
    model = analysis["model"]
    assert (model["name"], model["version"], model["variant"]) == (
        "part-classifier",
        "1",
        "primary",
    )
    assert isinstance(model["needs_review"], bool)
    assert model["inference_ms"] >= 0
    assert analysis["prediction"] in PART_CLASSES
    assert 0 < analysis["confidence"] <= 1
    from apps.cad.models import Analysis

    stored = Analysis.objects.get(pk=analysis["id"]).prediction
    assert len(stored["top3"]) == 3 and "needs_review" in stored
    assert stored["inference_ms"] >= 0
    # Generated drawings teach dxf-3th (their names and sizes are the
    # generator's own); the model serves the dxf-7 analyses, read as dxf-3th.
    assert RegisteredModel.objects.get().feature_version == "dxf-3th"
    assert analysis["feature_version"] == "dxf-7"


def test_train_classifier_reads_labels_from_folders_and_drops_duplicates(
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    for label in ("washer", "hex_nut", "l_bracket"):
        folder = tmp_path / "data" / label
        folder.mkdir(parents=True)
        for i in range(5):
            # File names lie on purpose: the folder is the label.
            (folder / f"flange-{i}.dxf").write_bytes(generate_part(label, rng))
    dup = (tmp_path / "data" / "washer" / "flange-0.dxf").read_bytes()
    (tmp_path / "data" / "hex_nut" / "copy.dxf").write_bytes(dup)
    (tmp_path / "data" / "hex_nut" / "notes.txt").write_text("ignored")
    stdout = StringIO()
    call_command(
        "train_classifier",
        "--data",
        str(tmp_path / "data"),
        "--register",
        "--json",
        "--workers",
        "1",
        "--estimator",
        "logistic_regression",
        "--svg",
        str(tmp_path / "cm.svg"),
        stdout=stdout,
    )
    out = json.loads(stdout.getvalue())
    assert out["version"] == 1
    assert out["labels"] == ["hex_nut", "l_bracket", "washer"]
    assert out["training_summary"]["duplicates_dropped"] == 1
    assert out["training_summary"]["rows"] == 15
    assert 0 <= out["macro_f1"] <= 1 and 0 <= out["accuracy"] <= 1
    assert (tmp_path / "cm.svg").read_text().startswith("<svg")
    version = ModelVersion.objects.get()
    assert version.status == "registered" and version.validation_sample["labels"]
    # Labelled drawings teach the newest version, names view included.
    assert version.model.feature_version == "dxf-7"


def test_train_classifier_refuses_a_folder_without_labels(tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least two label folders"):
        call_command("train_classifier", "--data", str(tmp_path), "--json")


def test_commands_activate_and_roll_back(register) -> None:  # type: ignore[no-untyped-def]
    register("part-classifier", seed=0)
    register("part-classifier", seed=1)
    out = StringIO()
    call_command("activate_model", "part-classifier", "1", stdout=out)
    call_command("activate_model", "part-classifier", "2", stdout=out)
    call_command("rollback_model", "part-classifier", stdout=out)
    assert "rolled back to v1" in out.getvalue()
    dep = RegisteredModel.objects.get().deployment
    assert dep.active_version.number == 1


def test_readyz_reports_the_active_model(client, register) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/readyz").json()
    assert body["checks"]["model"] == {"ok": True, "detail": "no active model"}
    v = register("part-classifier")
    call_command("activate_model", "part-classifier", str(v.number), stdout=StringIO())
    body = client.get("/readyz").json()
    assert body["checks"]["model"]["detail"] == "part-classifier v1 (dxf-1)"


def test_ensure_default_model_trains_once(settings) -> None:  # type: ignore[no-untyped-def]
    from apps.modelreg.services.training import default_model_ensure

    first = default_model_ensure(per_class=4, seed=1)
    assert first["created"] is True and first["activation"]["status"] == "succeeded"
    second = default_model_ensure(per_class=4, seed=1)
    assert second == {"created": False, "name": "part-classifier", "version": 1}


def test_the_forests_have_the_configured_trees_and_zero_trees_fail_the_checks(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    from django.core.management.base import SystemCheckError

    from apps.modelreg.training import candidates

    settings.CADML_TRAIN_RANDOM_FOREST_TREES = 7
    settings.CADML_TRAIN_EXTRA_TREES_TREES = 9
    pool = candidates(0)
    assert pool["random_forest"].n_estimators == 7
    assert pool["extra_trees"].n_estimators == 9
    settings.CADML_TRAIN_EXTRA_TREES_TREES = 0
    with pytest.raises(SystemCheckError, match="CADML_TRAIN_EXTRA_TREES_TREES"):
        call_command("check")
    settings.CADML_TRAIN_EXTRA_TREES_TREES = 9
    settings.CADML_SYNTHETIC_FEATURE_VERSION = "dxf-9"
    with pytest.raises(SystemCheckError, match="CADML_SYNTHETIC_FEATURE_VERSION"):
        call_command("check")


def test_balanced_class_weights_find_a_small_family_more_often() -> None:
    """A tenant's 15 pins beside its 150 plates: weighted by their counts the
    pins are found more often (training from labels weighs them so)."""
    import numpy as np

    from apps.modelreg import training

    rng = np.random.default_rng(0)

    def rows(n: int, centre: float) -> np.ndarray:
        return rng.normal(centre, 1.0, (n, 4)).astype(np.float32)

    data = training.Dataset(
        X=np.vstack([rows(150, 0.0), rows(15, 1.2)]),
        y=np.asarray(["plate"] * 150 + ["pin"] * 15),
        feature_version="dxf-1",
        summary={},
    )
    pins = rows(2000, 1.2)

    def pin_recall(labelled: bool) -> float:
        result = training.train(
            data,
            seed=0,
            only=["logistic_regression"],
            labelled=labelled,
            open_set=False,
        )
        assert result.metrics["class_weight"] == ("balanced" if labelled else None)
        return float(np.mean(result.estimator.predict(pins) == "pin"))

    assert pin_recall(True) > pin_recall(False) + 0.2


def _families(n_families: int, rows: int, spread: float, seed: int = 2):  # type: ignore[no-untyped-def]
    import numpy as np

    from apps.modelreg import training

    rng = np.random.default_rng(seed)
    centres = rng.random((n_families, 47)) * 4
    return training.Dataset(
        X=np.vstack([c + rng.normal(0, spread, (rows, 47)) for c in centres]).astype(
            np.float32
        ),
        y=np.repeat([f"family_{i:02d}" for i in range(n_families)], rows),
        feature_version="dxf-1",
        summary={},
    )


def test_a_forest_of_many_families_fits_the_registrys_size_limit(settings) -> None:  # type: ignore[no-untyped-def]
    """Twenty families: the exported forest keeps only its leaves' classes, so
    it registers under a limit the file with every class at every leaf is past,
    and answers as scikit-learn does."""
    from apps.modelreg import training
    from apps.modelreg.services.registry import version_register

    settings.CADML_TRAIN_EXTRA_TREES_TREES = 40
    settings.CADML_MODEL_MAX_MB = 1
    data = _families(20, 30, 0.6, seed=1)
    result = training.train(data, seed=0, only=["extra_trees"])
    assert result.metrics["onnx_max_abs_prob_diff"] < 1e-5
    # What skl2onnx writes: every class's weight at every leaf.
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    dense = to_onnx(
        result.estimator,
        initial_types=[("features", FloatTensorType([None, 47]))],
        options={id(result.estimator): {"zipmap": False}},
        target_opset=17,
    ).SerializeToString()
    assert len(dense) > 1024 * 1024 > 2 * len(result.onnx)
    version = version_register(
        tenant=None,
        name="many-families",
        content=result.onnx,
        labels=result.labels,
        feature_version="dxf-1",
        metrics=result.metrics,
    )
    assert version.number == 1


def test_a_forest_too_large_for_the_registry_keeps_the_trees_that_fit(settings) -> None:  # type: ignore[no-untyped-def]
    """A tenant's labelled archive large enough that its forest's file would
    pass the registry's limit: the model keeps as many trees as fit, registers,
    answers as scikit-learn does, and its held-out figures are those of a forest
    of that size; under a roomy limit every tree is kept."""
    from apps.modelreg import training
    from apps.modelreg.services.registry import version_register

    settings.CADML_TRAIN_EXTRA_TREES_TREES = 200
    data = _families(20, 30, 2.0)

    def trained():  # type: ignore[no-untyped-def]
        return training.train(data, seed=0, only=["extra_trees"], labelled=True)

    roomy = trained()
    assert roomy.metrics["trees_kept_to_fit"] is None
    assert len(roomy.estimator.estimators_) == 200
    assert len(roomy.onnx) > 1024 * 1024

    settings.CADML_MODEL_MAX_MB = 1
    result = trained()
    kept = result.metrics["trees_kept_to_fit"]
    assert training.MIN_TREES <= kept < 200
    assert len(result.onnx) <= 1024 * 1024
    assert len(result.estimator.estimators_) == kept
    assert len(result.held_out_estimator.estimators_) == kept
    assert result.metrics["onnx_max_abs_prob_diff"] < 1e-5
    version = version_register(
        tenant=None,
        name="large-archive",
        content=result.onnx,
        labels=result.labels,
        feature_version="dxf-1",
        metrics=result.metrics,
        new_labels_allowed=True,
    )
    assert version.number == 1


def test_a_forest_that_cannot_fit_the_registry_says_what_to_do(settings) -> None:  # type: ignore[no-untyped-def]
    from apps.modelreg import training
    from cadml.lib.errors import InvalidInput

    settings.CADML_TRAIN_EXTRA_TREES_TREES = 60
    settings.CADML_MODEL_MAX_MB = 0
    with pytest.raises(InvalidInput) as err:
        training.train(
            _families(4, 20, 1.0), seed=0, only=["extra_trees"], labelled=True
        )
    assert err.value.code == "model_too_large"
    assert "CADML_MODEL_MAX_MB" in str(err.value)


@pytest.mark.parametrize(
    ("folds", "labelled", "fits"),
    # Labelled drawings: every candidate once per fold; a generated set (or
    # one fold): once, on one validation split.
    [(3, True, 3), (1, True, 1), (3, False, 1)],
)
def test_the_estimator_is_chosen_over_folds_of_the_training_rows(
    settings, folds: int, labelled: bool, fits: int
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from apps.modelreg import training

    # Three families apart in two of eight slots, 16 drawings each.
    rng = np.random.default_rng(3)
    y = np.repeat(["bolt", "nut", "washer"], 16)
    X = rng.normal(size=(len(y), 8))
    X[:, :2] += np.repeat([[0, 0], [4, 0], [0, 4]], 16, axis=0)
    settings.CADML_TRAIN_SELECTION_FOLDS = folds
    steps: list[tuple[int, int]] = []
    result = training.train(
        training.Dataset(X=X, y=y, feature_version="dxf-6"),
        labelled=labelled,
        progress=lambda i, n, stage: (
            steps.append((i, n)) if stage == "selection" else None
        ),
    )
    candidates = len(result.metrics["selection_macro_f1"])
    assert steps[-1] == (candidates * fits, candidates * fits)
    # The winner has the best mean, or, for labelled drawings, is extra
    # trees within the margin of it.
    scores = result.metrics["selection_macro_f1"]
    chosen = scores[result.metrics["estimator"]]
    margin = training.LABELLED_SELECTION_MARGIN if labelled else 0.0
    assert chosen >= max(scores.values()) - margin


@pytest.mark.parametrize(("labelled", "chosen"), [(True, "extra_trees"), (False, None)])
def test_a_tie_on_labelled_drawings_goes_to_extra_trees(
    labelled: bool, chosen: str | None
) -> None:
    import numpy as np

    from apps.modelreg import training

    # Families far apart in every slot: every candidate scores 1.0 on every
    # fold.
    y = np.repeat(["bolt", "nut", "washer"], 16)
    X = np.random.default_rng(4).normal(size=(len(y), 8))
    X += np.repeat([0.0, 20.0, 40.0], 16)[:, None]
    result = training.train(
        training.Dataset(X=X, y=y, feature_version="dxf-6"), labelled=labelled
    )
    scores = result.metrics["selection_macro_f1"]
    assert set(scores.values()) == {1.0}, scores
    # A generated set keeps the first of equals (the random forest).
    assert result.metrics["estimator"] == (chosen or next(iter(scores)))


def test_a_candidate_clearly_ahead_of_extra_trees_is_still_chosen() -> None:
    import numpy as np

    from apps.modelreg import training

    # Each family is where one of three directions through all 40 slots is
    # largest: a linear model reads it, axis-aligned trees hardly do.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(240, 40))
    directions = rng.normal(size=(40, 3))
    y = np.asarray(["bolt", "nut", "washer"])[(X @ directions).argmax(axis=1)]
    result = training.train(
        training.Dataset(X=X, y=y, feature_version="dxf-6"), labelled=True
    )
    scores = result.metrics["selection_macro_f1"]
    assert scores["logistic_regression"] > (
        scores["extra_trees"] + training.LABELLED_SELECTION_MARGIN
    )
    assert result.metrics["estimator"] == "logistic_regression"
