"""Triangle meshes (STL binary and ASCII, OBJ, PLY), read with trimesh.

Detection, loading (scenes concatenated into one mesh), the ``mesh-1``
analysis and a silhouette preview.
"""

from __future__ import annotations

import io
import re
import struct
from functools import partial
from typing import Any

import numpy as np

from apps.cad import dimensions, features, titleblock
from apps.cad.errors import UnreadableFile
from apps.cad.formats.base import HEAD, Format, Stopwatch
from apps.cad.preview import placeholder

_OBJ_LINE = re.compile(rb"^\s*(v|vt|vn|f|o|g|s|mtllib|usemtl|l|#)(\s|$)")


# -- detection ---------------------------------------------------------------


def is_ply(content: bytes) -> bool:
    return content.startswith(b"ply") and content[3:4] in (b"\n", b"\r")


def is_binary_stl(content: bytes) -> bool:
    if len(content) < 84:
        return False
    (n_faces,) = struct.unpack_from("<I", content, 80)
    # A binary STL is exactly header + count + 50 bytes per face.
    return bool(n_faces > 0 and len(content) == 84 + 50 * n_faces)


def _text_head(content: bytes) -> bytes | None:
    head = content[:HEAD]
    return None if b"\x00" in head else head


def is_ascii_stl(content: bytes) -> bool:
    head_bytes = _text_head(content)
    if head_bytes is None:
        return False
    head = head_bytes.decode("latin-1")
    return head.lstrip()[:5].lower() == "solid" and "facet" in head.lower()


def is_obj(content: bytes) -> bool:
    head = _text_head(content)
    if head is None:
        return False
    lines = [ln for ln in head.splitlines()[:50] if ln.strip()]
    if not lines or not any(ln.lstrip().startswith((b"v ", b"f ")) for ln in lines):
        return False
    return all(_OBJ_LINE.match(ln) for ln in lines[:-1])


# -- loading -----------------------------------------------------------------


def load_mesh(content: bytes, file_type: str) -> Any:
    """Return a ``trimesh.Trimesh``; scenes are concatenated into one mesh."""
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(content), file_type=file_type, process=True)
    except MemoryError:
        raise
    except Exception as exc:
        raise UnreadableFile(f"The mesh could not be read: {exc}"[:300]) from exc
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh)]
        if not geoms:
            raise UnreadableFile("The mesh file holds no triangles.")
        loaded = trimesh.util.concatenate(geoms)
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise UnreadableFile("The mesh file holds no triangles.")
    return loaded


# -- analysis ----------------------------------------------------------------


def analyse(mesh: Any, watch: Stopwatch, want_preview: bool) -> dict[str, Any]:
    if not np.isfinite(mesh.vertices).all():
        raise UnreadableFile("The mesh has coordinates that are not finite numbers.")
    vector = features.mesh_vector(mesh)
    watch.lap("features")
    svg = mesh_svg(mesh) if want_preview else None
    bounds = mesh.bounds.tolist() if len(mesh.vertices) else None
    watertight = bool(mesh.is_watertight)
    return {
        "recovered": False,
        "fixes": 0,
        "repair_messages": [],
        "feature_version": features.MESH_FEATURE_VERSION,
        "features": vector,
        "text": [],
        "title_block": {f: None for f in titleblock.ALL_FIELDS},
        "dimensions": {"entities": [], "tokens": [], **dimensions.annotations([], [])},
        "stats": {
            "vertices": int(len(mesh.vertices)),
            "faces": int(len(mesh.faces)),
            "watertight": watertight,
            "volume": float(mesh.volume) if watertight else None,
            "area": float(mesh.area),
            "bbox": bounds,
            "euler_number": int(mesh.euler_number),
        },
        "preview_svg": svg,
    }


# -- preview -----------------------------------------------------------------


def mesh_svg(mesh: Any) -> str:
    """Silhouette of the mesh seen along its minor principal axis."""
    verts = np.asarray(mesh.vertices, dtype=float)
    faces = np.asarray(mesh.faces)
    if len(faces) == 0:
        return placeholder("empty mesh")
    centred = verts - verts.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred)
    uv = centred @ vecs[:, [2, 1]]
    uv[:, 1] *= -1  # SVG y grows downwards
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    uv = (uv - lo) / span * 380 + 10
    if len(faces) > 20_000:  # keep the picture small: a stride of the faces
        faces = faces[:: len(faces) // 20_000 + 1]
    paths = "".join(
        f"M{a[0]:.1f} {a[1]:.1f}L{b[0]:.1f} {b[1]:.1f}L{c[0]:.1f} {c[1]:.1f}Z"
        for a, b, c in uv[faces]
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" '
        'viewBox="0 0 400 400"><path fill="#556" stroke="none" d="'
        + paths
        + '"/></svg>'
    )


def _format(name: str, detect: Any, file_type: str) -> Format:
    return Format(
        name=name,
        detect=detect,
        load=partial(load_mesh, file_type=file_type),
        analyse=analyse,
        preview=mesh_svg,
        feature_versions=(features.MESH_FEATURE_VERSION,),
    )


STL = _format("stl", is_binary_stl, "stl")
STL_ASCII = _format("stl-ascii", is_ascii_stl, "stl")
OBJ = _format("obj", is_obj, "obj")
PLY = _format("ply", is_ply, "ply")
