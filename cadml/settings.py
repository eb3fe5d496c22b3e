"""cadml settings: one module, every value from the environment.

Unset variables give the embedded defaults (SQLite, local-memory cache, in-memory
channel layer, in-process batch work), so a bare checkout runs with nothing else
installed. `.env.example` lists every variable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cadml.lib.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (
    not SECRET_KEY
    or SECRET_KEY == _DEV_SECRET_KEY
    or "change-me" in SECRET_KEY
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when "
        "DEBUG is off (python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "apps.accounts",
    "auditlog",
    "apps.audit",
    "apps.ratelimit",
    "apps.cad",
    "apps.realtime",
    "apps.grpcapi",
    "apps.batch",
    "apps.modelreg",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.versioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cadml.metrics.RequestMetricsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cadml.lib.request_id.RequestIdMiddleware",
    "cadml.lib.body_limits.BodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.PrincipalMiddleware",
    "apps.ratelimit.middleware.RateLimitMiddleware",
    "apps.audit.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: after authentication, rate limiting and audit (ARCHITECTURE.md).
    "apps.versioning.middleware.VersioningMiddleware",
]

ROOT_URLCONF = "cadml.urls"
WSGI_APPLICATION = "cadml.wsgi.application"
ASGI_APPLICATION = "cadml.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0)
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / "db.sqlite3"),
        }
    }
if (
    DATABASES["default"]["ENGINE"].endswith("postgresql")
    and DATABASES["default"]["CONN_MAX_AGE"] == 0
    and env_bool("DB_POOL", True)
):
    # Under ASGI Django closes its connection at the end of every request (and
    # persistent connections are not for async servers): a psycopg pool hands the
    # same server connections out again instead of starting a backend per request.
    # With CONN_HEALTH_CHECKS the pool checks each connection (one empty round
    # trip) before handing it out, so one the server dropped (restart, failover,
    # idle timeout) is replaced instead of failing a request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DB_POOL_MAX", 16),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several threads (daphne, gRPC, in-process batch work) write at once: WAL lets
    # readers go on during a write, IMMEDIATE takes the write lock up front (no
    # deadlock on upgrade), and the timeout waits for it instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests: a file, not shared-cache memory, whose table locks ignore the timeout
    # and fail threads (servers, runners) at once; one file per test process.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"cadml-test-{os.getpid()}.sqlite3")
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer -------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# A Redis Cluster for the cache and the rate limiter (docs/redis-cluster.md):
# redis+cluster://host:port,host:port. When set, realtime uses it too.
CADML_REDIS_CLUSTER_URL = env_str("CADML_REDIS_CLUSTER_URL")
_REDIS_CACHE_OPTIONS = {"socket_timeout": 1, "socket_connect_timeout": 1}
if CADML_REDIS_CLUSTER_URL:
    CACHES = {
        "default": {
            "BACKEND": "cadml.lib.redis_cluster_cache.RedisClusterCache",
            "LOCATION": [
                f"redis://{node}"
                for node in CADML_REDIS_CLUSTER_URL.split("://", 1)[-1].split(",")
            ],
            "KEY_PREFIX": "cadml",
            "OPTIONS": _REDIS_CACHE_OPTIONS,
        }
    }
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "cadml.lib.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cadml",
            "OPTIONS": _REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if CADML_REDIS_CLUSTER_URL:
    # channels-redis' core layer runs scripts over keys of many slots; its
    # pub/sub layer needs none: a cluster relays PUBLISH to every node, so any
    # node serves any group (docs/redis-cluster.md).
    from cadml.lib.redis_client import cluster_hosts

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    f"redis://{host}:{port}"
                    for host, port in cluster_hosts(CADML_REDIS_CLUSTER_URL)
                ],
                "prefix": "cadml:ch",
            },
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "cadml:ch"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Batch items: ack after the work, give a dying worker's message back, take one
# message at a time per process; Redis priority steps (0 drains first; the
# batch app maps job priority 9 to step 0).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_PRIORITY = 4
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "priority_steps": list(range(10)),
    "sep": ":",
    "queue_order_strategy": "priority",
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers keep their database connection between tasks (cadml/celery.py); the
# web processes follow DB_CONN_MAX_AGE.
CADML_WORKER_DB_CONN_MAX_AGE = env_int("CADML_WORKER_DB_CONN_MAX_AGE", 600)
# Celery beat runs the reaper; without a broker, `manage.py serve` runs
# `batch_reap --every` instead.
CADML_BATCH_REAP_EVERY_S = env_float("CADML_BATCH_REAP_EVERY_S", 60.0)
CELERY_BEAT_SCHEDULE["batch-reap"] = {
    "task": "batch.reap",
    "schedule": CADML_BATCH_REAP_EVERY_S,
}

# --- Auth, sessions, security ----------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Health probes come in over plain HTTP from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
X_FRAME_OPTIONS = "DENY"

# Bodies larger than this (other than file uploads) are refused with 400/413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Filled by `manage.py collectstatic`; with DEBUG off its manifest is required
# (deploy check cadml.E001).
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- DRF -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "apps.accounts.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.HasTenantScope"],
    "DEFAULT_RENDERER_CLASSES": [
        "apps.versioning.renderers.VersionedJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "cadml.lib.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.versioning.pagination.VersionedPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.versioning.exception_handler.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_VERSIONING_CLASS": "apps.versioning.versioning.CadmlNamespaceVersioning",
    "DEFAULT_SCHEMA_CLASS": "apps.versioning.schema.VersionedAutoSchema",
}

# --- API versions (apps.versioning) ------------------------------------------
# The registry: status (current / supported / deprecated / sunset), dates (ISO
# 8601; a passed date takes effect without a deploy), docs, changelog, successor
# and the features each version offers. The check versioning.E002 refuses a
# sunset before its deprecation.
CADML_API_VERSIONS = {
    "v1": {
        "status": env_str("CADML_API_V1_STATUS", "supported"),
        "deprecated_at": env_str("CADML_API_V1_DEPRECATED_AT", ""),
        "sunset_at": env_str("CADML_API_V1_SUNSET_AT", ""),
        "docs": "/api/v1/docs/",
        "changelog": ["first public version: plain DRF bodies and errors"],
        "successor": "v2",
        "features": [],
    },
    "v2": {
        "status": "current",
        "docs": "/api/v2/docs/",
        "changelog": [
            'envelope {"data", "meta"}; application/problem+json errors',
            "?fields= selection; cursor pagination",
            "analyses: top-k predictions, evidence for title-block fields",
            "GET /drawings/{id}/title-block: the title block with its evidence",
        ],
        "features": [
            "envelope",
            "problem_details",
            "fields_selection",
            "cursor_pagination",
            "expanded_predictions",
            "async_analysis",
            "title_block_evidence",
        ],
    },
}
# Seconds between writes of the per-tenant call counts (apps.versioning.usage).
CADML_API_USAGE_FLUSH_S = env_float("CADML_API_USAGE_FLUSH_S", 10.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "cadml API",
    "DESCRIPTION": "CAD machine learning platform. Authenticate with "
    "`Authorization: Api-Key <key>`.",
    "SERVE_INCLUDE_SCHEMA": False,
    "DEFAULT_GENERATOR_CLASS": "apps.versioning.schema.VersionedSchemaGenerator",
    # Swagger UI and ReDoc from the installed drf-spectacular-sidecar: the docs
    # pages work offline and load no third-party script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # What Django's path converters match, so clients (and the contract test)
    # send only paths that route.
    "PATH_CONVERTER_OVERRIDES": {
        "int": {"type": "integer", "minimum": 0},
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    },
    # Choice sets shared by several components get one name each.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "apps.batch.models.BatchJob.Status",
        "JobKindEnum": "apps.batch.models.BatchJob.Kind",
        "DrawingFormatEnum": "apps.cad.models.Drawing.Format",
        "TrainingBaseEnum": "apps.modelreg.training.BASES",
    },
    "PREPROCESSING_HOOKS": ["apps.versioning.schema.keep_versioned_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.versioning.schema.versioned_shapes",
    ],
}

# --- cadml -----------------------------------------------------------------
# How long a resolved API key is trusted from cache before the database is asked
# again. Revocation clears the entry at once where the cache is shared (Redis).
CADML_AUTH_CACHE_S = env_int("CADML_AUTH_CACHE_S", 10)
CADML_REQUIRE_SERVICES = env_bool("CADML_REQUIRE_SERVICES", False)
CADML_PARSE_TIMEOUT_S = env_float("CADML_PARSE_TIMEOUT_S", 20)
CADML_PARSE_MEMORY_MB = env_int("CADML_PARSE_MEMORY_MB", 1024)
CADML_PARSE_WORKERS = env_int("CADML_PARSE_WORKERS", 2)
# The feature version STEP/IGES analyses store: brep-2, or brep-1 while the
# deployment's models are still trained on it (docs/step-iges.md).
CADML_BREP_FEATURE_VERSION = env_str("CADML_BREP_FEATURE_VERSION", "brep-2")
CADML_MAX_UPLOAD_MB = env_int("CADML_MAX_UPLOAD_MB", 50)
# Every request body, whatever the endpoint: refused on its declared length (or
# cut off when chunked) before it is read. One upload plus multipart framing.
CADML_MAX_REQUEST_BODY_MB = env_int(
    "CADML_MAX_REQUEST_BODY_MB", CADML_MAX_UPLOAD_MB + 1
)
# How long a refused connection may keep sending (its bytes dropped) before it
# is closed.
CADML_REFUSED_LINGER_S = env_float("CADML_REFUSED_LINGER_S", 2.0)
# Files of one tenant waiting or running at once in a web process's isolation
# pool (uploads analysed in the request, previews), by plan; one more is a 429.
CADML_ANALYSIS_TENANT_SLOTS = {"free": 1, "pro": 2, "enterprise": 4, "internal": 4}
CADML_ANALYSIS_RETRY_AFTER_S = env_int("CADML_ANALYSIS_RETRY_AFTER_S", 2)
CADML_SYNC_ANALYZE_MAX_MB = env_int("CADML_SYNC_ANALYZE_MAX_MB", 10)
CADML_BATCH_MAX_ITEMS = env_int("CADML_BATCH_MAX_ITEMS", 1000)
CADML_BATCH_ITEM_TIME_LIMIT_S = env_float("CADML_BATCH_ITEM_TIME_LIMIT_S", 120)
CADML_BATCH_ITEM_SOFT_TIME_LIMIT_S = env_float("CADML_BATCH_ITEM_SOFT_TIME_LIMIT_S", 90)
# A worker runs a tenant's items back to back in one task (a slice) until this
# budget is spent (docs/batch.md): Celery's per-task cost is paid per slice.
CADML_BATCH_SLICE_MS = env_int("CADML_BATCH_SLICE_MS", 250)
CADML_BATCH_SLICE_ITEMS = env_int("CADML_BATCH_SLICE_ITEMS", 100)
# Items of one tenant queued or running at once, by plan (docs/batch.md).
CADML_BATCH_CONCURRENCY = {"free": 2, "pro": 4, "enterprise": 8, "internal": 8}
# Without a broker, batch items run on this many threads of the web process.
CADML_BATCH_EMBEDDED_WORKERS = 2
# A submitted zip: at most this much uncompressed, at most this ratio per member.
CADML_BATCH_ZIP_MAX_TOTAL_MB = 500
CADML_BATCH_ZIP_MAX_RATIO = 100.0
CADML_WEBHOOK_TIMEOUT_S = 10.0
# A failed delivery is retried after 5 s, 10 s, 20 s... up to this many attempts.
CADML_WEBHOOK_MAX_ATTEMPTS = 5
CADML_WEBHOOK_BACKOFF_S = 5.0
# Runs of one item (a worker lost mid-item gives it back) before it fails.
CADML_BATCH_MAX_ATTEMPTS = 3
# batch.progress events per job and second, at most.
CADML_BATCH_PROGRESS_HZ = 4
CADML_WEBHOOK_ALLOWLIST = env_list("CADML_WEBHOOK_ALLOWLIST", [])
# After POST /api/v1/tenant/webhook-secret the old secret also signs for this long.
CADML_WEBHOOK_SECRET_GRACE_S = env_int("CADML_WEBHOOK_SECRET_GRACE_S", 24 * 3600)
# Items handed to the broker but not started after this long (a broker that lost
# its messages, e.g. a Redis restart without persistence) are dispatched again.
CADML_BATCH_DISPATCH_STALE_S = env_float("CADML_BATCH_DISPATCH_STALE_S", 600)
# Realtime (docs/realtime.md). Connections per user or key and per tenant, by
# plan; a plan not listed gets the free plan's.
CADML_WS_LIMITS = {
    "free": {"per_user": 5, "per_tenant": 20},
    "pro": {"per_user": 20, "per_tenant": 200},
    "enterprise": {"per_user": 100, "per_tenant": 2000},
    "internal": {"per_user": 5000, "per_tenant": 50000},
}
CADML_WS_HEARTBEAT_S = env_float("CADML_WS_HEARTBEAT_S", 25)
CADML_WS_HISTORY = env_int("CADML_WS_HISTORY", 1000)
CADML_WS_SLOT_TTL_S = env_float("CADML_WS_SLOT_TTL_S", 60)
CADML_WS_MAX_SUBSCRIPTIONS = env_int("CADML_WS_MAX_SUBSCRIPTIONS", 100)
CADML_WS_MAX_MESSAGE_BYTES = env_int("CADML_WS_MAX_MESSAGE_BYTES", 64 * 1024)
# Unreadable client frames within a minute before the connection is closed.
CADML_WS_MAX_BAD_MESSAGES = 10
# Lifetime of a one-time WebSocket ticket from POST /realtime/ticket.
CADML_WS_TICKET_TTL_S = 60
# Channel kinds other apps add: {"job": "apps.batch.realtime.can_subscribe_job"}.
CADML_REALTIME_CHANNEL_RESOLVERS: dict[str, str] = {}
CADML_REALTIME_CHANNEL_RESOLVERS["job"] = "apps.batch.realtime.job_channel_visible"

# Model registry (docs/models.md).
CADML_PREDICTOR = "apps.modelreg.predictor.predict_analysis"
# Similar-drawing search asks this hook for the tenant's learned metric.
CADML_SIMILARITY_METRIC = "apps.modelreg.predictor.similarity_metric"
# Nearest-neighbour index per tenant and feature version (docs/search.md).
CADML_SEARCH_EXACT_BELOW = env_int("CADML_SEARCH_EXACT_BELOW", 20000)
CADML_SEARCH_DELTA_MAX = env_int("CADML_SEARCH_DELTA_MAX", 2000)
CADML_SEARCH_DIR = Path(env_str("CADML_SEARCH_DIR") or MEDIA_ROOT / "search")
CADML_SEARCH_DTYPE = env_str("CADML_SEARCH_DTYPE", "f16")
CADML_SEARCH_CONNECTIVITY = env_int("CADML_SEARCH_CONNECTIVITY", 32)
CADML_SEARCH_EXPANSION_ADD = env_int("CADML_SEARCH_EXPANSION_ADD", 128)
# Cosine at or above which two drawings are near-duplicates (calibrated by
# bench/duplicate_threshold.py; docs/search.md).
CADML_DUPLICATE_THRESHOLD = env_float("CADML_DUPLICATE_THRESHOLD", 0.942)
CADML_SEARCH_EXPANSION_SEARCH = env_int("CADML_SEARCH_EXPANSION_SEARCH", 512)
CADML_READINESS_CHECKS: dict[str, str] = {}
CADML_READINESS_CHECKS["model"] = "apps.modelreg.predictor.active_model_ready"
CADML_READINESS_CHECKS["search_index"] = "apps.cad.index.readiness"
CADML_MODEL_NAME = env_str("CADML_MODEL_NAME", "part-classifier")
# The feature version models trained on generated DXF drawings read (the
# default model): dxf-3th, dxf-3 with the topology and hatch views, not the
# names, size and layout views of dxf-4 to dxf-7, whose words, sizes and
# layouts would be the generator's own conventions (docs/model-quality.md).
# Tenant models trained on labelled drawings take the drawings' own version.
CADML_SYNTHETIC_FEATURE_VERSION = env_str("CADML_SYNTHETIC_FEATURE_VERSION", "dxf-3th")
# The default model for STEP/IGES (brep) analyses, trained on generated solids.
CADML_MODEL_NAME_3D = env_str("CADML_MODEL_NAME_3D", "part-classifier-3d")
CADML_MODEL_MAX_MB = env_int("CADML_MODEL_MAX_MB", 50)
CADML_MODEL_CONFIDENCE_THRESHOLD = env_float("CADML_MODEL_CONFIDENCE_THRESHOLD", 0.6)
# A model that learned ``not_a_part`` answers ``unknown`` when that label is the
# most likely or holds at least this share of the calibrated probability: a
# drawing that may well be of another domain is not answered as a part.
CADML_MODEL_NOT_A_PART_SHARE = env_float("CADML_MODEL_NOT_A_PART_SHARE", 0.25)
CADML_MODEL_ACCURACY_TOLERANCE = env_float("CADML_MODEL_ACCURACY_TOLERANCE", 0.02)
CADML_MODEL_LATENCY_BUDGET_MS = env_float("CADML_MODEL_LATENCY_BUDGET_MS", 50)
# inline | thread | celery; unset: celery with CELERY_BROKER_URL, else a thread.
CADML_MODEL_HEALTHCHECK_MODE = env_str("CADML_MODEL_HEALTHCHECK_MODE") or None
# A pending activation older than this no longer blocks a new one (its process
# died mid-check).
CADML_MODEL_HEALTHCHECK_TIMEOUT_S = env_float("CADML_MODEL_HEALTHCHECK_TIMEOUT_S", 120)
CADML_MODEL_SHADOW_SAMPLE = env_float("CADML_MODEL_SHADOW_SAMPLE", 1.0)
# Seconds between checks of the registry's generation. With Redis a published
# notice reloads at once (the listener), so the poll is only a safety net.
CADML_MODEL_RELOAD_POLL_S = 15.0 if (REDIS_URL or CADML_REDIS_CLUSTER_URL) else 1.0
CADML_MODEL_RELOAD_LISTENER = True
# Training from labels (docs/learning.md).
CADML_TRAIN_MIN_PER_CLASS_FLOOR = env_int("CADML_TRAIN_MIN_PER_CLASS_FLOOR", 3)
CADML_TRAIN_CV_FOLDS = env_int("CADML_TRAIN_CV_FOLDS", 5)
# Folds over the training split on which a training from labelled drawings
# picks its estimator (fewer when a class is smaller; 1: one validation split,
# as generated sets do). One split of a few hundred drawings ranked two
# forests 3 points apart the wrong way round.
CADML_TRAIN_SELECTION_FOLDS = env_int("CADML_TRAIN_SELECTION_FOLDS", 3)
CADML_TRAIN_SEED = env_int("CADML_TRAIN_SEED", 0)
CADML_TRAIN_TIME_LIMIT_S = env_float("CADML_TRAIN_TIME_LIMIT_S", 3600)
# Trees of the two forest candidates every training compares (the default
# models, train_classifier, trainings from labels): more trees, steadier
# probabilities, slower fits and larger ONNX files.
CADML_TRAIN_RANDOM_FOREST_TREES = env_int("CADML_TRAIN_RANDOM_FOREST_TREES", 200)
CADML_TRAIN_EXTRA_TREES_TREES = env_int("CADML_TRAIN_EXTRA_TREES_TREES", 300)
# Rate-limiter cost of POST /models/{name}/train: one unit per this many
# labelled drawings.
CADML_TRAIN_DRAWINGS_PER_UNIT = env_int("CADML_TRAIN_DRAWINGS_PER_UNIT", 20)
# A training with base "default" learns the tenant's drawings beside the
# default model's generated set: this many drawings a family (0: as the
# default model, training.DEFAULT_PER_CLASS), drawn once and kept in the
# folder below while the code that draws them is unchanged.
CADML_TRAIN_BASE_PER_CLASS = env_int("CADML_TRAIN_BASE_PER_CLASS", 0)
# The default model (and a training on its base) also learns from the real
# drawings shipped in apps/modelreg/shipped (parts, and other domains as
# not_a_part); off: the generated drawings alone.
CADML_DEFAULT_SHIPPED_DRAWINGS = env_bool("CADML_DEFAULT_SHIPPED_DRAWINGS", True)
CADML_GENERATED_SET_DIR = Path(
    env_str("CADML_GENERATED_SET_DIR") or MEDIA_ROOT / "generated-sets"
)

# Rate limiting (docs/ratelimit.md). Policies per plan and per-view rates are
# overrides, entry by entry, of the tables in apps/ratelimit (policies.py,
# decorators.py): a deploy changes one plan without restating the others.
CADML_RATELIMIT_POLICIES: dict[str, object] = {}
CADML_RATELIMIT_VIEW_RATES: dict[str, str] = {}
CADML_RATELIMIT_ENABLED = env_bool("CADML_RATELIMIT_ENABLED", True)
# limits storage URL: redis://, rediss://, redis+sentinel://, redis+cluster://.
CADML_RATELIMIT_STORAGE_URL = env_str(
    "CADML_RATELIMIT_STORAGE_URL", CADML_REDIS_CLUSTER_URL or REDIS_URL
)
CADML_RATELIMIT_SOCKET_TIMEOUT_MS = env_int("CADML_RATELIMIT_SOCKET_TIMEOUT_MS", 50)
CADML_RATELIMIT_LOCAL_FRACTION = env_float("CADML_RATELIMIT_LOCAL_FRACTION", 0.5)
CADML_RATELIMIT_LOCAL_MAX_KEYS = env_int("CADML_RATELIMIT_LOCAL_MAX_KEYS", 10000)
CADML_RATELIMIT_BREAKER_BACKOFF_S = env_float("CADML_RATELIMIT_BREAKER_BACKOFF_S", 1)
CADML_RATELIMIT_BREAKER_MAX_BACKOFF_S = env_float(
    "CADML_RATELIMIT_BREAKER_MAX_BACKOFF_S", 30
)
CADML_RATELIMIT_SHADOW = env_list("CADML_RATELIMIT_SHADOW", [])
CADML_RATELIMIT_NAMESPACE = env_str("CADML_RATELIMIT_NAMESPACE", "cadml")
CADML_TRUSTED_PROXIES = env_list("CADML_TRUSTED_PROXIES", [])
# Cost of a request without a CADML_RATELIMIT_COSTS entry (below).
CADML_RATELIMIT_READ_COST = 1
CADML_RATELIMIT_WRITE_COST = 2
# Paths (regexes) never counted: probes, metrics, static files.
CADML_RATELIMIT_EXEMPT_PATHS = [
    r"^/healthz$",
    r"^/readyz$",
    r"^/metrics$",
    r"^/static/",
    r"^/favicon\.ico$",
]
# The "type" of a 429 problem body.
CADML_RATELIMIT_PROBLEM_TYPE = "urn:cadml:problem:quota-exceeded"
# WebSocket handshakes per client IP (shared), messages per connection (local).
CADML_RATELIMIT_WS_HANDSHAKE = "600/minute"
CADML_RATELIMIT_WS_MESSAGES = "120/minute"
CADML_RATELIMIT_COSTS: dict[str, object] = {}

# Observability (docs/operations.md, "Observability"). /metrics answers a bearer token
# or a client in an allow-listed network; with neither set it is closed.
CADML_METRICS_TOKEN = env_str("CADML_METRICS_TOKEN")
CADML_METRICS_ALLOW_CIDRS = env_list("CADML_METRICS_ALLOW_CIDRS", [])
CADML_LOG_FORMAT = env_str("CADML_LOG_FORMAT", "plain")
if CADML_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("CADML_LOG_FORMAT must be 'plain' or 'json'")

# Audit trail (docs/audit.md).
CADML_AUDIT_ENABLED = env_bool("CADML_AUDIT_ENABLED", True)
# Requests under these prefixes write one api.call event each.
CADML_AUDIT_PATH_PREFIXES = ["/api/"]
# HMAC key for audit digests; unset: derived from SECRET_KEY (check audit.W001).
CADML_AUDIT_SIGNING_KEY = env_str("CADML_AUDIT_SIGNING_KEY")
# api.call events are bulk-inserted every this many ms; 0 writes each at once.
CADML_AUDIT_BUFFER_MS = env_int("CADML_AUDIT_BUFFER_MS", 200)
CADML_AUDIT_RETENTION_DAYS = env_int("CADML_AUDIT_RETENTION_DAYS", 400)
# Per category or action, e.g. "api=90,auth.login_failed=730".
CADML_AUDIT_RETENTION_OVERRIDES = env_str("CADML_AUDIT_RETENTION_OVERRIDES")
# Events one seal run hashes at most; the next run goes on from there.
CADML_AUDIT_SEAL_MAX_EVENTS = 100_000
# Encryption of the events' personal fields (docs/audit-encryption.md): KEKs as
# 32-byte base64/hex keys, comma-separated, the newest (which wraps) first.
CADML_AUDIT_ENCRYPT = env_bool("CADML_AUDIT_ENCRYPT", False)
CADML_AUDIT_KEK = env_list("CADML_AUDIT_KEK", [])
# How long a process keeps an unwrapped data key in memory (and so how long after
# a shred another process may still read or write with it).
CADML_AUDIT_KEY_CACHE_S = env_float("CADML_AUDIT_KEY_CACHE_S", 60.0)
AUDITLOG_CID_GETTER = "apps.audit.context.request_id_for_auditlog"
CELERY_BEAT_SCHEDULE["audit-seal"] = {
    "task": "apps.audit.tasks.audit_seal_task",
    "schedule": env_float("CADML_AUDIT_SEAL_EVERY_S", 300.0),
}
CELERY_BEAT_SCHEDULE["audit-purge"] = {
    "task": "apps.audit.tasks.audit_purge_task",
    "schedule": 24 * 3600.0,
}

# Rate-limit cost per URL name (default: 1 for reads, 2 for writes).
CADML_RATELIMIT_COSTS = {
    "drawings": {"POST": 5, "*": 1},
    "drawing-analyze": 5,
    "jobs": {"POST": "apps.batch.ratelimit.submission_cost", "*": 1},
    "model-train": {"POST": "apps.modelreg.ratelimit.training_cost", "*": 1},
}
# The same per gRPC method: analysing is dear, reading is cheap (1).
CADML_GRPC_RATELIMIT_COSTS = {
    "/cadml.v1.AnalysisService/Analyze": 5,
    "/cadml.v1.BatchService/SubmitJob": 5,
}

# Extra processes `manage.py serve` (make run) starts beside daphne.
CADML_GRPC_BIND = env_str("CADML_GRPC_BIND", "127.0.0.1:50051")
CADML_SERVE_EXTRA = {
    "grpc": ["{python}", "manage.py", "rungrpc", "--bind", CADML_GRPC_BIND],
}

# --- Logging ---------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# Our own loggers (apps.*, cadml.*, django.*) speak at LOG_LEVEL; libraries
# (ezdxf writes one INFO line per unset header variable, celery, kombu, grpc...)
# only warn, unless LOG_LEVEL=DEBUG asks for everything.
LOG_LEVEL_LIBRARIES = (
    LOG_LEVEL if LOG_LEVEL in ("DEBUG", "ERROR", "CRITICAL") else "WARNING"
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL_LIBRARIES},
    "loggers": {
        "apps": {"level": LOG_LEVEL},
        "cadml": {"level": LOG_LEVEL},
        "django": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
    },
}
# Every record carries request_id and trace_id; CADML_LOG_FORMAT=json writes one
# JSON object per line (cadml.telemetry.JsonFormatter).
LOGGING["filters"] = {"context": {"()": "cadml.telemetry.LogContextFilter"}}
LOGGING["formatters"]["json"] = {"()": "cadml.telemetry.JsonFormatter"}  # type: ignore
LOGGING["handlers"]["console"]["filters"] = ["context"]  # type: ignore
if CADML_LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"  # type: ignore
