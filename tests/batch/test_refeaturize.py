"""Re-featurisation: drawings analysed before the current dxf version get a new
analysis through a batch job; their old analyses stay; running it again
resumes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.cad.features import DXF7_SLOTS, DXF_SLOTS
from apps.cad.models import Analysis
from apps.cad.services import drawing_create
from tests.batch.conftest import dxf, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def refeaturize(tenant, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("refeaturize", "--tenant", tenant.slug, "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


def old_drawings(tenant, owner, n: int) -> list:  # type: ignore[no-untyped-def]
    """``n`` drawings analysed as stored before dxf-2 to dxf-7 existed."""
    from apps.cad.services import analysis_run

    drawings = []
    for i in range(n):
        d = drawing_create(
            tenant=tenant, uploaded_by=owner, name=f"p{i}.dxf", content=dxf(i)
        ).drawing
        a = analysis_run(drawing=d)
        Analysis.objects.filter(pk=a.pk).update(
            feature_version="dxf-1", features=a.features[: len(DXF_SLOTS)]
        )
        drawings.append(d)
    return drawings


def test_old_drawings_get_a_dxf7_analysis_and_keep_their_history(
    tenant_a, tenant_b, owner_a
) -> None:  # type: ignore[no-untyped-def]
    drawings = old_drawings(tenant_a, owner_a, 3)
    first = refeaturize(tenant_a)
    assert first["drawings"] == 3 and len(first["jobs"]) == 1
    job = wait_for_job(first["jobs"][0])
    assert job.status == "succeeded", job.status
    for d in drawings:
        versions = sorted(
            Analysis.objects.filter(drawing=d).values_list("feature_version", flat=True)
        )
        assert versions == ["dxf-1", "dxf-7"]
        new = Analysis.objects.get(drawing=d, feature_version="dxf-7")
        assert len(new.features) == len(DXF7_SLOTS)
    # Nothing left to do: a second run (a resumed one) submits nothing.
    assert refeaturize(tenant_a) == {
        "tenant": tenant_a.slug,
        "feature_version": "dxf-7",
        "jobs": [],
        "drawings": 0,
    }
    # A model on dxf-2 reads dxf-7 vectors (their prefix): nothing to redo, so
    # asking for dxf-2 does not re-submit the same drawings on every run.
    assert refeaturize(tenant_a, "--feature-version", "dxf-2")["drawings"] == 0
    # Another tenant's drawings were never touched.
    assert refeaturize(tenant_b)["drawings"] == 0


def test_all_tenants_after_an_upgrade_one_line_each(
    tenant_a, tenant_b, owner_a, owner_b
) -> None:  # type: ignore[no-untyped-def]
    old_drawings(tenant_a, owner_a, 2)
    old_drawings(tenant_b, owner_b, 1)

    def every_tenant() -> dict[str, dict]:
        out = StringIO()
        call_command("refeaturize", "--all-tenants", "--json", stdout=out)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return {line["tenant"]: line for line in lines}

    first = every_tenant()
    assert first[tenant_a.slug]["drawings"] == 2
    assert first[tenant_b.slug]["drawings"] == 1
    for line in first.values():
        for job in line["jobs"]:
            assert wait_for_job(job).status == "succeeded"
    assert {slug: line["drawings"] for slug, line in every_tenant().items()} == {
        slug: 0 for slug in first
    }
    with pytest.raises(CommandError):
        call_command("refeaturize", "--all-tenants", "--tenant", tenant_a.slug)


def test_vectors_computed_before_a_release_are_redone_once(tenant_a, owner_a) -> None:  # type: ignore[no-untyped-def]
    # A release that reads drawings better within the same feature version
    # (arcs over their sweep, say): --analysed-before redoes the vectors of
    # analyses finished before the upgrade, once; a resumed run submits only
    # what is still missing.
    from datetime import timedelta

    from django.utils import timezone

    from apps.cad.services import analysis_run

    drawings = []
    for i in range(2):
        d = drawing_create(
            tenant=tenant_a, uploaded_by=owner_a, name=f"q{i}.dxf", content=dxf(i)
        ).drawing
        analysis_run(drawing=d)
        drawings.append(d)
    upgrade = timezone.now() - timedelta(days=1)
    Analysis.objects.filter(drawing=drawings[0]).update(
        finished=upgrade - timedelta(days=3)
    )
    assert refeaturize(tenant_a)["drawings"] == 0  # same version: nothing missing
    first = refeaturize(tenant_a, "--analysed-before", upgrade.isoformat())
    assert first["drawings"] == 1
    assert wait_for_job(first["jobs"][0]).status == "succeeded"
    analyses = Analysis.objects.filter(drawing=drawings[0]).order_by("created")
    assert analyses.count() == 2  # the old one stays: history
    assert (
        refeaturize(tenant_a, "--analysed-before", upgrade.isoformat())["drawings"] == 0
    )
    with pytest.raises(CommandError, match="no date"):
        refeaturize(tenant_a, "--analysed-before", "last tuesday")


def test_unknown_tenants_and_versions_are_clear_errors(tenant_a) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="No tenant"):
        call_command("refeaturize", "--tenant", "nobody")
    with pytest.raises(CommandError, match="feature_version must be"):
        call_command(
            "refeaturize", "--tenant", tenant_a.slug, "--feature-version", "mesh-1"
        )


def test_step_drawings_stored_as_brep1_get_a_brep2_analysis(tenant_a, owner_a) -> None:  # type: ignore[no-untyped-def]
    from apps.cad.formats import brep
    from apps.cad.services import analysis_run
    from apps.cad.synth import solids as S

    content = S.step_bytes(S.box_with_hole())
    step = drawing_create(
        tenant=tenant_a, uploaded_by=owner_a, name="block.step", content=content
    ).drawing
    a = analysis_run(drawing=step)
    # As stored before brep-2 existed.
    old = brep.analyze(brep.load(content, "step"), "brep-1")["features"]
    Analysis.objects.filter(pk=a.pk).update(feature_version="brep-1", features=old)
    first = refeaturize(tenant_a, "--feature-version", "brep-2")
    assert first["drawings"] == 1
    job = wait_for_job(first["jobs"][0])
    assert job.status == "succeeded", job.status
    kept = Analysis.objects.get(drawing=step, feature_version="brep-1")
    assert kept.features == old
    new = Analysis.objects.get(drawing=step, feature_version="brep-2")
    assert len(new.features) == len(brep.BREP2_SLOTS)
    assert new.features[:34] == old[:34]
    assert refeaturize(tenant_a, "--feature-version", "brep-2")["drawings"] == 0


def test_a_brep_version_analyses_do_not_store_is_refused(tenant_a) -> None:  # type: ignore[no-untyped-def]
    # Re-analysing writes brep-2: brep-1 would never be reached.
    known = "dxf-1, dxf-2, dxf-3, dxf-4, dxf-5, dxf-3t, dxf-3th, dxf-6, dxf-7, brep-2"
    with pytest.raises(CommandError, match=known):
        call_command(
            "refeaturize", "--tenant", tenant_a.slug, "--feature-version", "brep-1"
        )
