"""Webhook targets: only globally routable unicast addresses, judged after DNS
resolution, both when a job is submitted and right before each delivery."""

from __future__ import annotations

import socket

import pytest

from apps.batch import webhooks

pytestmark = pytest.mark.django_db

NOT_PUBLIC = [
    "100.64.0.1",  # carrier-grade NAT (shared address space)
    "100.127.255.254",
    "100.100.100.200",  # a cloud metadata address inside 100.64/10
    "fec0::1",  # IPv6 site-local
    "2002:c0a8:0101::1",  # 6to4 embedding 192.168.1.1
    "2002:0a00:0001::1",  # 6to4 embedding 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 embedding 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",  # Teredo
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:127.0.0.1",  # IPv4-mapped loopback (not allow-listed in this form)
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "224.0.0.1",  # multicast
    "ff0e::1",  # global-scope IPv6 multicast
]
PUBLIC = ["93.184.216.34", "2606:4700::1111", "2002:5db8:d822::1"]  # last: 6to4


@pytest.fixture
def resolves_to(monkeypatch):  # type: ignore[no-untyped-def]
    """DNS (the outside world): every name resolves to the given address."""

    def set_address(address: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET

        def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            sockaddr = (
                (address, port, 0, 0)
                if family == socket.AF_INET6
                else (
                    address,
                    port,
                )
            )
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

        monkeypatch.setattr(webhooks.socket, "getaddrinfo", fake)

    return set_address


def _literal(address: str) -> str:
    return f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook"


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_job_with_a_non_public_callback_literal_is_400(api_client_a, address):
    response = api_client_a.post(
        "/api/v1/jobs",
        {"drawings": [1], "callback_url": _literal(address)},
        format="json",
    )
    assert response.status_code == 400, response.data
    assert response.data["code"] == "callback_url_forbidden"
    assert "not a public address" in response.data["detail"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_name_resolving_to_a_non_public_address_is_400(
    api_client_a, resolves_to, address
):
    resolves_to(address)
    response = api_client_a.post(
        "/api/v1/jobs",
        {"drawings": [1], "callback_url": "https://hooks.customer.example/in"},
        format="json",
    )
    assert response.status_code == 400, response.data
    assert response.data["code"] == "callback_url_forbidden"
    assert "not a public address" in response.data["detail"]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(resolves_to, address):
    resolves_to(address)
    webhooks.url_check("https://hooks.customer.example/in")  # no exception


@pytest.mark.parametrize("address", ["100.100.100.200", "2002:c0a8:0101::1"])
def test_a_name_that_turns_private_after_submission_is_not_delivered(
    resolves_to, address
):
    # Public when the job was submitted; DNS changed before the delivery.
    resolves_to("93.184.216.34")
    webhooks.url_check("https://hooks.customer.example/in")
    resolves_to(address)
    attempt = webhooks.deliver(
        url="https://hooks.customer.example/in",
        secret="s" * 64,
        event="job.finished",
        payload={"id": 1},
    )
    assert not attempt.ok and attempt.status_code is None
    assert "not a public address" in attempt.error
