"""ModelService: the model registry's selectors and services."""

from __future__ import annotations

from typing import Any

from grpc import aio

from apps.grpcapi.context import principal, run_sync
from apps.grpcapi.gen.cadml.v1 import models_pb2, models_pb2_grpc
from apps.grpcapi.messages import struct
from apps.grpcapi.servicers.analysis import require_scope
from apps.modelreg import selectors
from apps.modelreg.models import Deployment, RegisteredModel
from apps.modelreg.services import deployments
from cadml.lib import params
from cadml.lib.errors import InvalidInput


def _number(version: Any) -> int:
    return version.number if version is not None else 0


def deployment_message(
    model: RegisteredModel, status: str = ""
) -> models_pb2.Deployment:
    dep = (
        Deployment.objects.filter(model=model)
        .select_related("active_version", "candidate_version")
        .first()
    )
    if dep is None:
        return models_pb2.Deployment(model=model.name, status=status)
    history_numbers = dict(model.versions.values_list("pk", "number"))
    return models_pb2.Deployment(
        model=model.name,
        active_version=_number(dep.active_version),
        candidate_version=_number(dep.candidate_version),
        mode=dep.mode,
        candidate_percent=float(dep.candidate_percent),
        history=[history_numbers[pk] for pk in dep.history if pk in history_numbers],
        status=status,
    )


def _list_models(tenant: Any) -> models_pb2.ListModelsResponse:
    out = []
    for model in selectors.model_list(tenant=tenant):
        dep = getattr(model, "deployment", None)
        out.append(
            models_pb2.Model(
                name=model.name,
                task=model.task,
                labels=list(model.labels),
                feature_version=model.feature_version,
                active_version=_number(dep.active_version if dep else None),
            )
        )
    return models_pb2.ListModelsResponse(models=out)


def _list_versions(tenant: Any, name: str) -> models_pb2.ListVersionsResponse:
    model = selectors.model_get(tenant=tenant, name=name)
    return models_pb2.ListVersionsResponse(
        versions=[
            models_pb2.ModelVersion(
                number=v.number,
                status=v.status,
                sha256=v.sha256,
                size=v.size,
                metrics=struct(v.metrics or {}),
                failure_reason=v.failure_reason,
                created=v.created.isoformat(),
            )
            for v in selectors.version_list(model=model)
        ]
    )


def _deployment(tenant: Any, name: str) -> models_pb2.Deployment:
    return deployment_message(selectors.model_get(tenant=tenant, name=name))


def _activate(who: Any, name: str, number: int) -> models_pb2.Deployment:
    model = selectors.model_get_writable(tenant=who.tenant, name=name)
    event = deployments.deployment_request(
        model=model, number=number, actor=who.api_key
    )
    event.refresh_from_db()
    # The health check runs off the call path: the answer says where it stands.
    return deployment_message(model, status=f"activation {event.status}")


def _rollback(who: Any, name: str) -> models_pb2.Deployment:
    model = selectors.model_get_writable(tenant=who.tenant, name=name)
    event = deployments.deployment_rollback(model=model, actor=who.api_key)
    return deployment_message(model, status=f"rollback {event.status}")


def _model_name(request: Any) -> str:
    """The ``model`` field, checked as REST's URL pattern checks a model slug."""
    max_length = RegisteredModel._meta.get_field("name").max_length
    name = params.text(request.model, field="model", max_length=max_length)
    if not name:
        raise InvalidInput("model: required (the model's name)", field="model")
    return name


def _train(who: Any, request: Any) -> Any:
    from apps.grpcapi.servicers.batch import job_message
    from apps.modelreg.learning import training_request

    job = training_request(
        tenant=who.tenant,
        user=who.api_key.created_by,
        name=_model_name(request),
        labels=list(request.labels) or None,
        min_per_class=request.min_per_class or 5,
        deploy=request.deploy or "none",
        candidate_percent=request.candidate_percent or 10,
        base=request.base or "none",
    )
    return job_message(job)


class ModelServicer(models_pb2_grpc.ModelServiceServicer):
    async def ListModels(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("read")
        return await run_sync(_list_models, principal().tenant)

    async def ListVersions(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("read")
        return await run_sync(_list_versions, principal().tenant, _model_name(request))

    async def GetDeployment(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("read")
        return await run_sync(_deployment, principal().tenant, _model_name(request))

    async def Activate(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("admin")
        return await run_sync(
            _activate, principal(), _model_name(request), request.version
        )

    async def Rollback(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("admin")
        return await run_sync(_rollback, principal(), _model_name(request))

    async def TrainModel(self, request: Any, context: aio.ServicerContext) -> Any:
        require_scope("admin")
        return await run_sync(_train, principal(), request)


def registration():
    from apps.grpcapi.server import Registration

    return Registration(
        models_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
        lambda s: models_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelServicer(), s
        ),
    )
