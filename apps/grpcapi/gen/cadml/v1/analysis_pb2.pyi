from apps.grpcapi.gen.cadml.v1 import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnalyzeOptions(_message.Message):
    __slots__ = ("skip_preview",)
    SKIP_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    skip_preview: bool
    def __init__(self, skip_preview: _Optional[bool] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("filename", "content", "options")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content: bytes
    options: AnalyzeOptions
    def __init__(self, filename: _Optional[str] = ..., content: _Optional[bytes] = ..., options: _Optional[_Union[AnalyzeOptions, _Mapping]] = ...) -> None: ...

class TextItem(_message.Message):
    __slots__ = ("text", "kind", "handle", "layer")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    text: str
    kind: str
    handle: str
    layer: str
    def __init__(self, text: _Optional[str] = ..., kind: _Optional[str] = ..., handle: _Optional[str] = ..., layer: _Optional[str] = ...) -> None: ...

class TitleField(_message.Message):
    __slots__ = ("value", "confidence", "evidence")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    value: str
    confidence: float
    evidence: _struct_pb2.Struct
    def __init__(self, value: _Optional[str] = ..., confidence: _Optional[float] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Analysis(_message.Message):
    __slots__ = ("id", "drawing_id", "filename", "sha256", "format", "status", "recovered", "fixes", "feature_version", "features", "text", "title_block", "dimensions", "stats", "prediction", "error", "gdt", "threads", "surface_finish", "general_tolerance", "duplicates")
    class TitleBlockEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TitleField
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TitleField, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DRAWING_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    FIXES_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TITLE_BLOCK_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    GDT_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FINISH_FIELD_NUMBER: _ClassVar[int]
    GENERAL_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    id: int
    drawing_id: int
    filename: str
    sha256: str
    format: str
    status: str
    recovered: bool
    fixes: int
    feature_version: str
    features: _containers.RepeatedScalarFieldContainer[float]
    text: _containers.RepeatedCompositeFieldContainer[TextItem]
    title_block: _containers.MessageMap[str, TitleField]
    dimensions: _struct_pb2.Struct
    stats: _struct_pb2.Struct
    prediction: _common_pb2.Prediction
    error: str
    gdt: _containers.RepeatedCompositeFieldContainer[GdtFrame]
    threads: _containers.RepeatedCompositeFieldContainer[Thread]
    surface_finish: _containers.RepeatedCompositeFieldContainer[SurfaceFinish]
    general_tolerance: GeneralTolerance
    duplicates: _containers.RepeatedCompositeFieldContainer[Duplicate]
    def __init__(self, id: _Optional[int] = ..., drawing_id: _Optional[int] = ..., filename: _Optional[str] = ..., sha256: _Optional[str] = ..., format: _Optional[str] = ..., status: _Optional[str] = ..., recovered: _Optional[bool] = ..., fixes: _Optional[int] = ..., feature_version: _Optional[str] = ..., features: _Optional[_Iterable[float]] = ..., text: _Optional[_Iterable[_Union[TextItem, _Mapping]]] = ..., title_block: _Optional[_Mapping[str, TitleField]] = ..., dimensions: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stats: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., prediction: _Optional[_Union[_common_pb2.Prediction, _Mapping]] = ..., error: _Optional[str] = ..., gdt: _Optional[_Iterable[_Union[GdtFrame, _Mapping]]] = ..., threads: _Optional[_Iterable[_Union[Thread, _Mapping]]] = ..., surface_finish: _Optional[_Iterable[_Union[SurfaceFinish, _Mapping]]] = ..., general_tolerance: _Optional[_Union[GeneralTolerance, _Mapping]] = ..., duplicates: _Optional[_Iterable[_Union[Duplicate, _Mapping]]] = ...) -> None: ...

class Duplicate(_message.Message):
    __slots__ = ("drawing_id", "score", "exact")
    DRAWING_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    drawing_id: int
    score: float
    exact: bool
    def __init__(self, drawing_id: _Optional[int] = ..., score: _Optional[float] = ..., exact: _Optional[bool] = ...) -> None: ...

class DatumRef(_message.Message):
    __slots__ = ("label", "modifiers")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MODIFIERS_FIELD_NUMBER: _ClassVar[int]
    label: str
    modifiers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, label: _Optional[str] = ..., modifiers: _Optional[_Iterable[str]] = ...) -> None: ...

class GdtFrame(_message.Message):
    __slots__ = ("kind", "characteristic", "value", "diameter", "modifiers", "datums", "label", "handle")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHARACTERISTIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DIAMETER_FIELD_NUMBER: _ClassVar[int]
    MODIFIERS_FIELD_NUMBER: _ClassVar[int]
    DATUMS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    characteristic: str
    value: float
    diameter: bool
    modifiers: _containers.RepeatedScalarFieldContainer[str]
    datums: _containers.RepeatedCompositeFieldContainer[DatumRef]
    label: str
    handle: str
    def __init__(self, kind: _Optional[str] = ..., characteristic: _Optional[str] = ..., value: _Optional[float] = ..., diameter: _Optional[bool] = ..., modifiers: _Optional[_Iterable[str]] = ..., datums: _Optional[_Iterable[_Union[DatumRef, _Mapping]]] = ..., label: _Optional[str] = ..., handle: _Optional[str] = ...) -> None: ...

class Thread(_message.Message):
    __slots__ = ("system", "designation", "series", "nominal_diameter", "nominal_inch", "pitch", "tpi", "tolerance_class", "count", "handle")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DESIGNATION_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_DIAMETER_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_INCH_FIELD_NUMBER: _ClassVar[int]
    PITCH_FIELD_NUMBER: _ClassVar[int]
    TPI_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_CLASS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    system: str
    designation: str
    series: str
    nominal_diameter: float
    nominal_inch: str
    pitch: float
    tpi: int
    tolerance_class: str
    count: int
    handle: str
    def __init__(self, system: _Optional[str] = ..., designation: _Optional[str] = ..., series: _Optional[str] = ..., nominal_diameter: _Optional[float] = ..., nominal_inch: _Optional[str] = ..., pitch: _Optional[float] = ..., tpi: _Optional[int] = ..., tolerance_class: _Optional[str] = ..., count: _Optional[int] = ..., handle: _Optional[str] = ...) -> None: ...

class SurfaceFinish(_message.Message):
    __slots__ = ("parameter", "value", "default", "text", "handle")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    value: float
    default: bool
    text: str
    handle: str
    def __init__(self, parameter: _Optional[str] = ..., value: _Optional[float] = ..., default: _Optional[bool] = ..., text: _Optional[str] = ..., handle: _Optional[str] = ...) -> None: ...

class GeneralTolerance(_message.Message):
    __slots__ = ("standard", "tolerance_class", "geometrical_class", "text", "handle")
    STANDARD_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_CLASS_FIELD_NUMBER: _ClassVar[int]
    GEOMETRICAL_CLASS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    standard: str
    tolerance_class: str
    geometrical_class: str
    text: str
    handle: str
    def __init__(self, standard: _Optional[str] = ..., tolerance_class: _Optional[str] = ..., geometrical_class: _Optional[str] = ..., text: _Optional[str] = ..., handle: _Optional[str] = ...) -> None: ...

class AnalyzeStreamResult(_message.Message):
    __slots__ = ("index", "analysis", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    analysis: Analysis
    error: _common_pb2.Error
    def __init__(self, index: _Optional[int] = ..., analysis: _Optional[_Union[Analysis, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.Error, _Mapping]] = ...) -> None: ...

class GetAnalysisRequest(_message.Message):
    __slots__ = ("drawing_id",)
    DRAWING_ID_FIELD_NUMBER: _ClassVar[int]
    drawing_id: int
    def __init__(self, drawing_id: _Optional[int] = ...) -> None: ...
