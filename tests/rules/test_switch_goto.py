"""`switch` and forward `goto` in a loop body: a switch on a per-element value whose cases end in `break`
if-converts (one blended store when every case stores the same element), and `if (c) goto L; ...; L:`
is `if (!c) { ... }`; both rewrites verify against the user's loop. Forward gotos that do not nest (an
if/else written with gotos, jumps that cross) put each statement under the condition that some path of
jumps reaches it. A case that leaves the loop, a jump back (a loop inside the body), or a jump whose
condition the skipped statements change keeps the loop scalar with the reason. A case that falls through
runs its own statements and then the next case's."""

from __future__ import annotations

import pytest
from rules_support import CaseResult, analyse, needs_compiler, require_host, verify_cases

from simdlens.analysis.ir import If, Select, Store
from simdlens.config import Settings
from simdlens.core import LoopVerdict, Status
from simdlens.rules import propose

CONVERTED = {
    "switch_one_store": """void blend(float *restrict out, const float *restrict a, const float *restrict b, const uint8_t *restrict mode, int n) {
    for (int i = 0; i < n; i++) {
        switch (mode[i]) {
        case 0: out[i] = a[i]; break;
        case 1: case 2: out[i] = a[i] + b[i]; break;
        case 3: out[i] = a[i] * b[i]; break;
        default: out[i] = b[i]; break;
        }
    }
}""",
    "switch_without_default": """void decode(int32_t *restrict v, const int32_t *restrict raw, const int8_t *restrict tag, int n) {
    for (int i = 0; i < n; i++) {
        switch (tag[i]) {
        case 1: v[i] = raw[i]; break;
        case 3: v[i] = -raw[i]; break;
        }
    }
}""",
    "switch_sets_a_local": """void density(float *restrict rho, const int32_t *restrict m, const float *restrict p, int n) {
    for (int c = 0; c < n; c++) {
        float d;
        switch (m[c]) {
        case 1: d = 2.5f; break;
        case 2: d = 1.0f; break;
        default: d = 0.0f; break;
        }
        rho[c] = d * (1.0f - p[c]);
    }
}""",
    "default_first_and_last_case_without_break": """void pick(int32_t *restrict out, const int32_t *restrict a, const int32_t *restrict k, int n) {
    for (int i = 0; i < n; i++) {
        switch (k[i] & 3) {
        default: out[i] = 0; break;
        case 1: out[i] = a[i]; break;
        case 2: out[i] = 2 * a[i];
        }
    }
}""",
    "switch_cases_share_a_read": """void unpack(int32_t *restrict q, const int32_t *restrict coef, const int8_t *restrict kind, int n) {
    for (int i = 0; i < n; i++) {
        switch (kind[i]) {
        case 0: q[i] = 0; break;
        case 1: q[i] = coef[i] + 7; break;
        case 2: q[i] = coef[i] >> 2; break;
        default: q[i] = coef[i] * 3; break;
        }
    }
}""",
    # a case without break runs on into the next: case 0 stores twice, the second store wins
    "falls_through_stores": """void f(int32_t *restrict out, const int32_t *restrict op, const int32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        switch (op[i]) {
        case 0: out[i] = a[i] + 1;
        case 1: out[i] = a[i] * 2; break;
        default: out[i] = 0; break;
        }
    }
}""",
    # Duff-style accumulation: each case adds its term and falls into the smaller ones
    "falls_through_chain": """void weigh(int32_t *restrict out, const int32_t *restrict level, const int32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        int32_t v = 0;
        switch (level[i] & 3) {
        case 3: v += a[i];
        case 2: v += a[i] << 1;
        case 1: v += 1; break;
        default: v = -1;
        }
        out[i] = v;
    }
}""",
    # two gotos to one label: the second skips the rest of what the first did not skip
    "two_gotos_one_label": """void scale_below(float *restrict out, const float *restrict in, const uint8_t *restrict ok, float g, float lim, int n) {
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            goto next;
        float t = in[i] * g;
        if (t > lim)
            goto next;
        out[i] = t;
    next:;
    }
}""",
    # nested skips: the inner jump lands before the outer one's label
    "nested_gotos": """void layered(int32_t *restrict out, const int32_t *restrict a, const int32_t *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        if (a[i] < 0)
            goto done;
        if (b[i] == 0)
            goto half;
        out[i] = a[i] * b[i];
    half:
        out[i] += a[i];
    done:;
    }
}""",
    # the second jump starts inside the first one's skip and lands past its label: each statement runs under
    # the condition that some path of jumps reaches it
    "crossing_gotos": """void f(int32_t *restrict out, const int32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        if (a[i] < 0) goto first;
        if (a[i] > 9) goto second;
        out[i] = 1;
    first:
        out[i] += 2;
    second:;
    }
}""",
    # an if/else written with gotos (TSVC s1161): an unconditional jump over the else part
    "goto_else": """void split_by_sign(float *restrict a, float *restrict b, const float *restrict c, const float *restrict d,
                   int n) {
    for (int i = 0; i < n; ++i) {
        if (c[i] < 0.0f) goto negative;
        a[i] = c[i] + d[i] * d[i];
        goto next;
    negative:
        b[i] = a[i] + d[i];
    next:;
    }
}""",
    # TSVC s279's shape: a jump from inside the then-part to the statement after the else-part
    "goto_else_with_a_jump_inside": """void settle(float *restrict a, float *restrict b, float *restrict c, const float *restrict d, int n) {
    for (int i = 0; i < n; i++) {
        if (a[i] > 0.0f) goto positive;
        b[i] = -b[i] + d[i] * d[i];
        if (b[i] <= a[i]) goto join;
        c[i] += d[i];
        goto join;
    positive:
        c[i] = -c[i] + d[i];
    join:
        a[i] = b[i] + c[i] * d[i];
    }
}""",
    "goto_skip": """void scale_valid(float *restrict out, const float *restrict in, const uint8_t *restrict ok, float g, int n) {
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            goto next;
        out[i] = in[i] * g;
    next:;
    }
}""",
}

REFUSED = {
    "case_leaves": ("""void f(int32_t *restrict out, const int32_t *restrict op, int n) {
    for (int i = 0; i < n; i++) {
        switch (op[i]) {
        case 0: if (out[i] < 0) return; out[i] = 1; break;
        default: out[i] = 0; break;
        }
    }
}""", "leaves or jumps"),
    # a jump back to a label earlier in the body: a loop inside the iteration
    "backward_goto": ("""void halve(float *x, int n) {
    for (int i = 0; i < n; i++) {
    again:
        x[i] *= 0.5f;
        if (x[i] > 1.0f) goto again;
    }
}""", "jumps back"),
    # a jump's condition reads what a statement it guards wrote after the jump: evaluated again it differs
    "condition_changed_after_its_jump": ("""void f(int32_t *restrict out, int32_t *restrict a, int n) {
    for (int i = 0; i < n; i++) {
        if (a[i] < 0) goto neg;
        a[i] = -1;
        goto done;
    neg:
        a[i] = 5;
    done:
        out[i] = a[i];
    }
}""", "goto"),
    "two_jumps_to_one_label": ("""void f(int32_t *restrict out, const int32_t *restrict op, int k, int n) {
    for (int i = 0; i < n; i++) {
        switch (op[i]) {
        case 0: out[i] = 1; break;
        default: out[i] = 0; break;
        }
        if (op[i] == k) goto out;
        out[i] += 1;
    out:;
        if (op[i] == 2) goto out;
    }
}""", "goto"),
}


def test_a_switch_with_one_store_per_case_is_one_blended_store() -> None:
    _, a, _ = analyse("switch_one_store", CONVERTED["switch_one_store"])
    assert a.loop is not None
    (store,) = a.loop.body
    assert isinstance(store, Store) and isinstance(store.value, Select)


def test_a_switch_without_default_keeps_the_other_lanes() -> None:
    _, a, _ = analyse("switch_without_default", CONVERTED["switch_without_default"])
    assert a.loop is not None
    (chain,) = a.loop.body
    assert isinstance(chain, If) and isinstance(chain.else_[0], If) and not chain.else_[0].else_


def test_cases_that_all_read_an_element_load_it_once_and_widen_the_tag_once() -> None:
    source, a, kernel = analyse("switch_cases_share_a_read", CONVERTED["switch_cases_share_a_read"])
    assert kernel is not None
    (candidate, *_) = propose(a, kernel, "avx2", Settings(), source=source).candidates
    step = candidate.function.split("for (; left")[1].split("for (;")[0]
    # coef[i] is read by every case but case 0: one load masked by kind != 0, not one per case
    assert step.count("coef[i]") == 1 and "maskload" in step, step
    # kind[i] == k compares 32-bit lanes of kind widened once, not byte masks each widened for their blend
    assert step.count("_mm256_cvtepi8_epi32") == 1, step
    # case 0 stores 0: the mask clears those lanes with an and-not (table row select_zero_then), no blend
    assert "_mm256_andnot_si256(" in step and step.count("_mm256_blendv_epi8(") == 2, step


def test_a_case_that_falls_through_runs_the_next_cases_statements_too() -> None:
    _, a, _ = analyse("falls_through_stores", CONVERTED["falls_through_stores"])
    assert a.loop is not None
    (chain,) = a.loop.body  # op 0 stores a[i] + 1, then case 1's a[i] * 2 over it
    assert isinstance(chain, If) and [type(s) for s in chain.then] == [Store, Store]
    assert isinstance(chain.else_[0], If) and [type(s) for s in chain.else_[0].then] == [Store]
    why = next(r for r in a.reasons if r.code == "if_convert")
    assert "compilers leave a switch in a loop scalar" in why.message and "fall through" in why.message


@pytest.mark.parametrize("name", list(CONVERTED))
def test_switch_and_goto_loops_are_candidates(name: str) -> None:
    _, a, kernel = analyse(name, CONVERTED[name])
    assert a.verdict == LoopVerdict.VECTORIZABLE, a.reasons
    assert kernel is not None


@pytest.mark.parametrize("name", list(REFUSED))
def test_unconvertible_control_flow_keeps_its_reason(name: str) -> None:
    code, words = REFUSED[name]
    _, a, _ = analyse(name, code)
    assert a.verdict == LoopVerdict.NOT_VECTORIZABLE
    assert any(words in r.message for r in a.reasons), a.reasons


@pytest.fixture(scope="module")
def converted(rule_settings: Settings) -> dict[str, CaseResult]:
    return verify_cases(list(CONVERTED.items()), rule_settings)


@needs_compiler
@pytest.mark.sandbox
@pytest.mark.parametrize("isa", ["avx2", "avx512"])
@pytest.mark.parametrize("name", list(CONVERTED))
def test_the_if_converted_rewrite_verifies(converted: dict[str, CaseResult], name: str, isa: str) -> None:
    case = converted[name]
    assert isa in case.results, case.notes
    result = case.results[isa]
    if result.verdict.status == Status.UNSUPPORTED_CPU:
        require_host(isa)
    assert result.verdict.status == Status.VERIFIED, f"{result.verdict.status}: {result.verdict.detail}\n{result.candidate.function}"
