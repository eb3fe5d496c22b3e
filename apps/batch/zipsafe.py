"""Safe expansion of an uploaded zip into (name, bytes) pairs.

Everything is checked from the central directory before a byte is inflated, and
again while inflating (the declared sizes of a hostile zip can lie).
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from django.conf import settings

from cadml.lib.errors import InvalidInput, PayloadTooLarge

_CHUNK = 64 * 1024


def _limits() -> tuple[int, int, float]:
    return (
        int(settings.CADML_BATCH_MAX_ITEMS),
        int(settings.CADML_BATCH_ZIP_MAX_TOTAL_MB) * 1024 * 1024,
        float(settings.CADML_BATCH_ZIP_MAX_RATIO),
    )


def _check_name(name: str) -> None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise InvalidInput(
            f"zip member {name!r} has an absolute path; use relative paths",
            code="zip_unsafe_path",
        )
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise InvalidInput(
            f"zip member {name!r} contains '..'; paths may not leave the archive",
            code="zip_unsafe_path",
        )


def zip_members(content: bytes) -> list[tuple[str, bytes]]:
    """The files in ``content`` (directories and macOS metadata left out), by
    file name."""
    return [
        (posixpath.basename(path) or path, data) for path, data in zip_entries(content)
    ]


def zip_entries(content: bytes) -> list[tuple[str, bytes]]:
    """The files in ``content`` by their path inside the archive."""
    max_items, max_total, max_ratio = _limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise InvalidInput(
            "the uploaded .zip is not a readable zip archive", code="zip_invalid"
        ) from None
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
        for info in infos:
            _check_name(info.filename)
        if not infos:
            raise InvalidInput("the zip contains no files", code="empty_submission")
        if len(infos) > max_items:
            raise InvalidInput(
                f"the zip holds {len(infos)} files; at most {max_items} per job",
                code="too_many_items",
            )
        declared = sum(i.file_size for i in infos)
        if declared > max_total:
            raise PayloadTooLarge(
                f"the zip expands to {declared} bytes; at most {max_total}",
                code="zip_too_large",
            )
        out: list[tuple[str, bytes]] = []
        total = 0
        for info in infos:
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise InvalidInput(
                    f"zip member {info.filename!r} has a compression ratio above "
                    f"{max_ratio:g}:1 (zip bomb?)",
                    code="zip_bomb",
                )
            buf = bytearray()
            try:
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        buf += chunk
                        total += len(chunk)
                        if total > max_total or len(buf) > info.file_size:
                            raise PayloadTooLarge(
                                "the zip expands past its declared size or past "
                                f"{max_total} bytes",
                                code="zip_too_large",
                            )
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
                raise InvalidInput(
                    f"zip member {info.filename!r} cannot be read: {exc}",
                    code="zip_invalid",
                ) from None
            out.append((info.filename.replace("\\", "/"), bytes(buf)))
        return out
