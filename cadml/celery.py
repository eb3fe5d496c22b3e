"""The Celery app. Without ``CELERY_BROKER_URL`` nothing connects to a broker:
batch work runs in-process (see the batch app)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

app = Celery("cadml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from cadml.telemetry import connect_celery_signals  # noqa: E402

connect_celery_signals()
