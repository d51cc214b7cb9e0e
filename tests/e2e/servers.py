"""Host-side servers the guest reaches through QEMU ``guestfwd``: 127.0.0.1 only, self-stopping.

``Imds`` speaks EC2's IMDSv2 (token PUT, then GETs carrying the token; a GET without the token
is refused with 401 as on an instance that requires IMDSv2). ``StaticHttp`` serves a few fixed
paths (a config URL). Both record the requests they saw, so a test can tell what the guest did.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server:
    """A threaded HTTP server on 127.0.0.1:<free port> that shuts itself down after ``lifetime``."""

    def __init__(self, lifetime: float = 900.0) -> None:
        self.requests: list[tuple[str, str]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


class StaticHttp(_Server):
    """Serves ``files`` (path -> body) with 200, anything else 404."""

    def __init__(self, files: dict[str, str], lifetime: float = 900.0) -> None:
        self.files = files
        super().__init__(lifetime)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(("GET", self.path))
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                data = (body or "not found\n").encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


class Imds(_Server):
    """EC2 instance metadata, IMDSv2 only: ``PUT /latest/api/token`` then token-bearing GETs."""

    def __init__(self, meta: dict[str, str], user_data: str | None, public_keys: list[str],
                 lifetime: float = 900.0) -> None:
        self.token = secrets.token_urlsafe(24)
        tree = {f"/latest/meta-data/{k}": v for k, v in meta.items()}
        if public_keys:
            tree["/latest/meta-data/public-keys/"] = "\n".join(f"{i}=key{i}" for i in range(len(public_keys)))
            for i, key in enumerate(public_keys):
                tree[f"/latest/meta-data/public-keys/{i}/"] = "openssh-key"
                tree[f"/latest/meta-data/public-keys/{i}/openssh-key"] = key
        index = set()
        for path in tree:
            rest = path.removeprefix("/latest/meta-data/")
            head, sep, _ = rest.partition("/")
            index.add(head + sep)
        tree["/latest/meta-data/"] = "\n".join(sorted(index))
        if user_data is not None:
            tree["/latest/user-data"] = user_data
        tree["/latest/dynamic/instance-identity/document"] = (
            json.dumps({"instanceId": meta.get("instance-id", "i-0"), "region": "eu-west-1",
                        "availabilityZone": "eu-west-1a"}))
        self.tree = tree
        super().__init__(lifetime)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, code: int, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):  # noqa: N802
                server.requests.append(("PUT", self.path))
                if self.path != "/latest/api/token":
                    return self._reply(404, "not found\n")
                ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    return self._reply(400, "bad ttl\n")
                self._reply(200, server.token, {"X-aws-ec2-metadata-token-ttl-seconds": ttl})

            def do_GET(self):  # noqa: N802
                server.requests.append(("GET", self.path))
                if self.headers.get("X-aws-ec2-metadata-token") != server.token:
                    return self._reply(401, "unauthorized\n")
                body = server.tree.get(self.path)
                if body is None:
                    return self._reply(404, "not found\n")
                self._reply(200, body)

            def log_message(self, *args):
                pass

        return Handler
