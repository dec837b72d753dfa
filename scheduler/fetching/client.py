"""The harvester's HTTP client: one GET, safely.

Only http and https; the host is resolved once and refused when any of its
addresses is private, loopback, link-local, multicast, reserved or
unspecified (unless HARVEST_ALLOW lists it), and the connection goes to
that vetted address (a second lookup could answer differently: DNS
rebinding), with the host's name in the Host header and in TLS. Redirects
are followed by hand, each vetted again, never from https down to http.
Time (connect, each read, and in all) and size are bounded, the answer is
asked uncompressed (no decompression bomb), and the client says who it is.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from scheduler.bounds import LIMITS, format_size
from scheduler.clock import elapsed
from scheduler.errors import N_
from scheduler.fetching.hosts import HOSTS, Hosts
from scheduler.harvest.proposals import Fetched, FetchFailed
from scheduler.plan.harvest_fields import host_of
from scheduler.settings import Settings

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
VERSION = "0.1"
SAFE = "/?=&;:@!$'()*+,~-._%"  # kept as written in a path and query: only what HTTP cannot carry is escaped


@dataclass(frozen=True)
class Limits:
    """What the settings allow one fetch (``limits_of``)."""

    timeout: float  # seconds: to connect, for each read, and for the whole fetch
    max_bytes: int
    pause: float  # seconds between two requests to one host
    allow: tuple[Any, ...] = ()  # ipaddress networks allowed though not public
    user_agent: str = f"LichTuyenTruyen/{VERSION}"


def limits_of(settings: Settings) -> Limits:
    return Limits(
        settings.harvest_timeout,
        settings.harvest_max_bytes,
        settings.harvest_pause,
        tuple(settings.harvest_allow),
        user_agent(settings.base_url),
    )


def user_agent(base_url: str) -> str:
    """Who asks, and where to read about it. ASCII: header values are
    ASCII in practice (RFC 9110 5.5), so the Vietnamese words lose their marks."""
    return f"LichTuyenTruyen/{VERSION} (+{base_url}; thu thap minh chung)"


@dataclass(frozen=True)
class Target:
    """A URL taken apart, with the one address it may be fetched from."""

    url: str
    scheme: str
    host: str  # the name, for Host and TLS
    port: int
    path: str  # path and query, as sent
    address: str  # the vetted IP address

    @property
    def key(self) -> str:
        """The host as the lease knows it: lower-case host[:port]."""
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def host_key(url: str) -> str:
    """``Target.key`` of a URL without resolving it ("" when it has no host):
    the same key as the sources' lease (``plan.harvest_fields.host_of``)."""
    return host_of(url)


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def vet(url: str, allow: tuple[Any, ...] = ()) -> Target:
    """The URL's parts and the one address to connect to, or FetchFailed."""
    if len(url) > LIMITS["url"]:
        raise FetchFailed(N_("{url}: the address is longer than {limit} characters"), url=url[:80], limit=LIMITS["url"])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise FetchFailed(N_("{url}: not a valid address ({reason})"), url=url, reason=str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchFailed(N_("{url}: only http and https addresses are fetched"), url=url)
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchFailed(N_("{url}: the address names no host"), url=url)
    try:
        host = host.encode("idna").decode("ascii")  # a Vietnamese domain name, as DNS and Host know it
    except UnicodeError as e:
        raise FetchFailed(N_("{url}: not a valid address ({reason})"), url=url, reason=str(e)) from None
    port = port or (443 if scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as e:
        raise FetchFailed(
            N_("{url}: cannot find the address of {host} ({reason})"), url=url, host=host, reason=e
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))
    if not addresses:
        raise FetchFailed(N_("{url}: cannot find the address of {host} ({reason})"), url=url, host=host, reason="-")
    for text in addresses:
        address = ipaddress.ip_address(text)
        if _refused(address) and not any(address in network for network in allow):
            raise FetchFailed(
                N_(
                    "{url}: {host} is at {address}, a private, loopback or reserved address; the harvester "
                    "fetches only public addresses (HARVEST_ALLOW lists the allowed exceptions)"
                ),
                url=url,
                host=host,
                address=text,
            )
    path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=SAFE)  # non-ASCII: %XX
    return Target(url, scheme, host, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the vetted address; Host says the name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to the vetted address; TLS checks the certificate against the name."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.address = target.address
        self.tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def fetch(
    url: str,
    *,
    now: datetime,
    limits: Limits,
    etag: str = "",
    last_modified: str = "",
    headers: dict[str, str] | None = None,
    hosts: Hosts = HOSTS,
    stop: threading.Event | None = None,
) -> Fetched:
    """GET ``url``: a 2xx answer, or 304 with an empty body when ``etag`` or
    ``last_modified`` still hold; anything else raises FetchFailed naming the
    URL and why. ``headers`` (an API key) go to the first host only."""
    target = vet(url, limits.allow)
    first = target.key
    deadline: float | None = None
    for _hop in range(MAX_REDIRECTS + 1):
        sent = {
            "User-Agent": limits.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            **({"If-None-Match": etag} if etag else {}),
            **({"If-Modified-Since": last_modified} if last_modified else {}),
            **((headers or {}) if target.key == first else {}),
        }
        with hosts.turn(target.key, limits.pause, stop):
            deadline = deadline if deadline is not None else elapsed() + limits.timeout
            status, reason, answer, body = _get(target, sent, limits, deadline)
        if status in REDIRECTS:
            following = redirect_target(target.url, answer.get("location", ""), status)
            target = vet(following, limits.allow)
            continue
        if status == 304:
            return Fetched(url, target.url, 304, answer.get("content-type", ""), b"", now, etag, last_modified)
        if not 200 <= status < 300:
            raise FetchFailed(
                N_("{url}: the server answered {status} {reason}"), url=target.url, status=status, reason=reason
            )
        return Fetched(
            url,
            target.url,
            status,
            answer.get("content-type", ""),
            body,
            now,
            answer.get("etag", ""),
            answer.get("last-modified", ""),
        )
    raise FetchFailed(N_("{url}: more than {count} redirects"), url=url, count=MAX_REDIRECTS)


def redirect_target(url: str, location: str, status: int) -> str:
    """Where a redirect leads, absolute; never from https down to plain http."""
    if not location.strip():
        raise FetchFailed(N_("{url}: redirected without saying where ({status})"), url=url, status=status)
    following = urljoin(url, location.strip())
    if urlsplit(url).scheme.lower() == "https" and urlsplit(following).scheme.lower() != "https":
        raise FetchFailed(
            N_("{url}: redirected from https to plain http ({target}); refused"), url=url, target=following
        )
    return following


def _get(
    target: Target, headers: dict[str, str], limits: Limits, deadline: float
) -> tuple[int, str, dict[str, str], bytes]:
    """One request to the vetted address: status, reason, headers (lower-case
    names), and the body (none for a redirect or a 304)."""
    remaining = deadline - elapsed()
    if remaining <= 0:
        raise _timed_out(target, limits)
    timeout = min(limits.timeout, remaining)
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPS(target, timeout, ssl.create_default_context())
    else:
        connection = _PinnedHTTP(target, timeout)
    try:
        connection.request("GET", target.path, headers=headers)
        response = connection.getresponse()
        answer = {k.lower(): v for k, v in response.getheaders()}
        if response.status in REDIRECTS or response.status == 304:
            return response.status, response.reason, answer, b""
        declared = answer.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise _too_large(target, limits)
        return response.status, response.reason, answer, _body(response, target, limits, deadline)
    except TimeoutError:
        raise _timed_out(target, limits) from None
    except ssl.SSLError as e:
        raise FetchFailed(N_("{url}: the secure connection failed ({reason})"), url=target.url, reason=e) from None
    except (OSError, ValueError, http.client.HTTPException) as e:  # ValueError: a header value with a line end
        raise FetchFailed(N_("{url}: cannot fetch ({reason})"), url=target.url, reason=repr(e)) from None
    finally:
        connection.close()


def _body(response: http.client.HTTPResponse, target: Target, limits: Limits, deadline: float) -> bytes:
    """At most ``max_bytes`` (one more byte says it is larger), within the
    deadline (checked between reads; each read has the socket's timeout)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - elapsed()
        if remaining <= 0:
            raise _timed_out(target, limits)
        chunk = response.read1(min(CHUNK, limits.max_bytes + 1 - size))  # what one read gave
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_large(target, limits)


def _timed_out(target: Target, limits: Limits) -> FetchFailed:
    return FetchFailed(N_("{url}: no answer within {seconds} seconds"), url=target.url, seconds=f"{limits.timeout:g}")


def _too_large(target: Target, limits: Limits) -> FetchFailed:
    return FetchFailed(
        N_("{url}: the answer is larger than {size}"), url=target.url, size=format_size(limits.max_bytes)
    )
