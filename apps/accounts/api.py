from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import ApiKey, Scope, Tenant
from apps.accounts.permissions import principal_scopes
from apps.accounts.request import Request
from apps.ratelimit.decorators import view_ratelimit
from cadml.lib.openapi import errors


class TenantOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["slug", "name", "plan", "created"]


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created",
            "created_by",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "active",
        ]

    def get_active(self, obj: ApiKey) -> bool:
        return obj.is_active()


class TenantDetailOutputSerializer(TenantOutputSerializer):
    members = serializers.IntegerField()
    legal_hold = serializers.BooleanField()

    class Meta(TenantOutputSerializer.Meta):
        fields = [*TenantOutputSerializer.Meta.fields, "members", "legal_hold"]


class ApiKeyIssuedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="The secret; shown this once only.")

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "key"]


class ApiKeyRotatedOutputSerializer(ApiKeyIssuedOutputSerializer):
    previous = ApiKeyOutputSerializer(help_text="The old key, valid for the grace.")

    class Meta(ApiKeyIssuedOutputSerializer.Meta):
        fields = [*ApiKeyIssuedOutputSerializer.Meta.fields, "previous"]


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        user = inline_serializer(
            name="MeUser",
            fields={
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
            },
            allow_null=True,
        )
        auth = serializers.ChoiceField(choices=["api_key", "session"])
        api_key = inline_serializer(
            name="MeApiKey",
            fields={
                "id": serializers.IntegerField(),
                "prefix": serializers.CharField(),
                "name": serializers.CharField(),
            },
            allow_null=True,
        )
        role = serializers.CharField(allow_null=True)
        scopes = serializers.ListField(child=serializers.CharField())
        tenant = TenantOutputSerializer()

    @extend_schema(responses=OutputSerializer, summary="Who am I: user, key, scopes")
    def get(self, request: Request) -> Response:
        user = request.user if request.user.is_authenticated else None
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        membership = request._request.membership
        return Response(
            {
                "user": {"id": user.pk, "username": user.username} if user else None,
                "auth": "api_key" if api_key else "session",
                "api_key": {
                    "id": api_key.pk,
                    "prefix": api_key.prefix,
                    "name": api_key.name,
                }
                if api_key
                else None,
                "role": membership.role if membership else None,
                "scopes": sorted(principal_scopes(request)),
                "tenant": TenantOutputSerializer(request.tenant).data,
            }
        )


class TenantDetailApi(APIView):
    @extend_schema(responses=TenantDetailOutputSerializer, summary="My tenant")
    def get(self, request: Request) -> Response:
        data = TenantOutputSerializer(request.tenant).data
        data["members"] = request.tenant.memberships.count()
        data["legal_hold"] = request.tenant.legal_hold
        return Response(data)


class ApiKeyListApi(APIView):
    """Lists the tenant's keys; their secrets are never shown again."""

    required_scope = "admin"

    @extend_schema(responses=ApiKeyOutputSerializer(many=True), summary="List keys")
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_list(tenant=request.tenant)
        return Response(ApiKeyOutputSerializer(keys, many=True).data)


class ApiKeyCreateApi(APIView):
    """Creates a key and shows its secret once."""

    required_scope = "admin"

    # The component's name from when one view served GET and POST: generated
    # clients keep their type name.
    @extend_schema_serializer(component_name="ApiKeyListInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

        def validate_expires_at(self, value):
            if value is not None and value <= timezone.now():
                raise serializers.ValidationError("expires_at must be in the future")
            return value

    @extend_schema(
        request=InputSerializer,
        responses={201: ApiKeyIssuedOutputSerializer},
        summary="Create a key (its secret is shown once)",
    )
    @view_ratelimit("api-key-create", key="tenant")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.api_key_create(
            tenant=request.tenant,
            created_by=request.user if request.user.is_authenticated else None,
            **serializer.validated_data,
        )
        data = ApiKeyOutputSerializer(issued.api_key).data
        data["key"] = issued.plaintext
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(APIView):
    required_scope = "admin"

    @extend_schema(responses={204: None}, summary="Revoke a key")
    def delete(self, request: Request, key_id: int) -> Response:
        api_key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)
        services.api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRotateApi(APIView):
    required_scope = "admin"

    class InputSerializer(serializers.Serializer):
        grace_hours = serializers.FloatField(
            required=False, default=24, min_value=0, max_value=720
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ApiKeyRotatedOutputSerializer,
            **errors(e409="The key is revoked, expired or already rotated."),
        },
        summary="Rotate a key: a new secret; the old one lasts grace_hours",
    )
    def post(self, request: Request, key_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = selectors.api_key_get(tenant=request.tenant, key_id=key_id)
        issued = services.api_key_rotate(
            api_key=api_key,
            created_by=request.user if request.user.is_authenticated else None,
            grace_hours=serializer.validated_data["grace_hours"],
        )
        data = ApiKeyOutputSerializer(issued.api_key).data
        data["key"] = issued.plaintext
        data["previous"] = ApiKeyOutputSerializer(
            selectors.api_key_get(tenant=request.tenant, key_id=key_id)
        ).data
        return Response(data, status=status.HTTP_201_CREATED)


class TenantWebhookSecretApi(APIView):
    """Rotate the tenant's webhook secret and show the new one, once. The old
    secret keeps signing (a second ``v1=`` in ``X-Cadml-Signature``) until
    ``previous_valid_until``."""

    required_scope = "admin"

    class OutputSerializer(serializers.Serializer):
        webhook_secret = serializers.CharField(help_text="Shown once; store it now.")
        previous_valid_until = serializers.DateTimeField(
            allow_null=True, help_text="Until then the old secret signs too."
        )
        signature_header = serializers.CharField()

    @extend_schema(
        request=None,
        responses={201: OutputSerializer, **errors()},
        summary="Rotate the webhook secret; the new one is shown once",
    )
    def post(self, request: Request) -> Response:
        tenant = services.tenant_webhook_secret_rotate(tenant=request.tenant)
        until = tenant.webhook_secret_previous_until
        return Response(
            {
                "webhook_secret": tenant.webhook_secret,
                "previous_valid_until": until.isoformat() if until else None,
                "signature_header": "X-Cadml-Signature",
            },
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )
