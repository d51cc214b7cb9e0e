"""Real servers for the datasource tests (fixtures in conftest.py): IMDSv2, GCE metadata and a faulty config server.

They listen on 127.0.0.1 only, on ports the kernel picks, speak the real protocols
(and refuse what the real services refuse), and stop when the test ends: every handler
that waits does so on the server's stop event, never for ever.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # faults are on purpose
        pass


@dataclass
class Running:
    url: str
    server: _Server
    stop: threading.Event
    state: Any


def _serve(handler: type[BaseHTTPRequestHandler], state: Any, tls: ssl.SSLContext | None = None) -> Running:
    server = _Server(("127.0.0.1", 0), handler)
    stop = threading.Event()
    server.state = state  # type: ignore[attr-defined]
    server.stop = stop  # type: ignore[attr-defined]
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Running(f"{scheme}://127.0.0.1:{server.server_address[1]}", server, stop, state)


def _shutdown(r: Running) -> None:
    r.stop.set()
    r.server.shutdown()
    r.server.server_close()


def send_slowly(handler: Any, stop: threading.Event) -> None:
    """A 200 whose 100-byte body comes one byte every 0.2 s (a slow server), until ``stop``."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for _ in range(100):
        if stop.wait(0.2):
            return
        try:
            handler.wfile.write(b"x")
            handler.wfile.flush()
        except OSError:
            return


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def state(self) -> Any:
        return self.server.state  # type: ignore[attr-defined]

    def send_body(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# -- EC2 IMDSv2 ----------------------------------------------------------------------------
@dataclass
class ImdsState:
    tree: dict[str, str]
    tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, had token
    token_status: int = 200
    expire_tokens_after: int | None = None  # answer 401 once after this many GETs
    faults: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)  # path -> queued answers
    hang: bool = False
    counter: int = 0


def ec2_tree(user_data: str | None = "#cloud-config\nruncmd: [echo hi]\n") -> dict[str, str]:
    mac0, mac1 = "0a:1b:2c:3d:4e:5f", "0a:1b:2c:3d:4e:60"
    tree = {
        "latest/meta-data/instance-id": "i-0123456789abcdef0",
        "latest/meta-data/local-hostname": "ip-10-0-0-5.ec2.internal",
        "latest/meta-data/public-keys/": "0=my-key",
        "latest/meta-data/public-keys/0/openssh-key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEc2 my-key",
        "latest/meta-data/network/interfaces/macs/": f"{mac0}/\n{mac1}/",
        f"latest/meta-data/network/interfaces/macs/{mac0}/device-number": "0",
        f"latest/meta-data/network/interfaces/macs/{mac0}/local-ipv4s": "10.0.0.5\n10.0.0.6",
        f"latest/meta-data/network/interfaces/macs/{mac0}/subnet-ipv4-cidr-block": "10.0.0.0/24",
        f"latest/meta-data/network/interfaces/macs/{mac0}/ipv6s": "2600:1f18::5",
        f"latest/meta-data/network/interfaces/macs/{mac1}/device-number": "1",
        f"latest/meta-data/network/interfaces/macs/{mac1}/local-ipv4s": "10.0.1.7",
        f"latest/meta-data/network/interfaces/macs/{mac1}/subnet-ipv4-cidr-block": "10.0.1.0/24",
    }
    if user_data is not None:
        tree["latest/user-data"] = user_data
    return tree


class ImdsHandler(_Base):
    """IMDSv2 as AWS documents it: PUT for a token (TTL header required, 1..21600),
    every GET needs a valid token (401 otherwise), X-Forwarded-For is refused."""

    def do_PUT(self) -> None:
        st: ImdsState = self.state
        st.requests.append(("PUT", self.path, False))
        if self.path != "/latest/api/token":
            return self.send_body(405, b"")
        if "X-Forwarded-For" in self.headers:
            return self.send_body(403, b"")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.send_body(400, b"")
        if st.token_status != 200:
            return self.send_body(st.token_status, b"")
        token = f"tok-{len(st.tokens)}-{os.urandom(4).hex()}"
        st.tokens.add(token)
        self.send_body(200, token.encode(), {"X-aws-ec2-metadata-token-ttl-seconds": ttl})

    def do_GET(self) -> None:
        st: ImdsState = self.state
        token = self.headers.get("X-aws-ec2-metadata-token")
        path = self.path.lstrip("/")
        st.requests.append(("GET", path, token is not None))
        if st.hang:
            self.server.stop.wait(30)  # type: ignore[attr-defined]
            return
        if token is None or token not in st.tokens:
            return self.send_body(401, b"")
        st.counter += 1
        if st.expire_tokens_after is not None and st.counter > st.expire_tokens_after:
            st.expire_tokens_after = None
            st.tokens.clear()
            return self.send_body(401, b"")
        queued = st.faults.get(path)
        if queued:
            status, headers = queued.pop(0)
            return self.send_body(status, b"", headers)
        if path in st.tree:
            return self.send_body(200, st.tree[path].encode(), {"Content-Type": "text/plain"})
        self.send_body(404, b"")




# -- GCE metadata --------------------------------------------------------------------------
@dataclass
class GceState:
    instance: dict[str, Any]
    project: dict[str, Any]
    impostor: bool = False
    requests: list[tuple[str, bool]] = field(default_factory=list)


def gce_instance(**attrs: str) -> dict[str, Any]:
    return {"id": 4520031799277581759, "hostname": "n1.c.proj.internal", "zone": "projects/1/zones/europe-west1-b",
            "attributes": dict(attrs)}


class GceHandler(_Base):
    """The GCE metadata server: Metadata-Flavor: Google required on requests (403 without),
    sent on every answer; X-Forwarded-For refused; ?recursive=true gives JSON."""

    def do_GET(self) -> None:
        st: GceState = self.state
        flavor = self.headers.get("Metadata-Flavor")
        st.requests.append((self.path, flavor == "Google"))
        hdr = {} if st.impostor else {"Metadata-Flavor": "Google"}
        if flavor != "Google" or "X-Forwarded-For" in self.headers:
            return self.send_body(403, b"Missing Metadata-Flavor:Google header.", hdr)
        path, _, query = self.path.partition("?")
        data: Any = None
        if path == "/computeMetadata/v1/instance/" and "recursive=true" in query:
            data = st.instance
        elif path == "/computeMetadata/v1/project/attributes/" and "recursive=true" in query:
            data = st.project
        elif path.startswith("/computeMetadata/v1/instance/attributes/"):
            data = st.instance["attributes"].get(path.rsplit("/", 1)[-1])
        if data is None:
            return self.send_body(404, b"", hdr)
        self.send_body(200, json.dumps(data).encode(), {**hdr, "Content-Type": "application/json"})




# -- a config server with faults ---------------------------------------------------------
@dataclass
class ConfigState:
    files: dict[str, bytes] = field(default_factory=dict)
    fail_first: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


class ConfigHandler(_Base):
    """Serves ``files``; the paths /slow, /hang, /reset, /truncated, /huge misbehave."""

    def do_GET(self) -> None:
        st: ConfigState = self.state
        stop: threading.Event = self.server.stop  # type: ignore[attr-defined]
        path = self.path.split("?")[0]
        st.hits[path] = st.hits.get(path, 0) + 1
        queued = st.fail_first.get(path)
        if queued:
            status, headers = queued.pop(0)
            return self.send_body(status, b"oops", headers)
        if path == "/hang":
            stop.wait(30)
            return
        if path == "/slow":
            return send_slowly(self, stop)
        if path == "/slow-headers":  # the status line, then one header byte every 0.2 s
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self.wfile.flush()
                for ch in b"X-Padding: " + b"a" * 100:
                    if stop.wait(0.2):
                        return
                    self.wfile.write(bytes([ch]))
                    self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True
            return
        if path == "/reset":
            # Linger 0 + close = a TCP RST; the file objects hold the socket open too.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
            return
        if path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"#cloud-config\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/huge":  # no Content-Length: the client must count
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"#" * 65536
            for _ in range(64):
                try:
                    self.wfile.write(chunk)
                except OSError:
                    return
            self.close_connection = True
            return
        if path in st.files:
            return self.send_body(200, st.files[path], {"Content-Type": "text/yaml"})
        self.send_body(404, b"not here")




# -- TLS with a test CA ----------------------------------------------------------------------
@dataclass
class TestPki:
    ca_pem: str
    cert: str
    key: str




def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
