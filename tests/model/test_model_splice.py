"""Splicing a verified model candidate into the user's file: the edited file must build with and
without the ISA flags and compute what the original computed (checked by compiling and running it)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from modelkit import ADD_OK, I32, add_kernel, loop_span_in, sum_kernel

from simdlens.core import Candidate, KernelParam, ParamRole, TextEdit
from simdlens.model.splice import guard_condition, splice_edits

USER_FILE = """\
#include <stdint.h>

struct buf { int32_t *data; };

void add_arrays(struct buf *out, const int32_t *a, int32_t **bufs, int len) {
    for (int i = 0; i < len; i++)
        out->data[i] = a[i] + bufs[1][i];
}

int32_t sum_all(const int32_t *a, int count, int32_t start) {
    int32_t acc = start;
    for (int i = 0; i < count; i++)
        acc += a[i];
    return acc;
}
"""

SUM_OK = """\
int32_t simdlens_kernel(const int32_t *a, int n, int32_t s) {
    __m256i v = _mm256_setzero_si256();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(a + i)));
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4E));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xB1));
    int32_t total = s + _mm_cvtsi128_si32(x);
    for (; i < n; i++)
        total += a[i];
    return total;
}"""

MAIN = """
#include <stdio.h>
int main(void) {
    int32_t a[37], b[37], c[37];
    int32_t *bufs[2] = {a, b};
    struct buf out = {c};
    for (int i = 0; i < 37; i++) { a[i] = i * 7 - 100; b[i] = 3 * i; c[i] = -1; }
    for (int n = 0; n <= 37; n++) {
        add_arrays(&out, a, bufs, n);
        for (int i = 0; i < 37; i++)
            if (c[i] != (i < n ? a[i] + b[i] : -1) && i < n) { printf("add n=%d i=%d\\n", n, i); return 1; }
        int32_t want = 5;
        for (int i = 0; i < n; i++) want += a[i];
        if (sum_all(a, n, 5) != want) { printf("sum n=%d\\n", n); return 1; }
    }
    printf("ok\\n");
    return 0;
}
"""


def apply(text: str, edits: tuple[TextEdit, ...]) -> str:
    data = text.encode()
    for e in sorted(edits, key=lambda e: e.span.start_byte, reverse=True):
        data = data[:e.span.start_byte] + e.new_text.encode() + data[e.span.end_byte:]
    return data.decode()


def candidate(function: str, **changes: object) -> Candidate:
    base = Candidate("h", "avx2", "model:test-model", function, (), flags=("-mavx2",))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def spliced_file() -> str:
    """USER_FILE after applying the model's rewrite of the first loop, then of the second (the way a
    user applies two code actions one after the other: the second is computed on the edited text)."""
    add = add_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < len", "bufs[1][i];"),
                     sources=("out->data", "", "bufs[1]", "len"))
    edits = splice_edits(add, candidate(ADD_OK.split("#include <stdint.h>\n", 1)[1]), source=USER_FILE.encode())
    assert edits is not None
    text = apply(USER_FILE, edits)
    total = sum_kernel(loop_span_in(text, "for (int i = 0; i < count", "acc += a[i];"), sources=("", "count", "acc"))
    edits = splice_edits(total, candidate(SUM_OK), source=text.encode())
    assert edits is not None
    return apply(text, edits)


def test_splice_text_reads_like_the_users_code() -> None:
    text = spliced_file()
    assert text.startswith("#include <stdint.h>\n#if defined(__AVX2__)\n#include <immintrin.h>\n#endif\n\nstruct")
    assert "    #if defined(__AVX2__)\n    /* simdlens model:test-model (avx2) */\n    {\n        int i = 0;" in text
    assert "(out->data + i)" in text and "(bufs[1] + i)" in text and "i + 8 <= len" in text
    assert "acc = total;" in text  # the reduction's result goes to the user's variable
    assert "    #else\n    for (int i = 0; i < len; i++)" in text  # the original loop stays as the fallback
    assert text.count("#endif") == 3  # the include guard and one per loop


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("flags", [["-mavx2"], []], ids=["avx2", "no-isa-flags"])
def test_spliced_file_builds_and_computes_the_same(tmp_path: Path, flags: list[str]) -> None:
    src = tmp_path / "user.c"
    src.write_text(spliced_file() + MAIN)
    exe = tmp_path / "user"
    build = subprocess.run(["gcc", "-std=c11", "-O1", "-Wall", "-Werror", *flags, str(src), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=20)
    assert run.stdout.strip() == "ok"


def test_a_parameter_the_candidate_modifies_gets_a_local_copy() -> None:
    kernel = add_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < len", "bufs[1][i];"))
    code = ADD_OK.split("#include <stdint.h>\n", 1)[1].replace("c[i] = a[i] + b[i];", "*c++ = a[i] + b[i];")
    edits = splice_edits(kernel, candidate(code))
    assert edits is not None
    block = edits[-2].new_text
    assert "int32_t *restrict c_v = c;" in block and "*c_v++" in block


def test_a_local_that_would_capture_a_user_name_is_renamed() -> None:
    kernel = add_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < len", "bufs[1][i];"),
                        sources=("out->data", "", "", ""))
    code = ADD_OK.split("#include <stdint.h>\n", 1)[1].replace("int i = 0;", "int out = 0; int i = out;")
    edits = splice_edits(kernel, candidate(code))
    assert edits is not None
    block = edits[-2].new_text
    assert "int out_v = 0; int i = out_v;" in block and "(out->data + i)" in block


@pytest.mark.parametrize(("function", "change"), [
    (SUM_OK.replace("int i = 0;", "if (n == 0) return s;\n    int i = 0;"), {}),  # early return
    (ADD_OK, {"support": "static inline int helper(int x) { return x; }"}),  # helper, but no source text
    (ADD_OK, {"flags": ()}),  # no ISA flags: no guard can be written
])
def test_unsafe_splices_give_no_edit(function: str, change: dict[str, object]) -> None:
    kernel = sum_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < count", "acc += a[i];")) \
        if "int32_t simdlens_kernel" in function else add_kernel(loop_span_in(USER_FILE, "for (int i", "[i];"))
    assert splice_edits(kernel, candidate(function, **change)) is None


def test_guard_macros_come_from_the_table_or_the_flag_name() -> None:
    assert guard_condition(("-mavx2", "-mfma")) == "defined(__AVX2__) && defined(__FMA__)"
    assert guard_condition(("-mavx512f",), {"-mavx512f": "__AVX512F__"}) == "defined(__AVX512F__)"


HELPER_ANSWER = """\
void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_si256((__m256i *)(c + i), add8(a + i, b + i));
    for (; i < n; i++)
        c[i] = a[i] + b[i];
}"""
HELPER = """static inline __m256i add8(const int32_t *x, const int32_t *y) {
    return _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)x), _mm256_loadu_si256((const __m256i *)y));
}"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_helpers_go_guarded_before_the_enclosing_function(tmp_path: Path) -> None:
    kernel = add_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < len", "bufs[1][i];"),
                        sources=("out->data", "", "bufs[1]", "len"))
    cand = candidate(HELPER_ANSWER, support="#include <immintrin.h>\n" + HELPER)
    edits = splice_edits(kernel, cand, source=USER_FILE.encode())
    assert edits is not None
    text = apply(USER_FILE, edits)
    assert "#if defined(__AVX2__)\nstatic inline __m256i add8" in text
    assert text.index("add8(const") < text.index("void add_arrays")
    src = tmp_path / "user.c"
    src.write_text(text)
    for flags in (["-mavx2"], []):
        build = subprocess.run(["gcc", "-std=c11", "-O1", "-Wall", "-Werror", "-c", *flags, str(src), "-o",
                                str(tmp_path / "user.o")], capture_output=True, text=True)
        assert build.returncode == 0, build.stderr
    # a helper whose name the user's file already uses is not spliced
    clash = candidate(HELPER_ANSWER.replace("add8", "sum_all"), support=HELPER.replace("add8", "sum_all"))
    assert splice_edits(kernel, clash, source=USER_FILE.encode()) is None


def test_a_result_pointer_becomes_the_address_of_the_users_variable() -> None:
    kernel = add_kernel(loop_span_in(USER_FILE, "for (int i = 0; i < len", "bufs[1][i];"))
    kernel = dataclasses.replace(kernel, params=(*kernel.params, KernelParam(
        "simdlens_result", "int32_t *simdlens_result", ParamRole.RESULT, I32, source="last")))
    code = ADD_OK.split("#include <stdint.h>\n", 1)[1].replace(
        "int n) {", "int n, int32_t *simdlens_result) {").replace("c[i] = a[i] + b[i];", "*simdlens_result = c[i] = a[i] + b[i];")
    edits = splice_edits(kernel, candidate(code))
    assert edits is not None and "*(&last) = c[i]" in edits[-2].new_text


def test_the_analysis_leaves_a_spliced_model_rewrite_alone() -> None:
    from simdlens.analysis import analyze_file

    text = spliced_file().encode()
    analyses = analyze_file(text, "user.c", "c").analyses
    assert analyses and all(any(r.code == "simdlens_rewrite" for r in a.reasons) for a in analyses)


def test_rules_and_model_guard_a_loop_with_the_same_condition_around_the_same_original() -> None:
    from simdlens.analysis import analyze_file
    from simdlens.config import Settings
    from simdlens.rules import propose

    source = ("#include <stdint.h>\n\nvoid add(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b,"
              " int n) {\n    for (int i = 0; i < n; i++)\n        c[i] = a[i] + b[i];\n}\n")
    fa = analyze_file(source.encode(), "add.c", "c")
    (analysis,) = fa.analyses
    kernel = fa.kernels[analysis.site.loop_id]
    (rule,) = propose(analysis, kernel, "avx2", Settings(), source=source.encode()).candidates
    model = candidate(ADD_OK, flags=rule.flags)
    edits = splice_edits(kernel, model, source=source.encode())
    assert edits is not None

    def guard(text: str) -> tuple[list[str], str]:
        lines = text.splitlines()
        directives = [ln.strip() for ln in lines if ln.strip().startswith(("#if defined", "#else", "#endif"))]
        original = text[text.index("#else\n") + len("#else\n"):text.index("#endif", text.index("#else\n"))]
        return directives, original.strip()

    ruled, modelled = guard(apply(source, rule.edits)), guard(apply(source, edits))
    assert ruled == modelled
    assert ruled[1] == "for (int i = 0; i < n; i++)\n        c[i] = a[i] + b[i];"
