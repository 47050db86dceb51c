"""Hand-built core objects for the cache tests, and a sandbox that counts what it is asked to verify."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from simdlens.core import (
    Candidate,
    CandidateResult,
    Counterexample,
    Footprint,
    Kernel,
    KernelParam,
    Measurement,
    ParamRole,
    Point,
    Ratio,
    SizeMeasurement,
    Span,
    Status,
    TextEdit,
    Verdict,
)


def span(start: int, end: int, line: int = 0) -> Span:
    return Span(start, end, Point(line, start), Point(line, end))


def make_kernel(body: str = "a[i] = b[i] * k;", *, loop_start: int = 10, path: str = "x.c") -> Kernel:
    source = f"void simdlens_kernel(float *a, const float *b, float k, int n) {{ for (int i = 0; i < n; i++) {body} }}"
    normalised = " ".join(source.split())
    return Kernel(
        name="simdlens_kernel", language="c", preamble="", source=source,
        signature="void simdlens_kernel(float *a, const float *b, float k, int n)", return_type=None,
        params=(KernelParam("a", "float *a", ParamRole.OUT, None), KernelParam("b", "const float *b", ParamRole.IN, None),
                KernelParam("k", "float k", ParamRole.SCALAR, None), KernelParam("n", "int n", ParamRole.COUNT, None)),
        footprints=(Footprint("a", "0", "n-1"), Footprint("b", "0", "n-1")), trip_count="n",
        loop_id=hashlib.sha256(f"{path}{loop_start}".encode()).hexdigest()[:12],
        content_hash=hashlib.sha256(normalised.encode()).hexdigest(),
        loop_span=span(loop_start, loop_start + 40), size_param="n", path=path,
    )


def make_candidate(kernel: Kernel, isa: str = "avx2", variant: str = "") -> Candidate:
    function = f"/* {isa} {variant} */ void simdlens_kernel(float *a, const float *b, float k, int n) {{ }}"
    assert kernel.loop_span is not None
    return Candidate(kernel.content_hash, isa, "rules:elementwise", function,
                     (TextEdit(kernel.loop_span, f"/* {isa} rewrite */"),), caveats=("needs -mavx2",),
                     flags=("-mavx2", "-mfma"))


def make_measurement(cpu: str = "Test CPU", compiler: str = "gcc 12") -> Measurement:
    size = SizeMeasurement(4096, "L1", {"scalar": 1.0, "candidate": 0.2}, Ratio(5.0, 4.8, 5.2, 5),
                           Ratio(2.0, 1.9, 2.1, 5), Ratio(1.3, 1.25, 1.35, 5))
    return Measurement((size,), compiler, cpu, ("-O2",), "2026-11-22T05:00:00+00:00", "vm")


@dataclass
class CountingSandbox:
    """Stands in for the sandbox: judges every candidate by a rule and records what it was asked."""

    cpu: str = "Test CPU"
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    wrong: set[str] = field(default_factory=set)  # candidate functions to answer `mismatch` for

    @property
    def compiled(self) -> int:
        return sum(len(c) for _, c in self.calls)

    async def verify(self, kernel: Kernel, candidates: Sequence[Candidate], *, bench: bool = True,
                     quick: bool = False, priority: int = 0) -> tuple[CandidateResult, ...]:
        self.calls.append((kernel.content_hash, tuple(c.function for c in candidates)))
        out = []
        for c in candidates:
            if c.function in self.wrong:
                v = Verdict(Status.MISMATCH, "a[3]: expected 1, got 2", Counterexample(7, 1, "a", 3, "1", "2"))
                out.append(CandidateResult(c, v))
            else:
                out.append(CandidateResult(c, Verdict(Status.VERIFIED), make_measurement(self.cpu) if bench else None))
        return tuple(out)
