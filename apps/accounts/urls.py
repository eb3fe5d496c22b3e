from __future__ import annotations

from django.urls import path

from apps.accounts import api
from cadml.lib.routing import by_method

urlpatterns = [
    path("me", api.MeApi.as_view(), name="me"),
    path("tenant", api.TenantDetailApi.as_view(), name="tenant"),
    path(
        "tenant/webhook-secret",
        api.TenantWebhookSecretApi.as_view(),
        name="tenant-webhook-secret",
    ),
    path(
        "api-keys",
        by_method(get=api.ApiKeyListApi.as_view(), post=api.ApiKeyCreateApi.as_view()),
        name="api-keys",
    ),
    path("api-keys/<int:key_id>", api.ApiKeyRevokeApi.as_view(), name="api-key"),
    path(
        "api-keys/<int:key_id>/rotate",
        api.ApiKeyRotateApi.as_view(),
        name="api-key-rotate",
    ),
]
