"""The rewrite prompt and the repair messages: what the model is told, and that it is only the kernel."""

from __future__ import annotations

import dataclasses

from modelkit import add_kernel

from simdlens.core import CompileDiagnostic, Counterexample, Status, Verdict
from simdlens.model.intrinsics import IntrinsicSet
from simdlens.model.prompts import TEMPLATE_VERSION, build_messages, repair_message


def test_prompt_carries_kernel_signature_footprint_flags_and_rules(avx2: IntrinsicSet) -> None:
    kernel = add_kernel()
    system, user = build_messages(kernel, None, avx2)
    assert system["role"] == "system" and "AVX2" in system["content"]
    text = user["content"]
    assert kernel.source in text and "#include <stdint.h>" in text
    assert f"`{kernel.signature}`" in text
    assert "-mavx2" in text
    assert "c[0 .. n - 1]" in text  # never touch memory outside the scalar loop's footprint
    assert "remainder" in text and "wraps around" in text and "NaN" in text
    assert "one fenced ```c" in text
    assert "bit-exact" in text  # no float reduction: no reassociation allowed


def test_prompt_lists_only_the_intrinsics_for_the_element_types_involved(avx2: IntrinsicSet) -> None:
    text = build_messages(add_kernel(), None, avx2)[1]["content"]
    assert "- _mm256_add_epi32 [int32]: lane-wise 32-bit add, wraps around" in text
    assert "- _mm256_loadu_si256: load 256 bits from unaligned memory" in text  # type-agnostic
    assert "_mm256_add_ps" not in text  # float: not involved
    assert "_mm512_add_epi32" not in text  # other ISA


def test_reassociation_and_contraction_are_allowed_only_when_the_kernel_says_so(avx2: IntrinsicSet) -> None:
    reduction = dataclasses.replace(add_kernel(), facts=frozenset({"float_reduction"}))
    text = build_messages(reduction, None, avx2)[1]["content"]
    assert "may be reassociated" in text and "bit-exact" not in text
    fma = build_messages(add_kernel(), None, avx2, allow_contraction=True)[1]["content"]
    assert "may contract a*b+c" in fma and "do not contract" not in fma


def test_mismatch_feedback_carries_the_counterexample() -> None:
    cx = Counterexample(size=1001, seed=7, array="c", index=1000, expected="3", got="0")
    msg = repair_message(Verdict(Status.MISMATCH, "c[1000] differs", cx), add_kernel())
    assert msg["role"] == "user"
    assert "n = 1001" in msg["content"] and "c[1000] is 0" in msg["content"] and "gives 3" in msg["content"]
    assert "simdlens_kernel" in msg["content"]


def test_compile_error_feedback_carries_the_diagnostics() -> None:
    diag = CompileDiagnostic(2, 9, "error", "'vb' undeclared (first use in this function)")
    function = "void simdlens_kernel(void) {\n    (void)vb;\n}"
    msg = repair_message(Verdict(Status.COMPILE_ERROR, "", diagnostics=(diag,)), add_kernel(), function=function)
    assert "line 2:9: error: 'vb' undeclared" in msg["content"]
    assert "    | (void)vb;" in msg["content"]  # the offending line is quoted


def test_rejection_and_truncation_feedback() -> None:
    rejected = repair_message(Verdict(Status.REJECTED, "uses `fopen`: not allowed"), add_kernel())
    assert "rejected before compiling: uses `fopen`" in rejected["content"]
    cut = repair_message(Verdict(Status.REJECTED), add_kernel(), truncated_at=2048)
    assert "cut off after 2048 tokens" in cut["content"]


def test_template_version_is_a_nonempty_constant() -> None:
    assert isinstance(TEMPLATE_VERSION, str) and TEMPLATE_VERSION


def test_cache_identity_changes_with_template_and_model_but_never_holds_the_key(monkeypatch) -> None:
    from simdlens.config import ModelSettings
    from simdlens.model import cache_identity

    monkeypatch.setenv("SIMDLENS_MODEL_API_KEY", "sk-should-not-appear")
    a = ModelSettings(base_url="http://u:pw@h:1/v1", name="m1")
    assert TEMPLATE_VERSION in cache_identity(a, "avx2")
    assert cache_identity(a, "avx2") != cache_identity(dataclasses.replace(a, name="m2"), "avx2")
    assert cache_identity(a, "avx2") != cache_identity(a, "avx512")
    assert "sk-should-not-appear" not in cache_identity(a, "avx2") and "pw" not in cache_identity(a, "avx2")


def test_the_prompt_gives_structured_facts_and_the_known_algorithm() -> None:
    """Precise facts (each reason with its code and line, the overlap pairs) and, for a loop compilers
    leave scalar, the SIMD algorithm that computes it: exact remarks help models, vague ones mislead."""
    from simdlens.analysis import analyze_file
    from simdlens.model.intrinsics import intrinsics_for

    source = b"void iir(float *y, const float *c, const float *x, int n) {\n" \
             b"    for (int i = 1; i < n; i++) y[i] = c[i] * y[i - 1] + x[i];\n}\n"
    fa = analyze_file(source, "/tmp/iir.c", "c")
    (a,) = fa.analyses
    text = build_messages(fa.kernels[a.site.loop_id], a, intrinsics_for("avx2"))[1]["content"]
    assert "(verdict: vectorizable_with_checks)" in text
    assert "- [scan] (line 2) a first-order linear recurrence" in text
    assert "pointers that may overlap" in text and "c/y" in text
    assert "Known SIMD algorithm for this loop: a SIMD scan" in text and "f*carry + t" in text
    assert "accumulators" not in text  # the reduction hint does not apply to a scan


def test_a_checksum_pair_gets_the_block_algorithm_not_the_scan() -> None:
    """Adler-32's two sums are summed over blocks (a weighted block sum), not scanned lane by lane."""
    from simdlens.analysis import analyze_file
    from simdlens.model.intrinsics import intrinsics_for

    source = b"unsigned adler(const unsigned char *b, int n) {\n    unsigned s1 = 1, s2 = 0;\n" \
             b"    for (int i = 0; i < n; i++) { s1 += b[i]; s2 += s1; }\n    return s2 << 16 | s1;\n}\n"
    fa = analyze_file(source, "/tmp/adler.c", "c")
    (a,) = fa.analyses
    text = build_messages(fa.kernels[a.site.loop_id], a, intrinsics_for("avx2"))[1]["content"]
    assert "Known SIMD algorithm for this loop: blocks of k elements" in text and "pmaddubsw" in text
    assert "log2(lanes) rounds" not in text
