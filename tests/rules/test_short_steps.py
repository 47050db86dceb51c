"""An element-wise step of a few vector instructions runs twice an iteration (ISA table `short_step`), as an
expert unrolls a byte loop: the loop's count, add, compare and branch are otherwise a large part of it.
A longer step, a reduction (its own accumulator copies) and an ISA whose table sets no short step run once."""

from __future__ import annotations

from rules_support import one_candidate

UPPER = """void upper(char *restrict d, const char *restrict s, int n) {
    for (int i = 0; i < n; i++) { char c = s[i]; d[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; }
}"""
DECODE = """void decode(int32_t *restrict v, const int32_t *restrict raw, const int8_t *restrict tag, int n) {
    for (int i = 0; i < n; i++) {
        switch (tag[i]) {
        case 0: v[i] = 0; break;
        case 1: case 2: v[i] = raw[i]; break;
        case 3: v[i] = -raw[i]; break;
        default: v[i] = raw[i] << 4; break;
        }
    }
}"""
SHORT = "2 vector steps per iteration, a short step"


def test_a_short_byte_step_runs_twice_an_iteration() -> None:
    _, cand = one_candidate("upper", UPPER)
    assert SHORT in cand.function and "for (; left >= 64; left -= 64)" in cand.function, cand.function
    assert "for (; left >= 32; left -= 32)" in cand.function  # then once, then the scalar remainder


def test_a_longer_step_runs_once() -> None:
    _, cand = one_candidate("decode", DECODE)
    assert "vector steps per iteration" not in cand.function, cand.function


def test_an_isa_table_without_short_step_runs_it_once() -> None:
    _, cand = one_candidate("upper", UPPER, "avx512")
    assert "vector steps per iteration" not in cand.function, cand.function
