"""STEP and IGES through every way in: sniffing by content, the isolation pool,
the REST API and ``manage.py analyze``; broken files get a clear 4xx."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.cad.errors import UnsupportedFormat
from apps.cad.formats import Format, detect
from apps.cad.services import content_analyze
from apps.cad.synth import solids as S
from cadml.lib.errors import DomainError

STEP_HEAD = b"ISO-10303-21;\nHEADER;\n"


@pytest.fixture(scope="module")
def step() -> bytes:
    return S.step_bytes(S.box_with_hole())


@pytest.fixture(scope="module")
def iges() -> bytes:
    return S.iges_bytes(S.cylinder(5, 10))


def refusal(content: bytes) -> tuple[int, str]:
    try:
        content_analyze(name="f", content=content, preview=False)
    except DomainError as exc:
        return exc.status_code, exc.message
    raise AssertionError("the file was analysed")


def test_step_and_iges_are_sniffed_by_content(step: bytes, iges: bytes) -> None:
    assert detect(step).name == "step"
    assert detect(b"\xef\xbb\xbf  ISO-10303-21;\r\nHEADER;").name == "step"
    assert detect(b"/* exported */\n/* by x */ ISO-10303-21;\nHEADER;").name == "step"
    assert detect(iges).name == "iges"
    # Classic IGES numbers its cards with leading blanks, not zeros.
    card = b" " * 72 + b"S      1\n" + b"1H,,1H;" + b" " * 65 + b"G      1\n"
    assert detect(card).name == "iges"


@pytest.mark.parametrize(
    "content",
    [
        b"ISO-10303-28 <xml/>",
        b"HEADER;\nISO-10303-21;",
        b" " * 72 + b"X      1\n" + b" " * 72 + b"G      1\n",
        b" " * 60 + b"S      1\n" + b" " * 72 + b"G      1\n",
    ],
)
def test_near_misses_are_not_step_or_iges(content: bytes) -> None:
    with pytest.raises(UnsupportedFormat, match="STEP, IGES"):
        detect(content)


def test_a_zip_named_step_is_refused_as_unsupported(step: bytes) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("part.step", step)
    status, message = refusal(buf.getvalue())
    assert status == 415 and "Accepted formats" in message


@given(st.binary(max_size=2048))
@hsettings(max_examples=400, deadline=None)
def test_sniff_answers_a_format_or_a_415_for_any_bytes(data: bytes) -> None:
    try:
        fmt = detect(data)
    except UnsupportedFormat as exc:
        assert exc.status_code == 415
        return
    assert isinstance(fmt, Format)


@given(st.binary(max_size=600))
@hsettings(max_examples=400, deadline=None)
def test_anything_after_a_step_header_is_sniffed_as_step(tail: bytes) -> None:
    assert detect(STEP_HEAD + tail).name == "step"


@given(tail=st.binary(min_size=1, max_size=400))
@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_step_header_followed_by_garbage_is_a_422(tail: bytes) -> None:
    status, message = refusal(STEP_HEAD + tail)
    assert status == 422 and "STEP" in message


@given(cut=st.floats(min_value=0.05, max_value=0.95))
@hsettings(max_examples=8, deadline=None)
def test_truncated_step_is_a_422_or_what_survives(cut: float) -> None:
    content = S.step_bytes(S.box_with_hole())
    part = content[: int(len(content) * cut)]
    try:
        result = content_analyze(name="cut.step", content=part, preview=False)
    except DomainError as exc:
        assert exc.status_code == 422 and "STEP" in exc.message
        return
    # The reader may salvage whole faces before the cut: never more than it had.
    assert result["stats"]["solid"]["volume_mm3"] <= 6000


def test_iges_with_broken_pointers_is_a_422(iges: bytes) -> None:
    lines = iges.split(b"\n")
    # A directory entry is two cards; the first's columns 9-16 point into the
    # parameter section. Point the first entry past its end.
    first = next(i for i, ln in enumerate(lines) if ln[72:73] == b"D")
    lines[first] = lines[first][:8] + b"  999999" + lines[first][16:]
    broken = lines
    status, message = refusal(b"\n".join(broken))
    assert status == 422 and "IGES" in message


def test_a_model_with_too_many_faces_is_refused_before_reading() -> None:
    faces = b"#1 = ADVANCED_FACE('',(#2),#3,.T.);\n" * 100_001
    status, message = refusal(STEP_HEAD + b"DATA;\n" + faces)
    assert status == 422 and "100000 faces" in message


def test_a_step_of_points_only_is_a_422_saying_no_shapes() -> None:
    content = (
        STEP_HEAD
        + b"FILE_DESCRIPTION(('x'),'2;1');FILE_NAME('x','',(''),(''),'','','');"
        + b"FILE_SCHEMA(('AUTOMOTIVE_DESIGN'));ENDSEC;\nDATA;\n"
        + b"#1=CARTESIAN_POINT('',(0.,0.,0.));\nENDSEC;\nEND-ISO-10303-21;\n"
    )
    status, message = refusal(content)
    assert status == 422 and "no surfaces or solids" in message


def test_a_shell_of_empty_edge_loops_is_a_422() -> None:
    # A degenerate shell shared by several solids, as in files crafted to make
    # receivers allocate without bound.
    content = (
        b"/* stub */\n"
        + STEP_HEAD
        + b"FILE_DESCRIPTION(('x'),'2;1');FILE_NAME('x','',(''),(''),'','','');"
        + b"FILE_SCHEMA(('AUTOMOTIVE_DESIGN'));ENDSEC;\nDATA;\n"
        + b"#1=CARTESIAN_POINT('',(0.,0.,0.));#2=DIRECTION('',(0.,0.,1.));"
        + b"#3=DIRECTION('',(1.,0.,0.));#4=AXIS2_PLACEMENT_3D('',#1,#2,#3);"
        + b"".join(b"#%d=MANIFOLD_SOLID_BREP('s',#30);" % i for i in range(10, 18))
        + b"#30=CLOSED_SHELL('',(#31));#31=ADVANCED_FACE('',(#32),#33,.T.);"
        + b"#32=FACE_OUTER_BOUND('',#34,.T.);#33=PLANE('',#4);#34=EDGE_LOOP('',());"
        + b"\nENDSEC;\nEND-ISO-10303-21;\n"
    )
    status, message = refusal(content)
    assert status == 422 and "STEP" in message


def test_non_ascii_product_names_come_back_as_text(step: bytes) -> None:
    # ISO 10303-21 writes non-ASCII as \X2\ hex; "Flansch Ø40 – Größe" here.
    name = "Flansch \u00d840 \u2013 Gr\u00f6\u00dfe"
    enc = "".join(
        c if ord(c) < 128 else f"\\X2\\{ord(c):04X}\\X0\\" for c in name
    ).encode()
    start = step.index(b"PRODUCT('")
    end = step.index(b",", step.index(b",", start) + 1)
    named = step[:start] + b"PRODUCT('P-1','" + enc + b"'" + step[end:]
    result = content_analyze(name="n.step", content=named, preview=False)
    assert {"text": name, "type": "PRODUCT_NAME", "source": "step"} in result["text"]
    assert result["stats"]["solid"]["parts"][0]["name"] == name


def test_the_pool_keeps_serving_after_refusals(step: bytes) -> None:
    refusal(STEP_HEAD + b"garbage")
    result = content_analyze(name="ok.step", content=step, preview=False)
    assert result["format"] == "step" and result["feature_version"] == "brep-2"


def test_the_memory_cap_counts_above_the_kernels_own_libraries(settings, step) -> None:  # type: ignore[no-untyped-def]
    # OpenCascade alone maps far more than 300 MB of address space; the cap is
    # what a file may use on top of it, so a small part still fits under it.
    settings.CADML_PARSE_MEMORY_MB = 300
    result = content_analyze(name="small.step", content=step, preview=False)
    assert result["format"] == "step"
    assert result["solid"]["faces_by_type"]["cylinder"] >= 1


@pytest.mark.django_db
def test_upload_a_step_file_through_the_api(api_client_a, settings, step) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = api_client_a.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("bracket.stp", step)},
        format="multipart",
    )
    assert r.status_code == 201, r.data
    assert r.data["format"] == "step"
    a = r.data["analysis"]
    assert a["status"] == "done" and a["feature_version"] == "brep-2"
    assert a["stats"]["solid"]["faces_by_type"] == {"plane": 6, "cylinder": 1}
    pic = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/preview.svg")
    assert pic.status_code == 200
    assert b"<svg" in b"".join(getattr(pic, "streaming_content", [pic.content]))


@pytest.mark.django_db
def test_a_step_name_escaping_nul_is_stored_with_a_replacement_character(
    api_client_a, settings, step
) -> None:  # type: ignore[no-untyped-def]
    """ISO 10303-21's ``\\X\\00`` is a NUL, which PostgreSQL refuses: the
    upload was a 500; now 201 with U+FFFD in its place."""
    settings.CADML_PREDICTOR = None
    start = step.index(b"PRODUCT('")
    end = step.index(b",", step.index(b",", start) + 1)
    named = step[:start] + b"PRODUCT('P-1','Pl\\X\\00ate'" + step[end:]
    r = api_client_a.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("plate.stp", named)},
        format="multipart",
    )
    assert r.status_code == 201, r.data
    texts = {t["text"] for t in r.data["analysis"]["text"]}
    assert "Pl\ufffdate" in texts


@pytest.mark.django_db
def test_upload_of_a_broken_step_is_a_422_naming_the_problem(api_client_a) -> None:  # type: ignore[no-untyped-def]
    r = api_client_a.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("bad.step", STEP_HEAD + b"\x00\x01junk")},
        format="multipart",
    )
    assert r.status_code == 422
    assert "STEP" in json.dumps(r.data)


@pytest.mark.django_db
def test_analyze_command_reads_step_and_iges(tmp_path: Path, step, iges) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.step").write_bytes(step)
    (tmp_path / "b.igs").write_bytes(iges)
    out = StringIO()
    call_command(
        "analyze",
        str(tmp_path / "a.step"),
        str(tmp_path / "b.igs"),
        "--json",
        "--no-predict",
        stdout=out,
    )
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["format"] for x in lines] == ["step", "iges"]
    assert lines[1]["stats"]["solid"]["faces_by_type"] == {"plane": 2, "cylinder": 1}


@pytest.mark.django_db
def test_a_classifier_trains_on_a_folder_of_step_files(tmp_path: Path) -> None:
    from apps.modelreg.models import ModelVersion

    shapes = {
        "plate": [S.perforated_plate(n, 2) for n in (1, 2, 3, 4, 5)],
        "shaft": [S.cylinder(2 + i, 30 + 7 * i) for i in range(5)],
    }
    for label, items in shapes.items():
        (tmp_path / label).mkdir()
        for i, shape in enumerate(items):
            (tmp_path / label / f"p{i}.stp").write_bytes(S.step_bytes(shape))
    out = StringIO()
    call_command(
        "train_classifier",
        "--data",
        str(tmp_path),
        "--register",
        "--json",
        "--workers",
        "1",
        "--estimator",
        "logistic_regression",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert summary["labels"] == ["plate", "shaft"]
    assert summary["training_summary"]["rows"] == 10
    assert ModelVersion.objects.get().model.feature_version == "brep-2"


@pytest.mark.django_db
def test_analyze_command_plain_output_says_what_a_step_file_holds(
    tmp_path: Path, step
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.step").write_bytes(step)
    out = StringIO()
    call_command("analyze", str(tmp_path / "a.step"), "--no-predict", stdout=out)
    line = out.getvalue().strip()
    # A B-rep file has no drawing entities: the line names its faces and solids.
    assert "entities" not in line
    assert "7 faces (6 plane, 1 cylinder), 1 solid," in line
    assert line.startswith(f"{tmp_path / 'a.step'}: step, ")
