"""Which active model serves an analysis when several platform models read
versions its vector holds (docs/operations.md: a new default model is trained
under another name beside the old one)."""

from __future__ import annotations

from apps.modelreg.runtime import DeploymentView, Snapshot


def _view(pk: int, name: str, version: str, tenant_id: int | None = None):  # type: ignore[no-untyped-def]
    return DeploymentView(
        deployment_id=pk,
        model_id=pk,
        name=name,
        tenant_id=tenant_id,
        feature_version=version,
        active=object(),  # loaded: only whether it is there matters here
        candidate=None,
        mode="single",
        candidate_percent=0,
        sticky_by="",
        salt="",
        guardrail_max_error_rate=1.0,
        guardrail_window=0,
    )


def test_a_dxf3th_default_serves_dxf7_analyses_ahead_of_the_dxf3t_one() -> None:
    snapshot = Snapshot(
        generation=1,
        deployments=(
            _view(1, "part-classifier", "dxf-3t"),
            _view(2, "part-classifier-3th", "dxf-3th"),
        ),
    )
    for stored in ("dxf-7", "dxf-6"):
        served = snapshot.serving(tenant_id=None, feature_version=stored)
        assert served is not None
        view, read_as = served
        assert (view.name, read_as) == ("part-classifier-3th", "dxf-3th")
    # dxf-5 analyses have no topology: neither model can read them.
    assert snapshot.serving(tenant_id=None, feature_version="dxf-5") is None
    # Alone, the old default keeps serving what it served.
    old_only = Snapshot(generation=2, deployments=snapshot.deployments[:1])
    served = old_only.serving(tenant_id=None, feature_version="dxf-7")
    assert served is not None and served[1] == "dxf-3t"


def test_a_tenants_own_model_wins_over_a_newer_platform_default() -> None:
    snapshot = Snapshot(
        generation=1,
        deployments=(
            _view(1, "part-classifier-3th", "dxf-3th"),
            _view(2, "acme-parts", "dxf-5", tenant_id=7),
        ),
    )
    served = snapshot.serving(tenant_id=7, feature_version="dxf-7")
    assert served is not None and served[0].name == "acme-parts"
    other = snapshot.serving(tenant_id=8, feature_version="dxf-7")
    assert other is not None and other[0].name == "part-classifier-3th"
