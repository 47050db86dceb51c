"""The benchmark protocol: how a speedup becomes a number simdlens is willing to show.

Measured on the development VMs: code layout alone moves ratios by 30%+, the VM's speed drifts every
few hundred ms, and the minimum of samples is a worse statistic than the median. So:

- every variant is built with -falign-functions=64 -falign-loops=64 (compiler.ALIGN_FLAGS);
- variants: the original built scalar (-O3 -fno-tree-vectorize), with the user's flags (default -O2),
  at -O3 -march=native (the compiler's own vectorizer), and every verified candidate built twice: at the
  user's flags and at -O3 -march=native (each + its ISA flags). A program built at -O3 -march=native
  compiles the rewrite differently (gcc 12's znver3 tuning reloaded mul64's operands for each
  vpmuludq: 1.21x at -O2, 0.93x in such a program), so the ratio to -O3 -march=native that is quoted
  and judged is, per process, the lower of the two builds' (both kept in the measurement);
- one driver process: ~50 ms warm-up over all variants, then each variant's repetition count is set so
  one sample takes ~0.75 ms; ROUNDS (21) rounds, each timing one sample of every variant, the order
  rotated by one every round; the median per variant;
- K = BenchSettings.processes (5) such processes, one after another, each sandboxed; per process the
  ratio baseline/candidate; reported: the median of the per-process ratios and their min..max
  (`Ratio`), `noisy` when (max - min) / median > 10%;
- re-measured once when undecided (`summary.undecided`: at a deciding size the low end is under the
  win margin while the median is over it, or max/min of the per-process ratios is wide): a fresh
  batch of K processes joins the first (REMEASURES); the quoted and judged numbers are both batches'
  but their one slowest process per ratio (a fresh batch replacing the first offered a rewrite
  identical to the compiler's loop on one lucky batch; a pool keeping every process let one disturbed
  process veto a 9.8x median). A rewrite is offered as a win only when the low end beats the compiler
  (summary.is_win);
- sizes: BenchSettings.sizes (4K: "L1", 64K: "L2", 1M: "memory", labelled by element count), capped
  by the arrays' declared extents, plus the sizes the code itself uses (`Kernel.real_sizes`, marked
  `real`); a constant trip count is timed once, at itself (marked `real`, labelled by its element
  count); `quick` measures only the first preset (or only the real sizes). Kernels with data-dependent branches (an `if`, `?:`, `break`,
  `while` or `return` in their loop, or analysis facts saying so) rotate over 16 input buffers, so the
  branch predictor cannot learn one input.
"""

from __future__ import annotations

import math
import platform
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from simdlens.core import Kernel, Measurement, Ratio, SizeMeasurement

ROUNDS = 21
SAMPLE_NS = 750_000
WARMUP_NS = 50_000_000
ROTATING_BUFFERS = 16
BRANCH_FACTS = frozenset({"search", "compress", "guarded_load", "branch", "conditional", "early_exit"})
_BRANCHY = re.compile(r"\bif\s*\(|\?|\bbreak\b|\bwhile\s*\(|\breturn\b[^;]*;\s*\S")
_LOOP_WORD = re.compile(r"\b(for|while|do)\b")
_READS_MEMORY = re.compile(r"[\[*]|->|\w\s*\(")  # a subscript, a dereference, a member through a pointer, a call
BASELINES = ("scalar", "user_flags", "native_autovec")
# Fresh batches measured when a batch cannot decide a win (summary.undecided): their processes join the
# first batch's, so a claim holds on both; one is enough, more would only hunt for a lucky batch.
REMEASURES = 1


def size_label(n: int) -> str:
    if n <= 16 * 1024:
        return "L1"
    if n <= 256 * 1024:
        return "L2"
    return "memory"


def branchy(kernel: Kernel) -> bool:
    """Whether the kernel's loop has data-dependent control flow (then inputs rotate)."""
    if kernel.facts & BRANCH_FACTS:
        return True
    body = kernel.source[kernel.source.find("{") + 1:] if "{" in kernel.source else kernel.source
    return branchy_text(body.rsplit("}", 1)[0])


def branchy_text(loop: str) -> bool:
    """Whether a loop's text (header and body) has data-dependent control flow."""
    return bool(_BRANCHY.search(_without_counted_header(loop)))


def _without_counted_header(body: str) -> str:
    """`body` without the kernel loop's own `while (n--)` header (or a do-loop's closing `while`) when its
    condition reads no memory: a counted loop, whose one exit the predictor learns (`while (*p)` stays)."""
    first = _LOOP_WORD.search(body)
    if first is None or first.group(1) == "for":
        return body
    at = first.start() if first.group(1) == "while" else body.rfind("while")
    cond = _condition(body, at)
    if cond is None or _READS_MEMORY.search(cond):
        return body
    return body[:at] + body[at + len("while"):]


def _condition(text: str, at: int) -> str | None:
    """The parenthesised condition after the keyword at `at` (balanced), or None."""
    start = text.find("(", at)
    if at < 0 or start < 0:
        return None
    depth = 0
    for k in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return text[start + 1:k]
    return None


@dataclass(frozen=True)
class ProcessTimes:
    """One benchmark process's output: size -> (trip count, median ns/element per variant index)."""

    sizes: dict[int, tuple[int, tuple[float, ...]]]


def parse_bench_output(text: str, variants: int) -> ProcessTimes:
    sizes: dict[int, tuple[int, tuple[float, ...]]] = {}
    current: int | None = None
    trip = 0
    times: list[float] = []
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "SIZE" and len(parts) >= 3:
            if current is not None and len(times) == variants:
                sizes[current] = (trip, tuple(times))
            current, trip, times = int(parts[1]), int(parts[2]), []
        elif parts[0] == "VAR" and len(parts) >= 3 and current is not None:
            times.append(float(parts[2]))
    if current is not None and len(times) == variants:
        sizes[current] = (trip, tuple(times))
    return ProcessTimes(sizes)


def ratio(values: Sequence[float], trim: int = 0) -> Ratio | None:
    """Median and min..max of per-process ratios; `trim`: the slowest ones left out (a pooled re-measure
    drops its one most disturbed process, so that one process cannot veto what all the others show)."""
    good = sorted(v for v in values if v > 0 and v == v)[trim:]
    if not good:
        return None
    return Ratio(median=statistics.median(good), lo=min(good), hi=max(good), runs=len(good))


def _per_process(rows: Sequence[tuple[float, ...]], base: int, variant: int) -> list[float]:
    """Each process's ratio of variant `base`'s time to `variant`'s (NaN where the variant has no time)."""
    return [r[base] / r[variant] if r[variant] > 0 else math.nan for r in rows]


def _lower(a: float, b: float) -> float:
    """The lower of two ratios of one process; NaN (dropped by `ratio`) when either is missing."""
    return math.nan if a != a or b != b else min(a, b)


def summarize(processes: Sequence[ProcessTimes], sizes: Sequence[int], candidate_index: int, *,
              native_index: int | None = None, real: frozenset[int] = frozenset(), by_trip: bool = False,
              trim: int = 0) -> tuple[SizeMeasurement, ...]:
    """Per size: per-process ratios baseline/candidate -> median and min..max. Variant indices:
    0 scalar, 1 user flags, 2 -O3 -march=native, 3.. candidates; `native_index`: the candidate built at
    -O3 -march=native, whose ratio to that baseline is kept beside the user-flags build's, and the
    lower of the two per process is `vs_native_autovec`. `real`: the sizes the code itself uses;
    `by_trip`: a size is named by the elements it runs (a constant trip count, or a nest whose size sets
    several bounds); `trim`: the slowest ratios of each left out (`ratio`)."""
    out: list[SizeMeasurement] = []
    native = BASELINES.index("native_autovec")
    for requested in sizes:
        rows = [p.sizes[requested][1] for p in processes if requested in p.sizes]
        if not rows:
            continue
        trips = [p.sizes[requested][0] for p in processes if requested in p.sizes]
        n = trips[0] if by_trip and trips and trips[0] > 0 else requested
        per_base = {name: _per_process(rows, i, candidate_index) for i, name in enumerate(BASELINES)}
        ns = {name: statistics.median(r[i] for r in rows) for i, name in enumerate(BASELINES)}
        ns["candidate"] = statistics.median(r[candidate_index] for r in rows)
        judged, native_build = per_base["native_autovec"], None
        if native_index is not None:
            native_build = _per_process(rows, native, native_index)
            judged = [_lower(a, b) for a, b in zip(judged, native_build, strict=True)]
            ns["candidate_native"] = statistics.median(r[native_index] for r in rows)
        label = size_label(n)
        out.append(SizeMeasurement(
            n=n, label=label, ns_per_element=ns, vs_scalar=ratio(per_base["scalar"], trim),
            vs_user_flags=ratio(per_base["user_flags"], trim), vs_native_autovec=ratio(judged, trim),
            memory_bound=label == "memory", real=requested in real,
            vs_native_user_build=ratio(per_base["native_autovec"], trim) if native_build is not None else None,
            vs_native_native_build=ratio(native_build, trim) if native_build is not None else None,
        ))
    return tuple(out)


def measurement(sizes: tuple[SizeMeasurement, ...], compiler: str, cpu: str, user_flags: tuple[str, ...]) -> Measurement:
    return Measurement(sizes=sizes, compiler=compiler, cpu=cpu, user_flags=user_flags,
                       date=datetime.now(UTC).isoformat(timespec="seconds"), host=platform.node())


def describe(r: Ratio) -> str:
    """"7.6x (7.2-7.9), 5 runs" - how a ratio is shown; noisy ones say so."""
    text = f"{r.median:.2f}x ({r.lo:.2f}–{r.hi:.2f}), {r.runs} runs"
    return text + ", noisy" if r.noisy else text
