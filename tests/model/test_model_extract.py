"""Extraction of code from model answers and the static pre-check that rejects code before it is
ever compiled: wrong function, foreign intrinsics, assembly, process/file/network APIs, odd headers."""

from __future__ import annotations

import dataclasses

import pytest
from modelkit import ADD_AVX512, ADD_MALICIOUS, ADD_OK, add_kernel

from simdlens.model.extract import check_answer, extract_code
from simdlens.model.intrinsics import IntrinsicSet


def test_the_last_fenced_block_wins() -> None:
    text = "First try:\n```c\nint old;\n```\nBetter:\n```cpp\nint new_one;\n```\nDone."
    assert extract_code(text).code == "int new_one;"


def test_unfenced_answers_are_taken_whole_and_thinking_is_dropped() -> None:
    assert extract_code("<think>maybe ```c x```</think>\nint f(void) { return 1; }\n").code == \
        "int f(void) { return 1; }"


def test_an_unclosed_fence_is_flagged_as_cut_off() -> None:
    got = extract_code("Sure:\n```c\nvoid f(int *a) {\n    for (int i = 0;")
    assert got.unterminated and got.code.startswith("void f(int *a)")
    closed_then_cut = extract_code("```c\nint a;\n```\nExplanation, then again:\n```c\nint b")
    assert closed_then_cut.unterminated and closed_then_cut.code == "int b"
    still_thinking = extract_code("<think>The loop adds two arrays, so I could use")
    assert still_thinking.unterminated and still_thinking.code == ""


def test_good_code_passes_and_is_split_into_function_and_support(avx2: IntrinsicSet) -> None:
    code = "#include <immintrin.h>\n#include <stdint.h>\n" \
           "static inline __m256i add8(__m256i x, __m256i y) { return _mm256_add_epi32(x, y); }\n" + \
           ADD_OK.split("#include <stdint.h>\n", 1)[1].replace("void simdlens_kernel", "static void simdlens_kernel")
    checked = check_answer(code, add_kernel(), avx2)
    assert checked.ok, checked.rejection
    assert checked.function.startswith("void simdlens_kernel(")  # `static` removed: the harness links it
    assert "add8" in checked.support and "#include <immintrin.h>" in checked.support
    assert "stdint.h" not in checked.support  # already in the kernel's preamble


@pytest.mark.parametrize(("snippet", "reason"), [
    ('static void grab(void) { system("cat ~/.ssh/id_rsa"); }', "`system`"),
    ('static int peek(void) { return open("/root/.ssh/id_rsa", 0); }', "`open`"),
    ("static int net(void) { return socket(2, 1, 0); }", "`socket`"),
    ("static int twin(void) { return fork(); }", "`fork`"),
    ('static void run(void) { execv("/bin/sh", 0); }', "`execv`"),
    ('static void p(void) { popen("id", "r"); }', "`popen`"),
    ('static void e(void) { getenv("HOME"); }', "`getenv`"),
    ('static void w(void) { printf("hi"); }', "`printf`"),
    ('static void a(void) { __asm__("syscall"); }', "inline assembly"),
    ('static void a(void) { asm volatile("nop"); }', "inline assembly"),
    ('__asm__(".incbin \\"/etc/passwd\\"");', "incbin"),
    ("__attribute__((constructor)) static void early(void) {}", "constructor"),
    ('__attribute__((section(".init_array"))) static int x;', "section"),
    ('__attribute__((target("avx512f"))) static void t(void) {}', "target"),
    ("[[gnu::constructor]] static void early2(void) {}", "constructor"),
    ('#pragma GCC target("avx512f")', "#pragma"),
    ('_Pragma("GCC optimize(\\"O0\\")")', "_Pragma"),
    ('#include "secrets.h"', "#include"),
    ("#include </root/.ssh/id_rsa>", "#include"),
    ("#include <sys/socket.h>", "#include"),
    ("#define CALL(a, b) a##b", "token pasting"),
    ("%:include <unistd.h>", "digraph"),
    ("??=include <unistd.h>", "trigraph"),
    ("extern char **environ;", "environ"),
    ("extern int helper(int);", "extern"),
    ("int main(void) { return 0; }", "main"),
    ("static __m256i f(__m256i x) { return __builtin_ia32_paddd256(x, x); }", "builtin"),
    ("#embed </etc/passwd>", "#embed"),
])
def test_dangerous_code_is_rejected_before_compiling(avx2: IntrinsicSet, snippet: str, reason: str) -> None:
    checked = check_answer(snippet + "\n" + ADD_OK, add_kernel(), avx2)
    assert not checked.ok
    assert reason in checked.rejection
    assert "\n" not in checked.rejection


def test_names_split_across_a_line_continuation_are_still_found(avx2: IntrinsicSet) -> None:
    checked = check_answer('static void s(void) { sys\\\ntem("id"); }\n' + ADD_OK, add_kernel(), avx2)
    assert "`system`" in checked.rejection


def test_banned_words_in_comments_and_strings_are_fine(avx2: IntrinsicSet) -> None:
    code = ADD_OK.replace("int i = 0;", '/* no fork() or system() here */ int i = 0; (void)"open";')
    assert check_answer(code, add_kernel(), avx2).ok


def test_the_malicious_answer_of_the_end_to_end_tests_is_rejected(avx2: IntrinsicSet) -> None:
    checked = check_answer(ADD_MALICIOUS, add_kernel(), avx2)
    assert not checked.ok and "not allowed" in checked.rejection


def test_an_intrinsic_of_another_isa_is_rejected_naming_both(avx2: IntrinsicSet) -> None:
    checked = check_answer(ADD_AVX512, add_kernel(), avx2)
    assert "belongs to avx512" in checked.rejection and "avx2" in checked.rejection


def test_an_invented_intrinsic_is_rejected(avx2: IntrinsicSet) -> None:
    checked = check_answer(ADD_OK.replace("_mm256_add_epi32", "_mm256_addsat_epi32"), add_kernel(), avx2)
    assert "_mm256_addsat_epi32 is not an intrinsic simdlens knows" in checked.rejection


def test_code_without_simd_is_rejected(avx2: IntrinsicSet) -> None:
    scalar = "void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, " \
             "int n) { for (int i = 0; i < n; i++) c[i] = a[i] + b[i]; }"
    assert "no SIMD" in check_answer(scalar, add_kernel(), avx2).rejection


@pytest.mark.parametrize(("change", "reason"), [
    (("simdlens_kernel(", "simdlens_kernel_avx2("), "does not define the function"),
    (("int n)", "size_t n)"), "parameter 4 is uint64 instead of int32"),
    (("const int32_t *restrict b, ", ""), "3 parameters instead of 4"),
    (("void simdlens_kernel", "int simdlens_kernel"), "returns int32 instead of void"),
    (("int32_t *restrict c", "float *restrict c"), "parameter 1 is float* instead of int32*"),
])
def test_the_function_must_keep_its_name_and_signature(avx2: IntrinsicSet, change: tuple[str, str],
                                                       reason: str) -> None:
    checked = check_answer(ADD_OK.replace(*change, 1), add_kernel(), avx2)
    assert reason in checked.rejection


def test_equivalent_spellings_of_the_signature_are_accepted(avx2: IntrinsicSet) -> None:
    # `int` for `int32_t`, arrays for pointers, other parameter names, no restrict: the same ABI.
    code = ADD_OK.replace(
        "void simdlens_kernel(int32_t *restrict c, const int32_t *restrict a, const int32_t *restrict b, int n)",
        "void simdlens_kernel(int *dst, const int x[], const int32_t *__restrict__ y, int32_t count)",
    ).replace("c + i", "dst + i").replace("(a + i)", "(x + i)").replace("(b + i)", "(y + i)")
    assert check_answer(code, add_kernel(), avx2).ok


def test_without_tables_intrinsics_are_not_checked_but_everything_else_is() -> None:
    # (propose_with_model does not ask the model at all without a table; see test_model_repair.py)
    empty = IntrinsicSet("avx2", {}, available=False)
    assert check_answer(ADD_AVX512, add_kernel(), empty).ok
    assert not check_answer(ADD_MALICIOUS, add_kernel(), empty).ok


def test_struct_members_named_like_banned_functions_are_fine(avx2: IntrinsicSet) -> None:
    kernel = dataclasses.replace(add_kernel(), preamble="#include <stdint.h>\nstruct io { int read; };\n")
    code = ADD_OK.replace("int i = 0;", "struct io s = {0}, *p = &s; int i = s .read - p->read;")
    assert check_answer(code, kernel, avx2).ok
    pointer = "static int (*f)(const char *, int) = open;\n" + ADD_OK
    assert "`open`" in check_answer(pointer, add_kernel(), avx2).rejection  # no call needed to be caught
