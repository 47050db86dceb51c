"""DSP-style loops: pointers walked inside expressions, hand-unrolled blocks, `while (p < end)`, counts
moved by the loop and read after it, temporaries assigned on every iteration, and parenthesised names
the parser takes for casts. What the analysis makes of them (the rewrites are run in tests/rules)."""

from __future__ import annotations

from simdlens.analysis import analyze_file
from simdlens.analysis.ir import (
    IV,
    Binary,
    Cast,
    Exit,
    If,
    Let,
    Load,
    LoopIR,
    Moved,
    Reduce,
    ScalarRole,
    Select,
    Step,
    Store,
    Unary,
    Var,
    walk_exprs,
    walk_stmts,
)
from simdlens.core import Analysis, LoopVerdict

PRE = "#include <stdint.h>\n#include <stddef.h>\n#include <math.h>\ntypedef int16_t q15;\ntypedef int32_t q31;\n"


def analyses(code: str) -> list[Analysis]:
    return list(analyze_file((PRE + code).encode(), "dsp.c", "c").analyses)


def one(code: str) -> Analysis:
    (a,) = analyses(code)
    return a


def loop(code: str) -> LoopIR:
    a = one(code)
    assert a.loop is not None and a.verdict != LoopVerdict.NOT_VECTORIZABLE, a.reasons
    return a.loop


def messages(a: Analysis) -> str:
    return " | ".join(r.message for r in a.reasons)


def test_post_increments_inside_expressions_of_a_counted_loop_index_by_the_counter() -> None:
    lp = loop("""void f(float *restrict d, const float *restrict s, float g, int n) {
        for (int i = 0; i < n; i++) *d++ = *s++ * g;
    }""")
    (st,) = lp.body
    assert isinstance(st, Store) and (st.access.root, st.access.coeff, st.access.offset) == ("d", 1, 0)
    assert lp.iv == "i" and lp.moved == ()  # nothing reads d or s afterwards


def test_pointers_read_after_the_loop_are_moved_by_the_trip_count() -> None:
    lp = loop("""float *f(float *restrict d, const float *restrict s, unsigned n) {
        while (n--) { *d++ = *s++; *d++ = 0.0f; }
        return d;
    }""")
    assert lp.moved == (Moved("d", 2, 0, pointer=True),)
    stores = [s for s in lp.body if isinstance(s, Store)]
    assert [(s.access.coeff, s.access.offset) for s in stores] == [(2, 0), (2, 1)]


def test_the_count_of_while_n_minus_minus_ends_one_below_zero() -> None:
    lp = loop("""unsigned f(float *restrict d, unsigned n) {
        while (n--) *d++ = 1.0f;
        return n;
    }""")
    assert Moved("n", -1, -1) in lp.moved


def test_a_hand_unrolled_block_is_re_rolled_and_its_count_moves_per_block() -> None:
    a, rest = analyses("""void f(q31 *restrict d, const q31 *restrict s, q31 k, unsigned n) {
        for (; n >= 4; n -= 4) {
            d[0] = s[0] + k; d[1] = s[1] + k; d[2] = s[2] + k; d[3] = s[3] + k;
            d += 4; s += 4;
        }
        for (; n > 0; n--) *d++ = *s++ + k;
    }""")
    assert a.loop is not None and rest.loop is not None and rest.loop.moved == ()
    (st,) = a.loop.body
    assert isinstance(st, Store) and (st.access.coeff, st.access.offset) == (1, 0)
    assert a.loop.trip_count.startswith("((4) * (")
    assert set(a.loop.moved) == {Moved("d", 1, 0, pointer=True), Moved("s", 1, 0, pointer=True),
                                 Moved("n", -4, 0, every=4)}
    assert "4 hand-unrolled copies" in messages(a)


def test_cmsis_style_block_loop_with_repeated_accumulation() -> None:
    a = one("""int64_t f(const q15 *a, const q15 *b, uint32_t n) {
        int64_t sum = 0;
        uint32_t blk = n >> 2;
        while (blk > 0u) {
            sum += (q31)*a++ * *b++;
            sum += (q31)*a++ * *b++;
            sum += (q31)*a++ * *b++;
            sum += (q31)*a++ * *b++;
            blk--;
        }
        return sum;
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None
    (red,) = a.loop.body
    assert isinstance(red, Reduce) and red.var == "sum"
    loads = sorted((x.access.root, x.access.coeff, x.access.offset) for x in walk_exprs(red.value)
                   if isinstance(x, Load))
    assert loads == [("a", 1, 0), ("b", 1, 0)]  # (q31)*a++ is a cast of the dereference, not a product
    assert a.loop.moved == ()  # a, b and blk are not read after the loop


def test_while_pointer_below_end_counts_the_distance() -> None:
    a = one("""void f(float *restrict d, const float *restrict s, size_t n, float lo) {
        const float *end = s + n;
        while (s < end) { float v = *s++; if (v < lo) v = lo; *d++ = v; }
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.trip_count == "((n) > 0 ? (n) : 0)"
    assert a.loop.setup == ("const float *end = s + (n);",)


def test_an_end_pointer_parameter_bounds_the_walk_by_its_distance_on_entry() -> None:
    """`f(p, end)`: the loop runs `end - p` times, read once before it; the kernel is given that count."""
    fa = analyze_file((PRE + """void f(float *restrict d, const float *restrict s, const float *end) {
        while (s < end) *d++ = *s++;
    }""").encode(), "dsp.c", "c")
    (a,) = fa.analyses
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.trip_count == "((end - s) > 0 ? (end - s) : 0)"
    kernel = fa.kernels[a.site.loop_id]
    assert kernel.size_param == "end_minus_s"
    assert [(p.name, p.source) for p in kernel.params if p.role.value == "count"] == [("end_minus_s", "end - s")]
    assert "const float *end = s + (end_minus_s);" in kernel.source


def test_while_n_minus_minus_indexing_by_n_walks_the_arrays_backwards() -> None:
    """`while (n--) a[n] = b[n] + 1;`: the k-th iteration reads n - k - 1 (the test has decremented it)."""
    a = one("""void f(int *restrict a, const int *restrict b, unsigned n) { while (n--) a[n] = b[n] + 1; }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None
    (store,) = a.loop.body
    assert isinstance(store, Store) and (store.access.coeff, store.access.offset, store.access.symbolic) == (-1, -1, "n")
    unindexed = one("""float f(float x, unsigned n) { float s = 0; while (n--) s += x; return s; }""")
    assert unindexed.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "without pointers that advance or arrays indexed by n" in unindexed.reasons[0].message


def test_a_for_loop_stepping_a_pointer_to_a_given_end_is_a_walk() -> None:
    a = one("""int f(const char *p, const char *end) {
        int c = 0;
        for (; p != end; ++p) c += *p == ',';
        return c;
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.trip_count == "((end - p) > 0 ? (end - p) : 0)"


def test_while_pointer_below_end_refuses_an_end_it_cannot_see_or_may_miss() -> None:
    unseen = one("""const float *last(const float *s);
    void f(float *restrict d, const float *restrict s) {
        const float *end = last(s);
        while (s < end) *d++ = *s++;
    }""")
    assert unseen.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "end is not declared as `end = s + count`" in unseen.reasons[0].message
    skipped = one("""void f(float *p, float *end) { for (; p != end; p += 2) *p = 0; }""")
    assert skipped.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert skipped.reasons[0].message == "p moves by 2 until it equals end: it may step over it"
    moved = one("""void f(float *p, float *end) { while (p < end) { *p++ = 0; end--; } }""")
    assert moved.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "the body changes the end pointer end" in moved.reasons[0].message


def test_a_counter_read_in_the_body_of_a_walk_that_does_not_count_from_zero_is_its_moving_value() -> None:
    a = one("""void f(float *restrict d, int n) {
        for (; n > 0; n--) *d++ = (float)n;
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None
    value = a.loop.body[0].value.operand  # (float)(n - iteration): n on entry, one less per iteration
    assert value.op == "-" and value.lhs.name == "n" and value.rhs.operand.name == a.loop.iv, value


def test_a_counter_the_header_starts_is_not_read_as_its_value_on_entry() -> None:
    # `for (i = 1; …)`: the loop sets i before its first iteration, so i on entry says nothing
    a = one("""void f(float *restrict d, int n) {
        for (int i = 1; i < n; i++) *d++ = (float)i;
    }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and "the count i is used in the body" in messages(a)


def test_a_pointer_advanced_only_sometimes_is_refused_with_that_reason() -> None:
    a = one("""void f(float *restrict d, const float *restrict s, unsigned n) {
        while (n--) { float v = *s++; if (v > 0.0f) *d++ = v; }
    }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and "advances only under a condition" in messages(a)


def test_a_temporary_declared_outside_and_assigned_first_is_a_local_of_the_iteration() -> None:
    a = one("""void f(float *restrict out, const float *restrict x, int n, float s, float hi) {
        float r;
        for (int i = 0; i < n; i++) { r = x[i] * s; if (r > hi) r = hi; out[i] = r; }
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None
    sc = a.loop.scalar("r")
    assert sc is not None and sc.role == ScalarRole.LOCAL and not sc.live_out
    assert isinstance(a.loop.body[0], Let)


def test_a_temporary_read_after_the_loop_is_a_live_out_last_value() -> None:
    a = one("""float f(float *restrict out, const float *restrict x, int n, float s) {
        float r = 0.0f;
        for (int i = 0; i < n; i++) { r = x[i] * s; out[i] = r; }
        return r;
    }""")
    assert a.loop is not None
    sc = a.loop.scalar("r")
    assert sc is not None and sc.role == ScalarRole.LOCAL and sc.live_out


def test_a_temporary_read_before_its_assignment_stays_a_recurrence() -> None:
    a = one("""void f(float *restrict out, const float *restrict x, int n) {
        float r = 0.0f;
        for (int i = 0; i < n; i++) { out[i] = r; r = x[i]; if (r > 1.0f) r = 1.0f; }
    }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE


def test_a_macro_parameter_in_parentheses_is_not_a_cast() -> None:
    a = one("""#define AXPY(a, x, y) ((a) * (x) + (y))
    void f(float *restrict out, const float *restrict x, const float *restrict y, float k, int n) {
        for (int i = 0; i < n; i++) out[i] = AXPY(k, x[i], y[i]);
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None
    (st,) = a.loop.body
    assert isinstance(st, Store) and isinstance(st.value, Binary) and st.value.op == "+"


def test_a_parenthesised_variable_before_plus_keeps_c_precedence() -> None:
    lp = loop("""void f(float *restrict out, const float *restrict a, float k, int n) {
        for (int i = 0; i < n; i++) out[i] = (k) + a[i] * 2.0f;
    }""")
    (st,) = lp.body
    value = st.value if isinstance(st, Store) else None
    assert isinstance(value, Binary) and value.op == "+"  # k + (a[i] * 2), not ((k)(+a[i])) * 2
    assert isinstance(value.lhs, Var) and value.lhs.name == "k"
    assert isinstance(value.rhs, Binary) and value.rhs.op == "*"


def test_a_parenthesised_type_before_minus_is_a_cast() -> None:
    lp = loop("""typedef float real_t;
    void f(float *restrict out, const int *restrict a, int n) {
        for (int i = 0; i < n; i++) out[i] = (real_t)-a[i];
    }""")
    (st,) = lp.body
    assert isinstance(st, Store) and isinstance(st.value, Cast) and not st.value.implicit
    assert isinstance(st.value.operand, Unary) and st.value.operand.op == "-"


def test_gnu_real_and_imag_are_complex_operators_not_calls() -> None:
    """`__imag__ (z[i])` is the imaginary part (the odd part of z seen as floats); the operator form without
    parentheses, which the syntax tree cannot parse, is read as the parenthesised one."""
    lp = loop("""void f(float *restrict out, const float _Complex *restrict z, int n) {
        for (int i = 0; i < n; i++) out[i] = __real__ z[i];
    }""")
    (st,) = lp.body
    assert isinstance(st, Store) and isinstance(st.value, Load) and st.value.access.coeff == 2
    assert st.value.access.offset == 0
    lp = loop("""void f(float *restrict out, const float _Complex *restrict z, int n) {
        for (int i = 0; i < n; i++) out[i] = __imag__ (z[i]);
    }""")
    (st,) = lp.body
    assert isinstance(st, Store) and isinstance(st.value, Load)
    assert st.value.access.root == "z" and (st.value.access.coeff, st.value.access.offset) == (2, 1)


def test_the_walked_pointers_iv_is_the_synthetic_counter() -> None:
    lp = loop("""void f(float *restrict d, const float *restrict s, unsigned n) {
        while (n-- > 0) *d++ = *s++ + 1.0f;
    }""")
    assert lp.iv == "simdlens_k" and lp.lower == "0" and lp.step == 1
    (st,) = lp.body
    assert isinstance(st, Store) and isinstance(st.value, Binary)
    assert isinstance(st.value.lhs, Load) and not isinstance(st.value.lhs, IV)


def test_a_pointer_declared_in_the_for_header_walks_its_array() -> None:
    a = one("""float f(const float *src, int n) {
        float acc = 0.0f;
        for (const float *p = src; p < src + n; p++) acc += *p;
        return acc;
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.trip_count == "((n) > 0 ? (n) : 0)" and a.loop.moved == ()
    (red,) = a.loop.body
    assert isinstance(red, Reduce)
    assert [(x.access.root, x.access.coeff) for x in walk_exprs(red.value) if isinstance(x, Load)] == [("src", 1)]


def test_a_header_pointer_with_a_stride_and_an_end_pointer() -> None:
    a = one("""void f(float *restrict d, const float *restrict s, size_t n) {
        const float *end = s + 2 * n;
        for (const float *p = s; p != end; p += 2) *d++ = p[0] - p[1];
    }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.setup == ("const float *end = s + (2*n);",)
    assert a.loop.trip_count == "((2*n) > 0 ? (2*n) / 2 : 0)"


def test_a_variable_the_condition_reads_before_the_body_assigns_it_is_not_a_temporary() -> None:
    a = one("""int f(const int *a, int n, int *out) {
        int x = 1, i;
        for (i = 0; i < n && x != 0; i++) { x = a[i]; out[i] = x; }
        return i;
    }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert "condition reads x before the body assigns it" in messages(a)


def test_a_pointer_both_branches_advance_alike_walks_on_every_iteration() -> None:
    ir = loop("""void slice(int *o, const float *a, unsigned n) {
        for (unsigned k = 0; k < n; k++) { if (*a++ >= 0) *o++ = 1; else *o++ = 0; }
    }""")
    stores = [s for s in walk_stmts(ir.body) if isinstance(s, Store)]
    # both branches store the same element (the one the walk has reached in this iteration): one store of
    # the value of the branch taken, on every iteration
    assert len(stores) == 1 and (stores[0].access.root, stores[0].access.coeff, stores[0].access.offset) == ("o", 1, 0)
    assert isinstance(stores[0].value, Select) and not any(isinstance(s, If) for s in ir.body)


def test_a_pointer_the_branches_advance_differently_is_refused() -> None:
    for body in ("if (*a++ > 0) *o++ = *b++; else *o++ = *c++;",
                 "if (a[k] > 0) { *o++ = a[k]; *o++ = a[k]; } else { *o++ = 0; }"):
        a = one("void f(float *o, const float *a, const float *b, const float *c, unsigned n) {\n"
                f"    for (unsigned k = 0; k < n; k++) {{ {body} }}\n}}")
        assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and "advances only under a condition" in messages(a), body


def test_an_update_both_branches_begin_or_end_with_runs_on_every_iteration() -> None:
    for body in ("if (a[i] > 0) { cnt++; b[i] = a[i]; } else { cnt++; b[i] = 0; }",
                 "if (a[i] > 0) { b[i] = a[i]; cnt += 2; } else { b[i] = -a[i]; cnt += 2; }"):
        ir = loop(f"int f(float *b, const float *a, int n) {{ int cnt = 0;\n"
                  f"    for (int i = 0; i < n; i++) {{ {body} }}\n    return cnt; }}")
        assert [s.var for s in walk_stmts(ir.body) if isinstance(s, Step)] == ["cnt"], body


def test_an_update_the_condition_reads_is_not_moved_before_it() -> None:
    a = one("int f(float *b, const float *a, int n) { int cnt = 0;\n"
            "    for (int i = 0; i < n; i++) { if (cnt < 5) { cnt++; b[i] = a[i]; } else { cnt++; b[i] = 0; } }\n"
            "    return cnt; }")
    assert a.loop is None or not any(isinstance(s, Step) for s in walk_stmts(a.loop.body))


def test_a_shared_last_statement_naming_each_branchs_own_temporary_stays_in_the_branches() -> None:
    ir = loop("""void f(int *restrict o, const int *restrict a, int n) {
        for (int i = 0; i < n; i++) {
            int v;
            if (a[i] > 0) { int t = a[i] * 2; v = t; } else { int t = 3 - a[i]; v = t; }
            o[i] = v;
        }
    }""")
    # `v = t` is not moved after the branches, where neither t is in scope
    assert not any(isinstance(s, Let) and isinstance(s.value, Var) and s.value.name == "t" for s in ir.body)


def test_a_member_of_an_array_of_structures_is_refused_saying_so() -> None:
    a = one("""typedef struct { float x, y, z; } vec3;
    void move(vec3 *p, const vec3 *v, float dt, int n) {
        for (int i = 0; i < n; i++) { p[i].x += v[i].x * dt; p[i].y += v[i].y * dt; }
    }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE and "array of structures" in messages(a)


def test_an_update_is_not_moved_before_a_condition_with_side_effects() -> None:
    a = one("""float f(float *restrict o, const float *restrict p, unsigned n) {
        float k = 0.0f;
        for (unsigned i = 0; i < n; i++) { if (*p++ > 0.0f) { k += *p; o[i] = 1.0f; } else { k += *p; o[i] = 0.0f; } }
        return k;
    }""")
    # `k += *p` reads the element after the one the condition stepped past: never p's current one
    if a.loop is not None:
        reads = [x.access for s in walk_stmts(a.loop.body) if isinstance(s, Reduce) for x in walk_exprs(s.value)
                 if isinstance(x, Load)]
        assert all(r.offset == 1 for r in reads if r.root == "p"), reads


def test_a_walking_pointer_offset_by_a_constant_moves_with_it() -> None:
    """`*(p - 1)` of a walking p is the element before `*p` on every iteration (VOLK's fm_detect), not one
    fixed element: reading it as fixed would broadcast p[-1] to every lane."""
    ir = loop("void d(float *out, const float *in, unsigned n) { const float *p = in + 1; float *o = out;\n"
              "  for (unsigned i = 1; i < n; i++) { *o++ = *p - *(p - 1); p++; } }")
    reads = sorted((x.access.coeff, x.access.offset) for s in walk_stmts(ir.body) if isinstance(s, Store)
                   for x in walk_exprs(s.value) if isinstance(x, Load))
    assert reads == [(1, -1), (1, 0)]


def test_a_walk_to_end_that_stops_where_the_rest_of_its_test_fails_is_a_search() -> None:
    """`while (p < end && *p != ',') p++; return p;`: the walk to end with an exit at the top of the body
    (read only while p is in range, as `&&` reads it); p is moved by the iterations run."""
    a = one("""const char *skip(const char *p, const char *end) { while (p < end && *p != ',') p++; return p; }""")
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert a.loop is not None and a.loop.trip_count == "((end - p) > 0 ? (end - p) : 0)"
    assert any(isinstance(s, Exit) and s.kind == "break" for s in a.loop.body)
    assert [m.name for m in a.loop.moved] == ["p"]


def test_a_pointer_stepped_while_a_condition_on_it_holds_is_refused_saying_so() -> None:
    """The element tested before the bound (`*p != ',' && p < end`): not 'cannot type the counter p'."""
    a = one("""const char *skip(const char *p, const char *end) { while (*p != ',' && p < end) p++; return p; }""")
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert a.reasons[0].message.startswith("the loop steps the pointer p while a condition on it holds "
                                           "(*p != ',' && p < end)")
