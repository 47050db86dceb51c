"""Loops in class templates and in templates called with deduced arguments, bound from clang's
instantiations (`clang_facts.SemanticFacts.instantiations`): `template struct Tensor<float>;`, a variable
`Tensor<float> t;`, an alias `using TensorF = Tensor<float>;`, a deduced call `scale(buf, 0.5f, n)`, a
member template called `a.bump(q, n)`, an out-of-class member `Tensor<T>::mul_`. The kernel is compiled
with the class template and the binding before it, its members' types asserted through `Tensor<T>`, so
a wrong binding fails to build; the edit keeps every other instantiation on the original loop."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from rules_support import apply_edits, cpp_outputs, needs_compiler, require_host, verify_first_candidates

from simdlens.analysis import analyze_file
from simdlens.analysis.clang_facts import libclang_problem, semantic_facts
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose
from simdlens.sandbox import Sandbox

pytestmark = pytest.mark.skipif(bool(libclang_problem()), reason="libclang is not available")

SOURCE = b"""#include <cstddef>
template <typename T>
struct Tensor {
    T *data;
    std::size_t n;
    void add_(const Tensor &o) {
        for (std::size_t i = 0; i < n; ++i) data[i] += o.data[i];
    }
    void mul_(const Tensor &o);
};
template <typename T>
void Tensor<T>::mul_(const Tensor &o) {
    for (std::size_t i = 0; i < n; ++i) data[i] *= o.data[i];
}
template struct Tensor<float>;

template <typename V>
struct Ring {
    V *x; int len;
    void shift(V k) { for (int i = 0; i < len; ++i) x[i] = x[i] + k; }
};
using RingI = Ring<int>;

template <class T>
void scale(T *x, T s, int n) {
    for (int i = 0; i < n; ++i) x[i] *= s;
}
void run(float *buf, int n) { scale(buf, 0.5f, n); }

struct Acc {
    template <class U> void bump(U *q, int n) { for (int i = 0; i < n; ++i) q[i] += 3; }
};
void acc(short *q, int n) { Acc a; a.bump(q, n); }
"""

# Other instantiations than the analysed ones, and a program printing what every loop computes
OTHERS = """
template struct Tensor<double>;
#include <cstdio>
int main() {
    float a[37], b[37]; double da[37], db[37]; int r[21]; short q[19]; float s[33]; long ls[9];
    for (int i = 0; i < 37; i++) { a[i] = i * 0.5f; b[i] = 3 - i; da[i] = i * 0.25; db[i] = i - 7; }
    for (int i = 0; i < 21; i++) r[i] = i * 9 - 50;
    for (int i = 0; i < 19; i++) q[i] = (short)(i * 1000 - 9000);
    for (int i = 0; i < 33; i++) s[i] = i * 1.5f;
    for (int i = 0; i < 9; i++) ls[i] = i;
    Tensor<float> t{a, 37}, u{b, 37}; t.add_(u); t.mul_(u);
    Tensor<double> dt{da, 37}, du{db, 37}; dt.add_(du); dt.mul_(du);
    RingI ring{r, 21}; ring.shift(7);
    Ring<long> lring{ls, 9}; lring.shift(2);
    run(s, 33); scale(ls, 3L, 9);
    acc(q, 19);
    for (int i = 0; i < 37; i++) printf("%g %g\\n", a[i], da[i]);
    for (int i = 0; i < 21; i++) printf("%d %d\\n", r[i], i < 19 ? q[i] : 0);
    for (int i = 0; i < 33; i++) printf("%g %ld\\n", s[i], i < 9 ? ls[i] : 0L);
}
"""


def _analyses(source: bytes = SOURCE, name: str = "cls_tmpl.cpp"):  # type: ignore[no-untyped-def]
    path = f"/tmp/{name}"
    fa = analyze_file(source, path, "cpp", facts=semantic_facts(source, path, "cpp"))
    return fa, {a.site.function: a for a in fa.analyses}


def _elements(a) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {x.root: x.elem.name for x in a.loop.arrays if x.elem}


def test_each_form_is_read_for_the_instantiation_clang_made() -> None:
    fa, by_fn = _analyses()
    expected = {"Tensor::add_": ("Tensor<float>", "float"), "Tensor::mul_": ("Tensor<float>", "float"),
                "Ring::shift": ("Ring<int>", "int32"), "scale": ("scale<float>", "float"),
                "Acc::bump": ("bump<short>", "int16")}
    for fn, (spelled, elem) in expected.items():
        a = by_fn[fn]
        assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), (fn, a.reasons)
        assert set(_elements(a).values()) == {elem}, (fn, _elements(a))
        notes = [r.message for r in a.reasons if r.code == "instantiation"]
        assert notes == [f"in a template: analysed for {spelled}"], (fn, notes)
    add = fa.kernels[by_fn["Tensor::add_"].site.loop_id]
    assert add.instantiation == "std::is_same<T, float>::value"
    # the class template is in the kernel's context, then the binding; members are asserted through it
    assert add.context is not None and add.context.text().rstrip().endswith("};\n#line 1 \"simdlens-context\"\n"
                                                                           "typedef float T;\n#undef main")
    assert {f.expr for f in add.type_facts} == {"((Tensor<T> *)0)->data[0]", "((Tensor<T> *)0)->n",
                                               "((const Tensor<T> *)0)->data[0]"}


def test_several_instantiations_analyse_the_first_and_name_the_others() -> None:
    code = (b"template <typename T> void twice(T *o, const T *a, int n) { for (int i = 0; i < n; ++i) o[i] = a[i] + a[i]; }\n"
            b"void f(double *o, const double *a, float *p, const float *b, int n) { twice(o, a, n); twice(p, b, n); }\n")
    fa, by_fn = _analyses(code, "several.cpp")
    a = by_fn["twice"]
    assert a.verdict in (LoopVerdict.VECTORIZABLE, LoopVerdict.VECTORIZABLE_WITH_CHECKS), a.reasons
    assert set(_elements(a).values()) == {"double"}
    assert [r.message for r in a.reasons if r.code == "instantiation"] == [
        "in a template: analysed for twice<double>; also used: twice<float> (they keep the original loop)"]
    assert fa.kernels[a.site.loop_id].instantiation == "std::is_same<T, double>::value"


@pytest.mark.parametrize("code, expected", [
    (b"template <typename T> struct Box { T *p; int n; void z() { for (int i = 0; i < n; ++i) p[i] = 0; } };\n",
     "found none: the file uses Box nowhere outside a template (a use inside another template's body is not followed)"),
    (b"#include <complex>\n"
     b"template <typename T> struct Box { T *p; int n; void z() { for (int i = 0; i < n; ++i) p[i] *= p[i]; } };\n"
     b"template struct Box<std::complex<float>>;\n",
     "is not a scalar type name"),
    (b"template <typename T> struct Box { T *p; int n; };\n"
     b"template <typename T> struct Box<T *> { T **p; int n; void z() { for (int i = 0; i < n; ++i) p[i] = 0; } };\n"
     b"Box<int *> b;\n",
     "loops in a partial specialization (Box<T *>) are not analysed"),
])
def test_a_class_template_without_a_scalar_instantiation_is_refused_with_that_reason(code: bytes, expected: str) -> None:
    _, by_fn = _analyses(code, "refused_class.cpp")
    (a,) = by_fn.values()
    assert a.verdict is LoopVerdict.NOT_VECTORIZABLE
    assert any(r.code == "template" and r.message.endswith(expected) for r in a.reasons), a.reasons


@needs_compiler
@pytest.mark.sandbox
def test_a_wrong_binding_fails_to_build_and_is_never_verified(rule_settings: Settings) -> None:
    """The members' types are asserted through `Tensor<T>` in the user's class: a binding read wrong
    (int for a float tensor) makes the reference fail to build, never verify."""
    fa, by_fn = _analyses()
    a = by_fn["Tensor::add_"]
    kernel = fa.kernels[a.site.loop_id]
    (cand,) = propose(a, kernel, "avx2", rule_settings, source=SOURCE).candidates[:1]
    assert kernel.context is not None
    wrong = dataclasses.replace(kernel.context, closers=kernel.context.closers.replace("typedef float T;",
                                                                                         "typedef double T;"))
    lied = dataclasses.replace(kernel, context=wrong, content_hash=kernel.content_hash + "-wrong")

    async def run() -> Status:
        async with Sandbox(rule_settings) as sandbox:
            (r,) = await sandbox.verify(lied, (cand,), bench=False)
            return r.verdict.status

    assert asyncio.run(run()) is not Status.VERIFIED


@needs_compiler
@pytest.mark.sandbox
def test_every_form_verifies_and_the_edit_keeps_other_instantiations(rule_settings: Settings, tmp_path: Path) -> None:
    fa, _ = _analyses()
    got, edits = verify_first_candidates(fa, ("Tensor::add_", "Tensor::mul_", "Ring::shift", "scale", "Acc::bump"),
                                         SOURCE, rule_settings)
    if Status.UNSUPPORTED_CPU in got.values():
        require_host("avx2")
    assert set(got.values()) == {Status.VERIFIED}, got

    edited = apply_edits(SOURCE, edits).decode()
    assert "if constexpr (std::is_same<T, float>::value) {" in edited
    assert "if constexpr (std::is_same<V, int>::value) {" in edited
    outputs = cpp_outputs(tmp_path, {"edited": (edited + OTHERS, ["-mavx2", "-mfma"]),
                                     "original": (SOURCE.decode() + OTHERS, [])})
    assert outputs["edited"] == outputs["original"] != ""


VARIABLE = (b"template <typename T> struct Vec {\n"
            b"    T *p; int n;\n"
            b"    void half() { for (int i = 0; i < n; ++i) p[i] = p[i] * T(0.5); }\n"
            b"    template <class U> void put(const U *u) { for (int i = 0; i < n; ++i) p[i] = T(u[i]); }\n"
            b"};\n"
            b"void use(const int *src) { Vec<double> v; v.half(); v.put(src); }\n")


def test_a_variable_binds_its_class_and_a_member_template_binds_both_levels() -> None:
    fa, by_fn = _analyses(VARIABLE, "variable.cpp")
    half, put = by_fn["Vec::half"], by_fn["Vec::put"]
    assert set(_elements(half).values()) == {"double"}
    assert _elements(put) == {"p": "double", "u": "int32"}
    assert [r.message for r in put.reasons if r.code == "instantiation"] == [
        "in a template: analysed for Vec<double>::put<int>"]
    assert fa.kernels[put.site.loop_id].instantiation == "std::is_same<T, double>::value && std::is_same<U, int>::value"


@needs_compiler
@pytest.mark.sandbox
def test_the_variable_and_nested_member_template_forms_verify(rule_settings: Settings) -> None:
    fa, _ = _analyses(VARIABLE, "variable.cpp")
    got, _ = verify_first_candidates(fa, ("Vec::half", "Vec::put"), VARIABLE, rule_settings)
    if Status.UNSUPPORTED_CPU in got.values():
        require_host("avx2")
    assert set(got.values()) == {Status.VERIFIED}, got


def test_a_member_template_argument_keeps_the_qualifiers_its_parameter_does_not_spell() -> None:
    code = (b"struct S {\n"
            b"    template <class U> float sum(U *x, int n) { float s = 0; for (int i = 0; i < n; ++i) s += x[i]; return s; }\n"
            b"    template <class U> void add(const U *x, U *y, int n) { for (int i = 0; i < n; ++i) y[i] += x[i]; }\n"
            b"};\n"
            b"float f(const float *p, float *q, S &s, int n) { s.add(p, q, n); return s.sum(p, n); }\n")
    fa, by_fn = _analyses(code, "qualifiers.cpp")
    notes = {fn: [r.message for r in a.reasons if r.code == "instantiation"] for fn, a in by_fn.items()}
    assert notes == {"S::sum": ["in a template: analysed for sum<const float>"],
                     "S::add": ["in a template: analysed for add<float>"]}
    assert fa.kernels[by_fn["S::sum"].site.loop_id].instantiation == "std::is_same<U, const float>::value"
