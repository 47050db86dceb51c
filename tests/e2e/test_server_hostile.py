"""Hostile input against the real `simdlens serve`, over raw JSON-RPC (a client library would refuse to
send most of it): malformed requests get JSON-RPC errors, hostile documents and URIs get answers, and
nothing logs a traceback. No timing here: the hang guard is generous; speed is in benchmarks/."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

HANG_GUARD_S = 120.0  # an answer that takes this long is no answer

LOOP_C = "void f(float *a, int n) {\n    for (int i = 0; i < n; i++)\n        a[i] = 0;\n}\n"


class RawClient:
    """The server in a subprocess, spoken to in JSON-RPC bytes."""

    def __init__(self, tmp: Path) -> None:
        env = {**os.environ, "SIMDLENS_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
        self.stderr_path = tmp / "server.err"
        self.proc = subprocess.Popen([sys.executable, "-m", "simdlens", "serve", "--stdio"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr_path.open("wb"), env=env)
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(out.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any, *, raw_params: bool = True) -> dict[str, Any]:
        """Send a request and return its response (result or error); fails on no answer."""
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method}
        if params is not None or not raw_params:
            message["params"] = params
        self.send(message)
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            try:
                got = self.messages.get(timeout=0.5)
            except queue.Empty:
                continue
            assert got is not None, f"the server exited while {method} waited for an answer"
            if got.get("id") == ident and ("result" in got or "error" in got):
                return got
            if "method" in got and "id" in got:  # a request from the server (configuration...)
                self.send({"id": got["id"], "result": [None] if got["method"] == "workspace/configuration" else None})
            elif "method" in got:
                self.notifications.append(got)
        raise AssertionError(f"no answer to {method} {json.dumps(params)[:200]}")

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def open(self, uri: str, text: str) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "c", "version": 1, "text": text}})

    def wait_diagnostics(self, uri: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            for n in self.notifications:
                if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri:
                    return list(n["params"]["diagnostics"])
            self.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
            time.sleep(0.2)
        raise AssertionError(f"no diagnostics for {uri}")

    def wait_version(self, uri: str, version: int) -> None:
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            if any(n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri
                   and n["params"].get("version") == version for n in self.notifications):
                return
            self.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
            time.sleep(0.2)
        raise AssertionError(f"no diagnostics for version {version} of {uri}")

    def close(self) -> int:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log(self) -> str:
        """Everything the server logged: stderr (before initialize) and window/logMessage (after it)."""
        lines = [str(n["params"].get("message", "")) for n in self.notifications if n["method"] == "window/logMessage"]
        return self.stderr() + "\n" + "\n".join(lines)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    client = RawClient(tmp_path)
    answer = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                           "initializationOptions": {"simdlens": {"verifyOn": "demand"}}})
    assert "result" in answer
    client.notify("initialized", {})
    yield client
    if client.proc.poll() is None:
        client.proc.kill()


POSITION_CASES = [
    {"line": 0, "character": 2**31},
    {"line": -1, "character": 0},
    {"line": 2**40, "character": 0},
    {"line": 0},
    "here",
    None,
]


def test_requests_with_malformed_positions_get_invalid_params(server: RawClient, tmp_path: Path) -> None:
    uri = (tmp_path / "a.c").as_uri()
    server.open(uri, LOOP_C)
    for position in POSITION_CASES:
        _malformed_position(server, uri, position)
    assert server.close() == 0
    assert "Traceback" not in server.log()
    assert "invalid params" in server.log()


def _malformed_position(server: RawClient, uri: str, position: Any) -> None:
    hover = server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position})
    assert hover.get("error", {}).get("code") == -32602, hover
    action = server.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": position},
        "context": {"diagnostics": []}})
    assert action.get("error", {}).get("code") == -32602, action
    # the server goes on answering, and a malformed notification is dropped without an answer
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"range": {"start": position, "end": position},
                                                                 "text": "x"}]})
    fine = server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 5}})
    assert "result" in fine, fine


def test_requests_without_params_or_with_wrong_types_are_answered(server: RawClient, tmp_path: Path) -> None:
    for method in ("textDocument/hover", "textDocument/codeAction", "textDocument/codeLens", "codeLens/resolve",
                   "codeAction/resolve", "workspace/executeCommand"):
        for params in (None, {}, [], 5, {"textDocument": 7}):
            answer = server.request(method, params)
            assert "result" in answer or answer["error"]["code"] in (-32602, -32603), (method, params, answer)
    assert server.close() == 0
    assert "Traceback" not in server.log()


HOSTILE_URI_TAILS = ["a%00b.c", "%00.c", "dir%2F..%2F..%2Fetc%2Fpasswd.c", "a%ZZ.c", "%E2%80%AE.c", "a%0Ab.c",
                     "%FF%FE.c"]


def test_hostile_uris_get_answers_and_a_report(server: RawClient, tmp_path: Path) -> None:
    for tail in HOSTILE_URI_TAILS:
        uri = tmp_path.as_uri() + "/" + tail
        server.open(uri, LOOP_C)
        server.wait_diagnostics(uri)
        report = server.request("workspace/executeCommand", {"command": "simdlens.showReport", "arguments": [uri]})
        assert "result" in report, (tail, report)
        assert "loop" in report["result"]["markdown"], tail
        hover = server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                      "position": {"line": 1, "character": 5}})
        assert "result" in hover, tail
    assert server.close() == 0
    assert "Traceback" not in server.log()


DEEP = {
    "nested loops": "void f(float *a, int n) {\n" + "for (int i = 0; i < n; i++)\n" * 3000 + "a[0] += 1;\n}\n",
    "nested ifs": "void f(float *a, int n) { for (int i = 0; i < n; i++) { " + "if (a[i] > 0) " * 3000
                  + "a[i] = 0; } }\n",
    "a long sum": "void f(float *a, float *b, int n) { for (int i = 0; i < n; i++) a[i] = "
                  + " + ".join(["b[i]"] * 5000) + "; }\n",
    "nested braces": "void f(float *a, int n) { for (int i = 0; i < n; i++) " + "{" * 20_000 + "a[i] = 0;"
                     + "}" * 20_000 + " }\n",
    "a huge line": "void f(float *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }" + " " * 1_000_000 + "\n",
}


def test_deeply_nested_documents_are_analysed_and_the_server_answers(server: RawClient, tmp_path: Path) -> None:
    for kind, text in DEEP.items():
        uri = (tmp_path / f"deep {kind}.c").as_uri()
        server.open(uri, text)
        hover = server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                      "position": {"line": 0, "character": 30}})
        assert "result" in hover, kind
        diagnostics = server.wait_diagnostics(uri)
        assert server.proc.poll() is None, kind
        if kind in ("nested ifs", "a long sum", "nested braces"):
            messages = [d["message"] for d in diagnostics]
            assert any("too deeply nested" in m for m in messages), (kind, messages)
        if kind == "nested braces":  # an edit deep inside: the incremental path must cope too
            column = text.index("a[i] = 0;")
            server.notify("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"range": {"start": {"line": 0, "character": column},
                                              "end": {"line": 0, "character": column + 1}}, "text": "b"}]})
            server.wait_version(uri, 2)
        server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server.close() == 0
    assert "Traceback" not in server.log()
