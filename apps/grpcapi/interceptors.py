"""Server interceptors, outermost first: telemetry (metrics, and a span when
tracing is on), authentication, rate limit, audit, error mapping. (
database hygiene lives in ``context.run_sync``, the only way servicers reach the
ORM, because in ``grpc.aio`` the ORM runs in executor threads, not here.)

Each interceptor wraps the behaviour of the handler it is given, so its code runs
inside the RPC's own task: ContextVars set here are seen by the servicer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from django.apps import apps as django_apps
from grpc import aio

from apps.accounts.services import api_key_authenticate
from apps.grpcapi.context import Principal, current_principal, run_sync
from apps.grpcapi.errors import status_for
from cadml import telemetry
from cadml.lib.errors import AuthenticationError, DomainError

logger = logging.getLogger(__name__)

# Load balancers and grpcurl must reach these without a key.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Around = Callable[[grpc.HandlerCallDetails, aio.ServicerContext], Awaitable[Any]]


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str]:
    return {key.lower(): value for key, value in details.invocation_metadata or ()}


class _WrappingInterceptor(aio.ServerInterceptor):
    """Calls ``before`` and ``after`` around any of the four RPC kinds."""

    async def before(
        self, details: grpc.HandlerCallDetails, context: aio.ServicerContext
    ) -> Any:
        return None

    async def after(
        self,
        details: grpc.HandlerCallDetails,
        context: aio.ServicerContext,
        state: Any,
        error: BaseException | None,
    ) -> None:
        return None

    def applies_to(self, method: str) -> bool:
        return not method.startswith(PUBLIC_PREFIXES)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not self.applies_to(details.method):
            return handler
        outer = self

        if handler.unary_unary or handler.stream_unary:
            inner = handler.unary_unary or handler.stream_unary

            async def unary_result(request: Any, context: aio.ServicerContext) -> Any:
                state = await outer.before(details, context)
                error: BaseException | None = None
                try:
                    return await inner(request, context)
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    await outer.after(details, context, state, error)

            factory = (
                grpc.unary_unary_rpc_method_handler
                if handler.unary_unary
                else grpc.stream_unary_rpc_method_handler
            )
            return factory(
                unary_result,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        inner_stream = handler.unary_stream or handler.stream_stream

        async def stream_result(
            request: Any, context: aio.ServicerContext
        ) -> AsyncIterator[Any]:
            state = await outer.before(details, context)
            error: BaseException | None = None
            try:
                async for item in inner_stream(request, context):
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                await outer.after(details, context, state, error)

        factory = (
            grpc.unary_stream_rpc_method_handler
            if handler.unary_stream
            else grpc.stream_stream_rpc_method_handler
        )
        return factory(
            stream_result,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class AuthInterceptor(_WrappingInterceptor):
    """``authorization: Api-Key <key>`` metadata -> the principal of this RPC."""

    async def before(
        self, details: grpc.HandlerCallDetails, context: aio.ServicerContext
    ) -> Any:
        header = _metadata(details).get("authorization", "")
        scheme, _, plaintext = header.strip().partition(" ")
        if scheme.lower() != "api-key" or not plaintext.strip():
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing credentials: send metadata 'authorization: Api-Key <key>'",
            )
        try:
            api_key = await run_sync(api_key_authenticate, plaintext=plaintext.strip())
        except AuthenticationError as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        return current_principal.set(
            Principal(
                api_key=api_key,
                tenant=api_key.tenant,
                method=details.method,
                peer=context.peer(),
            )
        )

    async def after(
        self,
        details: grpc.HandlerCallDetails,
        context: aio.ServicerContext,
        state: Any,
        error: BaseException | None,
    ) -> None:
        if state is not None:
            try:
                current_principal.reset(state)
            except ValueError:  # reset from another context: nothing to undo
                pass


class AuditInterceptor(_WrappingInterceptor):
    """One ``api.call`` audit event per RPC, when the audit app is installed."""

    async def before(
        self, details: grpc.HandlerCallDetails, context: aio.ServicerContext
    ) -> Any:
        return time.perf_counter()

    async def after(
        self,
        details: grpc.HandlerCallDetails,
        context: aio.ServicerContext,
        state: Any,
        error: BaseException | None,
    ) -> None:
        if not django_apps.is_installed("apps.audit"):
            return
        from apps.audit.services import audit_record

        principal = current_principal.get()
        code = context.code() if hasattr(context, "code") else None
        failed = error is not None or (code not in (None, grpc.StatusCode.OK, 0))
        duration_ms = round((time.perf_counter() - state) * 1000, 2)
        try:
            await run_sync(
                audit_record,
                action="api.call",
                outcome="failure" if failed else "success",
                tenant=principal.tenant if principal else None,
                actor_key_prefix=principal.api_key.prefix if principal else None,
                resource_type="grpc",
                resource_id=details.method,
                details={
                    "method": details.method,
                    "transport": "grpc",
                    "duration_ms": duration_ms,
                },
            )
        except Exception:  # noqa: BLE001 - auditing must not fail the call
            logger.exception("could not audit %s", details.method)


INTERNAL_MESSAGE = "internal error: the call failed on the server and was logged"


async def _abort_internal(
    context: aio.ServicerContext, method: str, exc: Exception
) -> None:
    """Any other exception is our bug: logged in full, while the client gets
    INTERNAL and a fixed message (grpc.aio would send UNKNOWN with the
    exception's own text, e.g. the database's, to the client)."""
    logger.error("gRPC %s failed", method, exc_info=exc)
    message = INTERNAL_MESSAGE
    trace_id = telemetry.current_trace_id()
    if trace_id:
        message += f" (trace {trace_id})"
    await context.abort(grpc.StatusCode.INTERNAL, message)


class ErrorInterceptor(_WrappingInterceptor):
    """Domain errors -> status codes with the same message REST gives; anything
    else -> INTERNAL without its text."""

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method

        def translate(fn):
            async def unary(request, context):
                try:
                    return await fn(request, context)
                except DomainError as exc:
                    await context.abort(status_for(exc), exc.message)
                except aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - see _abort_internal
                    await _abort_internal(context, method, exc)

            async def stream(request, context):
                try:
                    async for item in fn(request, context):
                        yield item
                except DomainError as exc:
                    await context.abort(status_for(exc), exc.message)
                except aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - see _abort_internal
                    await _abort_internal(context, method, exc)

            return unary, stream

        if handler.unary_unary:
            unary, _ = translate(handler.unary_unary)
            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_unary:
            unary, _ = translate(handler.stream_unary)
            return grpc.stream_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            _, stream = translate(handler.unary_stream)
            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        _, stream = translate(handler.stream_stream)
        return grpc.stream_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )


def default_interceptors() -> list[aio.ServerInterceptor]:
    """OpenTelemetry/metrics -> auth -> rate limit -> audit -> error mapping.

    Telemetry goes first (not last, as first sketched) so that refused calls are
    counted and traced too, and audit events carry the trace id."""
    # Imported here: both build on the interceptor classes of this module.
    from apps.grpcapi.ratelimit import RateLimitInterceptor
    from cadml.telemetry import grpc_server_interceptor

    interceptors: list[aio.ServerInterceptor] = []
    otel = grpc_server_interceptor()
    if otel is not None:
        interceptors.append(otel)
    interceptors += [
        AuthInterceptor(),
        RateLimitInterceptor(),
        AuditInterceptor(),
        ErrorInterceptor(),
    ]
    return interceptors
