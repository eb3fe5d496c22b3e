"""Forests written to ONNX by ``forest_onnx`` answer as scikit-learn does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from apps.modelreg.forest_onnx import forest_to_onnx, is_forest
from apps.modelreg.validation import _ort_session


def run(content: bytes, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = _ort_session(content)
    label, probs = session.run(None, {"features": X.astype(np.float32)})
    return np.asarray(label), np.asarray(probs)


@pytest.mark.parametrize("forest", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("n_classes", [2, 5, 40])
@pytest.mark.parametrize("names", [True, False])
def test_a_forest_answers_as_scikit_learn(forest, n_classes, names) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(n_classes)
    centres = rng.random((n_classes, 9)) * 3
    y = rng.integers(0, n_classes, 800)
    X = (centres[y] + rng.normal(0, 0.7, (800, 9))).astype(np.float32)
    labels = np.asarray([f"family {i}" for i in range(n_classes)])[y] if names else y
    model = forest(n_estimators=25, random_state=0).fit(X[:600], labels[:600])
    assert is_forest(model)
    label, probs = run(forest_to_onnx(model, 9), X[600:])
    expected = model.predict_proba(X[600:])
    assert probs.shape == expected.shape
    assert np.abs(probs - expected).max() < 1e-5
    # The label is the most likely class wherever the most likely is clear.
    top = np.sort(expected, axis=1)
    clear = top[:, -1] - top[:, -2] > 1e-4
    assert (label[clear] == model.predict(X[600:])[clear]).all()
    assert label.dtype.kind == ("O" if names else "i")


def test_an_input_on_either_side_of_a_split_goes_where_scikit_learn_sends_it() -> None:
    # scikit-learn splits at float64 thresholds, the runtime compares float32:
    # the float32 values nearest each threshold must fall on the same side.
    rng = np.random.default_rng(5)
    X = rng.random((300, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    rows = []
    for tree in model.estimators_:
        t = tree.tree_
        for node in np.flatnonzero(t.children_left != -1)[:40]:
            near = np.float32(t.threshold[node])
            for x in (
                np.nextafter(near, np.float32(-1)),
                near,
                np.nextafter(near, np.float32(2)),
            ):
                row = X[node % len(X)].copy()
                row[t.feature[node]] = x
                rows.append(row)
    probe = np.asarray(rows, dtype=np.float32)
    _, probs = run(forest_to_onnx(model, 3), probe)
    assert np.abs(probs - model.predict_proba(probe)).max() < 1e-5


def test_only_forests_are_written_this_way() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = np.eye(4), [0, 1, 0, 1]
    assert not is_forest(LogisticRegression().fit(X, y))
    assert not is_forest(RandomForestClassifier())  # not fitted
