"""The default model on shipped real drawings it did not learn: each source of
one repository's shipped drawings held out in turn.

The default model learns the real drawings shipped in ``apps/modelreg/shipped``
beside its generated set, so those drawings cannot also measure it. This bench
measures them the honest way: for every group of shipped drawings of
``--repo`` (the members whose ``SOURCES.tsv`` row names the same source file:
a catalogue sheet and the views cut from it), the default recipe
(``training.train`` on the generated set and every other shipped drawing) is
trained without the group and answers it, as the product serves answers
(calibrated, ``unknown``, the review threshold). The baseline in the same run
is the recipe trained without any of ``--repo``'s drawings. With ``--real DIR``
(``DIR/<class>/*.dxf``), drawings never shipped are answered by both models
(the one taught every group, and the baseline).

Run (a few minutes a generated set on two cores; ``--sets-cache`` as for
``bench/model_quality.py``)::

    .venv/bin/python bench/shipped_holdout.py [--repo OWNER/NAME]
        [--data-seeds 3] [--sets-cache DIR] [--real DIR]

Prints one JSON line: right and confident and confidently wrong, per family
and for sheets and single views, for the held-out groups and ``--real``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import model_quality as mq  # noqa: E402  (sets up Django)
import numpy as np  # noqa: E402

from apps.cad import features  # noqa: E402
from apps.modelreg import training  # noqa: E402


def shipped_files(tmp: Path) -> tuple[training.Dataset, list[str], dict[str, dict]]:
    """The shipped drawings read as files (their member names kept), and
    SOURCES.tsv by member name."""
    with tarfile.open(training.SHIPPED_DRAWINGS) as tar:
        tar.extractall(tmp, filter="data")
    data, names = mq.files_dataset(tmp, labelled=True)
    with (training.SHIPPED_DRAWINGS.parent / "SOURCES.tsv").open(newline="") as fh:
        sources = {r["file"]: r for r in csv.DictReader(fh, delimiter="\t")}
    return data, names, sources


def tally(
    answers: list[tuple[str, str, bool, bool]],
) -> dict[str, object]:
    """``answers``: (name, class, right and confident, confidently wrong)."""
    out: dict[str, object] = {"answers": len(answers)}
    if not answers:
        return out
    out["right_and_confident"] = round(float(np.mean([a[2] for a in answers])), 4)
    out["confidently_wrong"] = round(float(np.mean([a[3] for a in answers])), 4)
    groups: dict[str, list[bool]] = defaultdict(list)
    for name, label, ok, _ in answers:
        kind = "view" if "__v" in Path(name).stem else "sheet"
        groups[f"{label}/{kind}"].append(ok)
    out["per_class"] = {k: f"{sum(v)}/{len(v)}" for k, v in sorted(groups.items())}
    return out


def fit(
    gen_X: np.ndarray,
    gen_y: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    version: str,
    keep: np.ndarray,
) -> mq.Served:
    """The default recipe on the generated rows and the shipped rows ``keep``."""
    ds = training.Dataset(
        X=np.vstack([gen_X, X[keep]]),
        y=np.concatenate([gen_y, y[keep]]),
        feature_version=version,
    )
    return mq.Served(training.train(ds, seed=0), ds.X.shape[1])


def answer(
    model: mq.Served, X: np.ndarray, y: np.ndarray, which: list[str]
) -> list[tuple[str, str, bool, bool]]:
    """(name, class, right and confident, confidently wrong) a drawing."""
    a = model.answer(X)
    sure = a["confident"] & ~a["unknown"]
    return [
        (n, str(label), bool(s and got == label), bool(s and got != label))
        for n, label, got, s in zip(which, y, a["label"], sure, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default="boltsparts/BOLTS_archive")
    parser.add_argument("--data-seeds", type=int, default=1)
    parser.add_argument("--sets-cache", type=Path)
    parser.add_argument("--real", type=Path)
    args = parser.parse_args()
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        shipped, names, sources = shipped_files(Path(tmp))
    source_of = {n: sources[n]["path"] for n in names if n in sources}
    mine = np.asarray([n in sources and sources[n]["repo"] == args.repo for n in names])
    if not mine.any():
        parser.error(f"no shipped drawing comes from {args.repo}")
    groups = sorted({source_of[n] for n, m in zip(names, mine, strict=True) if m})
    named = np.asarray(names)
    real, real_names = (
        mq.files_dataset(args.real, labelled=True) if args.real else (None, [])
    )

    held: list[tuple[str, str, bool, bool]] = []
    base: list[tuple[str, str, bool, bool]] = []
    real_taught: list[tuple[str, str, bool, bool]] = []
    real_base: list[tuple[str, str, bool, bool]] = []
    for seed in range(args.data_seeds):
        default, _ = mq.generated_set(seed, args.sets_cache)
        version = default.feature_version
        n_shipped = int(default.summary.get("shipped_rows", 0))
        generated_X = default.X[: len(default.y) - n_shipped]
        generated_y = default.y[: len(default.y) - n_shipped]
        at = features.slot_indices(shipped.feature_version, version)
        assert at is not None, "the shipped drawings do not read as the set"
        SX = shipped.X[:, list(at)].astype(generated_X.dtype)

        served = functools.partial(
            fit, generated_X, generated_y, SX, shipped.y, version
        )
        baseline = served(~mine)
        base += answer(baseline, SX[mine], shipped.y[mine], named[mine].tolist())
        for group in groups:
            out = np.asarray([source_of.get(n) == group for n in names])
            held += answer(served(~out), SX[out], shipped.y[out], named[out].tolist())
            print(f"set {seed}: {group} held out", file=sys.stderr, flush=True)
        if real is not None:
            at = features.slot_indices(real.feature_version, version)
            assert at is not None, "--real does not read as the set"
            RX = real.X[:, list(at)]
            taught = served(np.ones(len(names), bool))
            real_taught += answer(taught, RX, real.y, real_names)
            real_base += answer(baseline, RX, real.y, real_names)

    print(
        json.dumps(
            {
                "bench": "shipped_holdout",
                "repo": args.repo,
                "groups": len(groups),
                "drawings": int(mine.sum()),
                "data_seeds": args.data_seeds,
                "held_out": tally(held),
                "baseline_without_the_repo": tally(base),
                "real": (
                    {
                        "taught_every_group": tally(real_taught),
                        "baseline": tally(real_base),
                    }
                    if real is not None
                    else None
                ),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
