"""Solids made with OpenCascade and written as STEP or IGES bytes.

For tests with analytically known answers and for 3D training data: the same
kernel that reads uploads builds these, so what is measured is our analysis,
not a second modeller's conventions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any


def box_with_hole(
    dx: float = 10.0, dy: float = 20.0, dz: float = 30.0, d: float = 4.0
) -> Any:
    """A box with a through hole of diameter ``d`` along z at the box's centre."""
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox, BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    box = BRepPrimAPI_MakeBox(dx, dy, dz).Shape()
    axis = gp_Ax2(gp_Pnt(dx / 2, dy / 2, -1.0), gp_Dir(0, 0, 1))
    return BRepAlgoAPI_Cut(
        box, BRepPrimAPI_MakeCylinder(axis, d / 2, dz + 2).Shape()
    ).Shape()


def perforated_plate(nx: int, ny: int, pitch: float = 9.0, d: float = 4.0) -> Any:
    """A 5 mm plate with an ``nx`` by ``ny`` grid of through holes."""
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut

    w, h = pitch * (nx + 1), pitch * (ny + 1)
    holes = compound(
        *(
            transformed(
                cylinder(d / 2, 20), move=(pitch * (i + 1), pitch * (j + 1), -5.0)
            )
            for i in range(nx)
            for j in range(ny)
        )
    )
    return BRepAlgoAPI_Cut(box(w, h, 5), holes).Shape()


def box(
    dx: float, dy: float, dz: float, *, at: tuple[float, float, float] | None = None
) -> Any:
    """A box of those sizes with its lowest corner at ``at`` (the origin)."""
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.gp import gp_Pnt

    if at is None:
        return BRepPrimAPI_MakeBox(dx, dy, dz).Shape()
    return BRepPrimAPI_MakeBox(gp_Pnt(*at), dx, dy, dz).Shape()


def cylinder(r: float, h: float) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder

    return BRepPrimAPI_MakeCylinder(r, h).Shape()


def torus(big_r: float, small_r: float) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeTorus

    return BRepPrimAPI_MakeTorus(big_r, small_r).Shape()


def transformed(
    shape: Any,
    *,
    move: tuple[float, float, float] = (0.0, 0.0, 0.0),
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0),
    angle: float = 0.0,
    scale: float = 1.0,
) -> Any:
    """``shape`` rotated about ``axis`` through the origin, scaled, then moved."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_Transform
    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec

    rot, sc, tr = gp_Trsf(), gp_Trsf(), gp_Trsf()
    rot.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(*axis)), angle)
    sc.SetScale(gp_Pnt(0, 0, 0), scale)
    tr.SetTranslation(gp_Vec(*move))
    return BRepBuilderAPI_Transform(shape, tr * sc * rot, True).Shape()


def compound(*shapes: Any) -> Any:
    from OCP.BRep import BRep_Builder
    from OCP.TopoDS import TopoDS_Compound

    comp = TopoDS_Compound()
    builder = BRep_Builder()
    builder.MakeCompound(comp)
    for s in shapes:
        builder.Add(comp, s)
    return comp


def _written(write: Any, suffix: str) -> bytes:
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        write(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def read_back(content: bytes, suffix: str, read: Any) -> Any:
    """``read(path)`` of ``content`` written to a temporary file (the kernel's
    readers take paths)."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        return read(path)
    finally:
        os.unlink(path)


def step_bytes(shape: Any, *, unit: str = "MM", product: str | None = None) -> bytes:
    """``shape`` as an AP214 STEP file in ``unit`` (MM or INCH); its product is
    named ``product`` (else the writer numbers its products per process)."""
    from OCP.Interface import Interface_Static
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    # The writer registers the static parameters: create it before setting one.
    writer = STEPControl_Writer()
    default_name = Interface_Static.CVal_s("write.step.product.name")
    Interface_Static.SetCVal_s("write.step.unit", unit)
    if product is not None:
        Interface_Static.SetCVal_s("write.step.product.name", product)
    try:
        writer.Transfer(shape, STEPControl_AsIs)
        return _written(writer.Write, ".stp")
    finally:
        Interface_Static.SetCVal_s("write.step.unit", "MM")
        Interface_Static.SetCVal_s("write.step.product.name", default_name)


def iges_bytes(shape: Any, *, unit: str = "MM") -> bytes:
    """``shape`` as an IGES file of B-rep entities (types 186/514/510)."""
    from OCP.IGESControl import IGESControl_Writer

    writer = IGESControl_Writer(unit, 1)
    writer.AddShape(shape)
    writer.ComputeModel()
    return _written(writer.Write, ".igs")


def _trsf(
    move: tuple[float, float, float] = (0.0, 0.0, 0.0),
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0),
    angle: float = 0.0,
) -> Any:
    """Rotation about ``axis`` through the origin, then the move."""
    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec

    rot, tr = gp_Trsf(), gp_Trsf()
    rot.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(*axis)), angle)
    tr.SetTranslation(gp_Vec(*move))
    return tr * rot


def _xcaf_doc() -> Any:
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDocStd import TDocStd_Document
    from OCP.XCAFApp import XCAFApp_Application

    doc = TDocStd_Document(TCollection_ExtendedString("XmlXCAF"))
    XCAFApp_Application.GetApplication_s().InitDocument(doc)
    return doc


def _set_name(label: Any, name: str) -> None:
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDataStd import TDataStd_Name

    TDataStd_Name.Set_s(label, TCollection_ExtendedString(name, True))


def _write_xcaf(doc: Any, schema: str = "AP214IS", pmi: bool = False) -> bytes:
    from OCP.Interface import Interface_Static
    from OCP.STEPCAFControl import STEPCAFControl_Writer

    writer = STEPCAFControl_Writer()
    Interface_Static.SetCVal_s("write.step.schema", schema)
    try:
        writer.SetDimTolMode(pmi)
        writer.Transfer(doc)
        return _written(writer.Write, ".stp")
    finally:
        Interface_Static.SetCVal_s("write.step.schema", "AP214IS")


def assembly_step_bytes(
    name: str, parts: list[tuple[str, Any, list[dict[str, Any]]]]
) -> bytes:
    """An assembly ``name`` written through OpenCascade's XCAF writer: each
    ``(part name, shape, placements)`` is one product, placed once per
    placement (``move``, ``axis``, ``angle`` as for ``transformed``)."""
    from OCP.TopLoc import TopLoc_Location
    from OCP.XCAFDoc import XCAFDoc_DocumentTool

    doc = _xcaf_doc()
    tool = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    top = tool.NewShape()
    _set_name(top, name)
    for part_name, shape, placements in parts:
        label = tool.AddShape(shape, False)
        _set_name(label, part_name)
        for where in placements:
            tool.AddComponent(top, label, TopLoc_Location(_trsf(**where)))
    tool.UpdateAssemblies()
    return _write_xcaf(doc)


def pmi_step_bytes(
    shape: Any,
    name: str,
    *,
    dimensions: Sequence[tuple[int, str, float, float | None, float | None]] = (),
    datums: Sequence[tuple[int, str]] = (),
    tolerances: Sequence[tuple[int, str, float, Sequence[str]]] = (),
) -> bytes:
    """``shape`` as an AP242 STEP file with semantic PMI, through XCAF.

    ``dimensions``: ``(face index, XCAF dimension type such as "Size_Diameter",
    value, upper, lower deviation)``; ``datums``: ``(face index, label)``;
    ``tolerances``: ``(face index, XCAF tolerance type such as
    "Perpendicularity", value, datum labels)``. Faces are numbered in the
    explorer's order from 0."""
    from OCP.TCollection import TCollection_HAsciiString
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.XCAFDimTolObjects import (
        XCAFDimTolObjects_DatumObject,
        XCAFDimTolObjects_DimensionObject,
        XCAFDimTolObjects_DimensionType,
        XCAFDimTolObjects_GeomToleranceObject,
        XCAFDimTolObjects_GeomToleranceType,
    )
    from OCP.XCAFDoc import (
        XCAFDoc_Datum,
        XCAFDoc_Dimension,
        XCAFDoc_DocumentTool,
        XCAFDoc_GeomTolerance,
    )

    doc = _xcaf_doc()
    tool = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    dimtol = XCAFDoc_DocumentTool.DimTolTool_s(doc.Main())
    label = tool.AddShape(shape, False)
    _set_name(label, name)
    faces = []
    exp = TopExp_Explorer(shape, TopAbs_FACE)
    while exp.More():
        faces.append(exp.Current())
        exp.Next()
    for index, kind, value, upper, lower in dimensions:
        dim_label = dimtol.AddDimension()
        obj = XCAFDimTolObjects_DimensionObject()
        obj.SetType(
            getattr(
                XCAFDimTolObjects_DimensionType,
                f"XCAFDimTolObjects_DimensionType_{kind}",
            )
        )
        obj.SetValue(value)
        if upper is not None and lower is not None:
            obj.SetUpperTolValue(upper)
            obj.SetLowerTolValue(lower)
        XCAFDoc_Dimension.Set_s(dim_label).SetObject(obj)
        dimtol.SetDimension(tool.AddSubShape(label, faces[index]), dim_label)
    datum_labels = {}
    for index, datum in datums:
        datum_label = dimtol.AddDatum()
        dobj = XCAFDimTolObjects_DatumObject()
        dobj.SetName(TCollection_HAsciiString(datum))
        dobj.SetPosition(1)
        XCAFDoc_Datum.Set_s(datum_label).SetObject(dobj)
        dimtol.SetDatum(_labels(tool.AddSubShape(label, faces[index])), datum_label)
        datum_labels[datum] = datum_label
    for index, kind, value, refs in tolerances:
        tol_label = dimtol.AddGeomTolerance()
        gobj = XCAFDimTolObjects_GeomToleranceObject()
        gobj.SetType(
            getattr(
                XCAFDimTolObjects_GeomToleranceType,
                f"XCAFDimTolObjects_GeomToleranceType_{kind}",
            )
        )
        gobj.SetValue(value)
        XCAFDoc_GeomTolerance.Set_s(tol_label).SetObject(gobj)
        dimtol.SetGeomTolerance(tool.AddSubShape(label, faces[index]), tol_label)
        for ref in refs:
            dimtol.SetDatumToGeomTol(datum_labels[ref], tol_label)
    return _write_xcaf(doc, "AP242DIS", pmi=True)


def _labels(*labels: Any) -> Any:
    from OCP.collections import Sequence_TDF_Label

    seq = Sequence_TDF_Label()
    for label in labels:
        seq.Append(label)
    return seq
