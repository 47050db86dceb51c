"""A scan with a model server: the second scan of an unchanged tree asks the model nothing.

The model server is a small OpenAI-compatible HTTP server over real sockets that answers every request
with the scalar reference function it was shown plus one harmless AVX intrinsic (so the static
pre-check, which wants intrinsics, lets it through: correct, if unambitious), and counts requests.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from simdlens.cli import main

# Integer division by a varying divisor has no SIMD instruction: the rules refuse it, the model is asked.
MIN_LOOP = """\
#include <stdint.h>

void ratio(uint32_t *restrict out, const uint32_t *restrict num, const uint32_t *restrict den, int n) {
    for (int i = 0; i < n; i++)
        out[i] = num[i] / (den[i] | 1);
}
"""


class EchoModel:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                found = re.search(r"```c\n(.*?)\n```", user, re.S)
                code = found.group(1) if found else ""
                body_at = code.find("{", code.find("simdlens_kernel")) + 1
                code = ("#include <immintrin.h>\n" + code[:body_at]
                        + "\n    __m256 unused = _mm256_set1_ps(0.0f);\n    (void)unused;" + code[body_at:])
                content = f"```c\n{code}\n```"
                reply = {"id": "x", "object": "chat.completion", "model": "echo",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": "echo", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def model() -> Iterator[EchoModel]:
    m = EchoModel()
    yield m
    m.server.shutdown()


def scan_json(capsys: pytest.CaptureFixture[str], model: EchoModel, cache: Path, path: Path) -> Any:
    code = main(["scan", "--json", "--no-bench", "--cache-dir", str(cache), "--model-url", model.url,
                 "--model", "echo", "--model-rounds", "1", "--isa", "avx2", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_second_scan_makes_no_model_calls_and_no_compiles(tmp_path, capsys, model) -> None:
    (tmp_path / "t").mkdir()
    src = tmp_path / "t" / "clamp.c"
    src.write_text(MIN_LOOP)
    cache = tmp_path / "cache"
    first = scan_json(capsys, model, cache, src)
    assert first["counters"]["model_calls"] == 1 and len(model.requests) >= 1
    assert first["counters"]["compiles"] >= 1
    asked = len(model.requests)
    second = scan_json(capsys, model, cache, src)
    assert second["counters"]["model_calls"] == 0 and second["counters"]["compiles"] == 0
    assert len(model.requests) == asked
    statuses = [[c["status"] for c in loop["candidates"]] for f in (first, second) for loop in f["files"][0]["loops"]]
    assert statuses[0] == statuses[1]

    # The same loop further down another file: the stored answer is reused and spliced where it is now.
    moved = tmp_path / "t" / "moved.c"
    moved.write_text("#include <stdint.h>\n\nint unrelated;\n\n" + MIN_LOOP.split("\n", 2)[2])
    third = scan_json(capsys, model, cache, moved)
    assert third["counters"]["model_calls"] == 0 and len(model.requests) == asked
    cands = third["files"][0]["loops"][0]["candidates"]
    assert [c["status"] for c in cands] == statuses[0]
    for c in cands:
        if c["status"] == "verified" and c["edits"]:
            assert any(e["range"]["start"]["line"] >= 4 for e in c["edits"])


def test_a_model_server_that_is_down_is_reported_once_and_rule_rewrites_still_flow(tmp_path, capsys) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    src = tmp_path / "two.c"
    # The first loop is the rules' (the model is not asked); the second is left to the model.
    src.write_text("void scale(float *restrict a, int n) { for (int i = 0; i < n; i++) a[i] *= 2.0f; }\n"
                   + MIN_LOOP + MIN_LOOP.split("\n", 2)[2].replace("ratio", "ratio_again"))
    code = main(["scan", "--json", "--no-bench", "--cache-dir", str(tmp_path / "c"), "--model-url", dead,
                 "--model", "m", "--model-timeout", "2", "--isa", "avx2", str(src)])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    model_notes = [n for n in doc.get("notes", []) if n.startswith("model:")]
    assert len(model_notes) == 1, doc.get("notes")
    loops = doc["files"][0]["loops"]
    assert len(loops) == 3
    assert any(c["status"] == "verified" and c["origin"].startswith("rules:") for c in loops[0]["candidates"])


def test_the_model_is_asked_where_the_rules_did_not_beat_the_compiler() -> None:
    """After verification: asked when no rule rewrite verified, or when the verified ones were measured and
    none is faster than -O3 -march=native; not asked when a rule rewrite is a measured win, nor (without
    measurements) when one verified."""
    from simdlens.core import (
        Candidate,
        CandidateResult,
        Measurement,
        Ratio,
        SizeMeasurement,
        Status,
        Verdict,
    )
    from simdlens.pipeline import rules_left_room

    cand = Candidate(kernel_hash="k", isa="avx2", origin="rules:elementwise", function="", edits=(), caveats=(),
                     flags=("-mavx2",), support="")

    def result(status: Status, vs_native: float | None) -> CandidateResult:
        m = None
        if vs_native is not None:
            r = Ratio(vs_native, vs_native * 0.98, vs_native * 1.02, 5)
            m = Measurement((SizeMeasurement(4096, "L1", vs_user_flags=r, vs_native_autovec=r),), "gcc", "cpu", (), "")
        return CandidateResult(cand, Verdict(status), m)

    assert rules_left_room([], bench=True)
    assert rules_left_room([result(Status.MISMATCH, None)], bench=False)
    assert rules_left_room([result(Status.VERIFIED, 0.95)], bench=True)  # the compiler is as fast: ask
    assert not rules_left_room([result(Status.VERIFIED, 0.95), result(Status.VERIFIED, 1.6)], bench=True)
    assert not rules_left_room([result(Status.VERIFIED, None)], bench=False)  # unmeasured: keep today's rule
