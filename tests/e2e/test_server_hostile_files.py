"""The real server, spoken to over stdio as an editor would, in a workspace whose compile_commands.json
is a symlink to /proc/kmsg, on a document that includes /proc and /dev files and a FIFO: it publishes
diagnostics for the document and exits after shutdown/exit (before, the read never ended, while
holding the compile-database lock). Timeouts here are hang guards only."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

SOURCE = """#include "/proc/kmsg"
#include "/dev/zero"
#include "kmsg.h"
#include "pipe.h"
void scale(float *restrict a, int n) {
    for (int i = 0; i < n; i++)
        a[i] *= 2.0f;
}
"""


class Client:
    """A minimal LSP client: Content-Length framing over the server's stdin/stdout."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "SIMDLENS_PURE_PYTHON": "1", "HOME": str(cwd), "XDG_CACHE_HOME": str(cwd / "cache")}
        self.proc = subprocess.Popen([sys.executable, "-m", "simdlens", "serve"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[bytes] = []
        self.logged: list[str] = []  # window/logMessage lines (where the server logs once initialized)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr or []), daemon=True).start()
        self._id = 0

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            length = int(next(h for h in header.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            self.messages.put(json.loads(out.read(length)))

    def send(self, method: str, params: Any, *, request: bool = False) -> int | None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self._id += 1
            msg["id"] = self._id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()
        return msg.get("id")

    def wait_for(self, match: Any, timeout: float = 120) -> dict[str, Any]:
        while True:
            msg = self.messages.get(timeout=timeout)  # queue.Empty: the server hung
            if msg.get("method") in ("workspace/configuration", "client/registerCapability", "window/workDoneProgress/create"):
                result: Any = [{"trusted": False}] if msg["method"] == "workspace/configuration" else None
                body = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode()
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                self.proc.stdin.flush()
            if msg.get("method") == "window/logMessage":
                self.logged.append(str(msg["params"].get("message", "")))
            if match(msg):
                return msg


def test_server_answers_and_exits_in_a_workspace_of_proc_files(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "compile_commands.json").symlink_to("/proc/kmsg")
    (workspace / "kmsg.h").symlink_to("/proc/kmsg")
    os.mkfifo(workspace / "pipe.h")
    source = workspace / "k.c"
    source.write_text(SOURCE)
    uri = source.as_uri()
    client = Client(tmp_path)
    try:
        rid = client.send("initialize", {"processId": os.getpid(), "rootUri": workspace.as_uri(), "capabilities": {},
                                         "initializationOptions": {"simdlens": {"trusted": False}}}, request=True)
        client.wait_for(lambda m: m.get("id") == rid)
        client.send("initialized", {})
        client.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "c", "version": 1, "text": SOURCE}})
        published = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                    and m["params"]["uri"] == uri and m["params"]["diagnostics"])
        assert any(d["range"]["start"]["line"] == 5 for d in published["params"]["diagnostics"])
        rid = client.send("shutdown", None, request=True)
        client.wait_for(lambda m: m.get("id") == rid)
        client.send("exit", None)
        assert client.proc.wait(timeout=60) == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
            client.proc.wait()
    assert b"Traceback" not in b"".join(client.stderr)
    assert not any("Traceback" in line for line in client.logged)
