"""``analyses_store``: the CAD app's write of finished analyses inside a
caller's transaction; ``analysis_insert``: the same write as SQL for a
caller's own statement (a batch item's finish stores its analysis with the
item's end)."""

from __future__ import annotations

import copy
import random

import pytest
from django.db import connection, transaction

from apps.cad.models import Analysis
from apps.cad.services import (
    analyses_store,
    analyses_stored,
    analysis_compute,
    analysis_insert,
    drawing_create,
)
from apps.cad.synth import PART_CLASSES, generate_part

pytestmark = pytest.mark.django_db


def similar(client, drawing_id: int) -> set[int]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/drawings/{drawing_id}/similar?k=50")
    assert r.status_code == 200, r.content
    return {hit["drawing"]["id"] for hit in r.data["results"]}


def computed(tenant, n: int, seed: int) -> list[Analysis]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    drawings = [
        drawing_create(
            tenant=tenant,
            uploaded_by=None,
            name=f"part-{seed}-{i}.dxf",
            content=generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng),
        ).drawing
        for i in range(n)
    ]
    return [analysis_compute(drawing=d) for d in drawings]


def test_stored_analyses_are_found_by_similar_at_once(api_client_a, tenant_a):  # type: ignore[no-untyped-def]
    first = analyses_store(analyses=computed(tenant_a, 3, seed=1))
    probe = first[0].drawing_id
    before = similar(api_client_a, probe)  # the tenant's matrix is now cached
    assert before == {a.drawing_id for a in first[1:]}

    later = analyses_store(analyses=computed(tenant_a, 2, seed=2))

    assert all(a.pk is not None for a in later)
    assert similar(api_client_a, probe) == before | {a.drawing_id for a in later}


def two_stored(client, tenant, seed):  # type: ignore[no-untyped-def]
    """Two stored analyses, each the other's only similar drawing."""
    first = analyses_store(analyses=computed(tenant, 2, seed=seed))
    probe = first[0].drawing_id
    assert similar(client, probe) == {first[1].drawing_id}
    return first, probe


def test_a_caller_storing_many_runs_the_after_store_work_once_at_the_end(
    api_client_a, tenant_a
):  # type: ignore[no-untyped-def]
    first, probe = two_stored(api_client_a, tenant_a, seed=3)
    batch = computed(tenant_a, 2, seed=4)
    for analysis in batch:
        analyses_store(analyses=[analysis], after_store=False)

    analyses_stored(analyses=batch)

    assert similar(api_client_a, probe) == {first[1].drawing_id} | {
        a.drawing_id for a in batch
    }


def test_the_caller_s_rollback_takes_the_analyses_with_it(tenant_a):  # type: ignore[no-untyped-def]
    analyses = computed(tenant_a, 2, seed=5)

    with pytest.raises(RuntimeError), transaction.atomic():
        analyses_store(analyses=analyses)
        assert Analysis.objects.filter(tenant=tenant_a).count() == 2
        raise RuntimeError("the caller's next write failed")

    assert not Analysis.objects.filter(tenant=tenant_a).exists()


def test_an_analysis_inserted_by_a_caller_s_statement_is_the_row_a_store_writes(
    api_client_a, tenant_a
):  # type: ignore[no-untyped-def]
    first, probe = two_stored(api_client_a, tenant_a, seed=6)
    [analysis] = computed(tenant_a, 1, seed=7)
    twin = copy.copy(analysis)
    twin._state = copy.copy(analysis._state)
    insert = analysis_insert(analysis=analysis)

    with connection.cursor() as cursor:
        cursor.execute(f"WITH a AS ({insert.sql}) SELECT id FROM a", insert.params)
        insert.stored(cursor.fetchone()[0])
    analyses_stored(analyses=[analysis])
    [twin] = analyses_store(analyses=[twin])

    def row(pk: int) -> dict[str, object]:
        values = Analysis.objects.filter(pk=pk).values()[0]
        del values["id"]
        return values

    assert analysis.pk is not None and analysis.pk != twin.pk
    assert row(analysis.pk) == row(twin.pk)
    assert similar(api_client_a, probe) == {first[1].drawing_id, analysis.drawing_id}
