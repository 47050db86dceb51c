"""Loops in function templates, read for the one instantiation the file names: an explicit instantiation
(`template void f<float>(…);`) or calls with all template arguments written (`f<int, 64>(x)`). The
kernel is built for that binding (`typedef float T;` before it), verifies in the sandbox, and the edit
compiles its vector code only for that binding, so every other instantiation still builds and keeps the
original loop. Without clang's facts, no binding, two bindings, or a class template: refused with a reason
that says so."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from rules_support import apply_edits, cpp_outputs, needs_compiler, require_host, verify_first_candidates

from simdlens.analysis import analyze_file
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.model.splice import splice_edits
from simdlens.rules import propose

SOURCE = b"""#include <cstddef>
#include <cstdint>
template <typename T>
void add_arrays(T* __restrict out, const T* __restrict a, const T* __restrict b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
template void add_arrays<float>(float*, const float*, const float*, std::size_t);

template <typename T, int N>
T sum_fixed(const T* x) {
    T s = 0;
    for (int i = 0; i < N; ++i) s += x[i];
    return s;
}
int use(const int* x) { return sum_fixed<int, 64>(x); }
"""

# Other instantiations than the analysed ones, and a program printing what they compute
OTHERS = """
template void add_arrays<int>(int*, const int*, const int*, std::size_t);
int use16(const int* x) { return sum_fixed<int, 16>(x); }
float use_float(const float* x) { return sum_fixed<float, 64>(x); }
#include <cstdio>
int main() {
    float a[37], b[37], o[37]; int ia[37], ib[37], io[37], x[64]; float xf[64];
    for (int i = 0; i < 37; i++) { a[i] = i * 0.5f; b[i] = 3 - i; ia[i] = i * 7 - 100; ib[i] = -3 * i; }
    for (int i = 0; i < 64; i++) { x[i] = i * i - 5; xf[i] = i * 0.25f; }
    add_arrays(o, a, b, 37);
    add_arrays(io, ia, ib, 37);
    for (int i = 0; i < 37; i++) printf("%g %d\\n", o[i], io[i]);
    printf("%d %d %g\\n", use(x), use16(x), use_float(xf));
}
"""


def _analyses(source: bytes = SOURCE, name: str = "tmpl.cpp"):  # type: ignore[no-untyped-def]
    fa = analyze_file(source, f"/tmp/{name}", "cpp")
    return fa, {a.site.function: a for a in fa.analyses}


def test_a_function_template_is_read_for_the_instantiation_the_file_names() -> None:
    fa, by_fn = _analyses()
    for fn in ("add_arrays", "sum_fixed"):
        assert by_fn[fn].verdict is LoopVerdict.VECTORIZABLE, (fn, by_fn[fn].reasons)
    loop = by_fn["add_arrays"].loop
    assert loop is not None and {a.root: a.elem.name for a in loop.arrays if a.elem} == {
        "out": "float", "a": "float", "b": "float"}
    summed = by_fn["sum_fixed"].loop
    assert summed is not None and summed.trip_count == "64"
    added = fa.kernels[by_fn["add_arrays"].site.loop_id]
    summing = fa.kernels[by_fn["sum_fixed"].site.loop_id]
    assert added.instantiation == "std::is_same<T, float>::value"
    assert summing.instantiation == "std::is_same<T, int>::value && N == (64)"
    # the kernel is compiled after the user's file up to the template, then the binding
    assert added.context is not None and added.context.text().rstrip().endswith("typedef float T;\n#undef main")
    assert summing.context is not None and "typedef int T;\nconstexpr int N = 64;" in summing.context.text()


@pytest.mark.parametrize("code, expected", [
    (b"template <typename T> void s(T *o, const T *a, T k, int n) { for (int i = 0; i < n; ++i) o[i] = a[i] * k; }\n"
     b"void g(float *o, const float *a, int n) { s(o, a, 2.0f, n); }\n",
     "found none (loops in class templates and deduced instantiations need clang's semantic facts)"),
    (b"template <typename T> void t(T *o, const T *a, int n) { for (int i = 0; i < n; ++i) o[i] = a[i] + a[i]; }\n"
     b"template void t<float>(float *, const float *, int);\ntemplate void t<double>(double *, const double *, int);\n",
     "found 2: t<float>, t<double>"),
    (b"template <typename T> struct Buf { T *p; int n; void scale(T k) { for (int i = 0; i < n; ++i) p[i] *= k; } };\n"
     b"template struct Buf<float>;\n",
     "loops in class templates and deduced instantiations need clang's semantic facts"),
])
def test_templates_without_one_named_instantiation_are_refused_with_that_reason(code: bytes, expected: str) -> None:
    """Without clang's facts (they bind deduced and class instantiations: test_class_templates.py)."""
    _, by_fn = _analyses(code, "refused.cpp")
    (a,) = by_fn.values()
    assert a.verdict is LoopVerdict.NOT_VECTORIZABLE
    messages = [r.message for r in a.reasons]
    assert any(m.startswith("a loop in a template: simdlens analyses it for one instantiation named in the file")
               and m.endswith(expected) for m in messages), messages


def test_a_template_loop_that_needs_none_of_its_parameters_is_analysed_as_before() -> None:
    code = b"template <int K> void fill(float *o, int n) { for (int i = 0; i < n; ++i) o[i] = 1.0f; }\n"
    fa = analyze_file(code, "/tmp/plain_in_template.cpp", "cpp")
    (a,) = fa.analyses
    assert a.verdict is not LoopVerdict.NOT_VECTORIZABLE, a.reasons
    kernel = fa.kernels[a.site.loop_id]
    assert kernel.instantiation == ""  # no binding: the edit applies to every instantiation alike


def test_an_explicit_specialization_is_an_ordinary_function() -> None:
    code = (b"template <typename T> void s(T *o, const T *a, int n) { for (int i = 0; i < n; ++i) o[i] = a[i] * 2; }\n"
            b"template <> void s<int>(int *o, const int *a, int n) { for (int i = 0; i < n; ++i) o[i] = a[i] + 1; }\n")
    fa = analyze_file(code, "/tmp/special.cpp", "cpp")
    primary, special = sorted(fa.analyses, key=lambda a: a.site.span.start_byte)
    assert primary.verdict is LoopVerdict.NOT_VECTORIZABLE  # the specialization names no instantiation of it
    assert special.verdict is not LoopVerdict.NOT_VECTORIZABLE, special.reasons
    kernel = fa.kernels[special.site.loop_id]
    assert kernel.instantiation == ""


@needs_compiler
@pytest.mark.sandbox
def test_template_loops_verify_and_the_edit_keeps_other_instantiations(rule_settings: Settings, tmp_path: Path) -> None:
    fa, _ = _analyses()
    got, edits = verify_first_candidates(fa, ("add_arrays", "sum_fixed"), SOURCE, rule_settings)
    if Status.UNSUPPORTED_CPU in got.values():
        require_host("avx2")
    assert got == {"add_arrays": Status.VERIFIED, "sum_fixed": Status.VERIFIED}, got

    edited = apply_edits(SOURCE, edits).decode()
    assert "if constexpr (std::is_same<T, float>::value) {" in edited
    assert "if constexpr (std::is_same<T, int>::value && N == (64)) {" in edited
    outputs = cpp_outputs(tmp_path, {"edited": (edited + OTHERS, ["-mavx2", "-mfma"]),
                                     "edited_plain": (edited + OTHERS, []),
                                     "original": (SOURCE.decode() + OTHERS, [])})
    assert outputs["edited"] == outputs["original"] == outputs["edited_plain"] != ""


def test_a_spliced_model_rewrite_is_also_only_for_the_analysed_instantiation(tmp_path: Path) -> None:
    """The model's edits go through `model.splice`: the same `if constexpr` wrapping as the rules'."""
    fa, by_fn = _analyses()
    a = by_fn["add_arrays"]
    kernel = fa.kernels[a.site.loop_id]
    (rule,) = propose(a, kernel, "avx2", Settings(), source=SOURCE).candidates
    model = dataclasses.replace(rule, origin="model:test-model", edits=())
    edits = splice_edits(kernel, model, source=SOURCE)
    assert edits is not None
    edited = apply_edits(SOURCE, edits).decode()
    assert "if constexpr (std::is_same<T, float>::value) {" in edited and "#include <type_traits>" in edited
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    (tmp_path / "spliced.cpp").write_text(edited + "template void add_arrays<int>(int*, const int*, const int*, "
                                          "std::size_t);\n")
    build = subprocess.run(["g++", "-std=c++17", "-mavx2", "-mfma", "-fsyntax-only", str(tmp_path / "spliced.cpp")],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
