"""Previews a person can read: white paper, dark lines, on real drawings."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ezdxf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad import preview_theme
from apps.cad.models import Analysis
from apps.cad.pipeline import render_preview
from tests.cad.conftest import corpus_files
from tests.conftest import CORPUS_DIR, require

EXAMPLES = CORPUS_DIR / "ezdxf" / "examples_dxf"
_BACKGROUND = re.compile(r'<rect\b[^>]*?\bfill="(#[0-9a-fA-F]{6})"')
_INK = re.compile(r"(stroke|fill)(?::\s*|=\")(#[0-9a-fA-F]{6})")


def colours(svg: str) -> tuple[str, set[str]]:
    """The background an SVG is drawn on and the colours it draws with (a
    fill in the background's own colour masks, it draws nothing)."""
    match = _BACKGROUND.search(svg)
    assert match, svg[:300]
    ground = match.group(1).lower()
    body = _BACKGROUND.sub("", svg)
    inks = {
        c.lower() for p, c in _INK.findall(body) if not (p == "fill" and c == ground)
    }
    return ground, inks


def drawn(svg: str) -> int:
    return svg.count("<path") + svg.count("<polyline")


def _render(path: Path) -> str:
    return render_preview(path.name, path.read_bytes())["preview_svg"]


def test_every_corpus_preview_has_dark_ink_on_white_paper() -> None:
    files = corpus_files()
    require(bool(files), f"DXF corpus not found at {CORPUS_DIR}")
    faint: list[tuple[str, str, float]] = []
    drawings = 0
    for path in files:
        try:
            svg = _render(path)
        except Exception:  # noqa: BLE001 - refused files have no preview to judge
            continue
        ground, inks = colours(svg)
        assert ground == "#ffffff", path.name
        drawings += drawn(svg) > 0
        faint += [
            (path.name, c, round(preview_theme.contrast(c, ground), 2))
            for c in inks
            if preview_theme.contrast(c, ground) < preview_theme.MIN_CONTRAST
        ]
    assert drawings >= 40  # most of the corpus is drawn, not a placeholder
    assert faint == []


def test_the_dark_theme_has_light_ink_on_a_dark_ground() -> None:
    files = [EXAMPLES / n for n in ("colors.dxf", "text_fonts.dxf", "hatches_2.dxf")]
    require(all(f.is_file() for f in files), f"DXF corpus not found at {CORPUS_DIR}")
    for path in files:
        light = _render(path)
        dark = preview_theme.themed(light, theme="dark")
        ground, inks = colours(dark)
        assert ground == preview_theme.DARK_GROUND
        assert preview_theme.luminance(ground) < 0.05
        assert inks, path.name
        for c in inks:
            assert preview_theme.contrast(c, ground) >= preview_theme.MIN_CONTRAST, c
        assert drawn(dark) == drawn(light)  # the same picture, other colours


def test_aci7_is_black_on_paper_and_white_on_the_dark_theme() -> None:
    path = EXAMPLES / "dimension_in_block.dxf"
    require(path.is_file(), f"DXF corpus not found at {CORPUS_DIR}")
    light = _render(path)
    assert colours(light)[1] == {"#000000"}
    assert colours(preview_theme.themed(light, theme="dark"))[1] == {"#ffffff"}


def test_dimensions_and_text_are_drawn_in_visible_ink() -> None:
    path = EXAMPLES / "dimension_in_block.dxf"
    require(path.is_file(), f"DXF corpus not found at {CORPUS_DIR}")
    svg = _render(path)
    # Dimension text and arrowheads are filled outlines, lines are strokes;
    # both classes exist and neither is drawn in the paper's colour.
    fills = re.findall(r"\.(\w+) \{stroke: none;[^}]*fill: (#[0-9a-f]{6})", svg)
    strokes = re.findall(r"\.(\w+) \{stroke: (#[0-9a-f]{6})", svg)
    assert fills and strokes
    for cls, colour in fills + strokes:
        assert f'class="{cls}"' in svg
        assert preview_theme.contrast(colour, "#ffffff") >= 4.5


def test_lineweights_are_kept() -> None:
    path = EXAMPLES / "valid_lineweights.dxf"
    require(path.is_file(), f"DXF corpus not found at {CORPUS_DIR}")
    widths = {float(w) for w in re.findall(r"stroke-width: ([0-9.]+);", _render(path))}
    assert len(widths) >= 10  # one per DXF lineweight, not one for all
    assert max(widths) >= 10 * min(widths)


def _dxf(build: Callable[[Any], None]) -> str:
    doc = ezdxf.new("R2010")
    build(doc)
    out = io.StringIO()
    doc.write(out)
    return out.getvalue()


def _preview_of(text: str) -> str:
    return render_preview("drawing.dxf", text.encode())["preview_svg"]


def _drawn(text: str) -> int:
    """How much the preview of ``text`` draws; it must be no placeholder."""
    svg = _preview_of(text)
    assert "no preview" not in svg
    return drawn(svg)


def test_a_drawing_whose_every_layer_is_off_is_drawn_with_its_layers_on() -> None:
    # Symbol libraries save their symbols on a layer that is off (to be
    # inserted on a layer of one's own): a blank preview says nothing.
    def symbol(doc: Any) -> None:
        doc.layers.get("0").off()
        doc.modelspace().add_circle((0, 0), 5)
        doc.modelspace().add_line((-5, 0), (5, 0))

    assert _drawn(_dxf(symbol)) >= 2


def test_layers_that_are_off_stay_hidden_when_something_else_shows() -> None:
    def line(doc: Any) -> None:
        doc.modelspace().add_line((0, 0), (10, 0))

    def line_and_hidden_circles(doc: Any) -> None:
        line(doc)
        doc.layers.add("HIDDEN").off()
        for x in range(5):
            doc.modelspace().add_circle((x, 5), 1, dxfattribs={"layer": "HIDDEN"})

    assert drawn(_preview_of(_dxf(line_and_hidden_circles))) == drawn(
        _preview_of(_dxf(line))
    )


def test_an_empty_model_space_says_so() -> None:
    svg = _preview_of(_dxf(lambda doc: None))
    assert "the model space is empty" in svg
    assert drawn(svg) == 0
    blank = _preview_of(_dxf(lambda doc: doc.modelspace().add_text("")))
    assert "no entity draws a line" in blank


def test_a_draw_order_that_is_no_table_does_not_stop_the_preview() -> None:
    # As LibreDWG writes some files: the layout's draw order names an object
    # that is no draw-order table.
    def misfiled(doc: Any) -> None:
        msp = doc.modelspace()
        line = msp.add_line((0, 0), (10, 0))
        circle = msp.add_circle((5, 5), 3)
        msp.set_redraw_order({line.dxf.handle: circle.dxf.handle})
        xdict = msp.get_extension_dict()
        xdict.discard("ACAD_SORTENTS")
        xdict.add_xrecord("ACAD_SORTENTS")

    assert _drawn(_dxf(misfiled)) >= 2


def test_a_leader_of_one_vertex_leaves_the_rest_drawn() -> None:
    def with_leader(doc: Any) -> None:
        doc.modelspace().add_line((0, 0), (10, 0))
        doc.modelspace().add_leader([(1, 2), (5, 5)])

    two = " 76\n2\n 10\n1.0\n 20\n2.0\n 30\n0.0\n 10\n5.0\n 20\n5.0\n 30\n0.0\n"
    text = _dxf(with_leader)
    assert two in text
    assert _drawn(text.replace(two, " 76\n1\n 10\n1.0\n 20\n2.0\n 30\n0.0\n")) >= 1


def test_a_hatch_whose_spline_edge_has_too_many_knots_leaves_the_rest_drawn() -> None:
    # As some DWG converters write a hatch boundary: a cubic spline of four
    # control points needs eight knots, this one carries eleven.
    def with_hatch(doc: Any) -> None:
        doc.modelspace().add_line((0, 0), (10, 0))
        edges = doc.modelspace().add_hatch().paths.add_edge_path()
        edges.add_spline(
            control_points=[(0, 0), (1, 2), (3, 2), (4, 0)],
            knot_values=[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2],
            degree=3,
        )
        edges.add_line((4, 0), (0, 0))

    assert _drawn(_dxf(with_hatch)) >= 1


def _readable_in_both_themes(stored: str) -> None:
    for theme, ground in (("light", "#ffffff"), ("dark", preview_theme.DARK_GROUND)):
        svg = preview_theme.themed(stored, theme=theme)
        found, inks = colours(svg)
        assert found == ground, theme
        assert inks, theme
        for c in inks:
            assert preview_theme.contrast(c, ground) >= 4.5, (theme, c)


def test_placeholders_are_readable_in_both_themes() -> None:
    from apps.cad.preview import placeholder

    stored = preview_theme.paper(placeholder("12000 entities: too many to preview"))
    assert preview_theme.is_current(stored)
    _readable_in_both_themes(stored)


def test_mesh_silhouettes_are_readable_in_both_themes() -> None:
    import trimesh

    data = trimesh.creation.box((10, 20, 30)).export(file_type="stl")
    stored = render_preview("box.stl", data)["preview_svg"]
    assert stored.startswith("<svg")
    _readable_in_both_themes(stored)


def upload(client, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("part.dxf", content)},
        format="multipart",
    )


def _root(svg: bytes) -> str:
    match = re.search(rb"<svg\b[^>]*>", svg)
    assert match
    return match.group(0).decode()


def test_the_default_preview_keeps_its_page_size_and_is_on_paper(
    api_client_a, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    r = api_client_a.get(f"/api/v1/drawings/{drawing_id}/preview.svg")
    assert r.status_code == 200
    assert r["Content-Type"] == "image/svg+xml"
    root = _root(r.content)
    assert 'width="210mm"' in root and 'height="148mm"' in root
    assert colours(r.content.decode())[0] == "#ffffff"


def test_size_makes_a_thumbnail_of_that_many_pixels(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    url = f"/api/v1/drawings/{drawing_id}/preview.svg"
    full = api_client_a.get(url).content
    thumb = api_client_a.get(url, {"size": 256})
    assert thumb.status_code == 200
    root = _root(thumb.content)
    width = int(re.search(r'width="(\d+)"', root).group(1))  # type: ignore[union-attr]
    height = int(re.search(r'height="(\d+)"', root).group(1))  # type: ignore[union-attr]
    assert max(width, height) == 256
    assert abs(width / height - 210 / 148) < 0.02  # the page's proportions
    # The same picture, scaled: same view box and shapes.
    assert re.search(r'viewBox="[^"]+"', root).group(0) in _root(full)  # type: ignore[union-attr]
    assert drawn(thumb.content.decode()) == drawn(full.decode())
    # Hairlines do not vanish: every line is at least ~0.75 px wide.
    box_w = float(re.search(r'viewBox="0 0 ([0-9.]+)', root).group(1))  # type: ignore[union-attr]
    widths = [float(w) for w in re.findall(rb"stroke-width: ([0-9.]+);", thumb.content)]
    assert widths and min(widths) * width / box_w >= 0.74


def test_the_dark_theme_is_served_on_request(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    r = api_client_a.get(
        f"/api/v1/drawings/{drawing_id}/preview.svg", {"theme": "dark", "size": 64}
    )
    assert r.status_code == 200
    ground, inks = colours(r.content.decode())
    assert ground == preview_theme.DARK_GROUND
    assert all(preview_theme.contrast(c, ground) >= 4.5 for c in inks)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"size": "big"}, "size"),
        ({"size": 5}, "size"),
        ({"size": 100000}, "size"),
        ({"theme": "blue"}, "theme"),
    ],
)
def test_bad_preview_options_are_400_naming_the_option(
    api_client_a, part: bytes, query, field
) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    v1 = api_client_a.get(f"/api/v1/drawings/{drawing_id}/preview.svg", query)
    assert v1.status_code == 400
    assert field in v1.json()
    v2 = api_client_a.get(f"/api/v2/drawings/{drawing_id}/preview.svg", query)
    assert v2.status_code == 400
    assert v2["Content-Type"] == "application/problem+json"
    assert [e["pointer"] for e in v2.json()["errors"]] == [f"/{field}"]


def test_a_preview_stored_by_the_old_renderer_is_drawn_again(
    api_client_a, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    old = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="148mm" '
        'viewBox="0 0 10000 7048"><rect fill="#212830" x="0" y="0" width="10000" '
        'height="7048" /></svg>'
    )
    Analysis.objects.filter(drawing_id=drawing_id).update(preview_svg=old)
    r = api_client_a.get(f"/api/v1/drawings/{drawing_id}/preview.svg")
    assert colours(r.content.decode())[0] == "#ffffff"
    assert drawn(r.content.decode()) > 0
    assert preview_theme.is_current(
        Analysis.objects.get(drawing_id=drawing_id).preview_svg
    )
