"""Text of DXF files written before R2007, in the codepage their tools used."""

from __future__ import annotations

import io

import ezdxf
import pytest

from apps.cad.pipeline import analyze_bytes

TITLE_BLOCKS = {
    "cp932": (
        ["図番: A-123", "品名: ブラケット", "材質: SS400", "尺度: 1:2", "作成者: 山田"],
        {"drawing_number": "A-123", "part_name": "ブラケット", "drawn_by": "山田"},
    ),
    "gb18030": (
        ["图号: B-7", "名称: 支架", "材料: Q235", "比例: 1:2", "设计: 张三"],
        {"drawing_number": "B-7", "part_name": "支架", "drawn_by": "张三"},
    ),
    "cp949": (
        ["도번: C-9", "품명: 브라켓", "재질: SS400", "척도: 1:2", "작성자: 김철수"],
        {"drawing_number": "C-9", "part_name": "브라켓", "drawn_by": "김철수"},
    ),
    "utf_8": (
        ["Maßstab: 1:2", "Benennung: Winkel", "Werkstoff: S235", "Gezeichnet: Müller"],
        {"part_name": "Winkel", "drawn_by": "Müller"},
    ),
    "cp1252": (
        ["Maßstab: 1:2", "Benennung: Winkel", "Werkstoff: S235", "Gezeichnet: Müller"],
        {"part_name": "Winkel", "drawn_by": "Müller"},
    ),
}


def r12(lines: list[str], encoding: str, codepage: str | None = None) -> bytes:
    """An R12 file of TEXT lines, naming ``codepage`` in its header or none
    (as the Japanese, Chinese and Korean tools that wrote such files did)."""
    named = f"  9\n$DWGCODEPAGE\n  3\n{codepage}\n" if codepage else ""
    body = "".join(
        f"  0\nTEXT\n  8\n0\n 10\n0.0\n 20\n{-10.0 * i}\n 40\n2.5\n  1\n{text}\n"
        for i, text in enumerate(lines)
    )
    return (
        "  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1009\n"
        f"{named}  0\nENDSEC\n  0\nSECTION\n  2\nENTITIES\n{body}"
        "  0\nENDSEC\n  0\nEOF\n"
    ).encode(encoding)


@pytest.mark.parametrize("encoding", sorted(TITLE_BLOCKS))
def test_text_in_an_unnamed_codepage_reads_as_written(encoding: str) -> None:
    lines, fields = TITLE_BLOCKS[encoding]
    result = analyze_bytes("old.dxf", r12(lines, encoding), preview=False)
    assert [t["text"] for t in result["text"]] == lines
    block = {k: v["value"] for k, v in result["title_block"].items() if v}
    assert fields.items() <= block.items()


def test_a_named_codepage_is_read_as_named() -> None:
    # Cyrillic bytes would read as something else if guessed; the header says
    # which codepage they are in.
    lines = ["Масштаб: 1:2", "Наименование: Кронштейн", "Разработал: Иванов"]
    result = analyze_bytes(
        "named.dxf", r12(lines, "cp1251", codepage="ANSI_1251"), preview=False
    )
    assert [t["text"] for t in result["text"]] == lines


def test_a_file_saved_on_windows_reads_its_text_as_utf8() -> None:
    # R2007 and later are UTF-8; with CRLF line ends the header's version
    # was missed and the text read as cp1252 ("MaÃŸstab").
    doc = ezdxf.new("R2013")
    lines = ["Maßstab: 1:2", "Gezeichnet: Müller", "Merilo: 1:5", "Risal: Žiga Čeh"]
    for i, text in enumerate(lines):
        doc.modelspace().add_text(text, height=2.5).set_placement((0, -10 * i))
    out = io.StringIO()
    doc.write(out)
    content = out.getvalue().replace("\n", "\r\n").encode("utf-8")
    result = analyze_bytes("windows.dxf", content, preview=False)
    assert [t["text"] for t in result["text"]] == lines
    assert result["title_block"]["drawn_by"]["value"] == "Müller"
