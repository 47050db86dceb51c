"""What a loop's report means for the user, in the words every feature shares.

Diagnostics, code lens, hover, code actions and the report command must never disagree about whether
a loop has a win, which rewrite is best, or what its measured speedup is. They all ask this module.

A verified rewrite is a *win* when the LOW end of its measured range (the slowest of the sandboxed
benchmark processes) beats the compiler's own best effort (`-O3 -march=native`) by more than the noise
we see on compute-bound loops, at every size that decides (`deciding_sizes`); a verified rewrite that
is not is reported as "the compiler already vectorizes this loop" and never offered as an improvement.
A measurement that cannot decide (`undecided`: the low end just under the margin while the median is
above it, or a wide spread) is measured again by the sandbox before anything is offered.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from simdlens.core import (
    CandidateResult,
    LoopReport,
    LoopVerdict,
    Measurement,
    Ratio,
    SizeMeasurement,
    Status,
)

WIN_MARGIN = 1.05  # layout/noise alone moves compute-bound ratios by ±3-4%
# A memory-bound size (not the loop's own) is never what makes a win (it ties: DRAM bandwidth, and it
# repeats badly), but its median below this is a loss beyond noise that vetoes the win.
MEMORY_FLOOR = 1 / WIN_MARGIN
# max/min of the per-process ratios above this: one process was disturbed (another job, a frequency
# change); measured again before it is offered. 1.15 is three times the layout noise above.
NOISY_SPREAD = 1.15
# A size whose best/worst median speedups differ by more than this is said to "depend on size" in titles
# and hovers (cache-resident vs memory-bound, or a nest's real extent).
SIZE_DEPENDENCE = 2.0

# The rewrite is timed built at the user's flags and at -O3 -march=native (sandbox/bench.py); the lower
# ratio to -O3 -march=native is quoted. When the two builds' medians differ by more than this, the texts
# say which build is which (the layout noise of WIN_MARGIN is not a difference worth a word).
BUILD_GAP = WIN_MARGIN

ISA_NAMES = {"avx2": "AVX2", "avx512": "AVX-512", "sse4": "SSE4"}

# Caveats that change what the program computes: they go into code-action titles, not just the hover.
_SEMANTIC = re.compile(r"reassociat|contract|fma|alias|rounding|nan|order|overflow|saturat", re.IGNORECASE)


class Outcome(enum.StrEnum):
    NOT_CANDIDATE = "not_candidate"  # not vectorizable, or no kernel could be extracted
    PENDING = "pending"  # candidate, nothing verified yet
    WIN = "win"  # a verified rewrite, measured faster than -O3 -march=native
    VERIFIED_UNMEASURED = "verified_unmeasured"  # verified, benchmarking disabled
    COMPILER_WINS = "compiler_wins"  # verified, but not faster than -O3 -march=native
    NO_SAFE_REWRITE = "no_safe_rewrite"  # every candidate failed verification, or none was proposed


def isa_name(isa: str) -> str:
    """"AVX2", "AVX-512"; "avx2,avx512" (several being verified) -> "AVX2 + AVX-512"."""
    return " + ".join(ISA_NAMES.get(part, part.upper()) for part in isa.split(",") if part)


def headline(result: CandidateResult) -> SizeMeasurement | None:
    """The size quoted in one line: the code's own size when it was measured, else the first
    compute-bound size, else the first measured one."""
    if result.measurement is None or not result.measurement.sizes:
        return None
    sizes = result.measurement.sizes
    return next((s for s in sizes if s.real and s.vs_user_flags),
                next((s for s in sizes if not s.memory_bound and s.vs_user_flags), sizes[0]))


def vs_compiler(result: CandidateResult) -> Ratio | None:
    size = headline(result)
    if size is None:
        return None
    return size.vs_native_autovec or size.vs_user_flags


def compiler_ratio(size: SizeMeasurement) -> Ratio | None:
    """The speedup over the compiler's best effort at one size (over the user's build when the
    -O3 -march=native baseline was not measured)."""
    return size.vs_native_autovec or size.vs_user_flags


def build_note(result: CandidateResult, size: SizeMeasurement) -> str:
    """"1.21x built at -O2, 0.93x built at -O3 -march=native": the rewrite's two builds against
    -O3 -march=native at one size when they differ materially (BUILD_GAP), else ""."""
    user, native = size.vs_native_user_build, size.vs_native_native_build
    if user is None or native is None or min(user.median, native.median) <= 0:
        return ""
    if max(user.median, native.median) / min(user.median, native.median) <= BUILD_GAP:
        return ""
    level = user_opt_level(result) or "your flags"
    return f"{user.median:.2f}x built at {level}, {native.median:.2f}x built at -O3 -march=native"


def deciding_sizes(sizes: tuple[SizeMeasurement, ...]) -> tuple[SizeMeasurement, ...]:
    """The sizes whose low end must beat the compiler: the sizes the code itself uses (`real`: a
    constant trip count, the declared extent of its arrays, a nest's constant bounds) when any was
    measured; else every cache-resident size (memory-bound ones can only veto, see MEMORY_FLOOR)."""
    real = tuple(s for s in sizes if s.real and compiler_ratio(s) is not None)
    if real:
        return real
    resident = tuple(s for s in sizes if not s.memory_bound and compiler_ratio(s) is not None)
    return resident or tuple(s for s in sizes if compiler_ratio(s) is not None)


def _vetoed(sizes: tuple[SizeMeasurement, ...]) -> SizeMeasurement | None:
    """A memory-bound preset size that the rewrite loses beyond noise (None: none). Only when no size
    of the code's own was measured: then those decide alone."""
    if any(s.real for s in sizes):
        return None
    return next((s for s in sizes if s.memory_bound and (r := compiler_ratio(s)) is not None
                 and r.median < MEMORY_FLOOR), None)


def measured_win(m: Measurement) -> bool:
    """The low end of the range beats the compiler by the margin at every deciding size (no veto)."""
    deciding = deciding_sizes(m.sizes)
    return bool(deciding) and _vetoed(m.sizes) is None and all(
        (r := compiler_ratio(s)) is not None and r.lo >= WIN_MARGIN for s in deciding)


def undecided(m: Measurement) -> bool:
    """Whether the measurement is too noisy to decide on: at a deciding size the median beats the
    margin but the low end does not, or the spread (max/min) is wide while the median beats it. The
    sandbox measures such a rewrite again (sandbox/bench.py, REMEASURES)."""
    for s in deciding_sizes(m.sizes):
        r = compiler_ratio(s)
        if r is None or r.median < WIN_MARGIN:
            continue
        if r.lo < WIN_MARGIN or (r.lo > 0 and r.hi / r.lo > NOISY_SPREAD):
            return True
    return False


def size_dependent(result: CandidateResult) -> bool:
    """Whether the speedup over the user's build changes with the size by more than SIZE_DEPENDENCE
    (best/worst median): titles and hovers then say "depends on size"."""
    m = result.measurement
    medians = [s.vs_user_flags.median for s in m.sizes if s.vs_user_flags and s.vs_user_flags.median > 0] if m else []
    return len(medians) > 1 and max(medians) / min(medians) > SIZE_DEPENDENCE


def not_a_win(result: CandidateResult, *, scalar_loop: bool = False) -> str:
    """Why a verified, measured rewrite is not offered, in words: faster by its median only (its low
    end, after re-measuring, does not beat the margin), faster at some deciding sizes only, slower from
    memory, or the compiler is as fast (`scalar_loop`: a loop compilers leave scalar, whose scalar code is)."""
    m = result.measurement
    if m is None:
        return "not benchmarked"
    deciding = [(s, r) for s in deciding_sizes(m.sizes) if (r := compiler_ratio(s)) is not None]
    for s, r in deciding:
        if r.median >= WIN_MARGIN and r.lo < WIN_MARGIN:
            note = build_note(result, s)
            return (f"not reliably faster than -O3 -march=native: {r.median:.2f}x ({r.lo:.2f}–{r.hi:.2f}) at n={s.n}"
                    f"{f' ({note})' if note else ''}, its slowest run under {WIN_MARGIN:.2f}x")
    if any(r.lo >= WIN_MARGIN for _, r in deciding) and any(r.lo < WIN_MARGIN for _, r in deciding):
        text = ", ".join(f"{r.median:.2f}x at n={s.n}" for s, r in deciding)
        return f"faster than -O3 -march=native at some sizes only: {text}"
    veto = _vetoed(m.sizes)
    if veto is not None and (r := compiler_ratio(veto)) is not None:
        return f"slower than -O3 -march=native from memory: {r.median:.2f}x at n={veto.n}"
    ratio, size = vs_compiler(result), headline(result)
    note = build_note(result, size) if size is not None else ""
    measured = (f" (best verified rewrite: {ratio.median:.2f}x vs -O3 -march=native{f'; {note}' if note else ''})"
                if ratio else "")
    if scalar_loop:
        return f"compilers leave this loop scalar, and their scalar code is as fast as the verified rewrite here{measured}"
    scalar = [x.vs_scalar.median for x, _ in deciding if x.vs_scalar is not None and x.vs_scalar.median > 0]
    if scalar and max(scalar) < WIN_MARGIN:  # the scalar build is as fast too: not a matter of the vectorizer
        native = f", {ratio.median:.2f}x vs -O3 -march=native" if ratio else ""
        return (f"the verified rewrite is no faster than this loop's scalar code here ({max(scalar):.2f}x vs "
                f"-O3 -fno-tree-vectorize{native})")
    return f"the compiler already vectorizes this loop as well{measured}"


def is_win(result: CandidateResult) -> bool:
    m = result.measurement
    return result.verdict.status is Status.VERIFIED and m is not None and measured_win(m)


def verified(report: LoopReport) -> list[CandidateResult]:
    return [r for r in report.results if r.verdict.status is Status.VERIFIED]


def ranked_wins(report: LoopReport) -> list[CandidateResult]:
    """Verified rewrites worth offering, best first (by the speedup over the user's build)."""
    wins = [r for r in verified(report) if is_win(r) or r.measurement is None]

    def key(r: CandidateResult) -> float:
        size = headline(r)
        ratio = size.vs_user_flags if size else None
        return ratio.median if ratio else 0.0

    return sorted(wins, key=key, reverse=True)


def best(report: LoopReport) -> CandidateResult | None:
    wins = ranked_wins(report)
    if wins:
        return wins[0]
    done = verified(report)
    return max(done, key=lambda r: (vs_compiler(r) or Ratio(0, 0, 0, 0)).median, default=None)


def is_candidate(report: LoopReport) -> bool:
    """Worth verifying (its kernel is extracted when it is verified)."""
    return report.analysis.verdict is not LoopVerdict.NOT_VECTORIZABLE


def outcome(report: LoopReport, finished: bool) -> Outcome:
    if not is_candidate(report):
        return Outcome.NOT_CANDIDATE
    wins = ranked_wins(report)
    if wins:
        return Outcome.WIN if wins[0].measurement is not None else Outcome.VERIFIED_UNMEASURED
    if verified(report):
        return Outcome.COMPILER_WINS
    return Outcome.NO_SAFE_REWRITE if finished else Outcome.PENDING


def user_opt_level(result: CandidateResult) -> str:
    """"-O2" from the flags the baseline was built with ("" when the user gave none)."""
    flags = result.measurement.user_flags if result.measurement else ()
    levels = [f for f in flags if re.fullmatch(r"-O[0-3sgz]?|-Ofast", f)]
    return levels[-1] if levels else ""


def ratio_text(ratio: Ratio | None, with_range: bool = True) -> str:
    if ratio is None:
        return "n/a"
    if with_range and ratio.runs > 1 and ratio.hi > ratio.lo:
        return f"{ratio.median:.2f}x ({ratio.lo:.2f}–{ratio.hi:.2f})"
    return f"{ratio.median:.2f}x"


def short_ratio(ratio: Ratio) -> str:
    text = f"{ratio.median:.1f}x"
    if ratio.runs > 1 and ratio.hi > ratio.lo:
        text += f" ({ratio.lo:.1f}–{ratio.hi:.1f})"
    return text


def semantic_caveats(result: CandidateResult) -> list[str]:
    return [c for c in result.candidate.caveats if _SEMANTIC.search(c)]


@dataclass(frozen=True)
class Stop:
    """Where a loop judged vectorizable stopped short of a verified rewrite, and why."""

    stage: str  # "kernel", "rules", "model", "proposals", "verification", "sandbox", "benchmark", "pipeline"
    reason: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.reason}"


_STAGE = re.compile(r"^(kernel|rules|model|proposals|verification|sandbox|benchmark|pipeline): ")
# The most telling failure first when several candidates failed: a misread type above a slow compile.
_FAILURE_ORDER = (Status.REJECTED, Status.COMPILE_ERROR, Status.MISMATCH, Status.SANITIZER, Status.CRASH,
                  Status.TIMEOUT, Status.UNSUPPORTED_CPU)


# Facts of loops gcc and clang do not vectorize at -O3 (histograms, scans, early exits, packing with a
# conditional counter): a rewrite that loses to -O3 there loses to scalar code, not to vector code.
# argmin/argmax: gcc 12 and clang 19 leave every one of the corpus's scalar (benchmarks/compiler_resistant.py)
COMPILERS_LEAVE_SCALAR = frozenset({"histogram", "scan", "search", "compress", "expand", "argminmax"})


def stop(report: LoopReport) -> Stop | None:
    """Why a loop judged vectorizable (with or without checks) has no verified rewrite that beats the
    compiler, as recorded by the stage that stopped; None when it has one, when it is not vectorizable
    (its analysis reasons say why), or when no stage said why (a silent drop: a bug)."""
    if not is_candidate(report):
        return None
    wins = ranked_wins(report)
    if wins:
        return None
    done = verified(report)
    if done:
        best = max(done, key=lambda r: (vs_compiler(r) or Ratio(0, 0, 0, 0)).median)
        return Stop("benchmark", not_a_win(best, scalar_loop=bool(report.analysis.facts & COMPILERS_LEAVE_SCALAR)))
    failed = sorted((r for r in report.results if r.verdict.status is not Status.VERIFIED),
                    key=lambda r: _FAILURE_ORDER.index(r.verdict.status) if r.verdict.status in _FAILURE_ORDER else 99)
    if failed:
        r = failed[0]
        what = r.verdict.status.value.replace("_", " ")
        detail = f": {r.verdict.detail}" if r.verdict.detail else ""
        return Stop("sandbox", f"{r.candidate.origin} ({isa_name(r.candidate.isa)}) {what}{detail}")
    for note in report.notes:
        m = _STAGE.match(note)
        if m:
            return Stop(m.group(1), note[m.end():])
    if report.notes:
        return Stop("pipeline", report.notes[0])
    return None


def failure_reason(report: LoopReport) -> str:
    """One line: why there is no safe rewrite (analysis reason, notes, or the candidates' verdicts)."""
    if report.analysis.verdict is LoopVerdict.NOT_VECTORIZABLE and report.analysis.reasons:
        return report.analysis.reasons[0].message
    failed = [r for r in report.results if r.verdict.status is not Status.VERIFIED]
    if failed:  # the features already say "no rewrite passed verification": the verdict says why
        verdict = failed[0].verdict
        return verdict.detail or verdict.status.value.replace("_", " ")
    stopped = stop(report)
    if stopped is not None and stopped.stage != "benchmark":
        return str(stopped)
    if report.notes:
        return report.notes[0]
    if report.analysis.reasons:
        return report.analysis.reasons[0].message
    return "no rewrite was proposed"


@dataclass(frozen=True)
class Headline:
    """The one-line result of a loop's best rewrite."""

    isa: str
    ratio: Ratio | None
    baseline: str  # "your -O2 build"


def describe_best(result: CandidateResult) -> Headline:
    size = headline(result)
    level = user_opt_level(result)
    baseline = f"your {level} build" if level else "your build"
    return Headline(isa_name(result.candidate.isa), size.vs_user_flags if size else None, baseline)
