from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import ApiKey, Tenant
from apps.accounts.permissions import is_staff_session
from apps.ratelimit.decorators import view_ratelimit
from apps.realtime import services
from apps.realtime.channels import TOPICS, tenant_channel


class IsPrincipal(BasePermission):
    """An API key or a logged-in user; unlike ``HasTenantScope`` no tenant is
    needed, so staff without one can open a socket for ``topic:alerts``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey) or request.user.is_authenticated:
            return True
        raise exceptions.NotAuthenticated()


class IsStaffSession(BasePermission):
    message = "only staff may send notifications"

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user.is_authenticated and request.auth is None:
            raise exceptions.NotAuthenticated()
        return is_staff_session(request)


class TicketCreateApi(APIView):
    """A one-time ticket for ``/ws/v1/events?ticket=...``, valid for 60 s."""

    permission_classes = [IsPrincipal]

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                name="RealtimeTicket",
                fields={
                    "ticket": serializers.CharField(),
                    "expires_in": serializers.IntegerField(help_text="Seconds."),
                },
            )
        },
        summary="A one-time WebSocket ticket",
    )
    @view_ratelimit("realtime-ticket", key="principal")
    def post(self, request: Request) -> Response:
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        tenant = getattr(request._request, "tenant", None)
        ticket, ttl = services.ticket_create(
            user_id=None if api_key else request.user.pk,
            api_key_id=api_key.pk if api_key else None,
            tenant_id=tenant.pk if tenant is not None else None,
        )
        return Response(
            {"ticket": ticket, "expires_in": ttl}, status=status.HTTP_201_CREATED
        )


class NotificationSendApi(APIView):
    """Staff: send an event to a tenant's members or to a topic."""

    permission_classes = [IsStaffSession]

    class InputSerializer(serializers.Serializer):
        tenant = serializers.SlugField(required=False)
        topic = serializers.ChoiceField(choices=sorted(TOPICS), required=False)
        type = serializers.RegexField(
            r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$",
            max_length=64,
            default="notification",
            error_messages={"invalid": "dotted lower-case words, like 'ops.notice'"},
        )
        # A field named like Serializer.data: DRF's metaclass moves it into
        # _declared_fields, so the property stays.
        data = serializers.DictField()  # type: ignore[assignment]

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("tenant" in attrs) == ("topic" in attrs):
                raise serializers.ValidationError(
                    "give exactly one of 'tenant' (a slug) or 'topic'"
                )
            slug = attrs.get("tenant")
            if slug is not None and not Tenant.objects.filter(slug=slug).exists():
                raise serializers.ValidationError({"tenant": f"no tenant {slug!r}"})
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses={
            202: inline_serializer(
                name="RealtimeEvent",
                fields={
                    "id": serializers.IntegerField(help_text="Per-channel sequence."),
                    "channel": serializers.CharField(),
                    "type": serializers.CharField(),
                    "data": serializers.DictField(),
                    "ts": serializers.DateTimeField(),
                    "trace_id": serializers.CharField(required=False),
                },
            )
        },
        summary="Staff: send a notification to a tenant or a topic",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel = (
            tenant_channel(data["tenant"])
            if "tenant" in data
            else f"topic:{data['topic']}"
        )
        event = services.notification_send(
            channel=channel, type=data["type"], data=data["data"]
        )
        return Response(event, status=status.HTTP_202_ACCEPTED)
