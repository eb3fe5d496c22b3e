"""STEP product structure and semantic PMI, read through OpenCascade's XCAF.

The plain STEP reader gives one shape; the XCAF reader (``STEPCAFControl_Reader``)
also keeps the assembly tree (which product each solid is, where it is placed)
and AP242's semantic PMI (dimensions, geometric tolerances, datums). It is
slower than the plain reader, so ``brep.load`` uses it only for files that hold
an assembly or PMI (``wanted``). Runs inside the isolation worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A file needs the tree when one product is used inside another, and the PMI
# reader when it holds semantic dimensions, tolerances or datums (AP242).
# Plain substring tests: several times faster than one regex on large files.
_MARKERS = (b"NEXT_ASSEMBLY_USAGE_OCCURRENCE", b"DIMENSIONAL_", b"_TOLERANCE", b"DATUM")
SOURCE = "step-pmi"
MAX_PMI = 2_000  # per kind, as for drawings' annotations

# XCAFDimTolObjects_DimensionType_<name> -> the kinds DXF dimensions use.
_DIM_KINDS = {
    "Size_Diameter": "diameter",
    "Size_SphericalDiameter": "diameter",
    "Size_ToroidalMinorDiameter": "diameter",
    "Size_ToroidalMajorDiameter": "diameter",
    "Size_ToroidalHighMajorDiameter": "diameter",
    "Size_ToroidalLowMajorDiameter": "diameter",
    "Size_Radius": "radius",
    "Size_SphericalRadius": "radius",
    "Size_ToroidalMinorRadius": "radius",
    "Size_ToroidalMajorRadius": "radius",
    "Size_ToroidalHighMajorRadius": "radius",
    "Size_ToroidalLowMajorRadius": "radius",
    "Size_Angular": "angular",
    "Location_Angular": "angular",
}
# XCAFDimTolObjects_GeomToleranceType_<name> -> the characteristics of
# ``apps.cad.extract.gdt``.
_CHARACTERISTICS = {
    "Angularity": "angularity",
    "CircularRunout": "circular_runout",
    "CircularityOrRoundness": "circularity",
    "Coaxiality": "coaxiality",
    "Concentricity": "concentricity",
    "Cylindricity": "cylindricity",
    "Flatness": "flatness",
    "Parallelism": "parallelism",
    "Perpendicularity": "perpendicularity",
    "Position": "position",
    "ProfileOfLine": "profile_of_line",
    "ProfileOfSurface": "profile_of_surface",
    "Straightness": "straightness",
    "Symmetry": "symmetry",
    "TotalRunout": "total_runout",
}
# Modifier names (tolerances' and datums' spell them differently) -> gdt's.
_MODIFIERS = {
    "Maximum_Material_Requirement": "MMC",
    "MaximumMaterialRequirement": "MMC",
    "Least_Material_Requirement": "LMC",
    "LeastMaterialRequirement": "LMC",
    "Tangent_Plane": "tangent_plane",
    "Free_State": "free_state",
    "FreeState": "free_state",
}


def wanted(content: bytes) -> bool:
    return any(marker in content for marker in _MARKERS)


@dataclass
class Leaf:
    """A placed product that holds geometry (not an assembly of others)."""

    name: str | None
    instance: str | None
    shape: Any  # located in the assembly's frame


@dataclass
class Product:
    shape: Any
    leaves: list[Leaf]
    pmi: dict[str, list[dict[str, Any]]]


def read(path: str) -> tuple[Any, Product | None]:
    """(the reader's status, the product structure) of the STEP file at ``path``."""
    from OCP.IFSelect import IFSelect_ReturnStatus
    from OCP.STEPCAFControl import STEPCAFControl_Reader
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDocStd import TDocStd_Document
    from OCP.XCAFApp import XCAFApp_Application

    reader = STEPCAFControl_Reader()
    # Names, the tree and PMI; colours, layers and properties are not used.
    reader.SetNameMode(True)
    reader.SetGDTMode(True)
    reader.SetColorMode(False)
    reader.SetLayerMode(False)
    reader.SetPropsMode(False)
    status = reader.ReadFile(path)
    if status != IFSelect_ReturnStatus.IFSelect_RetDone:
        return status, None
    doc = TDocStd_Document(TCollection_ExtendedString("XmlXCAF"))
    XCAFApp_Application.GetApplication_s().InitDocument(doc)
    reader.Transfer(doc)
    shape = reader.Reader().OneShape()
    return status, Product(shape=shape, leaves=_leaves(doc), pmi=_pmi(doc))


def _attribute(label: Any, cls: Any) -> Any:
    """The label's attribute of class ``cls`` or None (``FindAttribute`` does
    not hand the found attribute back through the bindings)."""
    from OCP.TDF import TDF_AttributeIterator

    it = TDF_AttributeIterator(label)
    while it.More():
        value = it.Value()
        it.Next()
        if isinstance(value, cls):
            return value
    return None


def _name(label: Any) -> str | None:
    from OCP.TDataStd import TDataStd_Name

    attr = _attribute(label, TDataStd_Name)
    name = attr.Get().ToExtString() if attr is not None else ""
    # "=>[0:1:1:2]" is what OpenCascade names an unnamed instance (its
    # product's place in the document), not a name from the file.
    return None if not name or name.startswith("=>[") else name


def _leaves(doc: Any) -> list[Leaf]:
    from OCP.collections import Sequence_TDF_Label
    from OCP.TDF import TDF_Label
    from OCP.TopLoc import TopLoc_Location
    from OCP.XCAFDoc import XCAFDoc_DocumentTool
    from OCP.XCAFDoc import XCAFDoc_ShapeTool as Tool

    out: list[Leaf] = []

    def walk(label: Any, loc: Any, instance: str | None, depth: int) -> None:
        # Depth-bounded: a file whose products use each other in a cycle
        # would otherwise recurse for ever.
        if depth > 64:
            return
        if Tool.IsAssembly_s(label):
            comps = Sequence_TDF_Label()
            Tool.GetComponents_s(label, comps, False)
            for i in range(1, comps.Length() + 1):
                comp, ref = comps.Value(i), TDF_Label()
                if Tool.GetReferredShape_s(comp, ref):
                    placed = loc.Multiplied(Tool.GetLocation_s(comp))
                    walk(ref, placed, _name(comp), depth + 1)
            return
        shape = Tool.GetShape_s(label)
        if not shape.IsNull():
            out.append(Leaf(_name(label), instance, shape.Moved(loc)))

    free = Sequence_TDF_Label()
    XCAFDoc_DocumentTool.ShapeTool_s(doc.Main()).GetFreeShapes(free)
    for i in range(1, free.Length() + 1):
        walk(free.Value(i), TopLoc_Location(), None, 0)
    return out


def _enum_name(value: Any, prefix: str) -> str:
    return str(value.name).removeprefix(prefix)


def _text(h: Any) -> str | None:
    """A TCollection_HAsciiString's text, or None when absent or empty."""
    if h is None:
        return None
    text = h.ToCString() if hasattr(h, "ToCString") else str(h)
    return text or None


def _targets(label: Any) -> list[str]:
    """What the annotation applies to, e.g. ``["cylinder face"]``."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.collections import Sequence_TDF_Label
    from OCP.TopAbs import TopAbs_ShapeEnum
    from OCP.TopoDS import TopoDS
    from OCP.XCAFDoc import XCAFDoc_DimTolTool, XCAFDoc_ShapeTool

    from apps.cad.formats.brep import _surface_kind

    first, second = Sequence_TDF_Label(), Sequence_TDF_Label()
    XCAFDoc_DimTolTool.GetRefShapeLabel_s(label, first, second)
    out = []
    for seq in (first, second):
        for i in range(1, seq.Length() + 1):
            shape = XCAFDoc_ShapeTool.GetShape_s(seq.Value(i))
            if shape.IsNull():
                continue
            kind = shape.ShapeType()
            name = kind.name.removeprefix("TopAbs_").lower()
            if kind == TopAbs_ShapeEnum.TopAbs_FACE:
                name = f"{_surface_kind(BRepAdaptor_Surface(TopoDS.Face(shape)))} face"
            out.append(name)
    return out


def _pmi(doc: Any) -> dict[str, list[dict[str, Any]]]:
    """Semantic dimensions, geometric tolerances and datums in the shapes of
    ``apps.cad.dimensions`` (``entities``, ``gdt`` frames and datums)."""
    from OCP.collections import Sequence_TDF_Label
    from OCP.XCAFDoc import (
        XCAFDoc_Datum,
        XCAFDoc_Dimension,
        XCAFDoc_DimTolTool,
        XCAFDoc_DocumentTool,
        XCAFDoc_GeomTolerance,
    )

    tool = XCAFDoc_DocumentTool.DimTolTool_s(doc.Main())
    entities: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []

    labels = Sequence_TDF_Label()
    tool.GetDimensionLabels(labels)
    for i in range(1, min(labels.Length(), MAX_PMI) + 1):
        attr = _attribute(labels.Value(i), XCAFDoc_Dimension)
        if attr is not None:
            entities.append(_dimension(attr.GetObject(), _targets(labels.Value(i))))

    labels = Sequence_TDF_Label()
    tool.GetGeomToleranceLabels(labels)
    for i in range(1, min(labels.Length(), MAX_PMI) + 1):
        label = labels.Value(i)
        attr = _attribute(label, XCAFDoc_GeomTolerance)
        if attr is None:
            continue
        datums = Sequence_TDF_Label()
        XCAFDoc_DimTolTool.GetDatumOfTolerLabels_s(label, datums)
        refs = []
        for j in range(1, datums.Length() + 1):
            d = _attribute(datums.Value(j), XCAFDoc_Datum)
            if d is not None:
                refs.append(_datum_ref(d.GetObject()))
        frames.append(_frame(attr.GetObject(), refs, _targets(label)))

    labels = Sequence_TDF_Label()
    tool.GetDatumLabels(labels)
    for i in range(1, min(labels.Length(), MAX_PMI) + 1):
        d = _attribute(labels.Value(i), XCAFDoc_Datum)
        if d is not None:
            frames.append(
                {
                    "kind": "datum",
                    "label": _text(d.GetObject().GetName()),
                    "handle": None,
                    "applies_to": _targets(labels.Value(i)),
                    "source": SOURCE,
                }
            )
    return {"entities": entities, "gdt": frames}


def _dimension(obj: Any, targets: list[str]) -> dict[str, Any]:
    kind = _enum_name(obj.GetType(), "XCAFDimTolObjects_DimensionType_")
    value = obj.GetValue()
    out: dict[str, Any] = {
        "handle": None,
        "kind": _DIM_KINDS.get(kind, "linear" if "Distance" in kind else kind.lower()),
        "type": kind,
        "measurement": round(value, 9),
        "text_override": None,
        "block": None,
        "applies_to": targets,
        "source": SOURCE,
    }
    if obj.IsDimWithPlusMinusTolerance():
        # The kernel hands the lower deviation back as a magnitude whatever
        # its sign in the file; drawings' dimensions carry it signed, below
        # the nominal.
        out["upper"] = round(obj.GetUpperTolValue(), 9)
        out["lower"] = -round(abs(obj.GetLowerTolValue()), 9)
        out["tolerance_source"] = SOURCE
    elif obj.IsDimWithRange():
        out["limits"] = [round(obj.GetUpperBound(), 9), round(obj.GetLowerBound(), 9)]
        out["tolerance_source"] = SOURCE
    return out


def _datum_ref(obj: Any) -> dict[str, Any]:
    return {
        "label": _text(obj.GetName()),
        "modifiers": [
            _MODIFIERS.get(n, n.lower())
            for n in (
                _enum_name(m, "XCAFDimTolObjects_DatumSingleModif_")
                for m in obj.GetModifiers()
            )
        ],
    }


def _frame(
    obj: Any, datums: list[dict[str, Any]], targets: list[str]
) -> dict[str, Any]:
    kind = _enum_name(obj.GetType(), "XCAFDimTolObjects_GeomToleranceType_")
    modifiers = [
        _MODIFIERS.get(n, n.lower())
        for n in (
            _enum_name(m, "XCAFDimTolObjects_GeomToleranceModif_")
            for m in obj.GetModifiers()
        )
    ]
    material = obj.GetMaterialRequirementModifier().name.rsplit("_", 1)[-1]
    if material in ("M", "L"):
        modifiers.insert(0, f"{material}MC")
    return {
        "kind": "frame",
        "characteristic": _CHARACTERISTICS.get(kind, kind.lower()),
        "value": round(obj.GetValue(), 9),
        "diameter": obj.GetTypeOfValue().name.endswith("Diameter"),
        "modifiers": modifiers,
        "datums": datums,
        "handle": None,
        "applies_to": targets,
        "source": SOURCE,
    }
