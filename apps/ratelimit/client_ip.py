"""The client's address, as far as it can be trusted.

``REMOTE_ADDR`` is the peer of the TCP connection and cannot be forged. Only when
that peer is one of our own proxies (``CADML_TRUSTED_PROXIES``, CIDRs) do we read
``X-Forwarded-For``, from the right: each trusted proxy appends the address it saw,
so the right-most hop that is not one of ours is the client. Everything left of it
was written by the client and is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def trusted_networks() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.CADML_TRUSTED_PROXIES or []))


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5123"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def resolve_client_ip(remote_addr: str, forwarded_for: str | None) -> str:
    peer = _parse(remote_addr or "")
    if peer is None:
        return remote_addr or "unknown"
    networks = trusted_networks()
    if not forwarded_for or not any(peer in net for net in networks):
        return str(peer)
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break  # garbage: trust no further, keep the last good hop
        client = address
        if not any(address in net for net in networks):
            break
    return str(client)


def client_ip(request: HttpRequest) -> str:
    return resolve_client_ip(
        request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR")
    )


def ip_identity(ip: str) -> str:
    """The counter identity of an address: IPv6 clients get a /64 (one host has
    the whole /64 to rotate through), IPv4 the address itself."""
    address = _parse(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return ip
