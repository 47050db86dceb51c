"""Hand-built core objects for the server's unit tests: a small C file, its loops and their results.

Positions are computed from the text, so features see the same spans the pipeline would produce.
"""

from __future__ import annotations

from simdlens.analysis.positions import LineIndex
from simdlens.core import (
    Analysis,
    Candidate,
    CandidateResult,
    Kernel,
    LoopKind,
    LoopReport,
    LoopRole,
    LoopSite,
    LoopVerdict,
    Measurement,
    Ratio,
    Reason,
    SizeMeasurement,
    Span,
    Status,
    TextEdit,
    Verdict,
)

SOURCE = (
    "// héllo 😀\n"  # non-ASCII before the loops: UTF-8, UTF-16 and byte columns differ on this line only
    "float dot(const float *a, const float *b, int n) {\n"
    "    float s = 0;\n"
    "    for (int i = 0; i < n; i++) s += a[i] * b[i];\n"
    "    return s;\n"
    "}\n"
    "void prefix(float *a, int n) {\n"
    "    for (int i = 1; i < n; i++) a[i] += a[i-1];\n"
    "}\n"
).encode()

DOT_LOOP = b"for (int i = 0; i < n; i++) s += a[i] * b[i];"
PREFIX_LOOP = b"for (int i = 1; i < n; i++) a[i] += a[i-1];"


def span(source: bytes, start: int, end: int) -> Span:
    lines = LineIndex(source)
    return Span(start, end, lines.byte_to_point(start), lines.byte_to_point(end))


def site(source: bytes, loop_text: bytes, function: str, loop_id: str) -> LoopSite:
    start = source.index(loop_text)
    header_end = source.index(b")", start) + 1
    body_start = header_end + 1
    return LoopSite(
        path="/tmp/t.c", language="c", kind=LoopKind.FOR, span=span(source, start, start + len(loop_text)),
        header=span(source, start, header_end), body=span(source, body_start, start + len(loop_text)),
        function=function, depth=0, role=LoopRole.INNERMOST, loop_id=loop_id,
    )


def kernel(loop_id: str, content_hash: str = "hash-dot") -> Kernel:
    return Kernel(
        name="simdlens_kernel", language="c", preamble="", source="float simdlens_kernel(...) { ... }",
        signature="float simdlens_kernel(const float *a, const float *b, int n)", return_type=None,
        params=(), footprints=(), trip_count="n", loop_id=loop_id, content_hash=content_hash,
    )


def ratio(median: float, lo: float, hi: float, runs: int = 5) -> Ratio:
    return Ratio(median, lo, hi, runs)


def measurement(vs_user: Ratio, vs_native: Ratio, memory_bound_large: bool = True) -> Measurement:
    sizes = (
        SizeMeasurement(4096, "L1", {"scalar": 0.9, "user_flags": 0.9, "native_autovec": 0.5, "candidate": 0.17},
                        ratio(5.4, 5.0, 5.8), vs_user, vs_native),
        SizeMeasurement(1048576, "memory", {"scalar": 1.1, "user_flags": 1.1, "native_autovec": 0.9, "candidate": 0.8},
                        ratio(1.4, 1.1, 1.7), ratio(1.3, 1.0, 1.6), ratio(1.1, 0.9, 1.3), memory_bound=memory_bound_large),
    )
    return Measurement(sizes, "gcc 12.2.0", "Intel Xeon", ("-O2",), "2026-11-22T05:00:00Z")


def candidate(source: bytes, loop_text: bytes, isa: str, origin: str, caveats: tuple[str, ...] = (),
              body: str = "/* vector */") -> Candidate:
    start = source.index(loop_text)
    edit = TextEdit(span(source, start, start + len(loop_text)), f"{{ {body} }}")
    include = TextEdit(span(source, 0, 0), "#include <immintrin.h>\n")
    return Candidate("hash-dot", isa, origin, "float simdlens_kernel(...) {}", (include, edit), caveats)


def dot_report(source: bytes = SOURCE, *, results: tuple[CandidateResult, ...] | None = None) -> LoopReport:
    analysis = Analysis(site(source, DOT_LOOP, "dot", "loop-dot"), LoopVerdict.VECTORIZABLE,
                        (Reason("float_reduction", "sum of products: vectorizing reassociates additions"),), None)
    if results is None:
        avx2 = candidate(source, DOT_LOOP, "avx2", "rules:reduction", ("reassociates floating-point additions",),
                         body="avx2")
        avx512 = candidate(source, DOT_LOOP, "avx512", "rules:reduction", ("reassociates floating-point additions",),
                           body="avx512")
        results = (
            CandidateResult(avx2, Verdict(Status.VERIFIED), measurement(ratio(5.3, 4.9, 5.6), ratio(3.1, 2.9, 3.3))),
            CandidateResult(avx512, Verdict(Status.VERIFIED), measurement(ratio(6.2, 5.9, 6.6), ratio(3.6, 3.3, 3.9))),
        )
    return LoopReport(analysis, kernel("loop-dot"), results)


def prefix_report(source: bytes = SOURCE) -> LoopReport:
    analysis = Analysis(site(source, PREFIX_LOOP, "prefix", "loop-prefix"), LoopVerdict.NOT_VECTORIZABLE,
                        (Reason("recurrence", "recurrence on a[i-1]"),), None)
    return LoopReport(analysis, None)


def failed(report: LoopReport, status: Status = Status.MISMATCH, detail: str = "mismatch at n=17") -> LoopReport:
    cand = report.results[0].candidate
    return LoopReport(report.analysis, report.kernel, (CandidateResult(cand, Verdict(status, detail)),))


def compiler_wins(report: LoopReport) -> LoopReport:
    cand = report.results[0].candidate
    m = measurement(ratio(1.9, 1.8, 2.0), ratio(1.02, 0.98, 1.05))
    return LoopReport(report.analysis, report.kernel, (CandidateResult(cand, Verdict(Status.VERIFIED), m),))
