"""Client input -> Python values, or an ``InvalidInput`` naming the field.

Query parameters, headers, JSON values and gRPC message fields all pass through
these functions, so every interface refuses the same input with the same
message: REST answers 400 (v2: a problem document whose ``errors[].pointer``
names the field), gRPC answers INVALID_ARGUMENT. They only check what the
database or Python would otherwise choke on (impossible dates, UTC offsets
past a day, NUL and control characters, lone surrogates, lengths past a
column's size); what a value means is the service's business.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, overload

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cadml.lib.errors import InvalidInput

# No single parameter we accept needs more; longer values are refused before
# they reach a regular expression or a query.
DEFAULT_MAX_LENGTH = 1000
_MAX_WHEN_LENGTH = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUL = re.compile("\x00")
# "+01:00" arrives as " 01:00" when a client forgets to percent-encode the "+".
_SPACE_BEFORE_OFFSET = re.compile(r"(?<=\d) (\d{2}(?::?\d{2})?)$")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?$")


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def _bad_char(value: str, *, controls: bool) -> str | None:
    """The first character no column or log line should hold, if any."""
    match = (_CONTROL if controls else _NUL).search(value)
    if match:
        return match.group()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from JSON "\ud800"
        return value[exc.start]
    return None


def text(
    raw: Any,
    *,
    field: str,
    max_length: int | None = DEFAULT_MAX_LENGTH,
    allow_controls: bool = False,
) -> str:
    """A stripped string ('' when absent) with no NUL (nor, unless
    ``allow_controls``, another control character), no lone surrogate and at
    most ``max_length`` characters."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidInput(f"{field}: must be a string", field=field)
    value = raw.strip()
    bad = _bad_char(value, controls=not allow_controls)
    if bad is not None:
        raise InvalidInput(
            f"{field}: must not contain the character {_describe(bad)}",
            field=field,
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            f"{field}: at most {max_length} characters (got {len(value)})",
            field=field,
        )
    return value


@overload
def integer(
    raw: Any, *, field: str, minimum: int, maximum: int, default: int
) -> int: ...


@overload
def integer(
    raw: Any, *, field: str, minimum: int, maximum: int, default: None = None
) -> int | None: ...


def integer(
    raw: Any, *, field: str, minimum: int, maximum: int, default: int | None = None
) -> int | None:
    """A whole number in [minimum, maximum]; ``default`` when absent."""
    value = text(raw, field=field, max_length=40)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise InvalidInput(
            f"{field}: must be a whole number from {minimum} to {maximum}",
            field=field,
        )
    return number


def when(raw: Any, *, field: str, end_of_day: bool = False) -> datetime | None:
    """An aware datetime from an ISO 8601 date-time or a date (YYYY-MM-DD).

    A naive date-time is in the default time zone (UTC). A bare date means its
    first instant, or with ``end_of_day`` the first instant of the next day, so
    that ``until=2024-05-01`` includes all of 1 May. None when absent.
    """
    value = text(raw, field=field, max_length=_MAX_WHEN_LENGTH)
    if not value:
        return None
    value = _SPACE_BEFORE_OFFSET.sub(r"+\1", value)
    expected = "a date (YYYY-MM-DD) or an ISO 8601 date-time"
    offset = _OFFSET.search(value) if "T" in value or " " in value else None
    if offset and (int(offset.group(2)) > 23 or int(offset.group(3) or 0) > 59):
        raise InvalidInput(
            f"{field}: the UTC offset {offset.group()} is out of range "
            "(-23:59 to +23:59)",
            code="invalid_date",
            field=field,
        )
    try:
        # A date first: parse_datetime would also take "2024-05-01", as midnight.
        day = parse_date(value)
        if day is not None:
            moment = datetime.combine(day, time.min)
            if end_of_day:
                moment += timedelta(days=1)
        else:
            parsed = parse_datetime(value)
            if parsed is None:
                raise InvalidInput(
                    f"{field}: {value!r} is not {expected}",
                    code="invalid_date",
                    field=field,
                )
            moment = parsed
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        # In UTC: the instant must exist there (0001-01-01T00:00+01:00 does not),
        # and PostgreSQL refuses offsets past 15:59 that Python accepts.
        moment = moment.astimezone(UTC)
    except ValueError as exc:  # 2020-02-30, 2020-13-45, T25:00
        raise InvalidInput(
            f"{field}: {value!r} is not a real date or time ({exc})",
            code="invalid_date",
            field=field,
        ) from None
    except OverflowError:
        raise InvalidInput(
            f"{field}: {value!r} is outside the supported range of dates",
            code="invalid_date",
            field=field,
        ) from None
    return moment


def json_value(value: Any, *, field: str, max_depth: int = 32) -> Any:
    """``value`` (parsed JSON) if PostgreSQL can store it: no NUL and no lone
    surrogate in any string or key, at most ``max_depth`` levels deep."""
    _check_json(value, field=field, pointer="", depth=max_depth)
    return value


def _check_json(value: Any, *, field: str, pointer: str, depth: int) -> None:
    if depth < 0:
        raise InvalidInput(f"{field}: nested too deeply", field=field)
    if isinstance(value, str):
        bad = _bad_char(value, controls=False)
        if bad is not None:
            raise InvalidInput(
                f"{field}: the text at {pointer or '/'} must not contain the "
                f"character {_describe(bad)}",
                field=field,
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            key_pointer = f"{pointer}/{key}"
            _check_json(str(key), field=field, pointer=key_pointer, depth=depth)
            _check_json(item, field=field, pointer=key_pointer, depth=depth - 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(
                item, field=field, pointer=f"{pointer}/{index}", depth=depth - 1
            )


# A date (YYYY-MM-DD) or an ISO 8601 date-time; the schema says string.
@extend_schema_field(OpenApiTypes.STR)
class WhenField(serializers.Field):
    """``when()`` as a DRF serializer field, for filter and input serializers:
    the same dates accepted and refused, with the same messages."""

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime | None:
        try:
            return when(data, field=self.field_name or "", end_of_day=self.end_of_day)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()
