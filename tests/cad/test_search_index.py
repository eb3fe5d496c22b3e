"""The nearest-neighbour index behind ``/similar`` (apps/cad/index.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.cad import index, services
from apps.cad.models import Drawing
from apps.cad.similarity import Space
from apps.cad.synth import generate_part
from tests.cad.conftest import dxf_bytes
from tests.cad.test_api import upload

LABELS = ("flange", "spur_gear", "stepped_shaft", "hole_plate")


def similar(client, drawing_id: int, k: int = 10) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/drawings/{drawing_id}/similar?k={k}")
    assert r.status_code == 200, r.data
    return [(x["drawing"]["id"], x["score"]) for x in r.data["results"]]


def same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    """Same drawings in the same order; scores equal to the index's half
    precision."""
    return [g[0] for g in got] == [w[0] for w in want] and [
        g[1] for g in got
    ] == pytest.approx([w[1] for w in want], abs=2e-3)


def archive(client, n: int, seed: int) -> list[int]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    return [
        upload(client, generate_part(LABELS[i % len(LABELS)], rng)).data["id"]
        for i in range(n)
    ]


def searched(settings, tenant_id: int, version: str, *, via_index: bool) -> None:  # type: ignore[no-untyped-def]
    """Search the tenant's drawings of ``version`` through its index (built
    now) or, without ``via_index``, exactly."""
    if via_index:
        settings.CADML_SEARCH_EXACT_BELOW = 0
        services.search_index_rebuild(tenant_id=tenant_id, feature_version=version)


@pytest.fixture
def indexed(settings, tenant_a):  # type: ignore[no-untyped-def]
    """Search through the index whatever the tenant's size."""
    settings.CADML_SEARCH_EXACT_BELOW = 0
    cache.delete(index.REBUILDING_KEY)

    def build() -> int:
        return services.search_index_rebuild(
            tenant_id=tenant_a.pk, feature_version="dxf-7"
        )

    return build


def test_index_gives_the_exact_neighbours_and_new_drawings_at_once(
    settings, api_client_a, tenant_a, indexed
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 12, seed=3)
    settings.CADML_SEARCH_EXACT_BELOW = 10**9
    exact = {d: similar(api_client_a, d, k=5) for d in ids[:4]}
    settings.CADML_SEARCH_EXACT_BELOW = 0
    assert indexed() == 12
    for d, want in exact.items():
        got = similar(api_client_a, d, k=5)
        assert [g[0] for g in got] == [w[0] for w in want]
        assert [g[1] for g in got] == pytest.approx([w[1] for w in want], abs=2e-3)
    # Stored after the index was written: found at once (the delta), then
    # folded into the index by the update; same answers as exact search.
    new = upload(api_client_a, generate_part("flange", random.Random(99))).data["id"]

    def same_as_exact(d: int) -> None:
        settings.CADML_SEARCH_EXACT_BELOW = 10**9
        want = similar(api_client_a, d, k=12)
        settings.CADML_SEARCH_EXACT_BELOW = 0
        got = similar(api_client_a, d, k=12)
        assert [g[0] for g in got] == [w[0] for w in want]
        assert new in [g[0] for g in got] or d == new

    same_as_exact(ids[0])
    same_as_exact(new)
    assert services.search_index_fold(tenant_id=tenant_a.pk, feature_version="dxf-7")
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None and loaded.meta["count"] == 13
    same_as_exact(ids[0])
    same_as_exact(new)


def test_deleted_drawings_leave_the_answers_and_then_the_index(
    api_client_a, tenant_a, indexed
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 8, seed=5)
    indexed()
    victim = similar(api_client_a, ids[0])[0][0]
    assert api_client_a.delete(f"/api/v1/drawings/{victim}").status_code == 204
    assert victim not in [d for d, _ in similar(api_client_a, ids[0])]
    services.search_index_fold(tenant_id=tenant_a.pk, feature_version="dxf-7")
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None and victim not in set(
        np.asarray(loaded.index.keys).tolist()
    )


def test_one_index_per_tenant_never_answers_another_tenants_drawing(
    api_client_a, api_client_b, tenant_a, tenant_b, indexed
) -> None:  # type: ignore[no-untyped-def]
    mine = archive(api_client_a, 6, seed=11)
    # Tenant B holds the very same drawings.
    theirs = archive(api_client_b, 6, seed=11)
    indexed()
    services.search_index_rebuild(tenant_id=tenant_b.pk, feature_version="dxf-7")
    for d in mine:
        assert {x for x, _ in similar(api_client_a, d)} <= set(mine)
    for d in theirs:
        assert {x for x, _ in similar(api_client_b, d)} <= set(theirs)
        assert api_client_a.get(f"/api/v1/drawings/{d}/similar").status_code == 404
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None
    assert set(np.asarray(loaded.index.keys).tolist()) == set(mine)


def test_a_damaged_index_is_searched_exactly_meanwhile_and_rebuilt(
    settings, api_client_a, tenant_a, indexed
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 8, seed=13)
    indexed()
    want = similar(api_client_a, ids[1])
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None
    path = Path(settings.CADML_SEARCH_DIR) / str(tenant_a.pk) / loaded.meta["file"]
    path.write_bytes(b"\0" * 100)  # damaged on disk
    index._loaded.clear()  # as in a fresh process
    assert same(similar(api_client_a, ids[1]), want)
    ready = Client().get("/readyz").json()
    assert "rebuilding" in str(ready["checks"]["search_index"])
    # The queued rebuild, as the worker runs it.
    from apps.cad.tasks import cad_search_index_build

    cad_search_index_build(tenant_a.pk, "dxf-7")
    assert index._load(tenant_a.pk, "dxf-7") is not None
    assert same(similar(api_client_a, ids[1]), want)
    assert "rebuilding" not in str(Client().get("/readyz").json()["checks"])


def test_an_index_written_before_every_view_counted_is_rebuilt(
    settings, api_client_a, tenant_a, indexed
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 8, seed=19)
    settings.CADML_SEARCH_EXACT_BELOW = 10**9
    want = similar(api_client_a, ids[2])
    settings.CADML_SEARCH_EXACT_BELOW = 0
    # What an earlier release wrote: unit rows of the invariant space.
    _, raw, _, _ = index.latest_vectors(tenant_id=tenant_a.pk, feature_version="dxf-7")
    index.search_index_build(
        tenant_id=tenant_a.pk, feature_version="dxf-7", space=Space.unsupervised(raw)
    )
    assert index._load(tenant_a.pk, "dxf-7").space.name == "dxf-7-unsupervised"
    r = api_client_a.get(f"/api/v1/drawings/{ids[2]}/similar?k=10")
    assert r.data["space"] == "dxf-7-unsupervised+all-views+names"
    assert same([(x["drawing"]["id"], x["score"]) for x in r.data["results"]], want)
    assert "rebuilding" in str(Client().get("/readyz").json()["checks"])
    from apps.cad.tasks import cad_search_index_build

    cad_search_index_build(tenant_a.pk, "dxf-7")
    loaded = index._load(tenant_a.pk, "dxf-7")
    assert loaded is not None
    assert loaded.space.name == "dxf-7-unsupervised+all-views+names"
    assert same(similar(api_client_a, ids[2]), want)


def test_a_writer_killed_mid_write_leaves_the_previous_index_served(
    settings, api_client_a, tenant_a, indexed
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 6, seed=17)
    indexed()
    want = similar(api_client_a, ids[0])
    folder = Path(settings.CADML_SEARCH_DIR) / str(tenant_a.pk)
    # What a killed writer leaves: half-written temporary files, never swapped in.
    (folder / ".dxf-2.123.usearch.tmp").write_bytes(b"\1" * 10)
    (folder / ".dxf-2.json.99.tmp").write_bytes(b"{")
    index._loaded.clear()
    assert same(similar(api_client_a, ids[0]), want)
    assert Drawing.objects.filter(tenant=tenant_a).count() == 6


def test_search_by_uploaded_file_finds_the_drawing_and_stores_nothing(
    api_client_a, api_client_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(21)
    parts = [generate_part(LABELS[i % len(LABELS)], rng) for i in range(8)]
    ids = [upload(api_client_a, p).data["id"] for p in parts]
    upload(api_client_b, parts[2])  # the same file in another tenant
    before = Drawing.objects.count()
    r = api_client_a.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", parts[2]), "k": 3},
        format="multipart",
    )
    assert r.status_code == 200, r.data
    assert r.data["query"]["feature_version"] == "dxf-7"
    assert r.data["query"]["id"] is None
    got = [x["drawing"]["id"] for x in r.data["results"]]
    assert got[0] == ids[2] and r.data["results"][0]["duplicate"] is True
    assert r.data["results"][0]["score"] == pytest.approx(1.0, abs=1e-6)
    assert len(got) == 3 and set(got) <= set(ids)
    assert Drawing.objects.count() == before
    # Excluding identical content leaves the file itself out.
    r = api_client_a.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", parts[2]), "exclude_identical": True},
        format="multipart",
    )
    assert ids[2] not in [x["drawing"]["id"] for x in r.data["results"]]
    assert len(r.data["results"]) == 7


@pytest.mark.parametrize("via_index", [False, True])
def test_similar_and_search_filters_by_label_and_upload_time(
    settings, api_client_a, tenant_a, via_index
) -> None:  # type: ignore[no-untyped-def]
    ids = archive(api_client_a, 8, seed=23)
    Drawing.objects.filter(pk__in=ids[:4]).update(label="flange")
    searched(settings, tenant_a.pk, "dxf-7", via_index=via_index)
    r = api_client_a.get(f"/api/v1/drawings/{ids[5]}/similar?label=flange")
    assert r.status_code == 200
    assert sorted(x["drawing"]["id"] for x in r.data["results"]) == sorted(ids[:4])
    later = "2999-01-01T00:00:00Z"
    r = api_client_a.get(f"/api/v1/drawings/{ids[5]}/similar?created_from={later}")
    assert r.status_code == 200 and r.data["results"] == []
    bad = api_client_a.get(f"/api/v1/drawings/{ids[5]}/similar?created_from=soon")
    assert bad.status_code == 400 and "created_from" in str(bad.data)
    r = api_client_a.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", b"not a drawing at all")},
        format="multipart",
    )
    assert r.status_code in (415, 422)


def _arrow(shaft: float, head: float, width: float, sign: int) -> bytes:
    """An arrow symbol pointing right (``sign`` 1) or, mirrored, left."""

    def build(doc, msp):  # type: ignore[no-untyped-def]
        tip = (sign * shaft, 0)
        msp.add_line((0, 0), tip)
        msp.add_line(tip, (sign * (shaft - head), width))
        msp.add_line(tip, (sign * (shaft - head), -width))
        msp.add_circle((0, 0), width / 3)

    return dxf_bytes(build)


@pytest.mark.parametrize("via_index", [False, True])
def test_similar_drawings_without_a_model_are_drawn_the_same_way(
    settings, api_client_a, tenant_a, via_index
) -> None:  # type: ignore[no-untyped-def]
    # A symbol library: arrows pointing right and, mirror images of each,
    # pointing left. Left and right read alike in the views near duplicates
    # are judged in; similar drawings weigh which way a drawing lies too.
    rng = random.Random(5)
    for label in ("flange", "spur_gear", "hole_plate", "washer"):
        upload(api_client_a, generate_part(label, rng))
    shapes = [(100, 15, 6), (104, 15, 6), (96, 16, 6), (100, 14, 6.5), (102, 15, 5.5)]
    right = [upload(api_client_a, _arrow(*s, 1), "r.dxf").data["id"] for s in shapes]
    left = [upload(api_client_a, _arrow(*s, -1), "l.dxf").data["id"] for s in shapes]
    searched(settings, tenant_a.pk, "dxf-7", via_index=via_index)
    r = api_client_a.get(f"/api/v1/drawings/{right[0]}/similar?k=4")
    assert r.status_code == 200, r.data
    assert r.data["space"] == "dxf-7-unsupervised+all-views+names"
    assert {x["drawing"]["id"] for x in r.data["results"]} == set(right[1:])
    scores = [x["score"] for x in r.data["results"]]
    assert scores == sorted(scores, reverse=True) and scores[0] <= 1.0
    # The query's mirror image is still its near duplicate.
    dups = api_client_a.get(f"/api/v1/drawings/{right[0]}/duplicates").data
    assert dups["space"] == "dxf-7-unsupervised"
    assert left[0] in [x["drawing"]["id"] for x in dups["results"]]


@pytest.mark.parametrize("via_index", [False, True])
def test_similar_solids_name_their_feature_version_and_use_its_index(
    settings, api_client_a, tenant_a, via_index
) -> None:  # type: ignore[no-untyped-def]
    from apps.cad.synth import solids as S

    shapes = [S.box(10, 20, 30), S.box(12, 20, 30), S.cylinder(5, 30), S.torus(20, 4)]
    ids = [
        upload(api_client_a, S.step_bytes(shape), f"p{n}.step").data["id"]
        for n, shape in enumerate(shapes)
    ]
    searched(settings, tenant_a.pk, "brep-2", via_index=via_index)
    r = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar?k=3")
    assert r.status_code == 200, r.data
    assert r.data["space"] == "brep-2-unsupervised+names"
    assert r.data["results"][0]["drawing"]["id"] == ids[1]
    # Served by the index it was built for: nothing queued to rebuild.
    assert "rebuilding" not in str(Client().get("/readyz").json()["checks"])


def test_duplicates_lists_a_redrawn_copy_and_not_other_parts(
    api_client_a, api_client_b
) -> None:  # type: ignore[no-untyped-def]
    from bench.duplicate_threshold import redrawn

    rng = random.Random(31)
    parts = [generate_part(LABELS[i % len(LABELS)], rng) for i in range(8)]
    ids = [upload(api_client_a, p).data["id"] for p in parts]
    copy = upload(api_client_a, redrawn(parts[0], random.Random(1))).data["id"]
    upload(api_client_b, redrawn(parts[0], random.Random(2)))
    r = api_client_a.get(f"/api/v1/drawings/{ids[0]}/duplicates")
    assert r.status_code == 200
    assert [x["drawing"]["id"] for x in r.data["results"]] == [copy]
    assert r.data["results"][0]["score"] >= r.data["threshold"]
    r = api_client_a.get(f"/api/v1/drawings/{ids[3]}/duplicates")
    assert r.data["results"] == []
    other = api_client_b.get("/api/v1/drawings").data["results"][0]["id"]
    assert api_client_a.get(f"/api/v1/drawings/{other}/duplicates").status_code == 404


def test_the_duplicate_report_lists_each_near_duplicate_pair_once(
    tmp_path, api_client_a, api_client_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    import csv

    from django.core.management import call_command

    from bench.duplicate_threshold import redrawn

    rng = random.Random(31)
    parts = [generate_part(LABELS[i % len(LABELS)], rng) for i in range(8)]
    ids = [upload(api_client_a, p).data["id"] for p in parts]
    copy = upload(api_client_a, redrawn(parts[0], random.Random(1))).data["id"]
    upload(api_client_b, redrawn(parts[0], random.Random(2)))
    out = tmp_path / "dups.csv"
    call_command("duplicate_report", "--tenant", tenant_a.slug, "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [(int(r["drawing_id"]), int(r["duplicate_id"])) for r in rows] == [
        (ids[0], copy)
    ]
    assert float(rows[0]["score"]) >= 0.9


@pytest.mark.parametrize(
    ("lines", "part", "titled"),
    [
        (("Orion", "Vega"), "Platte", False),
        (("Орион", "Вега"), "Пластина", False),
        (("Orion", "Vega"), "Platte", True),
    ],
)
def test_without_a_model_similar_drawings_follow_the_names_that_tell_them_apart(
    settings, api_client_a, tenant_a, lines, part, titled
) -> None:  # type: ignore[no-untyped-def]
    """A team without a model names its drawings for what they are: plates of
    two product lines drawn alike ("Orion_Platte", "Vega_Platte", or in
    Russian; or numbered files whose title blocks say so) come back line by
    line, for a stored drawing and a searched file, exactly and through the
    index; their near duplicates are still every plate alike."""
    from tests.modelreg.test_learning import plate

    def named(line: str, tag: str) -> tuple[bytes, str]:
        """The plate and its file name: named for its line, or numbered with
        the line in its title block."""
        if titled:
            return plate(rng, 1.0, title=f"{line} {part}"), f"{tag}.dxf"
        return plate(rng, 1.0), f"{line}_{part}-{tag}.dxf"

    rng = random.Random(5)
    state = rng.getstate()
    line_of: dict[int, str] = {}
    for i in range(16):
        line = lines[i % 2]
        rng.setstate(state)  # one plate, drawn again (new handles)
        r = upload(api_client_a, *named(line, f"{4100 + i}"))
        assert r.status_code == 201, r.data
        line_of[r.data["id"]] = line
    other = random.Random(6)
    for i in range(8):
        kind = ("flange", "spur_gear")[i % 2]
        r = upload(api_client_a, generate_part(kind, other), f"{kind}-{i}.dxf")
        line_of[r.data["id"]] = kind
    queries = list(line_of)[:4]

    def answers() -> list[tuple[str, str, list[str]]]:
        got = []
        for query in queries:
            r = api_client_a.get(f"/api/v1/drawings/{query}/similar?k=5")
            assert r.status_code == 200, r.data
            found = [line_of[n["drawing"]["id"]] for n in r.data["results"]]
            got.append((r.data["space"], line_of[query], found))
        for line in lines:
            rng.setstate(state)
            content, name = named(line, "neu")
            r = api_client_a.post(
                "/api/v1/search",
                {"file": SimpleUploadedFile(name, content)},
                format="multipart",
            )
            assert r.status_code == 200, r.data
            found = [line_of[n["drawing"]["id"]] for n in r.data["results"][:5]]
            got.append((r.data["space"], line, found))
        return got

    exact = answers()
    for space, line, found in exact:
        assert space == "dxf-7-unsupervised+all-views+names"
        assert found == [line] * 5
    r = api_client_a.get(f"/api/v1/drawings/{queries[0]}/duplicates")
    assert r.status_code == 200, r.data
    duplicates = {line_of[n["drawing"]["id"]] for n in r.data["results"]}
    assert duplicates == set(lines)
    settings.CADML_SEARCH_EXACT_BELOW = 0
    services.search_index_rebuild(tenant_id=tenant_a.pk, feature_version="dxf-7")
    assert answers() == exact
