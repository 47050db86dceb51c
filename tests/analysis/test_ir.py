"""C's typing rules in the loop IR: promotions, usual arithmetic conversions, literal types, the
conversion on assignment, and the header normalisation (bounds, steps, trip counts)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from simdlens.analysis import analyze_file
from simdlens.analysis.build import literal, promote, usual
from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    INT32,
    INT64,
    UINT32,
    UINT64,
    Binary,
    Cast,
    Const,
    CType,
    Load,
    LoopIR,
    Reduce,
    Store,
)
from simdlens.core import Analysis


def analyse(body: str, params: str = "float *restrict a, const float *restrict b, int n", pre: str = "") -> Analysis:
    src = f"#include <stdint.h>\n#include <stddef.h>\n{pre}\nvoid f({params}) {{\n{body}\n}}\n".encode()
    fa = analyze_file(src, "t.c", "c")
    assert len(fa.analyses) == 1, fa
    return fa.analyses[0]


def loop_of(body: str, **kw: str) -> LoopIR:
    a = analyse(body, **kw)
    assert a.loop is not None, a.reasons
    return a.loop


def store(loop: LoopIR) -> Store:
    s = loop.body[0]
    assert isinstance(s, Store)
    return s


U8, I8, I16 = CType("uint8"), CType("int8"), CType("int16")


def test_integer_promotions_and_usual_conversions() -> None:
    assert promote(U8).name == "int32" and promote(I16).name == "int32" and promote(UINT32).name == "uint32"
    assert usual(U8, U8).name == "int32"
    assert usual(INT32, UINT32).name == "uint32"
    assert usual(INT64, UINT32).name == "int64"  # LP64: long holds every unsigned int
    assert usual(UINT64, INT64).name == "uint64"
    assert usual(INT32, FLOAT).name == "float" and usual(FLOAT, DOUBLE).name == "double"


@pytest.mark.parametrize(("text", "name", "value"), [
    ("1.0", "double", 1.0), ("1.0f", "float", 1.0), ("1e3", "double", 1000.0), ("10", "int32", 10),
    ("3000000000", "int64", 3000000000), ("0xFFFFFFFF", "uint32", 0xFFFFFFFF), ("10u", "uint32", 10),
    ("10UL", "uint64", 10), ("010", "int32", 8), ("0x1p4", "double", 16.0), ("1'000", "int32", 1000),
])
def test_literal_types(text: str, name: str, value: float) -> None:
    c = literal(text)
    assert (c.type.name, c.value) == (name, value)


def test_float_times_double_literal_computes_in_double() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) a[i] = b[i] * 1.0;"))
    assert isinstance(s.value, Cast) and s.value.implicit and s.value.type.name == "float"
    mul = s.value.operand
    assert isinstance(mul, Binary) and mul.type.name == "double"
    assert isinstance(mul.lhs, Cast) and mul.lhs.implicit and isinstance(mul.lhs.operand, Load)
    assert isinstance(mul.rhs, Const) and mul.rhs.type.name == "double"


def test_float_literal_stays_float() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) a[i] = b[i] * 2.0f;"))
    assert isinstance(s.value, Binary) and s.value.type.name == "float"


def test_uint8_addition_is_int_then_narrowed() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) d[i] = x[i] + y[i];",
                      params="uint8_t *restrict d, const uint8_t *restrict x, const uint8_t *restrict y, int n"))
    assert isinstance(s.value, Cast) and s.value.implicit and s.value.type.name == "uint8"
    add = s.value.operand
    assert isinstance(add, Binary) and add.type.name == "int32"
    assert isinstance(add.lhs, Cast) and add.lhs.type.name == "int32"


def test_comparison_yields_int() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) d[i] = b[i] > 0.5f;",
                      params="int *restrict d, const float *restrict b, int n"))
    assert isinstance(s.value, Binary) and s.value.op == ">" and s.value.type.name == "int32"
    assert s.value.operand_type.name == "float"


def test_char_is_signed_and_char_literal_is_int_in_c() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) d[i] = c[i] + 'a';",
                      params="int *restrict d, const char *restrict c, int n"))
    add = s.value
    assert isinstance(add, Binary) and add.type.name == "int32"
    assert isinstance(add.lhs, Cast) and isinstance(add.lhs.operand, Load)
    assert add.lhs.operand.access.elem.name == "int8"
    assert isinstance(add.rhs, Const) and add.rhs.type.name == "int32" and add.rhs.value == 97


def test_shift_takes_the_promoted_left_type() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) d[i] = x[i] << 9;",
                      params="uint16_t *restrict d, const uint16_t *restrict x, int n"))
    assert isinstance(s.value, Cast) and s.value.type.name == "uint16"
    sh = s.value.operand
    assert isinstance(sh, Binary) and sh.op == "<<" and sh.type.name == "int32"


def test_compound_assignment_is_expanded_with_conversion() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) d[i] += x[i];",
                      params="int16_t *restrict d, const int8_t *restrict x, int n"))
    assert isinstance(s.value, Cast) and s.value.type.name == "int16"
    add = s.value.operand
    assert isinstance(add, Binary) and add.op == "+" and isinstance(add.lhs, Cast)
    assert isinstance(add.lhs.operand, Load) and add.lhs.operand.access.base == "d"


def test_sqrt_of_float_is_a_double_call() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) a[i] = sqrt(b[i]);", pre="#include <math.h>"))
    assert isinstance(s.value, Cast) and s.value.type.name == "float"
    call = s.value.operand
    assert call.type.name == "double" and isinstance(call.args[0], Cast)  # type: ignore[union-attr]


def test_reduction_computed_in_a_wider_type_is_refused() -> None:
    a = analyse("float s = 0; for (int i = 0; i < n; i++) s += b[i] * 0.5; a[0] = s;")
    assert a.verdict.value == "not_vectorizable"
    assert any(r.code == "reduction_type" for r in a.reasons)


def test_minmax_records_the_comparison() -> None:
    loop = loop_of("float m = b[0]; for (int i = 0; i < n; i++) m = m < b[i] ? b[i] : m; a[0] = m;")
    r = loop.body[0]
    assert isinstance(r, Reduce) and r.op.value == "max" and r.cmp == ">"
    loop = loop_of("float m = b[0]; for (int i = 0; i < n; i++) if (b[i] <= m) m = b[i]; a[0] = m;")
    r = loop.body[0]
    assert isinstance(r, Reduce) and r.op.value == "min" and r.cmp == "<="


def test_float_complement_minmax_is_not_guessed() -> None:
    # m = b[i] < m ? m : b[i] takes a NaN element; no `value cmp var` form says that exactly
    a = analyse("float m = b[0]; for (int i = 0; i < n; i++) m = b[i] < m ? m : b[i]; a[0] = m;")
    assert not any(isinstance(s, Reduce) for s in (a.loop.body if a.loop else ()))
    assert a.verdict.value == "not_vectorizable"


# ---- header normalisation: the trip-count expression is checked by running it in C ----------------

HEADERS = [
    ("for (int i = 0; i < n; i++)", "n"),
    ("for (int i = 0; i <= n; i++)", "n"),
    ("for (int i = 3; i < n; i += 4)", "n"),
    ("for (int i = 2; i <= n; i += 3)", "n"),
    ("for (int i = n; i > 0; i--)", "n"),
    ("for (int i = n; i >= 0; i -= 2)", "n"),
    ("for (int i = n - 1; i >= 5; --i)", "n"),
    ("for (int i = 0; i != n; ++i)", "n"),
    ("for (int i = 1; i < LEN / 2; i += 3)", ""),
    ("for (unsigned i = 0; i < (unsigned)n; i++)", "n"),
    ("for (size_t i = n; i > 1; i -= 2)", "n"),
]


def test_trip_counts_match_c(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cases = []
    for header, _ in HEADERS:
        a = analyse(f"{header} a[0] += 1.0f;", params="float *restrict a, int n", pre="#define LEN 100")
        assert a.loop is not None, (header, a.reasons)
        cases.append((header, a.loop.trip_count))
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#define LEN 100", "int main(void) {", " int bad = 0;",
             " for (int n = 0; n < 40; n++) {"]
    for k, (header, trip) in enumerate(cases):
        lines += [f"  {{ long c = 0; {header} c++; long t = (long)({trip});",
                  f'    if (c != t) {{ printf("case {k} n=%d: loop %ld expr %ld\\n", n, c, t); bad = 1; }} }}']
    lines += [" }", " return bad;", "}"]
    src = tmp_path / "trip.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "trip"
    subprocess.run(["gcc", "-std=c11", "-w", "-o", str(exe), str(src)], check=True, timeout=60)
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout


def test_counter_declared_outside_and_live_out() -> None:
    loop = loop_of("int i; for (i = 0; i < n; i++) a[i] = b[i]; a[n] = i;")
    assert not loop.iv_declared_in_loop and loop.iv_live_out
    loop = loop_of("int i; for (i = 0; i < n; i++) a[i] = b[i];")
    assert not loop.iv_declared_in_loop and not loop.iv_live_out


def test_pointer_walk_becomes_indexed_accesses() -> None:
    loop = loop_of("while (n--) *a++ = *b++ * 2.0f;")
    s = store(loop)
    assert (s.access.base, s.access.coeff, s.access.offset) == ("a", 1, 0)
    assert loop.trip_count == "((n) > 0 ? (n) : 0)"


def test_indirect_access_keeps_the_index_expression() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) a[i] = b[idx[i]];",
                      params="float *restrict a, const float *restrict b, const int *restrict idx, int n"))
    assert isinstance(s.value, Load) and s.value.access.coeff is None
    assert isinstance(s.value.access.index, Load) and s.value.access.index.access.base == "idx"


def test_symbolic_and_strided_subscripts() -> None:
    s = store(loop_of("for (int c = 0; c < n; c++) a[r * cols + 2 * c + 1] = b[c];",
                      params="float *restrict a, const float *restrict b, int n, int r, int cols"))
    assert (s.access.coeff, s.access.offset, s.access.symbolic) == (2, 1, "r*cols")


def test_constant_trip_respects_unsigned_comparison() -> None:
    loop = loop_of("for (int i = -5; i < 10u; i++) a[0] += 1.0f;", params="float *restrict a")
    assert loop.trip_count != "15"  # -5 < 10u is false in C: left to C to evaluate


def test_conversion_to_bool_is_a_comparison_not_a_truncation() -> None:
    s = store(loop_of("for (int i = 0; i < n; i++) f[i] = x[i] & 6;",
                      params="_Bool *restrict f, const int *restrict x, int n"))
    assert isinstance(s.value, Cast) and s.value.type.name == "uint8"
    ne = s.value.operand
    assert isinstance(ne, Binary) and ne.op == "!=" and ne.type.name == "int32"


def _python_source(name: str) -> Any:
    """The module as Python source, also when the installed one is compiled by mypyc (a compiled
    __init__ has no signature to inspect)."""
    import importlib
    import importlib.util
    from pathlib import Path

    module = importlib.import_module(name)
    if str(module.__file__).endswith(".py"):
        return module
    path = Path(str(module.__file__)).with_name(name.rsplit(".", 1)[1] + ".py")
    spec = importlib.util.spec_from_file_location(name + "_source", path)
    assert spec is not None and spec.loader is not None
    source = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = source  # dataclasses resolve the module of their annotations through sys.modules
    spec.loader.exec_module(source)
    return source


def test_written_out_inits_take_exactly_the_fields() -> None:
    """The IR nodes whose __init__ is written out (for speed, see ir.py) take every field, in order, with the
    dataclass's defaults, and set each one: an added field cannot be forgotten there."""
    import dataclasses
    import inspect

    ir = _python_source("simdlens.analysis.ir")
    Decl = _python_source("simdlens.analysis.build.declarations").Decl

    from simdlens import core

    classes = [c for c in vars(ir).values() if isinstance(c, type) and dataclasses.is_dataclass(c)] + [Decl]
    classes += [core.LoopSite, core.Reason, core.Analysis]  # core's, written out the same way (core.py)
    # dataclass makes its __init__ from a string: any other is written out
    written = [c for c in classes if getattr(getattr(c.__init__, "__code__", None), "co_filename", "") != "<string>"]
    assert {c.__name__ for c in written} >= {"Access", "Load", "Binary", "Var", "Array", "Scalar", "Decl", "LoopIR", "Unary", "Let", "If",
                                             "LoopSite", "Reason", "Analysis"}
    for cls in written:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields], cls.__name__
        for p, f in zip(params, fields, strict=True):
            want = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
            assert p.default == want, (cls.__name__, f.name)
        values = {f.name: f"value of {f.name}" for f in fields}
        made = cls(**values)
        assert all(getattr(made, name) == value for name, value in values.items()), cls.__name__


def test_fmaxf_then_equality_is_an_argmax_with_the_last_index() -> None:
    """ggml's `m = fmaxf(m, x[i]); if (m == x[i]) k = i;` is one argmax (last index wins, fmaxf's NaN start
    kept), whether `m` is read after the loop or not; a third read of `m` in the body leaves it a recurrence."""
    from simdlens.analysis.ir import ArgReduce
    pre = "#include <math.h>\nint k; float top;"
    got = loop_of("float m = -INFINITY;\nfor (int i = 0; i < n; i++) { m = fmaxf(m, b[i]); if (m == b[i]) k = i; }",
                  pre=pre)
    (s,) = got.body
    assert isinstance(s, ArgReduce) and (s.cmp, s.call, s.value_read) == (">=", "fmax", False), s
    got = loop_of("for (int i = 0; i < n; i++) { top = fminf(b[i] * 2.0f, top); if (b[i] * 2.0f == top) k = i; }",
                  pre=pre)
    (s,) = got.body
    assert isinstance(s, ArgReduce) and (s.cmp, s.call, s.value_read) == ("<=", "fmin", True), s  # a global
    a = analyse("float m = -INFINITY;\nfor (int i = 0; i < n; i++) { m = fmaxf(m, b[i]); if (m == b[i]) k = i; "
                "a[i] = m; }", pre=pre)
    assert a.verdict.value == "not_vectorizable" and any("m is also used elsewhere" in r.message for r in a.reasons), \
        a.reasons
