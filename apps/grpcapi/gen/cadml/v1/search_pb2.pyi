from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchFilters(_message.Message):
    __slots__ = ("label", "format", "created_from", "created_to", "exclude_identical")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_TO_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_IDENTICAL_FIELD_NUMBER: _ClassVar[int]
    label: str
    format: str
    created_from: str
    created_to: str
    exclude_identical: bool
    def __init__(self, label: _Optional[str] = ..., format: _Optional[str] = ..., created_from: _Optional[str] = ..., created_to: _Optional[str] = ..., exclude_identical: _Optional[bool] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("filename", "content", "k", "filters")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content: bytes
    k: int
    filters: SearchFilters
    def __init__(self, filename: _Optional[str] = ..., content: _Optional[bytes] = ..., k: _Optional[int] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ...) -> None: ...

class SimilarRequest(_message.Message):
    __slots__ = ("drawing_id", "k", "filters")
    DRAWING_ID_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    drawing_id: int
    k: int
    filters: SearchFilters
    def __init__(self, drawing_id: _Optional[int] = ..., k: _Optional[int] = ..., filters: _Optional[_Union[SearchFilters, _Mapping]] = ...) -> None: ...

class Neighbour(_message.Message):
    __slots__ = ("drawing_id", "name", "sha256", "format", "label", "score", "duplicate")
    DRAWING_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    drawing_id: int
    name: str
    sha256: str
    format: str
    label: str
    score: float
    duplicate: bool
    def __init__(self, drawing_id: _Optional[int] = ..., name: _Optional[str] = ..., sha256: _Optional[str] = ..., format: _Optional[str] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("space", "results", "query_feature_version", "query_features")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FEATURE_VERSION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FEATURES_FIELD_NUMBER: _ClassVar[int]
    space: str
    results: _containers.RepeatedCompositeFieldContainer[Neighbour]
    query_feature_version: str
    query_features: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, space: _Optional[str] = ..., results: _Optional[_Iterable[_Union[Neighbour, _Mapping]]] = ..., query_feature_version: _Optional[str] = ..., query_features: _Optional[_Iterable[float]] = ...) -> None: ...
