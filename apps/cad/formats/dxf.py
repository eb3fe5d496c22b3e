"""DXF drawings, ASCII and binary, read with ezdxf.

Detection, loading (with ``ezdxf.recover`` as the fallback for damaged files),
the one-pass analysis (features, text, title block, dimensions) and the
preview drawn by ezdxf's drawing add-on.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from charset_normalizer import from_bytes
from ezdxf import recover
from ezdxf.document import Drawing as DxfDocument
from ezdxf.filemanagement import dxf_stream_info, read
from ezdxf.lldxf.const import DXFError
from ezdxf.lldxf.tagger import binary_tags_loader

from apps.cad import dimensions, features, preview_theme, titleblock
from apps.cad.errors import ResourceLimitExceeded, UnreadableFile
from apps.cad.extract.cells import Grid
from apps.cad.formats.base import HEAD, Format, Stopwatch
from apps.cad.preview import MAX_PREVIEW_ENTITIES, MAX_SVG_BYTES, placeholder
from apps.cad.text import MAX_TEXT_ITEMS, TextItem, texts_of
from apps.cad.walk import WalkReport, expanded_count, walk

if TYPE_CHECKING:  # the drawing add-on is imported when a preview is drawn
    from ezdxf.addons.drawing.properties import LayerProperties

BINARY_DXF_SENTINEL = b"AutoCAD Binary DXF\r\n\x1a\x00"
PAPER_MAX_ENTITIES = 50_000
_BROKEN_ENTITY = (
    DXFError,
    AttributeError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    ArithmeticError,
)


# -- detection ---------------------------------------------------------------


def is_binary_dxf(content: bytes) -> bool:
    return content.startswith(BINARY_DXF_SENTINEL)


def is_ascii_dxf(content: bytes) -> bool:
    # An ASCII DXF is a sequence of group-code/value line pairs; real files open
    # with "0/SECTION", but comments (999) or an R12 file that starts straight
    # with ENTITIES are legal too, so accept any leading pair of integer code
    # followed by a value and require SECTION or EOF somewhere in the head.
    head_bytes = content[:HEAD]
    if b"\x00" in head_bytes:
        return False
    head = head_bytes.decode("latin-1")
    lines = head.lstrip("\ufeff").splitlines()
    if len(lines) < 2:
        return False
    try:
        int(lines[0].strip())
    except ValueError:
        return False
    upper = head.upper()
    return "SECTION" in upper or "EOF" in upper


# -- loading -----------------------------------------------------------------


@dataclass
class LoadedDxf:
    doc: DxfDocument
    recovered: bool = False
    fixes: int = 0
    messages: list[str] = field(default_factory=list)


# Before R2007 a DXF's text is in the codepage its header names, and ezdxf
# reads one that names none as cp1252. Japanese, Chinese and Korean tools
# wrote R12 files in their own codepage without naming it (and some tools
# UTF-8): read as cp1252 their text is mojibake ("±ÈÑ¡" for "比选").
_UNNAMED = ("utf_8", "cp932", "gb18030", "cp949", "big5")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_SAMPLE = 65536
_MAX_LINES = 10_000


def _unnamed_codepage(content: bytes) -> str | None:
    """The multi-byte encoding of a DXF that names no codepage, when its
    non-ASCII lines read as one; None keeps ezdxf's cp1252."""
    if content.isascii() or b"$DWGCODEPAGE" in content[: 4 * _SAMPLE]:
        return None
    # Each distinct line at most three times: a layer name repeated on every
    # entity floods the guesser, yet a few repeats help it on short texts.
    lines: dict[bytes, int] = {}
    size, pos = 0, 0
    for _ in range(_MAX_LINES):
        if size >= _SAMPLE:
            break
        high = _HIGH_BYTE.search(content, pos)
        if high is None:
            break
        start = content.rfind(b"\n", 0, high.start()) + 1
        end = content.find(b"\n", high.start())
        end = len(content) if end < 0 else end
        line = content[start:end].rstrip(b"\r")[:_SAMPLE]
        if lines.get(line, 0) < 3:
            lines[line] = lines.get(line, 0) + 1
            size += len(line) + 1
        pos = end + 1
    sample = b"\n".join(k for k, n in lines.items() for _ in range(n))[:_SAMPLE]
    best = from_bytes(sample, cp_isolation=[*_UNNAMED, "cp1252"]).best()
    if best is None or best.encoding not in _UNNAMED:
        return None
    try:
        content.decode(best.encoding)
    except UnicodeDecodeError:
        return None
    return best.encoding


def _read_fast(content: bytes) -> DxfDocument:
    """The same steps as ``ezdxf.readfile`` but from memory."""
    if content.startswith(BINARY_DXF_SENTINEL):
        return DxfDocument.load(binary_tags_loader(content, errors="surrogateescape"))
    # newline=None: a file saved on Windows ends its lines in CRLF, and the
    # header's "AC1027\r" would read as no version at all (R12, cp1252).
    info = dxf_stream_info(
        io.StringIO(content[:65536].decode("utf-8", errors="ignore"), newline=None)
    )
    encoding = info.encoding
    if info.version < "AC1021":  # R2007 and later are UTF-8
        encoding = _unnamed_codepage(content) or encoding
    text = content.decode(encoding, errors="surrogateescape")
    # newline=None translates CRLF like open() in text mode does for readfile.
    return read(io.StringIO(text, newline=None))


def load_dxf(content: bytes) -> LoadedDxf:
    """Parse a DXF; on a structure error fall back to ``ezdxf.recover``."""
    try:
        return LoadedDxf(doc=_read_fast(content))
    except MemoryError:
        raise
    except (
        DXFError,
        LookupError,
        ValueError,
        TypeError,
        # A truncated binary DXF runs the tag unpacker past the end of the buffer.
        struct.error,
        # A second ENDTAB leaves ezdxf an empty table to read its head from.
        StopIteration,
    ):
        pass
    try:
        doc, auditor = recover.read(io.BytesIO(content))
    except MemoryError:
        raise
    except Exception as exc:  # ezdxf raises many types on garbage; all mean "bad file"
        raise UnreadableFile(
            f"The DXF file is damaged beyond repair: {type(exc).__name__}: {exc}"[:300]
        ) from exc
    if auditor.has_errors and not any(True for _ in doc.modelspace()):
        raise UnreadableFile(
            "The DXF file could not be read: "
            + "; ".join(e.message for e in auditor.errors[:3])
        )
    messages = [f.message for f in auditor.fixes][:20]
    return LoadedDxf(
        doc=doc,
        recovered=True,
        fixes=len(auditor.fixes) + len(auditor.errors),
        messages=messages,
    )


# -- analysis ----------------------------------------------------------------


def analyse(loaded: LoadedDxf, watch: Stopwatch, want_preview: bool) -> dict[str, Any]:
    doc = loaded.doc
    report = WalkReport()
    geo = features.Geometry()
    items: list[TextItem] = []
    dims: list[dict[str, Any]] = []
    grid = Grid()
    frames: list[tuple[str, str | None]] = []
    try:
        # One pass feeds features, text and dimensions.
        for visit in features.collect(walk(doc, report), geo):
            if len(items) < MAX_TEXT_ITEMS:
                items.extend(texts_of(visit))
            kind = visit.entity.dxftype()
            if kind == "DIMENSION":
                d = dimensions.dimension_of(visit)
                if d is not None:
                    dims.append(d)
            elif kind in ("LINE", "LWPOLYLINE"):
                grid.add_visit(visit)
            elif kind == "TOLERANCE":
                frames.append(
                    (
                        visit.entity.dxf.get("content", ""),
                        visit.entity.dxf.get("handle"),
                    )
                )
    except _BROKEN_ENTITY as exc:
        # The reader (or its recovery) let through an entity that ezdxf itself
        # cannot work with: the file is broken, not our pipeline.
        raise UnreadableFile(
            f"The drawing's entities could not be read: {type(exc).__name__}: {exc}"[
                :300
            ]
        ) from exc
    vector = features.dxf7_vector(
        doc,
        geo,
        report.visited,
        [it.text for it in items],
        [it.tag for it in items if it.tag],
    )
    watch.lap("features")

    paper_blocks, paper_items = _paperspace_sheets(doc)
    title = titleblock.merge(titleblock.extract(items, grid), *paper_blocks)
    tokens = dimensions.tokens_from_texts(items)
    notes = dimensions.annotations(
        items + paper_items, frames, title.get("general_tolerance")
    )
    watch.lap("text")

    svg = None
    if want_preview:
        try:
            # Counted as the renderer expands blocks (see preview()).
            n = expanded_count(doc, limit=MAX_PREVIEW_ENTITIES)
            svg = dxf_svg(doc, max(n, report.visited))
        except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
            svg = placeholder(f"no preview: {type(exc).__name__}")

    bbox = geo.extent()
    return {
        "recovered": loaded.recovered,
        "fixes": loaded.fixes,
        "repair_messages": loaded.messages,
        "feature_version": features.DXF_FEATURE_VERSION,
        "features": vector,
        "text": [it.as_dict() for it in items],
        "title_block": title,
        # The annotations ride in ``dimensions`` (one stored column); the v2
        # API shows them as top-level sections.
        "dimensions": {"entities": dims, "tokens": tokens, **notes},
        "stats": {
            "dxf_version": doc.dxfversion,
            "units": int(doc.header.get("$INSUNITS", 0) or 0),
            "entities": report.visited,
            "entity_types": dict(sorted(geo.counts.items())),
            "layers": len(geo.layers),
            "blocks": sum(1 for _ in doc.blocks),
            "bbox": bbox,
            "walk_truncated": report.truncated,
            "recursive_inserts_skipped": report.recursive_blocks,
            "nonfinite_skipped": geo.skipped_nonfinite,
        },
        "preview_svg": svg,
    }


def _paperspace_sheets(doc: DxfDocument) -> tuple[list[dict[str, Any]], list[TextItem]]:
    """Title blocks drawn on paperspace layouts, each read on its own, and the
    sheets' text (notes such as the general tolerance often live there)."""
    blocks = []
    sheet_items: list[TextItem] = []
    budget = PAPER_MAX_ENTITIES
    for layout in doc.layouts:
        if layout.is_modelspace or budget <= 0:
            continue
        report = WalkReport()
        items: list[TextItem] = []
        grid = Grid()
        try:
            for visit in walk(doc, report, max_entities=budget, layout=layout):
                kind = visit.entity.dxftype()
                if kind in ("LINE", "LWPOLYLINE"):
                    grid.add_visit(visit)
                elif len(items) < MAX_TEXT_ITEMS:
                    items.extend(texts_of(visit))
        except _BROKEN_ENTITY:
            continue  # a sheet we cannot read has no title block for us
        finally:
            budget -= report.visited
        if items:
            blocks.append(titleblock.extract(items, grid))
            sheet_items.extend(items[: MAX_TEXT_ITEMS - len(sheet_items)])
    return blocks, sheet_items


# -- preview -----------------------------------------------------------------


def dxf_svg(doc: DxfDocument, n_entities: int) -> str:
    # Rendering is the slowest stage by far; past this many entities a picture
    # is unreadable at preview size anyway.
    if n_entities > MAX_PREVIEW_ENTITIES:
        return placeholder(f"{n_entities} entities: too many to preview")
    from ezdxf.addons.drawing import layout, svg
    from ezdxf.addons.drawing.config import BackgroundPolicy, Configuration
    from ezdxf.addons.drawing.frontend import Frontend
    from ezdxf.addons.drawing.properties import RenderContext

    # Drawn on (nearly) white paper, so that ezdxf gives ACI 7 as black;
    # preview_theme.paper() then makes every other colour readable on it.
    config = Configuration(
        background_policy=BackgroundPolicy.CUSTOM,
        custom_bg_color=preview_theme.RENDER_PAPER,
    )

    class Drawer(Frontend):
        def draw_entity(self, entity: Any, properties: Any) -> None:
            try:
                super().draw_entity(entity, properties)
            except ValueError as exc:
                # A LEADER of one vertex, a HATCH edge whose spline has more
                # knots than it can use: the rest is still worth seeing.
                self.skip_entity(entity, str(exc))

    _drop_broken_draw_order(doc.modelspace())

    def draw(every_layer: bool) -> svg.SVGBackend:
        context = RenderContext(doc)
        if every_layer:
            context.set_layer_properties_override(_every_layer_on)
        backend = svg.SVGBackend()
        Drawer(context, backend, config=config).draw_layout(
            doc.modelspace(), finalize=True
        )
        return backend

    backend = draw(every_layer=False)
    if not backend.player().bbox().has_data:
        # Everything sits on layers that are off or frozen (symbol libraries
        # save their symbols so, to be inserted on a layer of one's own): a
        # blank picture tells nobody what the file holds.
        backend = draw(every_layer=True)
        if not backend.player().bbox().has_data:
            if len(doc.modelspace()):
                return placeholder("Nothing to draw: no entity draws a line")
            return placeholder("Nothing to draw: the model space is empty")
    page = layout.Page(210, 148, layout.Units.mm, margins=layout.Margins.all(5))
    settings = layout.Settings(output_coordinate_space=10_000)
    out: str = backend.get_string(page, settings=settings)
    if len(out.encode()) > MAX_SVG_BYTES:
        return placeholder("Preview too large")
    return out


def _drop_broken_draw_order(layout: Any) -> None:
    """Some converters (LibreDWG) point a layout's draw order at an object
    that is no draw-order table, and the renderer stops on it; the entities
    are then drawn in the default (handle) order."""
    from ezdxf.entities import SortEntsTable

    if not layout.block_record.has_extension_dict:
        return
    xdict = layout.get_extension_dict()
    entry = xdict.get("ACAD_SORTENTS")
    if entry is not None and not isinstance(entry, SortEntsTable):
        xdict.discard("ACAD_SORTENTS")


def _every_layer_on(layers: Sequence[LayerProperties]) -> None:
    for properties in layers:
        properties.is_visible = True


def preview(loaded: LoadedDxf) -> str:
    doc = loaded.doc
    # The renderer expands every block reference: the budget counts what it
    # would draw, not the modelspace entities that name it.
    budget = MAX_PREVIEW_ENTITIES
    n = expanded_count(doc, limit=budget)
    if n > budget:
        raise ResourceLimitExceeded(
            "The drawing expands to more than "
            f"{budget} entities once its block references are multiplied "
            f"out; previews are drawn up to {budget} entities."
        )
    try:
        return dxf_svg(doc, n)
    except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
        return placeholder(f"no preview: {type(exc).__name__}")


_VERSIONS = features.DXF_VERSIONS
DXF_BINARY = Format(
    name="dxf-binary",
    detect=is_binary_dxf,
    load=load_dxf,
    analyse=analyse,
    preview=preview,
    feature_versions=_VERSIONS,
)
DXF = Format(
    name="dxf",
    detect=is_ascii_dxf,
    load=load_dxf,
    analyse=analyse,
    preview=preview,
    feature_versions=_VERSIONS,
)
