"""The Celery app. Without ``CELERY_BROKER_URL`` nothing connects to a broker:
batch work runs in-process (see the batch app)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")

app = Celery("cadml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connections in workers. Celery's Django fixup closes every connection
# before and after each task unless CELERY_DB_REUSE_MAX is set (read under that old
# name only): a new PostgreSQL connection, a backend fork on the server, for every
# batch item. Instead the fixup recycles connections only every N tasks, and after
# each task Django's own rule applies: a connection is kept for
# CADML_WORKER_DB_CONN_MAX_AGE seconds and dropped at once when it broke.
app.conf["CELERY_DB_REUSE_MAX"] = 1000


def worker_database_settings() -> None:
    """How a worker process talks to the database (also used by the batch bench's
    pool, so that both sides of its comparison run with the same settings)."""
    from django.conf import settings
    from django.db import connections

    max_age = settings.CADML_WORKER_DB_CONN_MAX_AGE
    for alias in connections:
        db = connections.settings[alias]
        db["CONN_MAX_AGE"] = max_age
        # A process running one task at a time keeps one connection: no pool
        # (which Django refuses beside persistent connections, and which
        # Celery's fix-up would close in every prefork child anyway).
        db.get("OPTIONS", {}).pop("pool", None)
        # No SELECT 1 before every task: a connection that broke fails that
        # task with a transient error, which retries, and close_old_connections
        # below drops the connection first.
        db["CONN_HEALTH_CHECKS"] = False
        # Lets psycopg prepare statements bound on the server: the batch item's
        # claim and finish (apps/batch/sql.py) are parsed and planned once per
        # connection. Django's own queries are bound in the client and are
        # never prepared. Behind PgBouncer in transaction mode, use 1.21+ with
        # max_prepared_statements set, or set this to None.
        db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)


@worker_init.connect(dispatch_uid="cadml.celery.db_conn_max_age")
def _keep_db_connections(**_: Any) -> None:
    # Runs in the worker's main process before the pool forks: every pool
    # process inherits the settings.
    worker_database_settings()


@task_prerun.connect(dispatch_uid="cadml.celery.close_old_connections_pre")
@task_postrun.connect(dispatch_uid="cadml.celery.close_old_connections")
def _close_old_connections(**_: Any) -> None:
    from django.db import close_old_connections

    close_old_connections()


from cadml.telemetry import connect_celery_signals  # noqa: E402

connect_celery_signals()
