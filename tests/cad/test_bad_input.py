"""Hostile and broken files: each one analyses or gets a clear 4xx, and the
isolation pool keeps serving afterwards."""

from __future__ import annotations

import io
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.cad.services import content_analyze
from apps.cad.synth import generate_part
from cadml.lib.errors import DomainError
from tests.cad.conftest import corpus_files, dxf_bytes, undecodable_text_dxf
from tests.conftest import CORPUS_DIR, require

ENTITIES = b"0\nSECTION\n2\nENTITIES\n"
END = b"0\nENDSEC\n0\nEOF\n"


def outcome(content: bytes) -> tuple[int, str]:
    """(200, "") for an analysed file, (status, message) for a refused one."""
    try:
        result = content_analyze(name="f", content=content, preview=True)
    except DomainError as exc:
        assert 400 <= exc.status_code < 500
        assert exc.message
        return exc.status_code, exc.message
    assert result["features"] and all(x == x for x in result["features"])  # no NaN
    return 200, ""


def test_text_its_code_page_cannot_decode_comes_back_as_replacement_characters() -> (
    None
):
    """Bytes the declared code page does not define and a lone-surrogate
    escape come back as U+FFFD, the rest of the text as written: the result
    encodes as UTF-8, as the database, JSON clients and gRPC need it."""
    result = content_analyze(name="f", content=undecodable_text_dxf(), preview=True)
    texts = sorted(t["text"] for t in result["text"])
    assert texts == ["NOTE A\ufffdB", "TITLE: \u0160\u00ee\ufffd\u20ac\ufffd"]
    assert {t["layer"] for t in result["text"]} == {"0", "PLAN\ufffd\ufffd"}
    assert json.dumps(result, ensure_ascii=False).encode("utf-8")


def test_zero_bytes_and_random_bytes_get_415() -> None:
    assert outcome(b"")[0] == 415
    assert outcome(random.Random(1).randbytes(5000))[0] == 415


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_drawings_analyse_or_get_a_4xx(cut: float) -> None:
    content = generate_part("housing", random.Random(2))
    status, _ = outcome(content[: int(len(content) * cut)])
    assert status in (200, 415, 422)


def test_a_block_that_inserts_itself_is_analysed_without_recursing() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        blk = doc.blocks.new("LOOP")
        blk.add_circle((0, 0), 5)
        blk.add_blockref("LOOP", (10, 0))
        msp.add_blockref("LOOP", (0, 0))

    result = content_analyze(name="loop.dxf", content=dxf_bytes(build))
    assert result["stats"]["recursive_inserts_skipped"] >= 1
    assert result["preview_svg"].startswith(("<?xml", "<svg"))


def test_deeply_nested_blocks_are_analysed_up_to_the_depth_limit() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        for i in range(200):
            blk = doc.blocks.new(f"B{i}")
            blk.add_line((0, 0), (1, 1))
            if i:
                blk.add_blockref(f"B{i - 1}", (1, 0))
        msp.add_blockref("B199", (0, 0))

    result = content_analyze(name="deep.dxf", content=dxf_bytes(build))
    assert result["stats"]["walk_truncated"] is True


def test_huge_and_nan_coordinates_do_not_poison_the_features() -> None:
    content = (
        ENTITIES
        + b"0\nLINE\n8\n0\n10\nnan\n20\n0\n11\n1e300\n21\n5\n"
        + b"0\nLINE\n8\n0\n10\n0\n20\n0\n11\n10\n21\n0\n"
        + b"0\nCIRCLE\n8\n0\n10\n1e308\n20\n-1e308\n40\ninf\n"
        + b"0\nCIRCLE\n8\n0\n10\n5\n20\n5\n40\n2\n"
        + END
    )
    status, message = outcome(content)
    assert status in (200, 422), message


def test_a_mesh_with_degenerate_faces_analyses_or_is_refused_clearly() -> None:
    obj = b"v 0 0 0\nv 1 0 0\nv 2 0 0\nv 0 1 0\nf 1 2 3\nf 1 1 2\nf 1 2 4\n"
    assert outcome(obj)[0] in (200, 422)
    only_degenerate = b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n"
    status, message = outcome(only_degenerate)
    assert status == 200 or (status == 422 and "triangles" in message)


def test_a_closed_mesh_reports_volume_and_euler_number() -> None:
    import trimesh

    data = trimesh.creation.box((10, 20, 30)).export(file_type="stl")
    result = content_analyze(name="box.stl", content=data)
    assert result["format"] == "stl"
    assert result["stats"]["watertight"] is True
    assert result["stats"]["volume"] == pytest.approx(6000)
    assert result["stats"]["euler_number"] == 2
    assert result["preview_svg"].startswith("<svg")


def test_a_million_entities_hit_the_time_limit_and_the_pool_recovers(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PARSE_TIMEOUT_S = 2
    settings.CADML_MAX_UPLOAD_MB = 100
    content = ENTITIES + b"0\nPOINT\n8\n0\n10\n1\n20\n2\n" * 1_000_000 + END
    status, message = outcome(content)
    assert status == 422
    assert "time limit" in message
    # The killed worker was replaced: the next file is analysed normally.
    assert outcome(generate_part("washer", random.Random(1)))[0] == 200


def test_a_file_past_the_memory_cap_gets_422_naming_the_memory_limit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PARSE_MEMORY_MB = 500
    settings.CADML_PARSE_TIMEOUT_S = 60
    content = ENTITIES + b"0\nLINE\n8\n0\n10\n1\n20\n2\n11\n3\n21\n4\n" * 600_000 + END
    status, message = outcome(content)
    assert status == 422
    assert "memory limit" in message
    # The cap is not refusing everything: a normal drawing fits under it.
    assert outcome(generate_part("washer", random.Random(1)))[0] == 200


def test_an_upload_past_the_size_limit_gets_413(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MAX_UPLOAD_MB = 1
    assert outcome(ENTITIES + b" " * (1024 * 1024) + END)[0] == 413


_SEEDS = [p.read_bytes() for p in corpus_files() if p.stat().st_size < 20_000][:12]


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.sampled_from(range(max(len(_SEEDS), 1))),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1), st.binary(min_size=0, max_size=8), st.integers(0, 16)
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_corpus_files_analyse_or_get_a_4xx(seed: int, edits: list) -> None:
    require(bool(_SEEDS), f"DXF corpus not found at {CORPUS_DIR}")
    data = bytearray(_SEEDS[seed])
    for where, insert, delete in edits:
        i = int(where * len(data))
        data[i : i + delete] = insert
    outcome(bytes(data))


def test_a_binary_dxf_cut_inside_a_group_code_gets_422() -> None:
    import ezdxf

    doc = ezdxf.new()
    doc.modelspace().add_line((0, 0), (1, 1))
    stream = io.BytesIO()
    doc.write(stream, fmt="bin")
    # 35 bytes: the sentinel, then a group code whose second byte is missing,
    # which made ezdxf's binary tag loader raise struct.error.
    status, message = outcome(stream.getvalue()[:35])
    assert status == 422
    assert "DXF" in message


def test_a_tables_section_with_a_second_endtab_analyses_or_gets_a_4xx() -> None:
    # An ENDTAB without its TABLE made ezdxf raise StopIteration while loading.
    content = (
        b"0\nSECTION\n2\nTABLES\n0\nTABLE\n2\nLAYER\n70\n0\n0\nENDTAB\n0\nENDTAB\n"
        b"0\nENDSEC\n" + ENTITIES + b"0\nLINE\n8\n0\n10\n0\n20\n0\n11\n5\n21\n5\n" + END
    )
    status, _ = outcome(content)
    assert status in (200, 422)


def test_os_random_garbage_with_a_dxf_header_is_refused_not_crashed() -> None:
    status, message = outcome(b"0\nSECTION\n2\nHEADER\n" + os.urandom(4000))
    assert status in (200, 415, 422)


def test_mesh_features_ignore_translation_and_scale() -> None:
    import trimesh

    mesh = trimesh.creation.annulus(r_min=3, r_max=8, height=5)
    moved = mesh.copy()
    moved.apply_scale(12.5)
    moved.apply_translation((100, -40, 7))
    a = content_analyze(name="a.stl", content=mesh.export(file_type="stl"))
    b = content_analyze(name="b.stl", content=moved.export(file_type="stl"))
    assert a["feature_version"] == b["feature_version"] == "mesh-1"
    assert a["features"] == pytest.approx(b["features"], abs=1e-3)
