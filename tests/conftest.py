"""The small named world every test can use (STYLE.md rule 16).

tenant A: owner_a (owner), member_a (member), viewer_a (viewer)
tenant B: owner_b (owner)
staff:    a staff user with no tenant
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Tenant
from apps.accounts.services import api_key_create, membership_create, tenant_create

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus" / "dxf"


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason``, or fail when CI demands the real services."""
    if condition:
        return
    if os.environ.get("CADML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required but missing: {reason}")
    pytest.skip(reason)


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _ratelimit_namespace(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """Each test's rate-limit counters start at zero (they live in Redis, across
    tests and runs), in this process and in servers the test starts; the limiter
    itself stays on."""
    namespace = f"test-{os.urandom(6).hex()}"
    settings.CADML_RATELIMIT_NAMESPACE = namespace
    monkeypatch.setenv("CADML_RATELIMIT_NAMESPACE", namespace)


@pytest.fixture(autouse=True)
def _audit_unbuffered(settings):  # type: ignore[no-untyped-def]
    """api.call audit events are written at once under test, not by the buffer's
    writer thread (which would commit outside the test's transaction)."""
    settings.CADML_AUDIT_BUFFER_MS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """The named world's users have passwords; hashing them with the production
    hasher costs a fifth of a second each. Every password check in the suite
    happens in this process, so a cheap hasher changes nothing under test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _no_earlier_runs_redis_state() -> None:
    """A test run's database starts its ids at 1 again, but Redis keeps what an
    earlier run left for a day: the realtime history of ``job:54`` (a watch
    would replay that job's final event for this run's job 54), counters,
    cached rows. An xdist worker's Redis databases are the test run's own
    (tests/xdist_worker.py): emptied at its start; without xdist only the
    realtime history is removed from the configured one."""
    import redis

    from apps.realtime import history
    from tests.xdist_worker import worker_number

    urls = [settings.REDIS_URL or "", settings.CELERY_BROKER_URL or ""]
    for url in urls:
        if not url.startswith(("redis://", "rediss://")):
            continue
        client = redis.Redis.from_url(url)
        try:
            if worker_number() is not None:
                client.flushdb()
            elif url == settings.REDIS_URL:
                keys = list(client.scan_iter(f"{history.KEY_PREFIX}:*", count=1000))
                if keys:
                    client.delete(*keys)
        except redis.ConnectionError:
            pass  # no Redis here: the tests that need it skip or fail on their own
        finally:
            client.close()


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():  # type: ignore[no-untyped-def]
    """After each transactional test Django empties every table with one
    TRUNCATE, which re-creates each table's files: a second or so per test on
    a busy PostgreSQL. DELETE empties the same tables in milliseconds; as a
    superuser, in replica mode, so neither foreign keys nor the audit tables'
    append-only triggers stand in the way (TRUNCATE fires neither). Without
    superuser rights it stays TRUNCATE. Sequences run on as before.

    Content types and permissions are kept (migrate's rows, which post_migrate
    re-created with new ids after each test): a server process shared by a
    module's tests caches their ids."""
    from django.db import connections
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush
    kept = {"django_content_type", "auth_permission"}
    superuser: dict[str, bool] = {}

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        alias = self.connection.alias
        if alias not in superuser:
            with connections[alias].cursor() as cursor:
                cursor.execute("SHOW is_superuser")
                superuser[alias] = cursor.fetchone()[0] == "on"
        tables = [table for table in tables if table not in kept]
        if reset_sequences or allow_cascade or not superuser[alias] or not tables:
            return truncate(
                self,
                style,
                tables,
                reset_sequences=reset_sequences,
                allow_cascade=allow_cascade,
            )
        # SET LOCAL: execute_sql_flush runs these in one transaction.
        return ["SET LOCAL session_replication_role = replica"] + [
            f"DELETE FROM {self.quote_name(table)}" for table in tables
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test databases, and at the end the connections threads
    of the session left open are closed first: PostgreSQL waits five seconds
    on them before it refuses to drop the database."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()


@pytest.fixture
def postgres() -> None:
    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "PostgreSQL not configured: set DATABASE_URL=postgres://...",
    )


def redis_missing(url: str) -> str | None:
    """Why the Redis at ``url`` cannot be used, in words that say what to do,
    or None when it answers. A running Redis with ``REDIS_URL`` unset is not an
    unreachable one."""
    if not url:
        if _reachable("redis://127.0.0.1:6379", 6379):
            return (
                "REDIS_URL is not set (a Redis answers on 127.0.0.1:6379: "
                "export REDIS_URL=redis://127.0.0.1:6379/0)"
            )
        return "REDIS_URL is not set and no Redis answers on 127.0.0.1:6379"
    if not _reachable(url, 6379):
        parsed = urlparse(url)  # host and port only: the URL may hold a password
        return (
            f"Redis not reachable at {parsed.hostname or '127.0.0.1'}:"
            f"{parsed.port or 6379} (from REDIS_URL)"
        )
    return None


@pytest.fixture
def redis_url() -> str:
    url = settings.REDIS_URL or os.environ.get("REDIS_URL", "")
    reason = redis_missing(url)
    require(reason is None, reason or "")
    return url


@pytest.fixture
def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    require(path is not None, "redis-server is not installed")
    return str(path)


@pytest.fixture(scope="session")
def redis_cluster():  # type: ignore[no-untyped-def]
    """A local three-master Redis Cluster with a replica per master, shared by
    the session's cluster tests (tests/redis_cluster.py)."""
    from tests.redis_cluster import running_cluster

    require(
        shutil.which("redis-server") is not None
        and shutil.which("redis-cli") is not None,
        "redis-server / redis-cli are not installed",
    )
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def corpus_dir() -> Path:
    require(CORPUS_DIR.is_dir(), f"DXF corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


def _user(django_user_model, username: str, **extra):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username=username, password="pw-" + username + "-123", **extra
    )


@pytest.fixture
def tenant_a(db) -> Tenant:  # type: ignore[no-untyped-def]
    return tenant_create(slug="tenant-a", name="Tenant A", plan="pro")


@pytest.fixture
def tenant_b(db) -> Tenant:  # type: ignore[no-untyped-def]
    return tenant_create(slug="tenant-b", name="Tenant B", plan="free")


@pytest.fixture
def owner_a(django_user_model, tenant_a):  # type: ignore[no-untyped-def]
    user = _user(django_user_model, "owner-a")
    membership_create(tenant=tenant_a, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def member_a(django_user_model, tenant_a):  # type: ignore[no-untyped-def]
    user = _user(django_user_model, "member-a")
    membership_create(tenant=tenant_a, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def viewer_a(django_user_model, tenant_a):  # type: ignore[no-untyped-def]
    user = _user(django_user_model, "viewer-a")
    membership_create(tenant=tenant_a, user=user, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def owner_b(django_user_model, tenant_b):  # type: ignore[no-untyped-def]
    user = _user(django_user_model, "owner-b")
    membership_create(tenant=tenant_b, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return _user(django_user_model, "staff", is_staff=True)


def key_client(tenant: Tenant, user, scopes: list[str]) -> APIClient:  # type: ignore[no-untyped-def]
    issued = api_key_create(tenant=tenant, name="test", scopes=scopes, created_by=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    client.api_key = issued.api_key  # type: ignore[attr-defined]
    client.plaintext = issued.plaintext  # type: ignore[attr-defined]
    return client


@pytest.fixture
def api_client_a(owner_a, tenant_a) -> APIClient:  # type: ignore[no-untyped-def]
    """Tenant A, API key with read and write scopes."""
    return key_client(tenant_a, owner_a, ["read", "write"])


@pytest.fixture
def admin_client_a(owner_a, tenant_a) -> APIClient:  # type: ignore[no-untyped-def]
    """Tenant A, API key with the admin scope."""
    return key_client(tenant_a, owner_a, ["admin"])


@pytest.fixture
def api_client_b(owner_b, tenant_b) -> APIClient:  # type: ignore[no-untyped-def]
    """Tenant B, API key with read and write scopes."""
    return key_client(tenant_b, owner_b, ["read", "write"])


@pytest.fixture
def session_client():  # type: ignore[no-untyped-def]
    def make(user) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def assert_other_tenant_404() -> Callable[..., None]:
    """Assert that ``client`` gets 404 (not 403, not data) for another tenant's
    object at ``url``."""

    def check(client: APIClient, url: str, method: str = "get", **kwargs) -> None:  # type: ignore[no-untyped-def]
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 404, (
            f"{method.upper()} {url} answered {response.status_code}, expected 404: "
            f"{getattr(response, 'data', response.content)!r}"
        )

    return check
