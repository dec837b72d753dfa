"""Who sent a request, for the failed-sign-in limit and the logs: the peer
address, or, when the peer is one of TRUSTED_PROXIES, the right-most address
in X-Forwarded-For that is not one of them. A header from anyone else is
ignored: a client cannot choose its own address to escape the limit."""

from __future__ import annotations

import ipaddress

from fastapi import Request

MAX_LENGTH = 100  # the column that keeps it


def _trusted(address: str, proxies: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def forwarded_for(peer: str, header: str | None, proxies: tuple) -> str:
    """
    >>> proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    >>> forwarded_for("10.0.0.5", "1.2.3.4, 203.0.113.9, 10.0.0.7", proxies)
    '203.0.113.9'
    >>> forwarded_for("198.51.100.1", "1.2.3.4", proxies)  # not from a proxy: the header is a claim
    '198.51.100.1'
    >>> forwarded_for("10.0.0.5", None, proxies)
    '10.0.0.5'
    """
    if not _trusted(peer, proxies) or not header:
        return peer[:MAX_LENGTH]
    hops = [h.strip() for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:MAX_LENGTH]
    return (hops[0] if hops else peer)[:MAX_LENGTH]  # every hop is a proxy of ours: the first one asked


def client_of(request: Request, proxies: tuple = ()) -> str:
    peer = request.client.host if request.client else "unknown"
    header = ", ".join(request.headers.getlist("x-forwarded-for")) or None
    return forwarded_for(peer, header, proxies)
