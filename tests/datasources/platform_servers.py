"""One real HTTP server for the cloud platforms' metadata services, on 127.0.0.1.

Each platform's test fills a ``PlatformState`` from that platform's documented protocol:
routes (``"GET /path"`` -> answer), the headers every request must carry (and the status a
request without them gets), token endpoints, and the documented fixture shapes. ``fault``
makes every answer misbehave the same way (hang, drip, 500, an HTML page, an oversized
body, 404) for the fault matrix. Handlers that wait do so on the server's stop event.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from ds_servers import Running, _Base, _serve, _shutdown, send_slowly

Answer = tuple[int, Any, dict[str, str]]


@dataclass
class PlatformState:
    routes: dict[str, Any] = field(default_factory=dict)  # "GET /p" -> Answer | body | callable(req) -> Answer
    require: dict[str, str] = field(default_factory=dict)  # header -> exact value, else deny_status
    deny_status: int = 401
    token_route: str | None = None  # "PUT /v1/token": issues tokens
    token_ttl_header: str | None = None  # the header the token request must carry
    token_ttl_range: tuple[int, int] | None = None  # the TTLs the service accepts (else 400)
    token_header: str | None = None  # the header later requests carry the token in
    token_status: int = 200
    tokens: set[str] = field(default_factory=set)
    fault: str | None = None  # hang, slow, 500, html, huge, 404
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body) of POSTs


@dataclass
class Req:
    method: str
    path: str  # with query
    headers: dict[str, str]
    body: bytes
    client_port: int


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain"
    return json.dumps(body).encode(), "application/json"


class PlatformHandler(_Base):
    def _handle(self) -> None:
        st: PlatformState = self.state
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        st.requests.append((self.command, self.path, headers))
        st.client_ports.append(self.client_address[1])
        if self.command == "POST":
            st.bodies.append((self.path, body))
        if {"x-forwarded-for", "x-forwarded-host", "forwarded"} & set(headers):
            # Oracle documents this for IMDSv2; EC2 and GCE refuse X-Forwarded-For too
            return self.send_body(403, b"forwarded requests are refused")
        if st.fault == "hang":
            stop.wait(30)
            return
        if st.fault == "slow":
            return send_slowly(self, stop)
        if st.fault in ("500", "404"):
            return self.send_body(int(st.fault), b"fault")
        if st.fault == "html":
            return self.send_body(200, b"<html><body>Welcome to the captive portal</body></html>",
                                  {"Content-Type": "text/html"})
        if st.fault == "huge":
            return self.send_body(200, b"#" * (17 * 1024 * 1024))
        key = f"{self.command} {self.path.split('?')[0]}"
        if st.token_route and key == st.token_route:
            if st.token_ttl_header and st.token_ttl_header.lower() not in headers:
                return self.send_body(400, b"missing ttl header")
            if st.token_ttl_range and st.token_ttl_header:
                ttl = headers[st.token_ttl_header.lower()].strip()
                low, high = st.token_ttl_range
                if not ttl.isdigit() or not low <= int(ttl) <= high:
                    return self.send_body(400, b"ttl out of range")
            if st.token_status != 200:
                return self.send_body(st.token_status, b"")
            token = f"tok-{os.urandom(6).hex()}"
            st.tokens.add(token)
            return self.send_body(200, token.encode(), {"Content-Type": "text/plain"})
        for name, value in st.require.items():
            if headers.get(name.lower()) != value:
                return self.send_body(st.deny_status, b"missing or wrong " + name.encode())
        if st.token_header and headers.get(st.token_header.lower()) not in st.tokens:
            return self.send_body(401, b"token required")
        answer = st.routes.get(key)
        if answer is None:
            return self.send_body(404, b"not found")
        if callable(answer):
            answer = answer(Req(self.command, self.path, headers, body, self.client_address[1]))
        if not isinstance(answer, tuple):
            answer = (200, answer, {})
        status, payload, extra = answer
        data, ctype = _encode(payload)
        self.send_body(status, data, {"Content-Type": ctype, **extra})

    do_GET = do_PUT = do_POST = _handle


def start(state: PlatformState) -> Running:
    return _serve(PlatformHandler, state)


@pytest.fixture
def platform_server() -> Iterator[Callable[[PlatformState], Running]]:
    running: list[Running] = []

    def make(state: PlatformState) -> Running:
        r = start(state)
        running.append(r)
        return r

    yield make
    for r in running:
        _shutdown(r)
