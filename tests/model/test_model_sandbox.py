"""The model's repair loop end to end: scripted answers over real HTTP, verified by the *real* sandbox
(gcc + bubblewrap, colleague-owned `simdlens.sandbox`) and checked against the real ISA tables."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from modelkit import (
    ADD_AVX512,
    ADD_MALICIOUS,
    ADD_NO_REMAINDER,
    ADD_NOT_COMPILING,
    ADD_OK,
    MARKER,
    Reply,
    ScriptedServer,
    add_kernel,
    answer,
    fenced,
    loop_span_in,
    settings_for,
)

from simdlens.config import Settings
from simdlens.model import ModelProposal, propose_with_model
from simdlens.model.client import reset_shared_state
from simdlens.sandbox import Sandbox

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("clang") is None, reason="needs a C compiler"),
]

USER_FILE = """\
#include <stdint.h>

void add(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i++)
        c[i] = a[i] + b[i];
}
"""

# Passes the static pre-check but stores a full vector past the end of `c` for the last partial block.
ADD_OVERRUN = """\
#include <immintrin.h>
#include <stdint.h>

void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i += 8) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        _mm256_storeu_si256((__m256i *)(c + i), _mm256_add_epi32(va, vb));
    }
}"""


@pytest.fixture(scope="session")
def sandbox_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-cache")  # shared: the precompiled header is built once


@pytest.fixture
async def sandbox(sandbox_cache: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(Settings(cache_dir=str(sandbox_cache))) as sb:
        yield sb


async def propose(server: ScriptedServer, sandbox: Sandbox, **changes: object) -> ModelProposal:
    kernel = add_kernel(loop_span_in(USER_FILE, "for (int i", "b[i];"))
    return await propose_with_model(kernel, None, "avx2", settings_for(server, **changes), sandbox,
                                    source=USER_FILE.encode())


def last_feedback(server: ScriptedServer) -> str:
    return server.chat_requests()[-1]["messages"][-1]["content"]


async def test_correct_code_is_verified_and_comes_with_edits(server: ScriptedServer, sandbox: Sandbox) -> None:
    server.script.append(answer(fenced(ADD_OK)))
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["verified"]
    (cand,) = proposal.candidates
    assert cand.origin == "model:test-model" and cand.flags == ("-mavx2",)
    assert any(e.new_text.startswith("#if defined(__AVX2__)\n    /* simdlens model:test-model (avx2) */\n    {")
               for e in cand.edits)  # loop's indentation kept
    assert any("#include <immintrin.h>" in e.new_text for e in cand.edits)


async def test_remainder_bug_is_caught_and_repaired_with_the_counterexample(server: ScriptedServer,
                                                                            sandbox: Sandbox) -> None:
    server.script += [answer(fenced(ADD_NO_REMAINDER)), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["mismatch", "verified"]
    feedback = last_feedback(server)
    assert "computes a different result" in feedback and "With n = " in feedback and "c[" in feedback
    assert len(proposal.candidates) == 1 and "for (; i < n; i++)" in proposal.candidates[0].function


async def test_compile_error_is_repaired_with_the_compilers_message(server: ScriptedServer,
                                                                    sandbox: Sandbox) -> None:
    server.script += [answer(fenced(ADD_NOT_COMPILING)), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["compile_error", "verified"]
    feedback = last_feedback(server)
    assert "'vb' undeclared" in feedback and "| _mm256_storeu_si256" in feedback


async def test_avx512_intrinsics_are_rejected_for_an_avx2_target_by_the_real_tables(server: ScriptedServer,
                                                                                     sandbox: Sandbox) -> None:
    server.script += [answer(fenced(ADD_AVX512)), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["rejected", "verified"]
    assert "avx512" in proposal.attempts[0].detail and "avx2" in proposal.attempts[0].detail


async def test_malicious_code_never_runs(server: ScriptedServer, sandbox: Sandbox) -> None:
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    server.script += [answer(fenced(ADD_MALICIOUS)), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["rejected", "verified"]
    assert not os.path.exists(MARKER)
    assert "ssh" not in proposal.candidates[0].function


async def test_code_that_writes_past_the_footprint_is_contained_and_not_verified(server: ScriptedServer,
                                                                                  sandbox: Sandbox) -> None:
    server.script += [answer(fenced(ADD_OVERRUN)), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    first = proposal.attempts[0]
    assert first.status in ("crash", "sanitizer", "mismatch"), first
    assert proposal.attempts[-1].status == "verified"


async def test_http_500_then_success_is_verified(server: ScriptedServer, sandbox: Sandbox) -> None:
    server.script += [Reply({"error": {"message": "overloaded"}}, status=500), answer(fenced(ADD_OK))]
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["verified"] and proposal.status_line == ""


async def test_slow_or_garbled_servers_end_quietly_with_one_line(server: ScriptedServer, sandbox: Sandbox) -> None:
    server.script += [Reply(answer("late").body, delay=1.5), Reply("{garbage")]
    slow = await propose(server, sandbox, timeout=0.3)
    again = await propose(server, sandbox, timeout=0.3)  # fails fast: the server was found unresponsive
    assert slow.candidates == again.candidates == ()
    assert "did not answer within 0.3 s" in slow.status_line and again.status_line == ""
    reset_shared_state()  # a new run
    garbled = await propose(server, sandbox)
    assert "malformed JSON" in garbled.status_line and garbled.candidates == ()
