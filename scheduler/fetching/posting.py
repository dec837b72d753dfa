"""One POST, safely: what chat providers and webhooks are sent with.

The same vetting as a harvest fetch (``client.vet``: one DNS lookup,
public addresses only unless allowed, the connection pinned to the vetted
address, the name in Host and TLS), a deadline for the whole exchange and
a bound on the answer's size. Redirects are not followed: a POST that
answers 3xx did not deliver. A connection that fails or drops before an
answer raises FetchFailed (the caller decides it is temporary).
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from typing import Any

from scheduler.clock import elapsed
from scheduler.errors import N_
from scheduler.fetching.client import Limits, _body, _PinnedHTTP, _PinnedHTTPS, _timed_out, vet
from scheduler.harvest.proposals import FetchFailed

MAX_ANSWER = 256 * 1024  # a provider's JSON answer; more is not an answer we read


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    timeout: float,
    allow: tuple[Any, ...] = (),
    user_agent: str = "LichTuyenTruyen",
    max_answer: int = MAX_ANSWER,
) -> Answer:
    """POST ``body`` to ``url`` once; the answer whatever its status."""
    target = vet(url, allow)
    limits = Limits(timeout, max_answer, 0.0, allow, user_agent)
    deadline = elapsed() + timeout
    sent = {"User-Agent": user_agent, "Accept-Encoding": "identity", **headers}
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPS(target, timeout, ssl.create_default_context())
    else:
        connection = _PinnedHTTP(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=sent)
        response = connection.getresponse()
        answer = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, response.reason, answer, _body(response, target, limits, deadline))
    except TimeoutError:
        raise _timed_out(target, limits) from None
    except ssl.SSLError as e:
        raise FetchFailed(N_("{url}: the secure connection failed ({reason})"), url=target.url, reason=e) from None
    except (OSError, ValueError, http.client.HTTPException) as e:
        raise FetchFailed(N_("{url}: cannot send ({reason})"), url=target.url, reason=repr(e)) from None
    finally:
        connection.close()
