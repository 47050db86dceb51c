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
    ScriptedServer,
    add_kernel,
    answer,
    fenced,
    loop_span_in,
    settings_for,
)

from simdlens.config import Settings
from simdlens.model import ModelProposal, propose_with_model
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
    return await propose_with_model(kernel, None, "avx2", settings_for(server, **changes), sandbox)


def last_feedback(server: ScriptedServer) -> str:
    return server.chat_requests()[-1]["messages"][-1]["content"]


async def test_correct_code_is_verified_and_comes_with_edits(server: ScriptedServer, sandbox: Sandbox) -> None:
    server.script.append(answer(fenced(ADD_OK)))
    proposal = await propose(server, sandbox)
    assert [a.status for a in proposal.attempts] == ["verified"]
    (cand,) = proposal.candidates
    assert cand.origin == "model:test-model" and cand.flags == ("-mavx2",)
    assert any("#if defined(__AVX2__)" in e.new_text for e in cand.edits)


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
