"""Oversized and anonymous uploads are answered on their headers, before the
body is sent: through a real daphne, with a raw socket that sends the headers
and a first chunk only, and daphne's memory read from /proc."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apps.accounts.services import api_key_create
from apps.cad.models import Drawing
from tests.servers import Server, running_daphne, test_database_url

FIRST_CHUNK = b"--b\r\n" + b"x" * (64 * 1024)
GIB = 1024**3


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _read_response(sock: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """Status line, headers and body of the one response on ``sock``."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status, *lines = head.split(b"\r\n")
    headers = {
        k.strip().lower(): v.strip()
        for k, v in (line.decode("latin-1").split(":", 1) for line in lines)
    }
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _start_upload(server: Server, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    lines = [
        "POST /api/v1/drawings HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: multipart/form-data; boundary=b",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    """One server for the module: no test here stops or restarts it."""
    env = {
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("daphne") / "media"),
        "CADML_MAX_UPLOAD_MB": "2",
        "CADML_MAX_REQUEST_BODY_MB": "3",
    }
    with running_daphne(env) as server:
        yield server


@pytest.fixture
def key(tenant_a, owner_a) -> str:  # type: ignore[no-untyped-def]
    return api_key_create(
        tenant=tenant_a, name="uploads", scopes=["read", "write"], created_by=owner_a
    ).plaintext


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_gigabyte_without_credentials_gets_401_before_it_is_sent(daphne) -> None:  # type: ignore[no-untyped-def]
    before = _rss_bytes(daphne.process.pid)
    with _start_upload(daphne, {"Content-Length": str(GIB)}) as sock:
        sock.sendall(FIRST_CHUNK)
        status, headers, body = _read_response(sock)
    assert status.startswith(b"HTTP/1.1 401"), status
    assert headers["content-type"] == "application/problem+json"
    assert headers["www-authenticate"].startswith("Api-Key")
    assert "Authorization: Api-Key" in json.loads(body)["detail"]
    # Nothing of the declared gigabyte was buffered.
    assert _rss_bytes(daphne.process.pid) - before < 32 * 1024 * 1024


def test_an_oversized_upload_with_a_key_gets_413_before_it_is_sent(daphne, key) -> None:  # type: ignore[no-untyped-def]
    before = _rss_bytes(daphne.process.pid)
    declared = 300 * 1024 * 1024
    with _start_upload(
        daphne,
        {
            "Authorization": f"Api-Key {key}",
            "Content-Length": str(declared),
            # A client that waits for "100 Continue" gets the refusal instead.
            "Expect": "100-continue",
        },
    ) as sock:
        status, headers, body = _read_response(sock)
    assert status.startswith(b"HTTP/1.1 413"), status
    problem = json.loads(body)
    assert problem["status"] == 413
    assert "300.0 MB" in problem["detail"]
    assert "limited to 3 MB" in problem["detail"]
    assert _rss_bytes(daphne.process.pid) - before < 32 * 1024 * 1024
    # The server goes on serving.
    with httpx.Client(base_url=daphne.url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200


def test_a_chunked_body_is_cut_off_at_the_limit(daphne, key) -> None:  # type: ignore[no-untyped-def]
    with _start_upload(
        daphne,
        {"Authorization": f"Api-Key {key}", "Transfer-Encoding": "chunked"},
    ) as sock:
        sent = 0
        piece = b"y" * (256 * 1024)
        try:
            # Past the 3 MB limit, then stop and listen: the answer is there
            # although the body never ended.
            while sent < 4 * 1024 * 1024:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = _read_response(sock)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert "limited to 3 MB" in json.loads(body)["detail"]
    assert not Drawing.objects.exists()


def test_uploads_within_the_limit_still_arrive(daphne, key) -> None:  # type: ignore[no-untyped-def]
    dxf = b"0\nSECTION\n2\nENTITIES\n0\nLINE\n8\n0\n10\n0\n20\n0\n11\n5\n21\n5\n"
    dxf += b"0\nENDSEC\n0\nEOF\n"
    with httpx.Client(
        base_url=daphne.url, headers={"Authorization": f"Api-Key {key}"}, timeout=60
    ) as http:
        created = http.post("/api/v1/drawings", files={"file": ("a.dxf", dxf)})
        anonymous = httpx.post(
            f"{daphne.url}/api/v1/drawings", files={"file": ("a.dxf", dxf)}
        )
    assert created.status_code == 201, created.text
    assert anonymous.status_code == 401


def test_a_large_body_with_a_wrong_key_gets_401_before_it_is_sent(daphne) -> None:  # type: ignore[no-untyped-def]
    wrong = "cadml_abcdefghijkl_" + "x" * 43
    with _start_upload(
        daphne,
        {"Authorization": f"Api-Key {wrong}", "Content-Length": str(2_500_000)},
    ) as sock:
        sock.sendall(FIRST_CHUNK)
        status, headers, body = _read_response(sock)
    assert status.startswith(b"HTTP/1.1 401"), status
    assert json.loads(body)["detail"] == "invalid API key (the body was not read)."


def test_a_large_upload_with_a_good_key_is_read_after_its_key_check(
    daphne, key
) -> None:  # type: ignore[no-untyped-def]
    # Over a megabyte: the connection waits for the key check, then reads on.
    line = b"0\nLINE\n8\n0\n10\n0\n20\n0\n11\n5\n21\n5\n"
    dxf = b"0\nSECTION\n2\nENTITIES\n" + line * 40_000 + b"0\nENDSEC\n0\nEOF\n"
    assert 1024 * 1024 < len(dxf) < 2 * 1024 * 1024
    with httpx.Client(
        base_url=daphne.url, headers={"Authorization": f"Api-Key {key}"}, timeout=60
    ) as http:
        created = http.post("/api/v1/drawings", files={"file": ("big.dxf", dxf)})
    assert created.status_code == 201, created.text
    assert created.json()["size"] == len(dxf)
