from __future__ import annotations

from django.apps import AppConfig


class GrpcApiConfig(AppConfig):
    name = "apps.grpcapi"
    label = "grpcapi"
    verbose_name = "gRPC API"
