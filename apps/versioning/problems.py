"""RFC 9457 problem documents: the v2 error body, built in one place.

``problem_from(data, status, ...)`` turns whatever DRF's exception handler would
have sent (``{"detail": ...}``, a validation dict or list) into
``{"type", "title", "status", "detail", "instance", "request_id", "code"?,
"errors"?}``; validation messages become ``errors: [{"pointer", "detail"}]`` with
RFC 6901 JSON pointers into the request body.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apps.versioning import registry
from cadml import telemetry
from cadml.lib.request_id import current_request_id

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _flatten(value: Any, pointer: str, out: list[dict[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("non_field_errors", "detail"):
                _flatten(item, pointer, out)
            else:
                _flatten(item, f"{pointer}/{_escape(str(key))}", out)
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        for message in value:
            out.append({"pointer": pointer, "detail": str(message)})
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if item:  # DRF leaves {} for valid items of a list
                _flatten(item, f"{pointer}/{index}", out)
    else:
        out.append({"pointer": pointer, "detail": str(value)})


def is_problem(data: Any) -> bool:
    return isinstance(data, dict) and "type" in data and "status" in data


def problem_from(
    data: Any,
    status: int,
    *,
    instance: str = "",
    code: str | None = None,
    validation: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    if is_problem(data):
        return data
    problem: dict[str, Any] = {
        "type": f"urn:cadml:problem:{code or _default_code(status)}",
        "title": _title(status),
        "status": status,
    }
    if isinstance(data, dict) and set(data) == {"detail", "code", "errors"}:
        # A domain error that lists its problems itself (rows of a bulk request).
        problem["detail"] = str(data["detail"])
        problem["type"] = f"urn:cadml:problem:{data['code']}"
        problem["errors"] = data["errors"]
    elif validation or (
        status == 400
        and not (isinstance(data, dict) and set(data) <= {"detail", "code"})
    ):
        errors: list[dict[str, str]] = []
        _flatten(data, "", errors)
        problem["detail"] = _validation_summary(errors)
        problem["errors"] = errors
    elif isinstance(data, dict):
        problem["detail"] = str(data.get("detail", problem["title"]))
        if data.get("code") and code is None:
            problem["type"] = f"urn:cadml:problem:{data['code']}"
        extra = {k: v for k, v in data.items() if k not in ("detail", "code")} | extra
    else:
        problem["detail"] = str(data) if data else problem["title"]
    if code or (isinstance(data, dict) and data.get("code")):
        problem["code"] = code or data["code"]
    problem["instance"] = instance
    problem["request_id"] = current_request_id.get()
    # With tracing on, the id to find this request's trace (as X-Trace-ID).
    trace_id = telemetry.current_trace_id()
    if trace_id:
        problem["trace_id"] = trace_id
    problem.update(extra)
    return problem


def _validation_summary(errors: list[dict[str, str]]) -> str:
    fields = sorted({e["pointer"] for e in errors if e["pointer"]})
    if not fields:
        return errors[0]["detail"] if errors else "the request is invalid"
    return "the request has invalid fields: " + ", ".join(fields) + " (see errors)"


def _default_code(status: int) -> str:
    return {
        400: "invalid",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        409: "conflict",
        410: "gone",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "throttled",
    }.get(status, "error" if status >= 500 else "invalid")


def request_version(request: Any) -> str | None:
    """The API version of a DRF or Django request (None outside the API)."""
    if request is None:
        return None
    return getattr(request, "version", None) or getattr(
        getattr(request, "_request", request), "api_version", None
    )


def problem_for_version(response: Any, exc: Exception, request: Any) -> None:
    """Make ``response``'s body a problem document when the request's version
    uses them (the exception handler calls this for every handled exception)."""
    from rest_framework.exceptions import APIException, ValidationError

    name = request_version(request)
    version = registry.get(name) if name else None
    if version is None or not version.has("problem_details"):
        return
    code = getattr(exc, "code", None)
    if isinstance(exc, APIException) and not isinstance(exc, ValidationError):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else None
    extra: dict[str, Any] = {}
    field = getattr(exc, "field", None)
    if isinstance(field, str) and not is_problem(response.data):
        # A domain error about one parameter, header or field (cadml.lib.params):
        # point at it as validation errors do.
        extra["errors"] = [
            {
                "pointer": f"/{_escape(field)}",
                "detail": str(getattr(exc, "message", exc)),
            }
        ]
    response.data = problem_from(
        response.data,
        response.status_code,
        instance=getattr(request, "path", ""),
        code=code if isinstance(code, str) else None,
        validation=isinstance(exc, ValidationError),
        **extra,
    )
