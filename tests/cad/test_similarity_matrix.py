"""Exact similar-drawing search keeps up with the archive as it changes: a
drawing stored after a search is found by the next one, a deleted one is gone,
and a cache that lost its keys costs a rebuild, never a missing drawing
(apps/cad/matrices.py). Duplicates within one batch slice:
tests/batch/test_slices.py."""

from __future__ import annotations

import random

import pytest
from django.core.cache import cache

from apps.cad import matrices
from apps.cad.part_names import name_parts
from bench.duplicate_threshold import redrawn
from tests.cad.test_api import upload
from tests.cad.test_duplicates import parts


def similar_ids(client, drawing_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/drawings/{drawing_id}/similar?k=20")
    assert r.status_code == 200, r.data
    return [n["drawing"]["id"] for n in r.data["results"]]


def test_search_sees_drawings_stored_and_deleted_since_it_last_ran(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    files = parts(6, seed=71)
    ids = [upload(api_client_a, f).data["id"] for f in files]
    assert set(similar_ids(api_client_a, ids[0])) == set(ids[1:])

    copy = upload(api_client_a, redrawn(files[0], random.Random(3))).data["id"]
    assert similar_ids(api_client_a, ids[0])[0] == copy
    another = upload(api_client_a, parts(7, seed=72)[6]).data["id"]
    assert set(similar_ids(api_client_a, ids[0])) == {*ids[1:], copy, another}

    assert api_client_a.delete(f"/api/v1/drawings/{copy}").status_code == 204
    assert set(similar_ids(api_client_a, ids[0])) == {*ids[1:], another}


def test_a_cache_that_lost_its_keys_still_finds_every_drawing(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    files = parts(4, seed=81)
    ids = [upload(api_client_a, f).data["id"] for f in files]
    assert set(similar_ids(api_client_a, ids[0])) == set(ids[1:])
    # The cache is flushed (Redis restarted, keys evicted), then as many
    # drawings arrive as had before: the search must not take the counters
    # starting over for "nothing new".
    cache.clear()
    more = [upload(api_client_a, f).data["id"] for f in parts(8, seed=82)[4:]]
    assert set(similar_ids(api_client_a, ids[0])) == {*ids[1:], *more}


@pytest.mark.django_db(transaction=True)
def test_committed_uploads_reach_the_next_search_without_a_database_read(
    api_client_a, tenant_a, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    files = parts(5, seed=91)
    ids = [upload(api_client_a, f).data["id"] for f in files]
    before = similar_ids(api_client_a, ids[0])
    copy = upload(api_client_a, redrawn(files[0], random.Random(5))).data["id"]
    more = [upload(api_client_a, f).data["id"] for f in parts(7, seed=92)[5:]]
    # Each upload was committed when it was logged: its row came with it.
    with django_assert_num_queries(0):
        folded = matrices.tenant_matrix(tenant_a.pk, "dxf-7")
    assert set(folded.drawing_ids.tolist()) == {*ids, copy, *more}
    found = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar?k=20").data
    assert found["results"][0]["drawing"]["id"] == copy
    assert set(before) | {copy, *more} == {n["drawing"]["id"] for n in found["results"]}
    # The same answer, to the score, as from a matrix read afresh from the
    # database.
    matrices.tenant_changed(tenant_a.pk)
    again = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar?k=20").data
    assert again["results"] == found["results"]


@pytest.mark.django_db(transaction=True)
def test_rows_an_earlier_release_cached_without_names_are_read_again(
    api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """During a rolling upgrade a process of the release before logs its rows
    without the drawing's file name: the next search reads those from the
    database, with their names, instead of failing."""
    files = parts(5, seed=93)
    ids = [upload(api_client_a, f).data["id"] for f in files[:3]]
    similar_ids(api_client_a, ids[0])
    later = [
        upload(api_client_a, f, name=f"Orion_Platte-{n}.dxf").data["id"]
        for n, f in enumerate(files[3:])
    ]
    count = cache.get(matrices._count_key(tenant_a.pk))
    for position in range(count - 1, count + 1):
        key = matrices._row_key(tenant_a.pk, position)
        cache.set(key, cache.get(key)[:5])  # as the release before wrote it
    assert set(similar_ids(api_client_a, ids[0])) == {*ids[1:], *later}
    folded = matrices.tenant_matrix(tenant_a.pk, "dxf-7")
    names = dict(zip(folded.drawing_ids.tolist(), folded.names, strict=True))
    # (a generated part prints its name in its title block too)
    assert [name_parts(names[d])[0] for d in later] == [
        "Orion_Platte-0.dxf",
        "Orion_Platte-1.dxf",
    ]


def test_a_row_pointing_at_another_tenants_drawing_is_not_searched(
    api_client_a, api_client_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """An analysis of one tenant that names another tenant's drawing (a row
    written wrong) brings neither that drawing nor its file name into the
    first tenant's search, exactly or through its index."""
    from apps.cad import index
    from apps.cad.models import Analysis

    files = parts(4, seed=94)
    ids = [upload(api_client_a, f).data["id"] for f in files[:3]]
    theirs = upload(api_client_b, files[3], name="Geheim_Projekt.dxf").data["id"]
    forged = Analysis.objects.filter(drawing_id=theirs).get()
    forged.pk = None
    forged.tenant = tenant_a
    forged.save()
    matrices.tenant_changed(tenant_a.pk)
    assert set(similar_ids(api_client_a, ids[0])) == set(ids[1:])
    m = matrices.tenant_matrix(tenant_a.pk, "dxf-7")
    assert theirs not in m.drawing_ids.tolist()
    assert "Geheim_Projekt.dxf" not in m.names
    found, _, names, _ = index.latest_vectors(
        tenant_id=tenant_a.pk, feature_version="dxf-7"
    )
    assert theirs not in found.tolist() and "Geheim_Projekt.dxf" not in names
