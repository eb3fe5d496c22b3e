"""A tenant's model learns the words of its drawings' file names."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from apps.cad.part_names import MAX_NAME_WORDS, name_words
from apps.modelreg import training
from apps.modelreg.name_words import NameWords
from apps.modelreg.openset import OpenSet


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Deckel_Getriebe-v2.dxf", ("deckel", "getriebe")),
        ("parts/BottomPlate.DXF", ("bottom", "plate")),
        ("HPLJ-5P.dxf", ("hplj",)),
        ("Flügel-Mutter M8.dxf", ("flugel", "mutter")),
        ("part-0042.dxf", ("part",)),
        ("12345.dxf", ()),
        ("垫圈 M6.dxf", ("垫圈",)),
        # Any alphabet; a standard by its number.
        ("Вал ступенчатый.dxf", ("вал", "ступенчатый")),
        ("Łożysko 6204.dxf", ("łozysko",)),
        ("DIN 933 M8x20.dxf", ("din933",)),
        ("DIN934_M8.dxf", ("din934",)),
        ("DIN EN ISO 4017 M8.dxf", ("din", "en", "iso4017")),
        ("Болт ГОСТ 7798-70.dxf", ("болт", "гост7798")),
        ("Garden 50.dxf", ("garden",)),
        ("x.dxf", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_a_file_names_words(name: str | None, words: tuple[str, ...]) -> None:
    assert name_words(name) == words


def test_a_hostile_name_is_a_few_short_words() -> None:
    pairs = (chr(97 + i // 26 % 26) + chr(97 + i % 26) for i in range(600))
    many = name_words("-".join(f"w{p}" for p in pairs))
    assert len(many) == MAX_NAME_WORDS
    assert all(len(w) <= 40 for w in name_words("a" * 100_000 + ".dxf"))


LABELS = ["cover", "flange", "plate"]


def _names(
    n: int, rng: np.random.Generator
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Each label's drawings named with its own word (German, as a team
    would), beside words every label's names share."""
    word = {0: "deckel", 1: "flansch", 2: "platte"}
    y = rng.integers(0, 3, n)
    words = [(word[int(c)], "rev", f"pn{rng.integers(100)}") for c in y]
    return words, y


def test_names_move_the_answer_to_the_label_they_go_with() -> None:
    rng = np.random.default_rng(0)
    words, y = _names(60, rng)
    names = NameWords.fit(words, y, 3)
    unsure = np.full((1, 3), 1 / 3)
    for i, word in enumerate(("deckel", "flansch", "platte")):
        p = names.weigh(unsure, [(word, "rev")])[0]
        assert p.argmax() == i and p[i] > 0.9
    # A name of words no training drawing's name had says nothing.
    drawing = np.asarray([[0.2, 0.5, 0.3]])
    assert np.allclose(names.weigh(drawing, [("zzz", "qq")]), drawing)
    assert np.allclose(names.weigh(drawing, [()]), drawing)
    # Words every label's names share say nothing either.
    assert np.allclose(names.weigh(drawing, [("rev",)]), drawing, atol=0.02)


def test_an_answer_says_which_words_of_its_name_counted() -> None:
    rng = np.random.default_rng(5)
    words, y = _names(60, rng)
    names = NameWords.fit(words, y, 3)
    assert names.telling(("platte", "rev")) == (2, ("platte",))
    # Words every label's names share, or none the model learned: nothing.
    assert names.telling(("rev",)) is None
    assert names.telling(("zzz",)) is None
    assert names.telling(()) is None


def test_the_weight_is_read_off_held_out_rows() -> None:
    rng = np.random.default_rng(1)
    words, y = _names(90, rng)
    held_words, held_y = _names(60, rng)
    # The drawings alone: right a little more often than not.
    probs = np.full((60, 3), 0.25)
    probs[np.arange(60), held_y] = 0.5
    telling = NameWords.fit(words, y, 3).with_weight_for(probs, held_words, held_y)
    assert telling.weight > 0
    # Names that say nothing of the labels (shuffled) get no weight.
    shuffled = NameWords.fit(words, rng.permutation(y), 3)
    assert shuffled.with_weight_for(probs, held_words, held_y).weight == 0
    assert np.allclose(
        shuffled.with_weight_for(probs, held_words, held_y).weigh(probs, held_words),
        probs,
    )


def test_the_names_travel_with_the_model() -> None:
    rng = np.random.default_rng(2)
    words, y = _names(40, rng)
    names = NameWords.fit(words, y, 3, weight=0.5)
    back = NameWords.from_json(names.as_json(), classes=3)
    assert back is not None
    probs = rng.dirichlet(np.ones(3), 10)
    assert np.allclose(back.weigh(probs, words[:10]), names.weigh(probs, words[:10]))
    assert NameWords.from_json(names.as_json(), classes=4) is None
    for broken in (
        None,
        [],
        {"weight": 2, "sizes": [1, 1, 1], "words": {}},
        {"weight": 0.5, "sizes": [1, 1, 1], "words": {"a": {"7": 1}}},
        {"weight": 0.5, "sizes": [1, 1, 1], "words": {"a": {"-1": 1}}},
        {"weight": 0.5, "sizes": [1, 1, 1], "words": {"a": {"0": -3}}},
        {"weight": 0.5, "sizes": [1, float("nan"), 1], "words": {}},
        {"weight": "x"},
    ):
        assert NameWords.from_json(broken, classes=3) is None


def _look_alike(n_per: int, seed: int) -> training.Dataset:
    """Three labels whose drawings read the same (one cloud of vectors), named
    for their label: only the names tell them apart."""
    rng = np.random.default_rng(seed)
    n = 3 * n_per
    words, _ = _names(n, rng)
    y = np.repeat(np.arange(3), n_per)
    word = {0: "deckel", 1: "flansch", 2: "platte"}
    return training.Dataset(
        X=rng.normal(0, 1, (n, 47)).astype(np.float32),
        y=np.asarray(LABELS)[y],
        feature_version="dxf-1",
        summary={},
        words=[(word[int(c)], *w[1:]) for c, w in zip(y, words, strict=True)],
    )


def test_a_labelled_set_learns_its_names_and_reports_the_drawings_alone() -> None:
    data = _look_alike(30, seed=3)
    result = training.train(data, seed=0, labelled=True)
    m = result.metrics
    assert m["macro_f1"] == 1.0
    assert m["names"]["weight"] > 0
    assert m["names"]["macro_f1_drawing_alone"] < 0.7
    # The served model (refitted on every row) carries them.
    stored = OpenSet.from_json(m["open_set"], width=47, classes=3)
    assert stored is not None and stored.names is not None
    assert stored.names.sizes.sum() == 90
    probs = np.full((1, 3), 1 / 3)
    assert stored.with_names(probs, [("flansch",)])[0].argmax() == 1
    # The cross-validated figures weigh the names as served.
    from sklearn.base import clone

    from apps.modelreg import evaluation

    with_names = evaluation.cross_validate(
        lambda: clone(result.estimator),
        data.X,
        data.y,
        folds=3,
        weigh=training.names_in_folds(result.open_set, data.words, data.y, LABELS),
    )
    alone = evaluation.cross_validate(
        lambda: clone(result.estimator), data.X, data.y, folds=3
    )
    assert with_names["macro_f1_mean"] == 1.0 > alone["macro_f1_mean"] + 0.3


def test_a_set_without_names_or_generated_learns_none() -> None:
    data = _look_alike(20, seed=4)
    unnamed = training.Dataset(X=data.X, y=data.y, feature_version="dxf-1")
    assert training.train(unnamed, seed=0, labelled=True).open_set.names is None
    # Rows nobody named (the default base's generated drawings) teach none.
    nameless = dataclasses.replace(data, words=[None] * len(data.y))
    assert training.train(nameless, seed=0, labelled=False).open_set.names is None


def test_labels_whose_drawings_nobody_named_take_each_word_at_its_average() -> None:
    # Label 0 is the default base's (generated, no names); 1 and 2 a
    # tenant's two product lines, taught beside it.
    words = [None] * 30 + [("orion", "platte")] * 6 + [("vega", "platte")] * 6
    y = np.asarray([0] * 30 + [1] * 6 + [2] * 6)
    names = NameWords.fit(words, y, 3)
    assert list(names.sizes) == [0, 6, 6]
    orion = names.evidence([("orion",)])[0]
    # The word speaks for its line and against the other, and of the
    # generated family it says only what it says of drawings on average.
    assert orion[1] > orion[0] > orion[2]
    assert orion[1] - orion[2] > math.log(2)
    # A word both lines share says next to nothing for or against the
    # generated family (add-one shares of 6 and of 12 drawings).
    platte = names.evidence([("platte",)])[0]
    assert np.ptp(platte) < math.log(1.1)
    # The answer's `named`: the line the words point to, among the labels
    # whose names were learned (of the generated family nothing is known).
    assert names.telling(("orion", "platte")) == (1, ("orion",))
    assert names.telling(("platte",)) is None
    # A row with no name is answered by its drawing alone.
    probs = np.asarray([[0.5, 0.3, 0.2]])
    assert np.allclose(names.weigh(probs, [None]), probs)


def test_a_default_reading_of_a_name_yields_only_to_what_the_tenant_taught() -> None:
    # Label 0, washer, is generated (no names); the team taught a ring as
    # a bushing (1), and 20 plates, one of them named a bracket (2), beside
    # the generated brackets (3).
    words = [None] * 30 + [("ring",)] + [("plate",)] * 19 + [("bracket",)]
    words += [None] * 10
    y = np.asarray([0] * 30 + [1] + [2] * 20 + [3] * 10)
    names = NameWords.fit(words, y, 4)
    # "ring" is the team's word for a bushing: a washer's reading yields.
    assert names.contradicts(("ring", "again"), 0)
    assert not names.contradicts(("ring",), 1)
    # One plate named a bracket does not make every bracket a plate.
    assert not names.contradicts(("bracket",), 3)
    # Words the team never used say nothing.
    assert not names.contradicts(("flansch", "dn50"), 0)
