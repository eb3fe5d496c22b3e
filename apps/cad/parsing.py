"""Load DXF documents and meshes from bytes.

Runs inside the isolation worker (see ``pool.py``): any exception here is turned
into a 4xx by the pipeline, never a 500.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import Any

import ezdxf
from ezdxf import recover
from ezdxf.document import Drawing as DxfDocument
from ezdxf.lldxf.const import DXFError
from ezdxf.lldxf.tagger import binary_tags_loader

from apps.cad.errors import UnreadableFile
from apps.cad.sniff import BINARY_DXF_SENTINEL, FileFormat


@dataclass
class LoadedDxf:
    doc: DxfDocument
    recovered: bool = False
    fixes: int = 0
    messages: list[str] = field(default_factory=list)


def _read_fast(content: bytes) -> DxfDocument:
    """The same steps as ``ezdxf.readfile`` but from memory."""
    if content.startswith(BINARY_DXF_SENTINEL):
        return DxfDocument.load(binary_tags_loader(content, errors="surrogateescape"))
    info = ezdxf.filemanagement.dxf_stream_info(
        io.StringIO(content[:65536].decode("utf-8", errors="ignore"))
    )
    text = content.decode(info.encoding, errors="surrogateescape")
    # newline=None translates CRLF like open() in text mode does for readfile.
    return ezdxf.read(io.StringIO(text, newline=None))


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
    if auditor.has_errors and not _has_entities(doc):
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


def _has_entities(doc: DxfDocument) -> bool:
    return any(True for _ in doc.modelspace())


_TRIMESH_TYPES = {
    FileFormat.STL: "stl",
    FileFormat.STL_ASCII: "stl_ascii",
    FileFormat.OBJ: "obj",
    FileFormat.PLY: "ply",
}


def load_mesh(content: bytes, fmt: FileFormat) -> Any:
    """Return a ``trimesh.Trimesh``; scenes are concatenated into one mesh."""
    import trimesh

    try:
        loaded = trimesh.load(
            io.BytesIO(content),
            file_type=_TRIMESH_TYPES[fmt].split("_")[0],
            process=True,
        )
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
