"""Version changes, Stripe style: v1 is v2 transformed, one small class per change.

Views render the current (v2) shape. For an older version the renderer applies,
newest first, every change introduced after it; each change turns the shape of
the version it introduced into the shape of the version before. Adding a v3
means writing the v3 views and one class per difference with ``version = "v3"``,
never a second copy of the views.

A change decides for itself whether a body concerns it (by URL name or by shape),
so changes stay independent of the apps that produce the bodies.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apps.versioning import registry


class VersionChange:
    """One documented difference between ``version`` and the version before it."""

    version: ClassVar[str]  # the version that introduced the change
    description: ClassVar[str]
    # URL names (without namespace) the change concerns; empty means "any body".
    url_names: ClassVar[frozenset[str]] = frozenset()

    def applies(self, url_name: str | None) -> bool:
        return not self.url_names or url_name in self.url_names

    def to_previous(self, data: Any) -> Any:
        raise NotImplementedError

    def schema_to_previous(self, components: dict[str, Any]) -> None:
        """Turn the OpenAPI component schemas the same way (in place); a change
        that no schema shows (a free-form JSON field) leaves them alone."""


def _each_object(data: Any) -> list[dict[str, Any]]:
    """The body's object(s): a dict, or the dicts of a list or of DRF's page."""
    if isinstance(data, dict):
        if isinstance(data.get("results"), list):
            return [d for d in data["results"] if isinstance(d, dict)]
        return [data]
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    return []


class PredictionsCollapsedToTopOne(VersionChange):
    """v2 analyses carry ``predictions``: the top-k ``[{"label", "score"}, ...]``.
    v1 had one ``prediction`` label and its ``confidence``."""

    version = "v2"
    description = "analyses: top-k predictions replace prediction + confidence"

    def to_previous(self, data: Any) -> Any:
        for obj in _each_object(data):
            for target in (obj, obj.get("analysis")):
                if not isinstance(target, dict) or not isinstance(
                    target.get("predictions"), list
                ):
                    continue
                predictions = target.pop("predictions")
                best = predictions[0] if predictions else {}
                target["prediction"] = best.get("label")
                target["confidence"] = best.get("score")
        return data

    def schema_to_previous(self, components: dict[str, Any]) -> None:
        for component in components.values():
            properties = component.get("properties") or {}
            if "predictions" not in properties:
                continue
            del properties["predictions"]
            properties["prediction"] = {
                "type": "string",
                "nullable": True,
                "description": "The most likely label.",
            }
            properties["confidence"] = {"type": "number", "nullable": True}
            required = component.get("required")
            if required is not None and "predictions" in required:
                required.remove("predictions")
                required += ["prediction", "confidence"]


class TitleBlockEvidenceDropped(VersionChange):
    """v2 title-block fields are ``{"value", "evidence"}`` (where in the drawing the
    value was read). v1 had the bare value."""

    version = "v2"
    description = "analyses: title-block fields carry their evidence"

    def to_previous(self, data: Any) -> Any:
        for obj in _each_object(data):
            for target in (obj, obj.get("analysis"), obj.get("text")):
                if not isinstance(target, dict):
                    continue
                block = target.get("title_block")
                if not isinstance(block, dict):
                    continue
                for key, value in block.items():
                    if isinstance(value, dict) and "evidence" in value:
                        block[key] = value.get("value")
        return data


class DrawingAnnotationsAdded(VersionChange):
    """v2 analyses add the ISO 7200 title-block fields beyond v1's ten, tolerance
    fields on dimension entities, and top-level ``gdt``, ``threads``,
    ``surface_finish`` and ``general_tolerance``. v1 had none of them."""

    version = "v2"
    description = (
        "analyses: more title-block fields, dimension tolerances and fits, "
        "gdt, threads, surface_finish, general_tolerance"
    )
    sections = ("gdt", "threads", "surface_finish", "general_tolerance")
    title_fields = (
        "supplementary_title",
        "checked_by",
        "approved_by",
        "document_type",
        "projection",
        "general_tolerance",
        "surface_finish",
        "units",
    )
    entity_fields = (
        "upper",
        "lower",
        "tolerance_class",
        "fit",
        "limits",
        "count",
        "tolerance_source",
    )

    def to_previous(self, data: Any) -> Any:
        for obj in _each_object(data):
            for target in (obj, obj.get("analysis")):
                if not isinstance(target, dict) or not isinstance(
                    target.get("dimensions"), dict
                ):
                    continue
                for name in self.sections:
                    target.pop(name, None)
                dims = target["dimensions"]
                dims.pop("toleranced", None)
                for entity in dims.get("entities") or []:
                    if isinstance(entity, dict):
                        for name in self.entity_fields:
                            entity.pop(name, None)
                block = target.get("title_block")
                if isinstance(block, dict):
                    for name in self.title_fields:
                        block.pop(name, None)
        return data

    def schema_to_previous(self, components: dict[str, Any]) -> None:
        analysis = components.get("AnalysisOutput")
        if not isinstance(analysis, dict):
            return
        props = analysis.setdefault("properties", {})
        for name in self.sections:
            props.pop(name, None)
        if "required" in analysis:
            analysis["required"] = [
                r for r in analysis["required"] if r not in self.sections
            ]
        # v1 title blocks are bare values; its dimensions an open object.
        props["title_block"] = {
            "type": "object",
            "readOnly": True,
            "additionalProperties": {"type": "string", "nullable": True},
        }
        props["dimensions"] = {"type": "object", "readOnly": True}


class _AnalysisFieldsDropped(VersionChange):
    """v2 analyses (objects with ``predictions``, or an upload's ``analysis``)
    carry ``fields`` that v1's did not: dropped from bodies and schemas."""

    fields: ClassVar[tuple[str, ...]] = ()

    def to_previous(self, data: Any) -> Any:
        for obj in _each_object(data):
            for target in (obj, obj.get("analysis")):
                if isinstance(target, dict) and "predictions" in target:
                    for name in self.fields:
                        target.pop(name, None)
        return data

    def schema_to_previous(self, components: dict[str, Any]) -> None:
        for component in components.values():
            properties = component.get("properties") or {}
            if "predictions" not in properties:
                continue
            for name in self.fields:
                properties.pop(name, None)
            if "required" in component:
                component["required"] = [
                    r for r in component["required"] if r not in self.fields
                ]


class OpenSetAnswersDropped(_AnalysisFieldsDropped):
    """v2 analyses say ``unknown`` (far from every class the model knows), why
    (``unknown_reason``), ``needs_review`` and the family the drawing's name
    gave (``named``) at the top level; v1 had ``needs_review`` under ``model``
    only, and none of the others."""

    version = "v2"
    description = "analyses: open-set unknown and needs_review beside predictions"
    fields = ("unknown", "unknown_reason", "needs_review", "named")


class PartPredictionsDropped(_AnalysisFieldsDropped):
    """v2 analyses of a STEP or IGES file of several parts answer each part
    (``part_predictions``); v1 answers the whole file only."""

    version = "v2"
    description = "analyses: each part of a multi-part STEP/IGES file answered"
    fields = ("part_predictions",)

    def schema_to_previous(self, components: dict[str, Any]) -> None:
        components.pop("PartPrediction", None)
        super().schema_to_previous(components)


# In order of introduction; the renderer walks it backwards.
CHANGES: list[VersionChange] = [
    PredictionsCollapsedToTopOne(),
    TitleBlockEvidenceDropped(),
    DrawingAnnotationsAdded(),
    OpenSetAnswersDropped(),
    PartPredictionsDropped(),
]


def _number(name: str) -> int:
    return int(name[1:])


def transform(data: Any, *, version: str, url_name: str | None) -> Any:
    """Turn a current-version body into ``version``'s shape."""
    target = _number(version)
    if target >= _number(registry.current().name):
        return data
    for change in reversed(CHANGES):
        if _number(change.version) > target and change.applies(url_name):
            data = change.to_previous(data)
    return data


def transform_schema(components: dict[str, Any], *, version: str) -> None:
    """Turn the current version's component schemas into ``version``'s."""
    target = _number(version)
    if target >= _number(registry.current().name):
        return
    for change in reversed(CHANGES):
        if _number(change.version) > target:
            change.schema_to_previous(components)


def changelog(version: str) -> list[str]:
    """What changed in ``version`` relative to the one before (for the docs)."""
    return [c.description for c in CHANGES if c.version == version]
