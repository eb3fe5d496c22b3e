"""CAD-specific domain errors; the shared handler renders them as 4xx."""

from __future__ import annotations

from cadml.lib.errors import (
    PayloadTooLarge,
    TooManyRequests,
    Unprocessable,
    UnsupportedMediaType,
)

ACCEPTED_FORMATS = "DXF (ASCII or binary), STL (ASCII or binary), OBJ, PLY, STEP, IGES"


class UnsupportedFormat(UnsupportedMediaType):
    code = "unsupported_format"


class UnreadableFile(Unprocessable):
    """The content looked like a supported format but could not be read."""

    code = "unreadable_file"


class ResourceLimitExceeded(Unprocessable):
    """Parsing ran past the wall-time or memory limit of the isolation worker."""

    code = "resource_limit"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"


class AnalysisCapacityExceeded(TooManyRequests):
    """The tenant already has its share of the isolation pool waiting or running."""

    code = "analysis_capacity"
