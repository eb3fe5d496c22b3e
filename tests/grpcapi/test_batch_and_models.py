"""BatchService and ModelService against a real grpc.aio server."""

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
from tests.grpcapi.conftest import auth, part

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def embedded_batch(settings, tmp_path):  # type: ignore[no-untyped-def]
    from apps.batch import runner

    settings.CELERY_BROKER_URL = None  # in-process runner, no broker
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CADML_MODEL_HEALTHCHECK_MODE = "inline"
    yield
    runner.wait_idle(timeout=60)


def _submission(files, **header):  # type: ignore[no-untyped-def]
    yield batch_pb2.SubmitJobRequest(header=batch_pb2.JobHeader(**header))
    for name, content in files:
        half = len(content) // 2
        yield batch_pb2.SubmitJobRequest(
            chunk=batch_pb2.FileChunk(filename=name, data=content[:half])
        )
        yield batch_pb2.SubmitJobRequest(
            chunk=batch_pb2.FileChunk(data=content[half:], last=True)
        )


async def test_submit_in_chunks_then_watch_until_done(channel, grpc_key_a, grpc_key_b):
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    files = [
        ("a.dxf", part("washer", 11)),
        ("b.dxf", part("hex_nut", 12)),
        ("bad.bin", b"\x01\x02 not cad"),
    ]
    job = await stub.SubmitJob(
        _submission(files, priority=7), metadata=auth(grpc_key_a)
    )
    assert job.total == 3
    assert job.priority == 7
    assert job.channel == f"job:{job.id}"
    events = [
        e
        async for e in stub.WatchJob(
            batch_pb2.WatchJobRequest(job_id=job.id),
            metadata=auth(grpc_key_a),
            timeout=60,
        )
    ]
    assert events, "the watch ends with the job's final event"
    assert events[-1].type in {"batch.completed", "batch.failed"}
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    final = await stub.GetJob(
        batch_pb2.GetJobRequest(job_id=job.id), metadata=auth(grpc_key_a)
    )
    assert final.status == "partial"
    assert (final.done, final.failed) == (2, 1)
    assert final.percent == 100.0
    # Resuming after the last event id gives nothing twice.
    resumed = [
        e
        async for e in stub.WatchJob(
            batch_pb2.WatchJobRequest(job_id=job.id, last_event_id=ids[-2]),
            metadata=auth(grpc_key_a),
            timeout=30,
        )
    ]
    assert [e.id for e in resumed] == [ids[-1]]
    for call, request in (
        (stub.GetJob, batch_pb2.GetJobRequest(job_id=job.id)),
        (stub.CancelJob, batch_pb2.CancelJobRequest(job_id=job.id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, metadata=auth(grpc_key_b))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in stub.WatchJob(
            batch_pb2.WatchJobRequest(job_id=job.id),
            metadata=auth(grpc_key_b),
            timeout=10,
        ):
            pass
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_chunk_stream_that_ends_early_is_refused(channel, grpc_key_a):
    stub = batch_pb2_grpc.BatchServiceStub(channel)

    def cut_short():  # type: ignore[no-untyped-def]
        yield batch_pb2.SubmitJobRequest(header=batch_pb2.JobHeader())
        yield batch_pb2.SubmitJobRequest(
            chunk=batch_pb2.FileChunk(filename="a.dxf", data=b"0\nSECTION")
        )

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SubmitJob(cut_short(), metadata=auth(grpc_key_a))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "a.dxf" in err.value.details()

    def no_header():  # type: ignore[no-untyped-def]
        yield batch_pb2.SubmitJobRequest(
            chunk=batch_pb2.FileChunk(filename="a.dxf", data=b"x", last=True)
        )

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SubmitJob(no_header(), metadata=auth(grpc_key_a))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_another_tenants_drawing_ids_are_not_found(channel, grpc_key_b):
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.SubmitJob(
            _submission([], drawing_ids=[10**9]), metadata=auth(grpc_key_b)
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_models_list_activate_and_roll_back(channel, tenant_a, owner_a):
    from apps.modelreg.services.registry import version_register
    from tests.modelreg.conftest import sklearn_onnx

    def register(seed: int):  # type: ignore[no-untyped-def]
        content, sample = sklearn_onnx(seed=seed)
        return version_register(
            tenant=tenant_a,
            name="parts",
            content=content,
            labels=["bracket", "flange", "gear"],
            feature_version="dxf-1",
            metrics={"accuracy": 1.0},
            validation_sample=sample,
        )

    await sync_to_async(register)(0)
    await sync_to_async(register)(1)
    admin = (
        await sync_to_async(api_key_create)(
            tenant=tenant_a, name="adm", scopes=["admin"], created_by=owner_a
        )
    ).plaintext
    reader = (
        await sync_to_async(api_key_create)(
            tenant=tenant_a, name="ro", scopes=["read"], created_by=owner_a
        )
    ).plaintext
    stub = models_pb2_grpc.ModelServiceStub(channel)
    listed = await stub.ListModels(
        models_pb2.ListModelsRequest(), metadata=auth(reader)
    )
    assert "parts" in [m.name for m in listed.models]
    versions = await stub.ListVersions(
        models_pb2.ListVersionsRequest(model="parts"), metadata=auth(reader)
    )
    assert sorted(v.number for v in versions.versions) == [1, 2]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Activate(
            models_pb2.ActivateRequest(model="parts", version=1), metadata=auth(reader)
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    first = await stub.Activate(
        models_pb2.ActivateRequest(model="parts", version=1), metadata=auth(admin)
    )
    assert first.active_version == 1
    second = await stub.Activate(
        models_pb2.ActivateRequest(model="parts", version=2), metadata=auth(admin)
    )
    assert second.active_version == 2
    back = await stub.Rollback(
        models_pb2.RollbackRequest(model="parts"), metadata=auth(admin)
    )
    assert back.active_version == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetDeployment(
            models_pb2.GetDeploymentRequest(model="nope"), metadata=auth(reader)
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
