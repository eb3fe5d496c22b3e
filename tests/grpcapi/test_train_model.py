"""ModelService.TrainModel: the job it returns is watched with BatchService."""

from __future__ import annotations

import grpc
import pytest
from asgiref.sync import sync_to_async

from apps.accounts.services import api_key_create
from apps.grpcapi.gen.cadml.v1 import (
    batch_pb2,
    batch_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
)
from apps.modelreg.models import ModelVersion
from tests.grpcapi.conftest import auth
from tests.modelreg.test_learning import labelled_set

# Job ids start at 1 in every test database: the events of an earlier run's
# job:1 must not answer this one's watch.
from tests.realtime.conftest import fresh_realtime_state  # noqa: F401

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def embedded(settings, tmp_path):  # type: ignore[no-untyped-def]
    from apps.batch import runner

    settings.CELERY_BROKER_URL = None
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CADML_MODEL_HEALTHCHECK_MODE = "inline"
    settings.CADML_TRAIN_CV_FOLDS = 3
    yield
    runner.wait_idle(timeout=120)


@pytest.fixture
def admin_key_a(tenant_a, owner_a) -> str:  # type: ignore[no-untyped-def]
    return api_key_create(
        tenant=tenant_a, name="grpc-admin", scopes=["admin"], created_by=owner_a
    ).plaintext


async def test_train_model_returns_a_job_that_watch_job_follows(
    channel, admin_key_a, grpc_key_a, tenant_a
):  # type: ignore[no-untyped-def]
    await sync_to_async(labelled_set)(tenant_a, {"flange": 6, "nut": 6})
    models = models_pb2_grpc.ModelServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await models.TrainModel(
            models_pb2.TrainModelRequest(model="part-classifier"),
            metadata=auth(grpc_key_a),
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    job = await models.TrainModel(
        models_pb2.TrainModelRequest(model="part-classifier", deploy="active"),
        metadata=auth(admin_key_a),
    )
    assert job.kind == "train"
    assert job.channel == f"job:{job.id}"
    batch = batch_pb2_grpc.BatchServiceStub(channel)
    events = [
        e
        async for e in batch.WatchJob(
            batch_pb2.WatchJobRequest(job_id=job.id),
            metadata=auth(admin_key_a),
            timeout=120,
        )
    ]
    assert events[-1].type == "batch.completed", [(e.type, e.data) for e in events]
    stages = [e.data["stage"] for e in events if e.type == "batch.progress"]
    assert "fit" in stages and "deploy" in stages
    version = await sync_to_async(ModelVersion.objects.get)()
    assert version.evaluation["labels"] == ["flange", "nut"]


async def test_train_model_refusals_are_status_codes(channel, admin_key_a):  # type: ignore[no-untyped-def]
    models = models_pb2_grpc.ModelServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await models.TrainModel(
            models_pb2.TrainModelRequest(model="part-classifier"),
            metadata=auth(admin_key_a),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no labelled drawings" in err.value.details()


async def test_train_model_takes_the_base_as_rest_does(channel, admin_key_a, tenant_a):  # type: ignore[no-untyped-def]
    await sync_to_async(labelled_set)(tenant_a, {"flange": 6, "nut": 6})
    models = models_pb2_grpc.ModelServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await models.TrainModel(
            models_pb2.TrainModelRequest(model="part-classifier", base="everything"),
            metadata=auth(admin_key_a),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "base must be one of none, default" in err.value.details()
