"""Reductions keep several independent accumulators (as many as the ISA table's latency x throughput
figures call for), fold them once after the loop, and still give the scalar loop's result for every
trip count, with ties, NaN-free data and remainders of every length."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rules_support import analyse, apply_edits, build_and_run, needs_compiler

from simdlens.config import Settings
from simdlens.rules import propose
from simdlens.rules.tables import load_isa
from simdlens.sandbox.cpu import host_cpu

KERNELS = {
    "isum": "int isum(const int *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }",
    "imin": "int imin(const int *a, int n)\n"
            "{ int m = 1 << 30; for (int i = 0; i < n; i++) if (a[i] < m) m = a[i]; return m; }",
    "fmaxr": "float fmaxr(const float *x, int n)\n"
             "{ float m = -1e30f; for (int i = 0; i < n; i++) if (x[i] > m) m = x[i]; return m; }",
    "argmin": "int argmin(const float *x, int n)\n{ float best = 1e30f; int at = -1;\n"
              "  for (int i = 0; i < n; i++) if (x[i] < best) { best = x[i]; at = i; }\n  return at; }",
    "ixor": "unsigned ixor(const unsigned *a, int n) { unsigned s = 0; for (int i = 0; i < n; i++) s ^= a[i]; return s; }",
    "dot16": "int dot16(const short *a, const short *b, int n)\n"
             "{ int s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }",
}

MAIN = """
#include <stdio.h>
int isum(const int *, int); int imin(const int *, int); float fmaxr(const float *, int);
int argmin(const float *, int); unsigned ixor(const unsigned *, int); int dot16(const short *, const short *, int);
int o_isum(const int *, int); int o_imin(const int *, int); float o_fmaxr(const float *, int);
int o_argmin(const float *, int); unsigned o_ixor(const unsigned *, int); int o_dot16(const short *, const short *, int);
int main(void)
{
    static int a[300]; static short p[300], q[300]; static float x[300]; static unsigned u[300];
    unsigned r = 12345u; int bad = 0;
    for (int j = 0; j < 300; j++) {
        r = r * 1103515245u + 12345u;
        a[j] = (int)(r >> 8) - (1 << 22); p[j] = (short)(r % 1000) - 500; q[j] = (short)(r >> 20);
        x[j] = (float)((r >> 4) % 64) - 20.0f;  /* many ties: the first index must win */
        u[j] = r;
    }
    for (int n = 0; n <= 200; n++)
        for (int off = 0; off < 3; off++) {
            if (isum(a + off, n) != o_isum(a + off, n)) { printf("isum n=%d\\n", n); bad = 1; }
            if (imin(a + off, n) != o_imin(a + off, n)) { printf("imin n=%d\\n", n); bad = 1; }
            if (fmaxr(x + off, n) != o_fmaxr(x + off, n)) { printf("fmaxr n=%d\\n", n); bad = 1; }
            if (argmin(x + off, n) != o_argmin(x + off, n)) { printf("argmin n=%d\\n", n); bad = 1; }
            if (ixor(u + off, n) != o_ixor(u + off, n)) { printf("ixor n=%d\\n", n); bad = 1; }
            if (dot16(p + off, q, n) != o_dot16(p + off, q, n)) { printf("dot16 n=%d\\n", n); bad = 1; }
        }
    return bad;
}
"""


def _edited(name: str, isa: str) -> str:
    """The user's file holding kernel `name` with simdlens's edit applied."""
    source, analysis, kernel = analyse(name, KERNELS[name])
    assert kernel is not None
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    (cand,) = proposal.candidates
    return apply_edits(source, cand.edits).decode()


def test_a_dot_product_keeps_the_accumulators_the_avx2_table_asks_for() -> None:
    table = load_isa("avx2")
    expected = table.accumulators("add", "float", 2)
    assert expected > 1
    source, analysis, kernel = analyse("dot", "float dot(const float *a, const float *b, int n)\n"
                                       "{ float s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }")
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    accs = {f"s_acc{k}" if k else "s_acc" for k in range(expected)}
    assert all(f"__m256 {name} = _mm256_set1_ps(0.0f);" in cand.function for name in accs), cand.function
    assert f"s_acc{expected}" not in cand.function
    assert f"per lane in {expected} accumulators" in " ".join(cand.caveats)


FSUM = "float fsum(const float *x, int n) { float s = 0; for (int i = 0; i < n; i++) s += x[i] * 0.5f; return s; }"


@pytest.mark.parametrize("name", ["isum", "imin", "ixor", "dot16", "fsum"])
def test_the_lanes_are_folded_in_registers_after_the_loop(name: str) -> None:
    # halves and byte shifts with the reduction's own op (fold_low / fold_half / lane0 rows): no spill to
    # an array and no lane loop (pmaddwd's int32 pair sums and a float sum, already reassociated, too);
    # that the results still match is test_reductions_with_several_accumulators and the sandbox's tests
    source, analysis, kernel = analyse(name, KERNELS.get(name, FSUM))
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    half, lane = ("_mm256_extractf128_ps(", "_mm_cvtss_f32(") if name == "fsum" else \
        ("_mm256_extracti128_si256(", "_mm_cvtsi128_si32(")
    after = cand.function.split(half, 1)
    assert len(after) == 2 and "_mm_srli_si128(" in after[1] and lane in after[1], cand.function
    assert "_lane[" not in cand.function, cand.function


def test_the_count_follows_the_table_data() -> None:
    table = load_isa("avx2")
    slow_adds = dataclasses.replace(table, chains={**table.chains, ("add", "float"): (1.0, 1.0)})
    assert slow_adds.accumulators("add", "float", 1) == 1
    more_loads = dataclasses.replace(table, loads_per_cycle=8.0)
    assert more_loads.accumulators("add", "float", 2) == table.max_accumulators
    assert table.accumulators("no_such_op", "float", 1) == 1


@needs_compiler
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_reductions_with_several_accumulators_match_the_scalar_loop(tmp_path: Path, isa: str) -> None:
    if not host_cpu().runs(isa):
        pytest.skip(f"this CPU does not run {isa}")
    for name in KERNELS:
        edited = _edited(name, isa)
        if name in ("isum", "argmin"):
            assert "vector steps per iteration" in edited, edited
        (tmp_path / f"{name}.c").write_text(edited)
    original = "\n".join(KERNELS.values())
    for name in KERNELS:
        original = original.replace(f" {name}(", f" o_{name}(")
    (tmp_path / "original.c").write_text(original)
    (tmp_path / "main.c").write_text(MAIN)
    run = build_and_run(tmp_path, isa, (*(f"{name}.c" for name in KERNELS), "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]


NARROW = {
    "umax8": ("uint8_t", "int umax8(const uint8_t *p, int n, int m)\n"
                         "{ for (int i = 0; i < n; i++) if (p[i] > m) m = p[i]; return m; }"),
    "smin16": ("int16_t", "int smin16(const int16_t *p, int n, int m)\n"
                          "{ for (int i = 0; i < n; i++) if (p[i] < m) m = p[i]; return m; }"),
}

NARROW_MAIN = """
#include <stdio.h>
#include <stdint.h>
typedef ELEM T;
int NAME(const T *p, int n, int m);
int original(const T *p, int n, int m);
int main(void)
{
    static T p[300];
    unsigned r = 99u;
    for (int j = 0; j < 300; j++) { r = r * 1103515245u + 12345u; p[j] = (T)(r >> 9); }
    const int starts[] = {-100000, -1, 0, 7, 200, 255, 256, 100000};
    for (int n = 0; n <= 300; n++)
        for (int s = 0; s < 8; s++)
            if (NAME(p, n, starts[s]) != original(p, n, starts[s])) { printf("n=%d m=%d\\n", n, starts[s]); return 1; }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("name", list(NARROW))
def test_a_min_max_over_narrow_values_runs_in_narrow_lanes_and_keeps_the_start_value(tmp_path: Path, name: str) -> None:
    elem, code = NARROW[name]
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    lanes = 256 // (8 if elem == "uint8_t" else 16)
    assert f"(avx2, {lanes} lanes)" in cand.function, cand.function  # bytes fill the register
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text("#include <stdint.h>\n" + code.replace(f"{name}(", "original("))
    (tmp_path / "main.c").write_text(NARROW_MAIN.replace("ELEM", elem).replace("NAME", name))
    run = build_and_run(tmp_path, "avx2", ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]


MADD = {  # name -> (type of a, type of b)
    "dot_s8": ("int8_t", "int8_t"),
    "dot_u8s8": ("uint8_t", "int8_t"),
    "dot_s16": ("int16_t", "int16_t"),
}

MADD_MAIN = """
#include <stdio.h>
#include <stdint.h>
typedef A TA; typedef B TB;
int NAME(const TA *a, const TB *b, int n);
int original(const TA *a, const TB *b, int n);
int main(void)
{
    static TA a[300]; static TB b[300];
    unsigned r = 5u;
    for (int j = 0; j < 300; j++) {
        r = r * 1103515245u + 12345u;
        a[j] = (TA)(j % 5 == 0 ? -32768 : (int)(r >> 7));  /* extremes: the int16 pair sum 2^31 wraps */
        b[j] = (TB)(j % 3 == 0 ? -32768 : (int)(r >> 17));
    }
    for (int n = 0; n <= 300; n++)
        if (NAME(a, b, n) != original(a, b, n)) { printf("n=%d\\n", n); return 1; }
    return 0;
}
"""


@needs_compiler
@pytest.mark.parametrize("name", list(MADD))
def test_a_small_integer_dot_product_uses_pmaddwd_and_matches_modulo_2_32(tmp_path: Path, name: str) -> None:
    ta, tb = MADD[name]
    code = (f"int {name}(const {ta} *a, const {tb} *b, int n)\n"
            f"{{ int s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }}")
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "_mm256_madd_epi16(" in cand.function and cand.origin == "rules:madd", cand.function
    if not host_cpu().runs("avx2"):
        pytest.skip("this CPU does not run avx2")
    (tmp_path / "edited.c").write_bytes(apply_edits(source, cand.edits))
    (tmp_path / "original.c").write_text("#include <stdint.h>\n" + code.replace(f"{name}(", "original("))
    (tmp_path / "main.c").write_text(MADD_MAIN.replace("typedef A", f"typedef {ta}").replace("typedef B", f"typedef {tb}")
                                     .replace("NAME", name))
    run = build_and_run(tmp_path, "avx2", ("edited.c", "original.c", "main.c"))
    assert run.returncode == 0, run.stdout[:2000]


def test_an_index_vector_is_carried_from_step_to_step() -> None:
    """argmin's index lanes are one vector set up once before the loop and moved on by one add per step (as
    an expert's index vector), not the counter broadcast into a register and added to 0..7 in every step;
    that the indices stay right is test_reductions_with_several_accumulators_match_the_scalar_loop."""
    source, analysis, kernel = analyse("argmin", KERNELS["argmin"])
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    before, loop = cand.function.split("for (; left", 1)
    assert "__m256i i_lanes = _mm256_add_epi32(i_start, " in before, cand.function
    steps = loop.split("i += 8;")[:-1]
    assert steps and all("_mm256_set1_epi32" not in s for s in steps), cand.function
    assert loop.count("i_lanes = _mm256_add_epi32(i_lanes, ") == len(steps), cand.function


def test_argmin_copies_are_combined_in_registers_before_one_lane_fold() -> None:
    """The argmin's accumulator copies meet vector by vector (better, or equal with an earlier index) and
    only copy 0's 8 lanes are spilled and compared in C: one lane fold after the loop, not one per copy (it
    runs per row in a matrix's row loop). That ties still go to the first index is
    test_reductions_with_several_accumulators_match_the_scalar_loop (many equal values)."""
    source, analysis, kernel = analyse("argmin", KERNELS["argmin"])
    assert kernel is not None
    (cand,) = propose(analysis, kernel, "avx2", Settings(), source=source).candidates
    assert "vector steps per iteration" in cand.function
    after = cand.function.split("for (; left >= 8; left -= 8)")[1]
    assert after.count("_mm256_storeu_ps(") == 1 and after.count("_mm256_storeu_si256(") == 1, cand.function
    assert "_CMP_EQ_OQ" in after and "_mm256_cmpgt_epi32(" in after, cand.function
