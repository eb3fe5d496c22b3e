"""Readable previews: paper colours, contrast, thumbnail size.

Drawings are drafted on a dark screen: ACI 7 and light layer colours (white,
yellow, light grey) are made to be seen on black. On the white paper of a
preview they vanish, so every colour an SVG draws with is darkened until it
stands out from the paper; the dark theme is the same picture with lightness
turned around and colours lightened until they stand out from the dark ground.

Pure string work on the SVG the renderers write (``preview.py``): no Django, no
parsing of the drawing again. The stored preview is the light one; the dark one
and thumbnails are derived from it when served.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Callable

THEMES = ("light", "dark")
PAPER = "#ffffff"
DARK_GROUND = "#212830"  # the dark model-space background CAD users know
# WCAG's contrast for normal text: drawing lines and glyphs are thin, so the
# graphics threshold (3:1) is not enough.
MIN_CONTRAST = 4.5
# Bumped whenever the stored picture changes, so that previews stored by an
# older renderer are drawn again instead of being served.
VERSION = "3"
_MARK = f"<!-- cadml-preview {VERSION} theme=light -->"
MIN_THUMBNAIL_STROKE_PX = 0.75

# The renderer draws on a white one step off pure white: entities coloured
# white stay distinguishable from its wipeouts (drawn in the background colour).
RENDER_PAPER = "#fffffe"
_GROUND_SLOT = "@ground@"
_RECT_FILL = re.compile(r'(<rect\b[^>]*?\bfill=")(#[0-9a-fA-F]{3,6})(")')
_COLOR = re.compile(r"(stroke|fill)(:\s*|=\")(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b")
_ROOT = re.compile(r"<svg\b[^>]*>")
_STROKE_WIDTH = re.compile(r"stroke-width: ([0-9.]+);")


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(hex_color: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(hex_color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio, 1 (none) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _until_contrast(
    color: str, ground: str, move: Callable[[tuple[int, int, int], float], str]
) -> str:
    """``move(rgb, t)`` for the smallest t in [0, 1] that reaches MIN_CONTRAST
    against ``ground`` (t=1 always does: black or white)."""
    if contrast(color, ground) >= MIN_CONTRAST:
        return color
    rgb = _rgb(color)
    lo, hi = 0.0, 1.0
    for _ in range(12):  # bisection to 1/4096: well below one 8-bit step
        mid = (lo + hi) / 2
        if contrast(move(rgb, mid), ground) >= MIN_CONTRAST:
            hi = mid
        else:
            lo = mid
    return move(rgb, hi)


def _darker(rgb: tuple[int, int, int], t: float) -> str:
    # Scaling all three channels keeps the hue: yellow becomes olive, not grey.
    return _hex(tuple(c * (1 - t) for c in rgb))  # type: ignore[arg-type]


def _lighter(rgb: tuple[int, int, int], t: float) -> str:
    return _hex(tuple(c + (255 - c) * t for c in rgb))  # type: ignore[arg-type]


def _on_paper(color: str) -> str:
    return _until_contrast(color, PAPER, _darker)


def _on_dark(color: str) -> str:
    r, g, b = (c / 255 for c in _rgb(color))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    turned = colorsys.hls_to_rgb(h, 1 - lightness, s)
    return _until_contrast(_hex(tuple(c * 255 for c in turned)), DARK_GROUND, _lighter)  # type: ignore[arg-type]


def _recolor(svg: str, *, ground: str, ink: Callable[[str], str], wipeout: str) -> str:
    """Paint the background ``ground`` and every colour ``ink(colour)``.

    Backgrounds are the ``fill`` attributes of ``<rect>`` elements (the
    renderer's page, a placeholder's card); ``wipeout`` as a fill is the
    drawing masking itself with the background colour (WIPEOUT, text masks) and
    becomes ``ground`` too. Everything else is ink.
    """
    svg = _RECT_FILL.sub(rf"\g<1>{_GROUND_SLOT}\g<3>", svg)
    cache: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        prop, sep, color = m.groups()
        color = _hex(_rgb(color))  # normalise #abc and case
        if prop == "fill" and color == wipeout:
            return f"{prop}{sep}{ground}"
        if color not in cache:
            cache[color] = ink(color)
        return f"{prop}{sep}{cache[color]}"

    return _COLOR.sub(sub, svg).replace(_GROUND_SLOT, ground)


def _with_background(svg: str) -> str:
    """Give an SVG without a background of its own (mesh silhouettes) one."""
    root = _ROOT.search(svg)
    if root is None or "<rect" in svg:
        return svg
    end = root.end()
    return svg[:end] + f'<rect width="100%" height="100%" fill="{PAPER}"/>' + svg[end:]


def paper(svg: str) -> str:
    """The stored preview: on white paper, every colour readable on it.

    ``svg`` is drawn on ``RENDER_PAPER`` (``formats.dxf.dxf_svg``), so that the
    renderer's own light-background colours (ACI 7 as black) apply and its
    wipeouts can be told from entities that are white.
    """
    if is_current(svg):
        return svg
    out = _recolor(
        _with_background(svg), ground=PAPER, ink=_on_paper, wipeout=RENDER_PAPER
    )
    root = _ROOT.search(out)
    at = root.end() if root else 0  # inside the root: the file still starts <svg
    return out[:at] + _MARK + out[at:]


def is_current(svg: str) -> bool:
    """Whether ``svg`` is a preview this version of ``paper`` made."""
    return _MARK in svg[:600]


def themed(svg: str, *, theme: str = "light", size: int | None = None) -> str:
    """The stored (light) preview as served: in ``theme``, and ``size`` pixels
    on its longer side for thumbnails (the drawing's own width otherwise)."""
    if theme == "dark":
        svg = _recolor(svg, ground=DARK_GROUND, ink=_on_dark, wipeout=PAPER).replace(
            _MARK, _MARK.replace("theme=light", "theme=dark"), 1
        )
    if size is not None:
        svg = _sized(svg, size)
    return svg


def _sized(svg: str, size: int) -> str:
    root = _ROOT.search(svg)
    if root is None:
        return svg
    tag = root.group(0)
    box = re.search(r'viewBox="([-0-9. ]+)"', tag)
    if box is None:
        return svg
    _, _, w, h = (float(v) for v in box.group(1).split())
    if w <= 0 or h <= 0:
        return svg
    scale = size / max(w, h)
    width, height = max(1, round(w * scale)), max(1, round(h * scale))
    new_tag = re.sub(r'\swidth="[^"]*"', f' width="{width}"', tag, count=1)
    new_tag = re.sub(r'\sheight="[^"]*"', f' height="{height}"', new_tag, count=1)
    # Lineweights are kept, but a hairline thinner than a pixel fades out in
    # a small picture: widen only those.
    least = MIN_THUMBNAIL_STROKE_PX / scale

    def widen(m: re.Match[str]) -> str:
        return f"stroke-width: {max(float(m.group(1)), least):.4g};"

    head, body = svg[: root.start()], svg[root.end() :]
    defs_end = body.find("</defs>")
    if defs_end >= 0:  # the renderer's style classes all live in <defs>
        body = _STROKE_WIDTH.sub(widen, body[:defs_end]) + body[defs_end:]
    return head + new_tag + body
