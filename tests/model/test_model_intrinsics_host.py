"""The model is offered only intrinsics this CPU can run: an AVX-512 extension beyond the baseline (VBMI2's
vpcompressb) disappears from the prompt's list and flags on a host without it."""

from __future__ import annotations

import pytest

from simdlens.model import intrinsics
from simdlens.sandbox import cpu

BASE = frozenset({"avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"})


@pytest.mark.parametrize("host, offered", [(BASE, False), (BASE | {"avx512_vbmi2"}, True)])
def test_vbmi2_intrinsics_follow_the_host(monkeypatch: pytest.MonkeyPatch, host: frozenset[str], offered: bool) -> None:
    monkeypatch.setattr(cpu, "host_cpu", lambda: cpu.HostCpu("test", host))
    intrinsics.intrinsics_for.cache_clear()
    try:
        avx512 = intrinsics.intrinsics_for("avx512")
        assert ("_mm512_mask_compressstoreu_epi8" in avx512.allowed) is offered
        assert ("-mavx512vbmi2" in avx512.all_flags) is offered
        assert "_mm512_add_ps" in avx512.allowed and "-mavx512f" in avx512.all_flags
    finally:
        intrinsics.intrinsics_for.cache_clear()
