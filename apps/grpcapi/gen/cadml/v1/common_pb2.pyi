from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Error(_message.Message):
    __slots__ = ("code", "message", "http_status")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    http_status: int
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., http_status: _Optional[int] = ...) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("available", "label", "confidence", "top", "model_name", "model_version", "variant", "needs_review", "latency_ms", "reason", "unknown", "unknown_reason", "named_family", "parts")
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    NEEDS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_REASON_FIELD_NUMBER: _ClassVar[int]
    NAMED_FAMILY_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    available: bool
    label: str
    confidence: float
    top: _containers.RepeatedCompositeFieldContainer[LabelScore]
    model_name: str
    model_version: int
    variant: str
    needs_review: bool
    latency_ms: float
    reason: str
    unknown: bool
    unknown_reason: str
    named_family: str
    parts: _containers.RepeatedCompositeFieldContainer[PartPrediction]
    def __init__(self, available: _Optional[bool] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ..., top: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[int] = ..., variant: _Optional[str] = ..., needs_review: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., reason: _Optional[str] = ..., unknown: _Optional[bool] = ..., unknown_reason: _Optional[str] = ..., named_family: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[PartPrediction, _Mapping]]] = ...) -> None: ...

class PartPrediction(_message.Message):
    __slots__ = ("index", "name", "label", "confidence", "unknown", "unknown_reason", "needs_review", "named_family")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_REASON_FIELD_NUMBER: _ClassVar[int]
    NEEDS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    NAMED_FAMILY_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    label: str
    confidence: float
    unknown: bool
    unknown_reason: str
    needs_review: bool
    named_family: str
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., label: _Optional[str] = ..., confidence: _Optional[float] = ..., unknown: _Optional[bool] = ..., unknown_reason: _Optional[str] = ..., needs_review: _Optional[bool] = ..., named_family: _Optional[str] = ...) -> None: ...
