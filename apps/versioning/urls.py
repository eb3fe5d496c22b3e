from __future__ import annotations

from django.urls import path

from apps.versioning import views

urlpatterns = [
    path("schema/", views.SchemaApi.as_view(), name="schema"),
    path("docs/", views.SwaggerUiApi.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", views.RedocApi.as_view(url_name="schema"), name="redoc"),
]
