"""SVG previews: ezdxf's drawing add-on for DXF, a projected silhouette for meshes."""

from __future__ import annotations

from typing import Any

import numpy as np
from ezdxf.document import Drawing as DxfDocument

from apps.cad import preview_theme

MAX_SVG_BYTES = 2 * 1024 * 1024
MAX_PREVIEW_ENTITIES = 50_000
_PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" '
    'viewBox="0 0 400 300"><rect width="400" height="300" fill="#f4f4f4"/>'
    '<text x="200" y="150" text-anchor="middle" font-family="sans-serif" '
    'font-size="14" fill="#000000">{}</text></svg>'
)


def placeholder(message: str) -> str:
    from xml.sax.saxutils import escape

    return _PLACEHOLDER.format(escape(message))


def dxf_svg(doc: DxfDocument, n_entities: int) -> str:
    # Rendering is the slowest stage by far; past this many entities a picture
    # is unreadable at preview size anyway.
    if n_entities > MAX_PREVIEW_ENTITIES:
        return placeholder(f"{n_entities} entities: too many to preview")
    from ezdxf.addons.drawing import Frontend, RenderContext, layout, svg
    from ezdxf.addons.drawing.config import BackgroundPolicy, Configuration

    msp = doc.modelspace()
    backend = svg.SVGBackend()
    # Drawn on (nearly) white paper, so that ezdxf gives ACI 7 as black;
    # preview_theme.paper() then makes every other colour readable on it.
    config = Configuration(
        background_policy=BackgroundPolicy.CUSTOM,
        custom_bg_color=preview_theme.RENDER_PAPER,
    )
    Frontend(RenderContext(doc), backend, config=config).draw_layout(msp, finalize=True)
    page = layout.Page(210, 148, layout.Units.mm, margins=layout.Margins.all(5))
    settings = layout.Settings(output_coordinate_space=10_000)
    out = backend.get_string(page, settings=settings)
    if len(out.encode()) > MAX_SVG_BYTES:
        return placeholder("Preview too large")
    return out


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
