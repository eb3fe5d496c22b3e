"""Solids made with OpenCascade and written as STEP or IGES bytes.

For tests with analytically known answers and for 3D training data: the same
kernel that reads uploads builds these, so what is measured is our analysis,
not a second modeller's conventions.
"""

from __future__ import annotations

import os
import tempfile
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


def box(dx: float, dy: float, dz: float) -> Any:
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox

    return BRepPrimAPI_MakeBox(dx, dy, dz).Shape()


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


def step_bytes(shape: Any, *, unit: str = "MM") -> bytes:
    """``shape`` as an AP214 STEP file in ``unit`` (MM or INCH)."""
    from OCP.Interface import Interface_Static
    from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer

    # The writer registers the static parameters: create it before setting one.
    writer = STEPControl_Writer()
    Interface_Static.SetCVal_s("write.step.unit", unit)
    try:
        writer.Transfer(shape, STEPControl_AsIs)
        return _written(writer.Write, ".stp")
    finally:
        Interface_Static.SetCVal_s("write.step.unit", "MM")


def iges_bytes(shape: Any, *, unit: str = "MM") -> bytes:
    """``shape`` as an IGES file of B-rep entities (types 186/514/510)."""
    from OCP.IGESControl import IGESControl_Writer

    writer = IGESControl_Writer(unit, 1)
    writer.AddShape(shape)
    writer.ComputeModel()
    return _written(writer.Write, ".igs")
