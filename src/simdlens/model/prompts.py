"""The prompts simdlens sends to a model: one rewrite request, and the repair messages that follow.

The request follows the AutoVecCoder / SimdBench evaluation prompts: the scalar reference, the target
ISA and flags, the exact signature to keep, the rules a rewrite must obey, and the intrinsics the
ISA table offers for the kernel's element types (so the model uses real ones). Only the kernel is
sent - never the rest of the user's file or any other file.

`TEMPLATE_VERSION` changes whenever the wording changes: it is part of the cache key of model results.
"""

from __future__ import annotations

from collections.abc import Sequence

from simdlens.core import Analysis, Kernel, ParamRole, Status, Verdict
from simdlens.model.intrinsics import IntrinsicSet

TEMPLATE_VERSION = "simdlens-model-prompt-2"

Message = dict[str, str]

SYSTEM = """\
You are an expert in x86 SIMD programming. You rewrite scalar C functions with {isa_upper} \
intrinsics from <immintrin.h> so that they compute exactly what the scalar function computes, \
only faster. Your code is compiled and tested against the scalar function on many random inputs \
and sizes, including sizes that are not a multiple of the vector width. \
Answer with one fenced ```c code block and nothing else."""

RULES = """\
1. Keep the exact signature: `{signature}`. Do not add, remove, reorder or retype parameters.
2. Handle every n, including 0, 1 and sizes that are not a multiple of the vector width \
(finish the remainder with a scalar loop or masked operations).
3. Never read or write memory outside what the scalar loop touches{footprint_hint}. \
No full-vector loads past the end of an array; use masked loads or a scalar tail instead.
4. Keep C semantics: integer arithmetic wraps around (do not saturate unless the scalar code does), \
comparisons keep their signedness, and min/max/comparisons treat NaN exactly as the scalar code does.
5. {float_rule}
6. Use only the intrinsics listed below (they exist for {isa}); no inline assembly, no library calls \
other than the C standard math functions, no I/O, no `main`.
7. Answer with one fenced ```c block containing the complete function (plus any `static inline` \
helpers it needs) and the includes it uses."""

EXACT_FLOAT = ("Keep floating-point results bit-exact: do not reassociate additions or multiplications "
               "and do not contract a*b+c into a fused multiply-add.")
REASSOCIATE = ("The floating-point reduction may be reassociated (the result is compared with a small "
               "tolerance); keep every other floating-point operation in the scalar order.")
CONTRACT = " You may contract a*b+c into a fused multiply-add."


def element_types(kernel: Kernel) -> list[str]:
    """The canonical element types the kernel computes on ("float", "int32", ...): arrays, scalars and
    the result - not the trip count's type."""
    names = [p.elem.name for p in kernel.params if p.elem is not None and p.role != ParamRole.COUNT]
    if kernel.return_type is not None:
        names.append(kernel.return_type.name)
    return list(dict.fromkeys(names))


def build_messages(
    kernel: Kernel,
    analysis: Analysis | None,
    intrinsics: IntrinsicSet,
    *,
    allow_contraction: bool = False,
) -> list[Message]:
    """The system and user message asking for a rewrite of `kernel` for `intrinsics.isa`."""
    isa = intrinsics.isa
    float_rule = REASSOCIATE if "float_reduction" in kernel.facts else EXACT_FLOAT
    if allow_contraction:
        float_rule = float_rule.replace(" and do not contract a*b+c into a fused multiply-add", "") + CONTRACT
    rules = RULES.format(signature=kernel.signature, footprint_hint=_footprint_hint(kernel), float_rule=float_rule,
                         isa=isa)
    flags = " ".join(intrinsics.all_flags) or f"the flags that enable {isa}"
    parts = [
        f"Rewrite this scalar {'C++' if kernel.language == 'cpp' else 'C'} function with {isa.upper()} "
        f"intrinsics.",
        "",
        "```c",
        (kernel.preamble.strip() + "\n\n" + kernel.source.strip()).strip(),
        "```",
        "",
        f"Target: {isa} on x86-64, compiled with `-O2 {flags}`.",
    ]
    parts += _analysis_lines(kernel, analysis)
    parts += ["", "Rules:", rules]
    listed = intrinsics.for_types(element_types(kernel))
    if listed:
        parts += ["", f"Intrinsics available for {isa} ({', '.join(element_types(kernel)) or 'these types'}):"]
        parts += [f"- {i.name}" + (f" [{i.elem}]" if i.elem else "") + (f": {i.semantics}" if i.semantics else "")
                  for i in listed]
    return [
        {"role": "system", "content": SYSTEM.format(isa_upper=isa.upper())},
        {"role": "user", "content": "\n".join(parts)},
    ]


def repair_message(verdict: Verdict, kernel: Kernel, *, function: str = "", truncated_at: int | None = None
                   ) -> Message:
    """The follow-up message after a failed attempt: what went wrong, with the evidence, and the ask.

    `function` is the candidate's function text, which compiler line numbers refer to: the offending
    lines are quoted, since the model's own answer may number its lines differently.
    """
    ask = f"Fix it and answer again with one complete fenced ```c block defining `{kernel.signature}`."
    if truncated_at is not None:
        text = (f"Your answer was cut off after {truncated_at} tokens, so the code is incomplete. "
                "Answer again with shorter code (one loop with a scalar remainder is enough).")
        return {"role": "user", "content": f"{text}\n{ask}"}
    status = verdict.status
    lines: list[str]
    if status == Status.REJECTED:
        lines = [f"Your code was rejected before compiling: {verdict.detail}"]
    elif status == Status.COMPILE_ERROR:
        lines = ["Your code does not compile. The compiler said:"]
        diags = [d for d in verdict.diagnostics if d.severity == "error"] or list(verdict.diagnostics)
        source_lines = function.splitlines()
        for d in diags[:12]:
            lines.append(f"  line {d.line}:{d.column}: {d.severity}: {d.message}" if d.line else f"  {d.message}")
            if 0 < d.line <= len(source_lines):
                lines.append(f"    | {source_lines[d.line - 1].strip()}")
        if not diags and verdict.detail:
            lines.append(f"  {verdict.detail}")
    elif status == Status.MISMATCH:
        lines = ["Your code compiles but computes a different result from the scalar function."]
        cx = verdict.counterexample
        if cx is not None:
            where = "the return value" if cx.array == "return" else f"{cx.array}[{cx.index}]"
            lines.append(f"With n = {cx.size} (random inputs, seed {cx.seed}), {where} is {cx.got} "
                         f"but the scalar function gives {cx.expected}.")
            if cx.overlap is not None:
                lines.append(f"This happens when the arrays overlap (pointer offset {cx.overlap}): "
                             "the scalar code must keep its behaviour for overlapping arguments.")
        if verdict.detail:
            lines.append(verdict.detail)
    elif status in (Status.CRASH, Status.SANITIZER):
        lines = [f"Your code {'crashed' if status == Status.CRASH else 'failed the memory checker'} "
                 f"in the test: {verdict.detail or 'no details'}.",
                 "It probably reads or writes outside the arrays (check the remainder handling)."]
    elif status == Status.TIMEOUT:
        lines = ["Your code did not finish within the time limit (an endless loop?)."]
    else:
        lines = [f"Your code failed: {status.value}: {verdict.detail}"]
    return {"role": "user", "content": "\n".join([*lines, ask])}


def _footprint_hint(kernel: Kernel) -> str:
    spans = []
    for fp in kernel.footprints:
        text = f"{fp.param}[{fp.lo} .. {fp.hi}]"
        if fp.guarded:
            text += " (only where the condition holds)"
        spans.append(text)
    return f" ({'; '.join(spans)})" if spans else ""


def _analysis_lines(kernel: Kernel, analysis: Analysis | None) -> list[str]:
    lines: list[str] = []
    if any(fp.guarded for fp in kernel.footprints):
        lines.append("Some arrays are read only under a condition: do not load them unconditionally "
                     "(use masked loads).")
    pairs: Sequence[tuple[str, str]] = kernel.may_alias or (analysis.alias_checks if analysis else ())
    if pairs:
        lines.append("These pointers may overlap and are tested overlapping: "
                     + ", ".join(f"{a}/{b}" for a, b in pairs) + ".")
    outs = [p.name for p in kernel.params if p.role in (ParamRole.OUT, ParamRole.INOUT, ParamRole.RESULT)]
    if outs:
        lines.append("Outputs compared with the scalar function: " + ", ".join(outs)
                     + (" and the return value." if kernel.return_type is not None else "."))
    if analysis is not None:
        if analysis.max_lanes is not None:
            lines.append(f"Dependences allow at most {analysis.max_lanes} lanes per vector step.")
        lines += _facts_block(analysis)
    return ["", *lines] if lines else []


# Algorithms a SIMD engineer uses for what the analysis found, by fact: precise hints, because vague
# remarks make models break semantics while exact ones raise their success rate several-fold.
ALGORITHMS = {
    "scan": "a SIMD scan: in each vector, log2(lanes) rounds of shifting lanes up by 1, 2, 4, ... and "
            "combining; then combine with the last result of the previous vector (carried in a register)",
    "linear_recurrence": "scan the pairs (factor, term): t[j] = f[j]*t[j-k] + t[j], f[j] = f[j]*f[j-k]; "
                         "the result is f*carry + t",
    "running_pair": "blocks of k elements: s1 gains the block's sum (psadbw against zero for bytes), s2 gains "
                    "k * (s1 before the block) + sum_j (k - j) * x[j] (pmaddubsw with the weights k..1, then pmaddwd "
                    "by ones); keep partial sums in vector lanes and fold them after the loop, in unsigned "
                    "arithmetic (exact, no reassociation caveat)",
    "search": "compare a whole vector, test the mask, and find the first set lane (ctz of the mask bits)",
    "gather": "indexed loads: vector gathers, or restructure the access if the index pattern is regular",
    "float_reduction": "keep 2-4 independent vector accumulators and combine them once after the loop",
}


def _facts_block(analysis: Analysis) -> list[str]:
    """The analysis as structured facts: verdict, every reason with its code and source line, algorithm."""
    lines = [f"simdlens's analysis of the loop (verdict: {analysis.verdict.value}):"]
    for r in analysis.reasons[:8]:
        where = f" (line {r.span.start.line + 1})" if r.span is not None else ""
        lines.append(f"- [{r.code}]{where} {r.message}")
    if analysis.alias_checks:
        lines.append("- pointers that may overlap (the original must stay correct then): "
                     + ", ".join(f"{a}/{b}" for a, b in analysis.alias_checks))
    facts = set(analysis.facts)
    if "scan" in facts:
        facts.discard("float_reduction")  # a scan's reassociation is the scan itself, not accumulators
    if "running_pair" in facts:
        facts.discard("scan")  # a checksum's pair is summed over blocks, not scanned lane by lane
    hints = [text for fact, text in ALGORITHMS.items() if fact in facts]
    if hints:
        lines.append("Known SIMD algorithm for this loop: " + "; ".join(hints) + ".")
    return lines
