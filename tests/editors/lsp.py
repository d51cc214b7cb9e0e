"""A small Language Server Protocol client for tests: JSON-RPC over a server's stdio.

Just enough of LSP to act as an editor does: initialize, send settings, open a document,
collect the diagnostics the server publishes, ask for completion and hover.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path


class LspError(RuntimeError):
    pass


class LspClient:
    """One language server process; requests are synchronous, notifications are queued."""

    def __init__(self, argv: list[str], root: Path, settings: dict, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.settings = settings
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self._next_id = 0
        self._responses: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.diagnostics: dict[str, list[dict]] = {}
        self._diag_events: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.request("initialize", {
            "processId": None,
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": "ws"}],
            "capabilities": {
                "workspace": {"configuration": True, "didChangeConfiguration": {"dynamicRegistration": True}},
                "textDocument": {
                    "publishDiagnostics": {"relatedInformation": True},
                    "completion": {"completionItem": {"snippetSupport": True,
                                                      "documentationFormat": ["markdown", "plaintext"]}},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                },
            },
        })
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": settings})

    # -- wire ----------------------------------------------------------------------------------
    def _send(self, msg: dict) -> None:
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            msg = json.loads(out.read(length))
            self._dispatch(msg)

    def _dispatch(self, msg: dict) -> None:
        if "id" in msg and "method" in msg:  # a request from the server
            result: object = None
            if msg["method"] == "workspace/configuration":
                result = [self._section(item.get("section")) for item in msg["params"]["items"]]
            self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif "id" in msg:
            with self._cond:
                self._responses[msg["id"]] = msg
                self._cond.notify_all()
        elif msg.get("method") == "textDocument/publishDiagnostics":
            uri = msg["params"]["uri"]
            self.diagnostics[uri] = msg["params"]["diagnostics"]
            self._diag_events.put(uri)

    def _section(self, section: str | None) -> object:
        node: object = self.settings
        for part in (section or "").split("."):
            if part:
                node = node.get(part) if isinstance(node, dict) else None
        return node

    def request(self, method: str, params: dict) -> object:
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while rid not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise LspError(f"no answer to {method} within {self.timeout}s")
                self._cond.wait(left)
            msg = self._responses.pop(rid)
        if "error" in msg:
            raise LspError(f"{method}: {msg['error']}")
        return msg.get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    # -- what an editor does ---------------------------------------------------------------------
    def open(self, uri: str, text: str, settle: float = 0.3) -> list[dict]:
        """Open a document; the diagnostics of its last publication (they are published again
        when the schema finishes loading, so wait until the server has been quiet a moment)."""
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml",
                                                              "version": 1, "text": text}})
        deadline = time.monotonic() + self.timeout
        seen = False
        while time.monotonic() < deadline:
            try:
                got = self._diag_events.get(timeout=settle if seen else deadline - time.monotonic())
            except queue.Empty:
                if seen:
                    return self.diagnostics[uri]
                break
            seen = seen or got == uri
        if not seen:
            raise LspError(f"no diagnostics for {uri} within {self.timeout}s")
        return self.diagnostics[uri]

    def open_all(self, docs: dict[str, str], settle: float = 0.5) -> dict[str, list[dict]]:
        """Open many documents at once (the server debounces each validation: one by one, a
        corpus takes minutes); the diagnostics of each once the server has gone quiet."""
        for uri, text in docs.items():
            self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml",
                                                                  "version": 1, "text": text}})
        waiting = set(docs)
        deadline = time.monotonic() + self.timeout + 0.2 * len(docs)
        while time.monotonic() < deadline:
            try:
                waiting.discard(self._diag_events.get(timeout=settle))
            except queue.Empty:
                if not waiting:
                    return {uri: self.diagnostics[uri] for uri in docs}
        raise LspError(f"no diagnostics for {len(waiting)} documents, e.g. {sorted(waiting)[:3]}")

    def completion(self, uri: str, line: int, character: int) -> list[dict]:
        result = self.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                          "position": {"line": line, "character": character}})
        if isinstance(result, dict):
            return result.get("items", [])
        return result or []  # type: ignore[return-value]

    def hover(self, uri: str, line: int, character: int) -> str:
        result = self.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                     "position": {"line": line, "character": character}})
        if not result:
            return ""
        contents = result["contents"]  # type: ignore[index]
        if isinstance(contents, dict):
            return contents.get("value", "")
        if isinstance(contents, list):
            return "\n".join(c if isinstance(c, str) else c.get("value", "") for c in contents)
        return str(contents)

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=5)
        except (LspError, OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
