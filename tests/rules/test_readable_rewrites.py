"""What a user reads in a rewrite: one comment line saying what the vector loop does, the scalar remainder
as they wrote it (macros and comments included), each load once, temporaries named after what they hold."""

from __future__ import annotations

from rules_support import analyse, apply_edits

from simdlens.config import Settings
from simdlens.rules import propose


def _edited(name: str, code: str) -> str:
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, "avx2", Settings(), source=source)
    assert proposal.candidates, proposal.notes
    return apply_edits(source, proposal.candidates[0].edits).decode()


def _vector_part(text: str) -> str:
    return text.split("#else")[0]


def test_the_remainder_is_the_users_own_body_with_its_macro_and_comment() -> None:
    code = """#define SCALE(v) ((v) * 3 + 1)
void scale(int *restrict out, const int *restrict x, int n)
{
    for (int i = 0; i < n; i++) {
        out[i] = SCALE(x[i]); /* keep the offset */
    }
}"""
    vector = _vector_part(_edited("scale_macro", code))
    assert "/* simdlens rules:elementwise (avx2, 8 lanes): computes 8 elements per step; the scalar loop after it " \
           "runs the rest */" in vector
    assert "for (; i < n; i++) {\n            out[i] = SCALE(x[i]); /* keep the offset */\n        }" in vector, vector


def test_a_loop_that_walks_pointers_gets_an_indexed_remainder() -> None:
    code = """void add(short *restrict d, const short *restrict a, int n)
{
    for (int i = 0; i < n; i++)
        *d++ = (short)(*a++ + 1);
}"""
    vector = _vector_part(_edited("walk", code))
    assert "*d++" not in vector  # the vector code indexes from the start; the remainder continues by index
    assert "d[i]" in vector


def test_a_value_read_twice_is_loaded_once_and_the_product_is_named() -> None:
    code = """float energy(const float *x, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i] * x[i];
    return s;
}"""
    vector = _vector_part(_edited("energy", code))
    first_step = vector.split("for (; left >= 8; left -= 8) {")[1].split("}")[0]
    assert first_step.count("_mm256_loadu_ps") == 1, first_step
    assert "__m256 prod" in first_step, first_step
    assert "s += x[i] * x[i];" in vector
