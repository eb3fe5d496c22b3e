"""What every format's preview shares: its limits and the placeholder picture.

Each format draws its own picture (``apps.cad.formats``)."""

from __future__ import annotations

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
