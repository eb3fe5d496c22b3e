"""Domain errors; ``cadml.lib.exception_handler`` renders them for DRF.

Services raise these; interfaces (REST, gRPC, commands) translate them. A
``DomainError`` always carries a message a person can act on.
"""

from __future__ import annotations


class DomainError(Exception):
    """``field`` names the parameter, header or body field at fault, when one is:
    v2 problem documents point at it (``errors[].pointer``)."""

    status_code: int = 400
    code: str = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class AuthenticationError(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


class TooManyRequests(DomainError):
    """Refused for now; ``retry_after`` (seconds) becomes the Retry-After header."""

    status_code = 429
    code = "too_many_requests"

    def __init__(
        self, message: str, *, retry_after: int = 1, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
