"""Every rule family, over every element type it applies to, verified through the sandbox harness:
the rewrite is compiled with the scalar original and both run on sizes around the vector width, large
odd sizes, random data and special values (NaN, +-0, +-inf, INT_MIN/INT_MAX, high-bit values), and
compared exactly (floats bitwise) unless a caveat allows reassociation."""

from __future__ import annotations

import re

import pytest
import rule_loops
from rules_support import ISAS, CaseResult, needs_compiler, require_host

from simdlens.core import Status

pytestmark = [needs_compiler, pytest.mark.sandbox]

# Combinations the rules refuse on purpose (the note must say why), everything else must verify.
REFUSED = {
    ("widen_int64", "avx2"): "no conversion from int64",
    ("widen_uint64", "avx2"): "no conversion from uint64",
    # fminf of two values that can both be zero: the zero's sign depends on gcc's operand order.
    **{(name, isa): "can both be zero" for name in ("fmin_signed_zero", "fmin_variable_clamp") for isa in ISAS},
}
# The analysis (not the rules) judges narrow min/max updates a recurrence: no kernel to rewrite.
NO_KERNEL = {f"{f}_{t}" for f in ("min", "max") for t in ("int8", "uint8", "int16", "uint16")}

CASES = [name for name, _ in rule_loops.matrix_cases(full=False)] + list(rule_loops.SPECIAL)
SLOW_CASES = [name for name, _ in rule_loops.matrix_cases(full=True)]

EXPECTED_FAMILY = {
    "byte_avg": "byte_avg", "dot": "dot_product", "dot_i16": "madd", "reverse": "reverse",
    "induction": "induction", "induction_store": "induction", "induction_load_after_step": "induction", "induction_same_array": "induction",
    "induction_both_branches": "select", "triangular_back": "reduction", "branch_store_int8": "select", "walk_header_pointer_sum": "dot_product", "guarded_load": "select", "search_break": "search", "count_if": "reduction",
    "gather": "gather", "guarded_gather": "gather", "strided_load": "strided", "step_two": "strided", "peel": "peel",
    "split_counter": "split",
    "compress": "compress", "split": "split", "invariant_element": "elementwise", "down_by_three": "strided",
    "node_splitting": "elementwise", "reorder": "elementwise", "reorder_reused_temporary": "elementwise", "rotate_pairs_in_place": "strided", "cast_to_bool": "convert",
    "cast_to_bool_parenthesised": "convert", "anti_after_store": "elementwise",
    "symbolic_distance": "elementwise", "select_max_u8": "elementwise", "clamp_nested_to_u8": "elementwise",
    "sad": "sad", "sad_select": "sad", "sad_select_negated": "reduction", "sad_sign_select": "sad", "sad_sign_select_negated": "reduction", "sad_u32": "sad", "sad_i64": "sad", "sad_int8": "reduction",
    "search_after": "search", "fmin_clamp": "elementwise",
    "fmax_double": "elementwise", "div_pow2": "elementwise", "div_pow2_narrow": "convert",
    "strided_store_cond": "strided", "interleave": "strided",
    "branch_clamp_u8": "select", "branch_if_else": "select", "branch_nested": "select",
    **{name: "strided" for name in ("cmul_f32", "cmul_f64", "stereo_split", "rgb_grey", "odd_only", "even_only_u32",
                                    "rgba_sum_i32", "interleave3", "interleave4_u32", "pairs_i64", "aos_scale",
                                    "inplace_pair", "odd_only_reverse", "cmul_mixed", "stereo_split_i16",
                                    "alpha_u8", "interleave_u8", "stereo_mix_i16", "odd_to_even", "group_cond_read",
                                    "group_symbolic", "aos_norm_f64", "quad_store_i64", "xyz_store_f64")},
    "rgb_grey_u8": "strided",
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", CASES)
def test_rule_candidate_is_verified(verified: dict[str, CaseResult], name: str, isa: str) -> None:
    check_case(verified[name], name, isa)


def test_mixed_width_narrowing_stores_run_at_the_narrowest_stores_lanes(verified: dict[str, CaseResult]) -> None:
    # an int16 and a uint8 store in one loop: 32 lanes a step, the int16 store two packed registers (two
    # 32-byte stores), the uint8 store one packed from four int32 registers
    function = verified["div_pow2_narrow"].results["avx2"].candidate.function
    assert "avx2, 32 lanes" in function
    assert function.count("_mm256_storeu_si256((__m256i *)(&d[i") == 2 and "&d[i + 16]" in function
    assert function.count("_mm256_storeu_si256((__m256i *)(&e[i") == 1
    assert "_mm256_packus_epi32" in function and "_mm256_permutevar8x32_epi32" in function
    saturating = verified["narrow_mixed_sat"].results["avx2"].candidate.function  # the int16 store clamps
    assert "avx2, 32 lanes" in saturating and saturating.count("_mm256_packs_epi32(") == 2 and "&d[i + 16]" in saturating


@pytest.mark.slow
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", SLOW_CASES)
def test_rule_candidate_is_verified_other_types(verified_full: dict[str, CaseResult], name: str, isa: str) -> None:
    check_case(verified_full[name], name, isa)


def check_case(case: CaseResult, name: str, isa: str) -> None:
    if name in NO_KERNEL and case.kernel is None:
        pytest.skip("the analysis gives no kernel for this loop")
    assert case.kernel is not None, f"{name}: the analysis gave no kernel"
    refused = REFUSED.get((name, isa))
    if refused is not None:
        assert isa not in case.results
        assert any(refused in note for note in case.notes[isa]), case.notes[isa]
        return
    assert isa in case.results, f"{name} {isa}: no candidate: {case.notes.get(isa)}"
    result = case.results[isa]
    if result.verdict.status == Status.REJECTED and "original loop itself failed" in result.verdict.detail:
        pytest.skip(f"the harness cannot run this kernel's original loop: {result.verdict.detail}")
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        assert "this CPU lacks" in result.verdict.detail, result.verdict.detail  # says why, names the features
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, (
        f"{name} {isa}: {result.verdict.status} {result.verdict.detail}\n{result.candidate.function}")
    family = result.candidate.origin.removeprefix("rules:")
    if name in EXPECTED_FAMILY:
        assert family == EXPECTED_FAMILY[name]
    elif name.startswith("search_"):
        assert family == "search"
    elif name.startswith(("sum_", "bits_", "min_", "max_")):
        assert family == "reduction"
    elif name.startswith("argmin_"):
        assert family == "argminmax"


def test_float_reductions_carry_their_caveat(verified: dict[str, CaseResult]) -> None:
    for name in ("sum_float", "sum_double", "dot", "product"):
        for isa in ISAS:
            caveats = " ".join(verified[name].results[isa].candidate.caveats)
            assert "reassociates floating-point" in caveats, name


def test_exact_rewrites_carry_no_reassociation_caveat(verified: dict[str, CaseResult]) -> None:
    for name in ("sum_uint32", "min_float", "max_double", "elementwise_float", "argmin_float"):
        for isa in ISAS:
            assert not any("reassociates" in c for c in verified[name].results[isa].candidate.caveats), name


def test_byte_loops_run_full_width(verified: dict[str, CaseResult]) -> None:
    """(a + b + 1) >> 1 on uint8 is promoted to int by C; the rule narrows it back to 32 / 64 lanes."""
    assert "_mm256_avg_epu8" in verified["byte_avg"].results["avx2"].candidate.function
    assert "_mm512_avg_epu8" in verified["byte_avg"].results["avx512"].candidate.function
    assert "32 lanes" in verified["search_uint8"].results["avx2"].candidate.function


def test_avx512_uses_masked_tail_and_avx2_a_scalar_epilogue(verified: dict[str, CaseResult]) -> None:
    f512 = verified["elementwise_float"].results["avx512"].candidate.function
    f2 = verified["elementwise_float"].results["avx2"].candidate.function
    assert "_mm512_mask_storeu_ps" in f512 and "_mm512_maskz_loadu_ps" in f512
    # a short step twice an iteration, then once, then the scalar epilogue (no masked tail)
    assert "maskstore" not in f2 and f2.count("for (") == 3 and "2 vector steps per iteration, a short step" in f2


def test_byte_sad_uses_psadbw(verified: dict[str, CaseResult]) -> None:
    """abs(a[i] - b[i]) summed over uint8 runs one lane per byte through psadbw, not 8/16 int32 lanes."""
    for name in ("sad", "sad_u32", "sad_i64"):
        assert "_mm256_sad_epu8" in verified[name].results["avx2"].candidate.function, name
        assert "_mm512_sad_epu8" in verified[name].results["avx512"].candidate.function, name
    assert "32 lanes" in verified["sad"].results["avx2"].candidate.function
    assert "sad_epu8" not in verified["sad_int8"].results["avx2"].candidate.function


def test_fmin_fmax_keep_c_semantics(verified: dict[str, CaseResult], rule_settings) -> None:  # type: ignore[no-untyped-def]
    """fminf/fmaxf with a constant bound: the NaN fix-up is there, and the harness's data reaches it (the
    same rewrite without the fix-up is rejected)."""
    import asyncio
    import dataclasses

    from simdlens.sandbox import Sandbox

    for name in ("fmin_clamp", "fmax_double"):
        for isa in ISAS:
            assert "_CMP_UNORD_Q" in verified[name].results[isa].candidate.function, name
    case = verified["fmin_clamp"]
    good = case.results["avx2"].candidate
    assert case.kernel is not None
    no_nan_fix = re.sub(r"_mm256_cmp_ps\((\w+), \w+, _CMP_UNORD_Q\)", "_mm256_setzero_ps()", good.function)
    assert no_nan_fix != good.function

    async def run() -> tuple:  # type: ignore[type-arg]
        async with Sandbox(rule_settings) as sandbox:
            return await sandbox.verify(case.kernel, (dataclasses.replace(good, function=no_nan_fix),), bench=False)

    (result,) = asyncio.run(run())
    assert result.verdict.status == Status.MISMATCH, (result.verdict.status, result.verdict.detail)


EXPECTED_FAMILY.update({"do_while": "elementwise", "do_while_sum": "reduction", "do_while_down": "reverse",
                        "do_while_alias": "elementwise", "do_while_prefix": "elementwise"})


# ---- division by a constant (rules/divide.py) -------------------------------------------------------

REFUSED.update({
    **{("div_variable", isa): "only int32 divides exactly through double" for isa in ISAS},
    **{("div_const_i64", isa): "no 64-bit multiply-high" for isa in ISAS},
})
EXPECTED_FAMILY.update({
    "div_const_i32": "divide", "div_const_u32": "divide", "div_minus_one": "divide",
    "div_const_16": "divide", "div_box_blur": "divide", "div_signed_narrow": "divide",
    "div_mod_u16": "divide", "mod_seven": "divide",
})


def test_division_by_a_constant_uses_multiply_high(verified: dict[str, CaseResult]) -> None:
    """32-bit lanes multiply even and odd lanes (vpmuldq / vpmuludq); a byte sum that fits 16 bits is
    divided in 16-bit lanes (vpmulhuw), twice as many per register as in C's int."""
    assert "_mm256_mul_epi32" in verified["div_const_i32"].results["avx2"].candidate.function
    assert "_mm512_mul_epu32" in verified["div_const_u32"].results["avx512"].candidate.function
    blur2 = verified["div_box_blur"].results["avx2"].candidate.function
    assert "_mm256_mulhi_epu16" in blur2 and "32 lanes" in blur2  # two 16-bit registers packed per store
    assert "_mm512_mulhi_epu16" in verified["div_box_blur"].results["avx512"].candidate.function
    assert "_mm256_mulhi_epi16" in verified["div_const_16"].results["avx2"].candidate.function


def test_a_wrong_magic_number_is_caught(verified: dict[str, CaseResult], rule_settings) -> None:  # type: ignore[no-untyped-def]
    """The harness's data reaches the values where an off-by-one magic number goes wrong (x = 10 with the
    magic of 10 one too small gives 0): the sandbox is a real check of the constants, not only the templates."""
    import asyncio
    import dataclasses

    from simdlens.rules.divide import choose_multiplier
    from simdlens.sandbox import Sandbox

    case = verified["div_const_u32"]
    good = case.results["avx2"].candidate
    assert case.kernel is not None
    magic = choose_multiplier(10, 32, 32)[0]
    literal = f"({magic}u)"
    assert magic < 1 << 32 and literal in good.function
    bad = good.function.replace(literal, f"({magic - 1}u)")

    async def run() -> tuple:  # type: ignore[type-arg]
        async with Sandbox(rule_settings) as sandbox:
            return await sandbox.verify(case.kernel, (dataclasses.replace(good, function=bad),), bench=False)

    (result,) = asyncio.run(run())
    assert result.verdict.status == Status.MISMATCH, (result.verdict.status, result.verdict.detail)


# ---- byte / 16-bit compress (AVX-512 VBMI2) -----------------------------------------------------------

def _host_has_vbmi2() -> bool:
    from simdlens.sandbox.cpu import host_cpu

    return "avx512_vbmi2" in host_cpu().isa


REFUSED.update({(name, "avx2"): "needs AVX-512" for name in ("compress_int8", "compress_uint16")})
if not _host_has_vbmi2():
    REFUSED.update({(name, "avx512"): "which this CPU lacks" for name in ("compress_int8", "compress_uint16")})
EXPECTED_FAMILY.update({"compress_int8": "compress", "compress_uint16": "compress"})


def test_avx2_compress_packs_lane_indices_with_bmi2(verified: dict[str, CaseResult]) -> None:
    """AVX2 has no vpcompress: pext/pdep give the selected lanes' indices, one permute moves them, and a
    masked store writes exactly their count (no element past the packed ones is touched)."""
    cand = verified["compress"].results["avx2"].candidate
    assert "_pext_u64" in cand.function and "_mm256_maskstore_ps" in cand.function
    assert "-mbmi2" in cand.flags


def test_byte_compress_runs_one_lane_per_byte(verified: dict[str, CaseResult]) -> None:
    if not _host_has_vbmi2():
        pytest.skip("this CPU has no AVX-512 VBMI2")
    cand = verified["compress_int8"].results["avx512"].candidate
    assert "_mm512_mask_compressstoreu_epi8" in cand.function and "64 lanes" in cand.function
    assert "-mavx512vbmi2" in cand.flags
    assert "_mm512_mask_compressstoreu_epi16" in verified["compress_uint16"].results["avx512"].candidate.function

REFUSED.update({("gather_u8_table", isa): "no 8-bit gather" for isa in ISAS})
EXPECTED_FAMILY.update({"div_reduce_cond": "reduction", "div_select_i16": "select",
                        "div_int16_by_unsigned": "divide", "branch_declared_later": "select",
                        "div_int16_by_min": "divide"})


GROUPED = ("cmul_f32", "cmul_f64", "stereo_split", "stereo_split_i16", "rgb_grey", "odd_only", "even_only_u32",
           "rgba_sum_i32", "interleave3", "interleave4_u32", "pairs_i64", "aos_scale", "inplace_pair", "strided_load",
           "interleave", "step_two", "cmul_mixed", "alpha_u8", "interleave_u8", "stereo_mix_i16", "rgb_grey_u8",
           "aos_norm_f64", "quad_store_i64", "xyz_store_f64", "odd_to_even", "group_symbolic")


def test_strided_groups_load_and_store_whole_blocks(verified: dict[str, CaseResult]) -> None:
    """Constant-stride accesses are block loads / stores plus shuffles: no gather, scatter or lane-by-lane
    store is left in the vector loop (those measured 2-10x slower than the scalar loop)."""
    for name in GROUPED:
        for isa in ISAS:
            f = verified[name].results[isa].candidate.function
            assert not re.search(r"gather|scatter|_lanes\[", f), (name, isa, f)
    # only the odd element is read: AVX2 stops one iteration early so the last pair stays inside b
    assert "left >= 5;" in verified["odd_only"].results["avx2"].candidate.function
    assert "left >= 4;" in verified["cmul_f64"].results["avx2"].candidate.function
    # xyz[3*i] *= s writes only every third element: masked stores, never a plain store of the block
    f = verified["aos_scale"].results["avx2"].candidate.function
    assert "_mm256_maskstore_ps" in f and "_mm256_storeu_ps(&xyz" not in f
    assert "_mm512_permutex2var_ps" in verified["cmul_f32"].results["avx512"].candidate.function


# ---- reversed accesses (rules/reverse.py) -------------------------------------------------------------

EXPECTED_FAMILY.update({name: "reverse" for name in ("reverse_copy_f32", "reverse_read_i32", "reverse_read_f64",
                                                     "reverse_read_i16", "reverse_store_f32")})


def test_reversed_accesses_are_block_loads_and_permutes(verified: dict[str, CaseResult]) -> None:
    """Lanes running backwards in memory are one contiguous load / store plus a lane reversal, not a gather,
    a scatter or lane-by-lane stores (measured 0.07x of gcc -O3 -march=native on AVX-512 before)."""
    for name in ("reverse_copy_f32", "reverse_read_i32", "reverse_read_f64", "reverse_store_f32"):
        for isa in ISAS:
            function = verified[name].results[isa].candidate.function
            assert "gather" not in function and "scatter" not in function and "_lanes[" not in function, (name, isa)
    assert "_mm256_permutevar8x32_ps" in verified["reverse_copy_f32"].results["avx2"].candidate.function
    assert "_mm512_permutexvar_ps" in verified["reverse_store_f32"].results["avx512"].candidate.function
    assert "_mm256_permute4x64_pd" in verified["reverse_read_f64"].results["avx2"].candidate.function
    assert "_mm512_permutexvar_epi16" in verified["reverse_read_i16"].results["avx512"].candidate.function
