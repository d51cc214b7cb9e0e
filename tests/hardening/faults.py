"""Faults for the real metadata servers of tests/datasources/ds_servers.py.

``Faulty`` is a mixin put in front of a server's handler: while ``server.fault`` is set,
requests get the fault instead of the answer (every request, or only those the fault
targets); otherwise the real handler answers. The servers stay the ones the datasource
tests use: same protocols, same stop event, so no fault outlives its test.
"""

from __future__ import annotations

import socket
import struct
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "datasources"))  # ds_servers lives there

from ds_servers import (  # noqa: E402  (re-exported for the tests)
    ConfigHandler,
    ConfigState,
    GceHandler,
    GceState,
    ImdsHandler,
    ImdsState,
    _serve,
    _shutdown,
    ec2_tree,
    gce_instance,
)

__all__ = ["FAULTS", "HTML", "ConfigState", "FaultyConfig", "FaultyGce", "FaultyImds", "GceState", "ImdsState", "_serve",
           "_shutdown", "ec2_tree", "gce_instance", "set_fault"]

FAULTS = ("slow", "hang", "5xx", "reset", "truncated", "oversized", "wrong-content", "token-refused")
OVERSIZE = 17 * 1024 * 1024  # over every source's limit (ec2 1 MiB metadata, gce and http 16 MiB)
HTML = b"<html><head><title>Captive portal</title></head><body>Please log in</body></html>\n"


class Faulty:
    """Misbehave as ``self.server.fault`` says (see FAULTS)."""

    def _fault(self) -> bool:
        fault = getattr(self.server, "fault", None)  # type: ignore[attr-defined]
        if fault is None:
            return False
        stop = self.server.stop  # type: ignore[attr-defined]
        if fault == "hang":
            stop.wait(30)
            return True
        if fault == "slow":  # headers at once, then one byte every 0.3 s
            self.send_response(200)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "1000")  # type: ignore[attr-defined]
            self.end_headers()  # type: ignore[attr-defined]
            for _ in range(1000):
                if stop.wait(0.3):
                    return True
                try:
                    self.wfile.write(b"x")  # type: ignore[attr-defined]
                    self.wfile.flush()  # type: ignore[attr-defined]
                except OSError:
                    return True
            return True
        if fault == "5xx":
            self.send_body(503, b"Service Unavailable", {"Metadata-Flavor": "Google"})  # type: ignore[attr-defined]
            return True
        if fault == "reset":
            conn = self.connection  # type: ignore[attr-defined]
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            for f in (self.rfile, self.wfile):  # type: ignore[attr-defined]
                f.close()
            conn.close()
            return True
        if fault == "truncated":
            self.send_response(200)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "5000")  # type: ignore[attr-defined]
            self.send_header("Metadata-Flavor", "Google")  # type: ignore[attr-defined]
            self.end_headers()  # type: ignore[attr-defined]
            self.wfile.write(b"#cloud-config\nhostname: trunc")  # type: ignore[attr-defined]
            self.wfile.flush()  # type: ignore[attr-defined]
            self.close_connection = True
            return True
        if fault == "oversized":
            self.send_response(200)  # type: ignore[attr-defined]
            self.send_header("Content-Length", str(OVERSIZE))  # type: ignore[attr-defined]
            self.send_header("Metadata-Flavor", "Google")  # type: ignore[attr-defined]
            self.end_headers()  # type: ignore[attr-defined]
            chunk = b"#" * 65536
            try:
                for _ in range(OVERSIZE // len(chunk)):
                    if stop.is_set():
                        break
                    self.wfile.write(chunk)  # type: ignore[attr-defined]
            except OSError:
                pass
            self.close_connection = True
            return True
        if fault == "wrong-content":  # a captive portal: 200 and HTML for everything
            self.send_body(200, HTML, {"Content-Type": "text/html"})  # type: ignore[attr-defined]
            return True
        if fault == "token-refused":
            self.send_body(403, b"Forbidden", {"Metadata-Flavor": "Google"})  # type: ignore[attr-defined]
            return True
        raise AssertionError(f"unknown fault {fault}")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if getattr(self.server, "fault", None) == "token-refused" and self.command_is_ec2():
            return super().do_GET()  # type: ignore[misc]  # ec2: only the token PUT is refused
        if not self._fault():
            super().do_GET()  # type: ignore[misc]

    def do_PUT(self) -> None:  # noqa: N802
        if not self._fault():
            super().do_PUT()  # type: ignore[misc]

    def command_is_ec2(self) -> bool:
        return isinstance(self, ImdsHandler)


class FaultyImds(Faulty, ImdsHandler):
    pass


class FaultyGce(Faulty, GceHandler):
    pass


class FaultyConfig(Faulty, ConfigHandler):
    pass


def set_fault(running: Any, fault: str | None) -> None:
    running.server.fault = fault
