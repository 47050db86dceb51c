"""The expert reference set: hand-tuned intrinsic kernels for corpus loops, timed against simdlens's rewrites.

`benchmarks/expert/<category>.c` holds, per corpus category, loops written the way a SIMD engineer
hand-tunes them (several accumulators, `adds_epi16`, `sad_epu8`, ...). Each one is a whole function
with the corpus function's signature, preceded by a machine-readable link

    // expert: corpus=audio.c function=rms_energy isa=avx2 reassociates=1

and its vector code between the lines `// expert loop {` and `// } expert loop`, which replaces the
corpus loop in the kernel the analysis extracts, exactly as a simdlens rewrite does. The expert version
then goes through the same sandbox as simdlens's candidate (the differential test against the user's
loop, then the benchmark), in one batch, so both are timed in the same interleaved runs.
`reassociates=1` says the kernel reorders floating-point sums (compared with the harness's tolerance).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simdlens.config import Settings
from simdlens.core import Analysis, Candidate, CandidateResult, Kernel, LoopRole, ParamRole, Status

_LINK = re.compile(r"//\s*expert:\s*(.*)")
_BEGIN = re.compile(r"^\s*//\s*expert loop \{\s*$")
_END = re.compile(r"^\s*//\s*\}\s*expert loop\s*$")


class ExpertSetError(ValueError):
    """A malformed expert file (the message names the file and line)."""


@dataclass(frozen=True)
class ExpertKernel:
    path: str  # the expert file
    line: int  # 1-based line of its `// expert:` link
    category: str  # the corpus file's stem: "audio", "linalg", ...
    corpus: str  # the corpus file name: "audio.c"
    function: str  # the corpus function whose loop it replaces
    isa: str
    reassociates: bool
    block: str  # the vector code that replaces the loop (the function's own names)


@dataclass(frozen=True)
class ExpertRow:
    """One expert kernel next to simdlens's candidate for the same loop, timed in the same runs."""

    expert: ExpertKernel
    simdlens: CandidateResult | None  # None: simdlens has no rewrite of this loop for this ISA
    reference: CandidateResult | None  # None: it could not be run
    notes: tuple[str, ...] = field(default=())

    def ns(self, which: str, size: int = 0) -> float | None:
        """Median ns per element at the `size`-th measured size: "simdlens", "expert" or "native"."""
        result = self.reference if which in ("expert", "native") else self.simdlens
        m = result.measurement if result is not None else None
        if m is None or len(m.sizes) <= size:
            return None
        return m.sizes[size].ns_per_element.get("native_autovec" if which == "native" else "candidate")

    def sizes(self) -> tuple[int, ...]:
        m = self.reference.measurement if self.reference is not None else None
        return tuple(s.n for s in m.sizes) if m is not None else ()


def read_expert_set(root: Path) -> list[ExpertKernel]:
    """Every linked kernel under `root`, in file order; `ExpertSetError` on a malformed entry."""
    kernels: list[ExpertKernel] = []
    for path in sorted(root.glob("*.c")) + sorted(root.glob("*.cpp")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            link = _LINK.search(line)
            if not link:
                continue
            where = f"{path}:{i + 1}"
            fields = dict(kv.split("=", 1) for kv in link.group(1).split() if "=" in kv)
            missing = [k for k in ("corpus", "function", "isa") if k not in fields]
            if missing:
                raise ExpertSetError(f"{where}: the expert link lacks {', '.join(missing)}")
            begin = next((k for k in range(i + 1, len(lines)) if _BEGIN.match(lines[k])), None)
            end = next((k for k in range(begin + 1, len(lines)) if _END.match(lines[k])), None) if begin else None
            if begin is None or end is None:
                raise ExpertSetError(f"{where}: no `// expert loop {{` ... `// }} expert loop` block after the link")
            block = _dedent(lines[begin + 1:end])
            kernels.append(ExpertKernel(str(path), i + 1, Path(fields["corpus"]).stem, fields["corpus"],
                                        fields["function"], fields["isa"], fields.get("reassociates") == "1", block))
    return kernels


def _dedent(lines: list[str]) -> str:
    lead = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return "\n".join(x[lead:] for x in lines)


def expert_candidate(kernel: Kernel, expert: ExpertKernel) -> Candidate:
    """The kernel with its loop replaced by the expert's block, as the sandbox tests a rewrite."""
    from simdlens.rules.tables import load_isa
    from simdlens.rules.text import kernel_loop_span, rename_text

    span = kernel_loop_span(kernel.source, kernel.language)
    if span is None:
        raise ExpertSetError(f"{expert.path}:{expert.line}: cannot find the loop in the kernel of {expert.function}")
    names = {p.source: p.name for p in kernel.params if p.source and p.role != ParamRole.RESULT}
    block = rename_text(expert.block, names)
    body = "{\n" + "\n".join("        " + x if x else "" for x in block.splitlines()) + "\n    }"
    function = kernel.source[:span[0]] + body + kernel.source[span[1]:]
    table = load_isa(expert.isa)
    flags = tuple(f for f, info in table.flags.items() if not info.host_only)
    caveats = ("reassociates floating-point additions (expert kernel)",) if expert.reassociates else ()
    return Candidate(kernel_hash=kernel.content_hash, isa=expert.isa, origin="expert", function=function,
                     edits=(), caveats=caveats, flags=flags)


def _loop_of(analyses: Sequence[Analysis], function: str) -> Analysis | None:
    mine = [a for a in analyses if a.site.function == function]
    for role in (LoopRole.OUTER_VECTORIZABLE, LoopRole.INNERMOST):
        picked = [a for a in mine if a.site.role is role]
        if picked:
            return picked[0]
    return mine[0] if mine else None


def compare(experts: Sequence[ExpertKernel], corpus: Path, settings: Settings, *, quick: bool) -> list[ExpertRow]:
    """Verify and time every expert kernel with simdlens's rule candidate for the same loop."""
    return asyncio.run(_compare(experts, corpus, settings, quick))


async def _compare(experts: Sequence[ExpertKernel], corpus: Path, settings: Settings, quick: bool) -> list[ExpertRow]:
    from simdlens.pipeline import analyze_document, host_identity, host_runs
    from simdlens.rules import propose
    from simdlens.sandbox import Sandbox

    sandbox = Sandbox(settings)
    host = host_identity()
    rows: list[ExpertRow] = []
    files: dict[str, tuple[bytes, object]] = {}
    try:
        for expert in experts:
            path = corpus / expert.corpus
            if not path.is_file():
                rows.append(ExpertRow(expert, None, None, (f"no corpus file {path}",)))
                continue
            if not host_runs(host, expert.isa):
                rows.append(ExpertRow(expert, None, None, (f"this CPU does not run {expert.isa}",)))
                continue
            if str(path) not in files:
                data = path.read_bytes()
                language = "cpp" if path.suffix in (".cpp", ".cc", ".cxx") else "c"
                files[str(path)] = (data, analyze_document(data, str(path), language, settings))  # type: ignore[arg-type]
            data, fa = files[str(path)]
            analysis = _loop_of(fa.analyses, expert.function)  # type: ignore[attr-defined]
            kernel: Kernel | None = fa.kernels.get(analysis.site.loop_id) if analysis else None  # type: ignore[attr-defined]
            if analysis is None or kernel is None:
                rows.append(ExpertRow(expert, None, None, (f"the analysis gives no kernel for {expert.function}",)))
                continue
            proposal = propose(analysis, kernel, expert.isa, settings, source=data)
            ours = list(proposal.candidates[:1])
            batch = [*ours, expert_candidate(kernel, expert)]
            results = await sandbox.verify(kernel, batch, bench=True, quick=quick)
            by_key = {r.candidate.key: r for r in results}
            mine = by_key.get(ours[0].key) if ours else None
            theirs = by_key.get(batch[-1].key)
            notes = tuple(proposal.notes)
            if theirs is not None and theirs.verdict.status is not Status.VERIFIED:
                notes += (f"expert kernel {theirs.verdict.status.value}: {theirs.verdict.detail}",)
            rows.append(ExpertRow(expert, mine, theirs, notes))
    finally:
        await sandbox.close()
    return rows
