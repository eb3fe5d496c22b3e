"""Malformed fields over gRPC: INVALID_ARGUMENT with the message REST gives,
never UNKNOWN, and never a database's or Python's own error text."""

from __future__ import annotations

import random

import grpc
import pytest
from asgiref.sync import sync_to_async

from apps.batch.models import BatchJob
from apps.cad.models import Drawing
from apps.grpcapi.gen.cadml.v1 import (
    analysis_pb2,
    analysis_pb2_grpc,
    batch_pb2,
    batch_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
)
from tests.grpcapi.conftest import auth, part

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# Words that only appear in text we did not write for a client.
INTERNAL = ("character varying", "Traceback", "psycopg", "NUL (0x00)", "Unexpected")


@pytest.fixture(autouse=True)
def embedded_batch(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = None
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _header_only(**header):  # type: ignore[no-untyped-def]
    yield batch_pb2.SubmitJobRequest(header=batch_pb2.JobHeader(**header))


def _one_file(name: str, content: bytes):  # type: ignore[no-untyped-def]
    yield batch_pb2.SubmitJobRequest(header=batch_pb2.JobHeader())
    yield batch_pb2.SubmitJobRequest(
        chunk=batch_pb2.FileChunk(filename=name, data=content, last=True)
    )


async def invalid(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert not any(word in error.details() for word in INTERNAL), error.details()
    return error


async def test_an_idempotency_key_past_200_characters_is_invalid_argument(
    channel, grpc_key_a, api_client_a
):
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    error = await invalid(
        stub.SubmitJob(
            _header_only(drawing_ids=[1], idempotency_key="k" * 201),
            metadata=auth(grpc_key_a),
        )
    )
    # The same words as REST's 400 for the Idempotency-Key header.
    rest = await sync_to_async(api_client_a.post)(
        "/api/v1/jobs",
        {"drawings": [1]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 201,
    )
    assert rest.status_code == 400
    assert error.details() == rest.json()["detail"]
    assert "idempotency_key" in error.details()
    assert await sync_to_async(BatchJob.objects.count)() == 0


@pytest.mark.parametrize(
    ("field", "value"), [("kind", "render"), ("priority", 12), ("priority", -1)]
)
async def test_kind_and_priority_are_refused_in_the_words_rest_uses(
    channel, grpc_key_a, api_client_a, field, value
):
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    error = await invalid(
        stub.SubmitJob(
            _header_only(drawing_ids=[1], **{field: value}), metadata=auth(grpc_key_a)
        )
    )
    rest = await sync_to_async(api_client_a.post)(
        "/api/v1/jobs", {"drawings": [1], field: value}, format="json"
    )
    assert rest.status_code == 400
    assert rest.json() == {field: [error.details()]}


@pytest.mark.parametrize(
    "header",
    [
        {"drawing_ids": [1], "idempotency_key": "a\x00b"},
        {"drawing_ids": [1], "kind": "analyze\x00"},
        {"drawing_ids": [1], "callback_url": "https://exa\x00mple.com/hook"},
        {"drawing_ids": [1], "priority": 99},
        {"drawing_ids": [-1, 2**62]},
    ],
)
async def test_bad_job_headers_are_invalid_argument_or_not_found(
    channel, grpc_key_a, header
):
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SubmitJob(_header_only(**header), metadata=auth(grpc_key_a))
    error = caught.value
    assert error.code() in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
    ), (error.code(), error.details())
    assert not any(word in error.details() for word in INTERNAL), error.details()


async def test_a_nul_in_a_file_name_is_refused_without_internal_text(
    channel, grpc_key_a
):
    analysis = analysis_pb2_grpc.AnalysisServiceStub(channel)
    error = await invalid(
        analysis.Analyze(
            analysis_pb2.AnalyzeRequest(filename="wash\x00er.dxf", content=part()),
            metadata=auth(grpc_key_a),
        )
    )
    assert "U+0000" in error.details()
    assert await sync_to_async(Drawing.objects.count)() == 0


async def test_a_very_long_file_name_is_kept_short_not_a_database_error(
    channel, grpc_key_a
):
    analysis = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await analysis.Analyze(
        analysis_pb2.AnalyzeRequest(filename="a" * 5000 + ".dxf", content=part()),
        metadata=auth(grpc_key_a),
    )
    assert len(result.filename) <= 255


@pytest.mark.parametrize("name", ["a\x00b", "x" * 5000, "../etc", ""])
async def test_bad_model_names_are_invalid_argument_or_not_found(
    channel, grpc_key_a, name
):
    stub = models_pb2_grpc.ModelServiceStub(channel)
    for call in (
        stub.ListVersions(
            models_pb2.ListVersionsRequest(model=name), metadata=auth(grpc_key_a)
        ),
        stub.GetDeployment(
            models_pb2.GetDeploymentRequest(model=name), metadata=auth(grpc_key_a)
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        error = caught.value
        assert error.code() in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.NOT_FOUND,
        ), (error.code(), error.details())
        assert not any(word in error.details() for word in INTERNAL), error.details()


async def test_an_unexpected_error_is_internal_without_its_text(grpc_key_a, caplog):
    """What no input check foresaw still never reaches the client verbatim."""
    from apps.grpcapi.interceptors import default_interceptors

    async def fail(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise RuntimeError("value too long for type character varying(200)")

    server = grpc.aio.server(interceptors=default_interceptors())
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Boom", {"Fail": grpc.unary_unary_rpc_method_handler(fail)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = ch.unary_unary("/test.Boom/Fail")(b"", metadata=auth(grpc_key_a))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
    finally:
        await server.stop(None)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "character varying" not in caught.value.details()
    assert "internal error" in caught.value.details()
    # The operator still sees it all in the log.
    assert "character varying(200)" in caplog.text


def _nasty_text(rng: random.Random) -> str:
    pick = rng.randrange(5)
    if pick == 0:
        return "x" * rng.choice([199, 200, 201, 5000])
    if pick == 1:
        return "a" + chr(rng.randrange(0, 32)) + "b"
    if pick == 2:
        return "".join(chr(rng.randrange(32, 0xD7FF)) for _ in range(rng.randrange(40)))
    if pick == 3:
        return rng.choice(["analyze", "", " ", "https://example.com/h", "\u202e"])
    return "\x00" * rng.randrange(1, 4)


async def test_no_job_header_is_unknown_or_internal(channel, grpc_key_a):
    """Random nasty headers: each is refused (or the missing drawing is not
    found), never UNKNOWN or INTERNAL, never with internal text."""
    stub = batch_pb2_grpc.BatchServiceStub(channel)
    rng = random.Random(18)
    for _ in range(40):
        header = {
            "drawing_ids": [rng.choice([1, -1, 2**63 - 1])],
            "priority": rng.choice([-(2**31), -1, 0, 5, 9, 10, 2**31 - 1]),
            "kind": _nasty_text(rng),
            "callback_url": _nasty_text(rng),
            "idempotency_key": _nasty_text(rng),
        }
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SubmitJob(_header_only(**header), metadata=auth(grpc_key_a))
        error = caught.value
        assert error.code() in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.NOT_FOUND,
        ), (header, error.code(), error.details())
        assert not any(word in error.details() for word in INTERNAL), error.details()
