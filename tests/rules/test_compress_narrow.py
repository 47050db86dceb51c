"""Byte / 16-bit compress (`if (c) out[j++] = x` on int8/int16 elements): AVX-512 VBMI2's vpcompressb /
vpcompressw, offered only on a CPU that has VBMI2 (an extension beyond the avx512 baseline)."""

from __future__ import annotations

import pytest
from rules_support import analyse

from simdlens.config import Settings
from simdlens.rules import propose


def test_byte_compress_is_offered_only_on_a_cpu_with_vbmi2(monkeypatch: pytest.MonkeyPatch) -> None:
    """vpcompressb needs AVX-512 VBMI2, beyond the avx512 baseline the sandbox checks: the rules must not
    offer it on a CPU that cannot run it (it would never be verified)."""
    from simdlens.sandbox import cpu

    source, a, kernel = analyse("pack8", """int pack8(int8_t *restrict out, const int8_t *restrict in, int n) {
    int j = 0;
    for (int i = 0; i < n; i++) if (in[i] > 0) out[j++] = in[i];
    return j;
}""")
    assert kernel is not None
    base = frozenset({"avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"})
    monkeypatch.setattr(cpu, "host_cpu", lambda: cpu.HostCpu("test", base))
    refused = propose(a, kernel, "avx512", Settings(), source=source)
    assert refused.candidates == () and "-mavx512vbmi2" in refused.notes[0] and "lacks" in refused.notes[0]
    monkeypatch.setattr(cpu, "host_cpu", lambda: cpu.HostCpu("test", base | {"avx512_vbmi2"}))
    offered = propose(a, kernel, "avx512", Settings(), source=source).candidates[0]
    assert "-mavx512vbmi2" in offered.flags and "defined(__AVX512VBMI2__)" in offered.edits[-1].new_text
    # -march=native on that CPU enables VBMI2: no "needs -mavx512vbmi2" caveat (cpuinfo spells it avx512_vbmi2)
    native = propose(a, kernel, "avx512", Settings(), source=source, user_flags=("-O2", "-march=native")).candidates[0]
    assert not any("needs" in c for c in native.caveats), native.caveats
