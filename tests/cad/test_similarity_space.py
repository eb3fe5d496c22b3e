"""One kept row a drawing answers similar drawings and near duplicates alike
(``apps.cad.similarity.Space.kept``), as the index and each process's matrix
keep them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.cad import features
from apps.cad.similarity import MIN_INVARIANT_LENGTH, Space

WIDTH = len(features.SLOTS["dxf-7"])


def cosine(space: Space, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
    return space.unit(rows) @ space.unit(x[None, :])[0]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    spread=st.sampled_from([1e-6, 1.0, 1e6]),
)
def test_kept_rows_score_the_cosine_of_each_space_exactly(
    seed: int, n: int, spread: float
) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, WIDTH)) * spread
    X[rng.random(n) < 0.3] = X[0]  # copies
    invariant = Space.unsupervised(X)
    every = invariant.every_view()
    assert every.name == "dxf-7-unsupervised+all-views"
    assert every.invariant().name == invariant.name
    kept = every.kept(X)
    # The index holds them in half precision.
    assert np.isfinite(kept.astype(np.float16)).all()
    q = X[rng.integers(n)] + rng.normal(size=WIDTH) * spread * 0.1
    np.testing.assert_allclose(every.scores(kept, q), cosine(every, X, q), atol=1e-9)
    # Rows at the tenant's mean (every drawing alike: their embedding is
    # rounding noise) are held short of unit length and are nobody's near
    # duplicate; every other row scores the invariant cosine exactly.
    exact = np.linalg.norm(invariant.embed(X), axis=1) >= MIN_INVARIANT_LENGTH
    near = every.scores(kept, q, near_duplicates=True)
    np.testing.assert_allclose(near[exact], cosine(invariant, X, q)[exact], atol=1e-9)
    assert (np.abs(near[~exact]) < 1.0).all()


def test_size_turns_and_connections_part_similar_drawings_not_duplicates() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, WIDTH))
    every = Space.unsupervised(X).every_view()
    views = features.VIEWS["dxf-7"]
    moved = X[0].copy()
    for view in ("size", "topology", "layout"):
        lo, hi = views[view]
        moved[lo:hi] = X[1, lo:hi]
    kept = every.kept(moved[None, :])
    # Another size, turn or way of connecting the same strokes: still a near
    # duplicate, no longer the same drawing to similar-drawing search.
    assert every.scores(kept, X[0], near_duplicates=True)[0] == pytest.approx(1.0)
    assert every.scores(kept, X[0])[0] < 0.99


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12))
def test_kept_rows_with_a_models_classes_score_both_cosines_exactly(
    seed: int, n: int
) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, WIDTH))
    mix = rng.normal(size=(WIDTH, 4))
    names = [str(rng.choice(["flange-7.dxf", "plate.dxf", ""])) or None for _ in X]

    def classes(rows: np.ndarray, names: Sequence[str | None]) -> np.ndarray:
        """A model of four classes that reads "flange" in a name as class 0."""
        logits = np.atleast_2d(rows) @ mix
        logits[:, 0] += [4.0 if n and "flange" in n else 0.0 for n in names]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    metric = Space("own-v1-metric", X.mean(0), X.std(0) + 1e-3, rng.random(WIDTH))
    both = metric.with_classes(classes, names=True)
    assert both.name == "own-v1-metric+classes+names"
    assert both.invariant().name == "own-v1-metric"
    kept = both.kept(X, names)
    assert np.isfinite(kept.astype(np.float16)).all()
    q = X[rng.integers(n)] + rng.normal(size=WIDTH) * 0.1
    for name in ("flange-2.dxf", None):
        want = both.unit(X, names) @ both.unit(q[None, :], [name])[0]
        np.testing.assert_allclose(both.scores(kept, q, name=name), want, atol=1e-9)
    # Near duplicates are judged in the metric alone, whatever the names.
    np.testing.assert_allclose(
        both.scores(kept, q, near_duplicates=True, name="flange.dxf"),
        cosine(metric, X, q),
        atol=1e-9,
    )


def two_kinds(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` drawings of two kinds that look alike within their kind."""
    kinds = rng.integers(0, 2, size=n)
    centres = rng.normal(size=(2, WIDTH)) * 3
    return centres[kinds] + rng.normal(size=(n, WIDTH)), kinds


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_kept_rows_beside_file_names_score_the_mean_of_both_cosines(
    seed: int, n: int
) -> None:
    """Without a model a drawing scores its cosine in every view and its
    name's, weighed; a name without words neither matches another nor costs
    a drawing anything, and near duplicates never see names."""
    rng = np.random.default_rng(seed)
    X, kinds = two_kinds(rng, n)
    pool = [["Orion_Platte-{}.dxf", "part-{}.dxf"], ["Vega-Welle-{}.dxf", "{}.dxf"]]
    names = [str(rng.choice(pool[k])).format(i) for i, k in enumerate(kinds)]
    # The rows a tenant's matrix and index keep, as they are fitted.
    space, kept = Space.fit_without_model(X, names)
    alone = Space.without_model(X, names)
    assert alone.file_names is not None and space.file_names is not None
    assert alone.file_names.weight == space.file_names.weight
    np.testing.assert_array_equal(alone.file_names.idf, space.file_names.idf)
    np.testing.assert_allclose(kept, space.kept(X, names), atol=1e-12)
    assert space.name == "dxf-7-unsupervised+all-views+names"
    assert space.invariant().name == "dxf-7-unsupervised"
    every = Space.unsupervised(X).every_view()
    assert space.file_names is not None
    weight = space.file_names.weight
    assert np.isfinite(kept.astype(np.float16)).all()
    q = X[rng.integers(n)] + rng.normal(size=WIDTH) * 0.1
    drawings = cosine(every, X, q)
    rows = space.file_names.rows(names)[:, :-1]
    for name in ("Orion_Platte-99.dxf", "Vega-Welle.dxf"):
        query = space.file_names.rows([name])[0, :-1]
        # Words every drawing's name has (or none has) say nothing.
        said = weight if query.any() else 0.0
        words = rows @ query / weight if said else np.zeros(n)
        want = (drawings + said * words) / (1 + said)
        np.testing.assert_allclose(space.scores(kept, q, name=name), want, atol=1e-9)
    for nameless in ("0042.dxf", None):
        np.testing.assert_allclose(
            space.scores(kept, q, name=nameless), drawings, atol=1e-9
        )
    invariant = Space.unsupervised(X)
    exact = np.linalg.norm(invariant.embed(X), axis=1) >= MIN_INVARIANT_LENGTH
    near = space.scores(kept, q, near_duplicates=True, name="Orion_Platte-1.dxf")
    np.testing.assert_allclose(near[exact], cosine(invariant, X, q)[exact], atol=1e-9)


def test_names_that_tell_the_kinds_apart_order_similar_drawings() -> None:
    rng = np.random.default_rng(1)
    X, kinds = two_kinds(rng, 40)
    # Within a kind, two lines that look alike and only their names tell apart.
    lines = np.arange(40) % 2
    names = [
        f"{('Orion', 'Vega')[line]}_{('Platte', 'Welle')[kind]}-{i}.dxf"
        for i, (kind, line) in enumerate(zip(kinds, lines, strict=True))
    ]
    space = Space.without_model(X, names)
    assert space.file_names is not None and space.file_names.weight > 0
    kept = space.kept(X, names)
    for i in range(8):
        scores = space.scores(kept, X[i], name=names[i])
        scores[i] = -np.inf
        top = np.argsort(-scores)[:5]
        assert (kinds[top] == kinds[i]).all()
        assert (lines[top] == lines[i]).all()


def test_names_that_pair_unlike_drawings_have_no_say() -> None:
    """A word each of whose drawings looks like the other kind (the author,
    a project code shared across kinds): the order is the drawings' own."""
    rng = np.random.default_rng(2)
    X, kinds = two_kinds(rng, 40)
    order = np.argsort(kinds, kind="stable")
    first, second = order[kinds[order] == 0], order[kinds[order] == 1]
    names: list[str | None] = [None] * 40
    for j, (a, b) in enumerate(zip(first, second, strict=False)):
        names[a] = names[b] = f"projekt{'abcdefghijklmnopqrst'[j]}-{a}.dxf"
    names = [n or f"{i}.dxf" for i, n in enumerate(names)]
    space = Space.without_model(X, names)
    every = Space.unsupervised(X).every_view()
    kept = space.kept(X, names)
    for i in range(8):
        np.testing.assert_allclose(
            space.scores(kept, X[i], name=names[i]), cosine(every, X, X[i]), atol=1e-9
        )
