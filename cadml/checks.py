"""Project-wide deploy checks (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.staticfiles, deploy=True)
def check_static_manifest(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """With DEBUG off, static files are served from the manifest ``collectstatic``
    writes; without it the admin, login and browsable API pages are 500s."""
    if settings.DEBUG:
        return []
    from django.contrib.staticfiles.storage import staticfiles_storage

    manifest_name = getattr(staticfiles_storage, "manifest_name", None)
    if manifest_name is None:
        return []
    manifest_storage = getattr(
        staticfiles_storage, "manifest_storage", staticfiles_storage
    )
    if manifest_storage.exists(manifest_name):
        return []
    return [
        Error(
            f"The static files manifest ({settings.STATIC_ROOT}/{manifest_name}) "
            "is missing: with DEBUG off the admin, login and browsable API pages "
            "would fail.",
            hint="Run `python manage.py collectstatic --noinput` before serving.",
            id="cadml.E001",
        )
    ]
