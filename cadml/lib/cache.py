"""What Django's cache raises when its Redis is unreachable.

The cache holds copies (API keys, similarity generations) or short-lived tokens;
callers that can do without it catch these and carry on, so losing Redis
degrades the platform instead of failing requests.
"""

from __future__ import annotations

from redis.exceptions import RedisError

CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
