"""Helpers shared by the rule-engine tests (imported by name: tests/ directories are not packages)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simdlens.analysis import FileAnalysis, analyze_file
from simdlens.config import Settings
from simdlens.core import Analysis, Candidate, CandidateResult, Kernel, LoopRole, Status, TextEdit
from simdlens.rules import propose
from simdlens.sandbox import Sandbox
from simdlens.sandbox.cpu import ISA_FLAGS, host_cpu

needs_compiler = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
ISAS = ("avx2", "avx512")


def require_host(isa: str) -> None:
    """Skip the rest of a test that must *run* `isa` code when this machine's CPU cannot (it still built it)."""
    missing = host_cpu().missing_for(isa)
    if missing:
        pytest.skip(f"this CPU lacks {', '.join(sorted(missing))}: {isa} code is built but cannot run here")


@dataclass
class CaseResult:
    name: str
    analysis: Analysis | None = None
    kernel: Kernel | None = None
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    results: dict[str, CandidateResult] = field(default_factory=dict)


def analyse(name: str, code: str) -> tuple[bytes, Analysis, Kernel | None]:
    """Analyse one C function like a user's file: (source bytes, its one loop's analysis, its kernel)."""
    source = ("#include <stdint.h>\n" + code + "\n").encode()
    fa = analyze_file(source, f"/tmp/{name}.c", "c")
    # a nest: its inner loop (the candidate the outer loop's analysis names)
    loops = [a for a in fa.analyses if a.site.role == LoopRole.INNERMOST] if len(fa.analyses) > 1 else fa.analyses
    assert len(loops) == 1, fa
    a = loops[0]
    return source, a, fa.kernels.get(a.site.loop_id)


def one_candidate(name: str, code: str, isa: str = "avx2") -> tuple[bytes, Candidate]:
    """The user's file holding function `name` (`code`) and the one candidate the rules propose for its loop."""
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None
    (cand,) = propose(analysis, kernel, isa, Settings(), source=source).candidates
    return source, cand


def kernel_candidate(name: str, code: str, isa: str = "avx2") -> tuple[Kernel, Candidate]:
    """The kernel of function `name`'s one loop and the first candidate the rules propose for it."""
    source, analysis, kernel = analyse(name, code)
    assert kernel is not None, analysis.reasons
    proposal = propose(analysis, kernel, isa, Settings(), source=source)
    assert proposal.candidates, proposal.notes
    return kernel, proposal.candidates[0]


def apply_edits(source: bytes, edits: Sequence[TextEdit]) -> bytes:
    """`source` with `edits` applied as an editor applies a WorkspaceEdit."""
    text = source
    # back to front; inserts at one position keep their array order in the result (LSP semantics)
    for _, edit in sorted(enumerate(edits), key=lambda t: (t[1].span.start_byte, t[0]), reverse=True):
        text = text[:edit.span.start_byte] + edit.new_text.encode() + text[edit.span.end_byte:]
    return text


def build_and_run(folder: Path, isa: str, sources: Sequence[str], libs: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Build the C files `sources` of `folder` with gcc -O2 for `isa` and run the program (it must build)."""
    exe = folder / "check"
    build = subprocess.run(["gcc", "-O2", *ISA_FLAGS[isa], "-o", str(exe), *(str(folder / f) for f in sources), *libs],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)


def run_edited_against_original(folder: Path, isa: str, name: str, source: bytes, edits: Sequence[TextEdit],
                                original: str, main: str, libs: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """The user's file with a candidate's `edits` applied (`edited.c`), the function `name` of `original`
    renamed `original` (`original.c`), and `main` calling both: built for `isa` and run."""
    (folder / "edited.c").write_bytes(apply_edits(source, edits))
    (folder / "original.c").write_text(original.replace(f"{name}(", "original("))
    (folder / "main.c").write_text(main)
    return build_and_run(folder, isa, ("edited.c", "original.c", "main.c"), libs)


def verify_cases(cases: list[tuple[str, str]], rule_settings: Settings) -> dict[str, CaseResult]:
    """Analyse each (name, code) like a user's file, propose AVX2 and AVX-512 candidates, verify them all."""
    out: dict[str, CaseResult] = {}
    work = []
    for name, code in cases:
        source, a, kernel = analyse(name, code)
        case = CaseResult(name, a, kernel)
        out[name] = case
        if kernel is None:
            continue
        candidates = []
        for isa in ISAS:
            proposal = propose(a, kernel, isa, rule_settings, source=source)
            case.notes[isa] = proposal.notes
            candidates += proposal.candidates
        if candidates:
            work.append((case, kernel, tuple(candidates)))

    async def main() -> None:
        async with Sandbox(rule_settings) as sandbox:
            async def one(case: CaseResult, kernel: Kernel, candidates: tuple) -> None:  # type: ignore[type-arg]
                for r in await sandbox.verify(kernel, candidates, bench=False):
                    case.results[r.candidate.isa] = r

            await asyncio.gather(*(one(*w) for w in work))

    asyncio.run(main())
    return out


def case_result(case: CaseResult, isa: str) -> CandidateResult:
    """The candidate `isa` got for a case of `verify_cases` (its loop had a kernel and a candidate)."""
    assert case.kernel is not None, case.analysis
    assert isa in case.results, case.notes
    return case.results[isa]


def assert_verified(result: CandidateResult, isa: str) -> None:
    """The candidate builds; where this CPU runs `isa`, it verified."""
    assert result.verdict.status in (Status.VERIFIED, Status.UNSUPPORTED_CPU), result.verdict
    require_host(isa)
    assert result.verdict.status == Status.VERIFIED, result.verdict


def verify_status(rule_settings: Settings, kernel: Kernel, cand: Candidate) -> Status:
    """The sandbox's verdict on one candidate (no benchmark): what a test feeding it a wrong variant checks."""
    async def main() -> Status:
        async with Sandbox(rule_settings) as sandbox:
            (r,) = await sandbox.verify(kernel, (cand,), bench=False)
            return r.verdict.status
    return asyncio.run(main())


def verify_first_candidates(fa: FileAnalysis, functions: Sequence[str], source: bytes,
                            rule_settings: Settings) -> tuple[dict[str, Status], list[TextEdit]]:
    """The first AVX2 candidate of the loop of each of `functions` (of the analysed file `fa`), verified in
    the sandbox: its status per function, and the edits of all of them."""
    by_fn = {a.site.function: a for a in fa.analyses}
    work, edits = [], []
    for fn in functions:
        a = by_fn[fn]
        kernel = fa.kernels[a.site.loop_id]
        candidates = propose(a, kernel, "avx2", rule_settings, source=source).candidates
        assert candidates, fn
        work.append((fn, kernel, candidates[0]))
        edits += list(candidates[0].edits)

    async def run() -> dict[str, Status]:
        async with Sandbox(rule_settings) as sandbox:
            out = {}
            for fn, kernel, candidate in work:
                (r,) = await sandbox.verify(kernel, (candidate,), bench=False)
                out[fn] = r.verdict.status
            return out

    return asyncio.run(run()), edits


def cpp_outputs(folder: Path, programs: dict[str, tuple[str, Sequence[str]]]) -> dict[str, str]:
    """Each named C++ program (text, extra g++ flags) built with g++ -std=c++17 -O2 -Wall and run: its output."""
    outputs = {}
    for name, (text, flags) in programs.items():
        (folder / f"{name}.cpp").write_text(text)
        exe = folder / name
        build = subprocess.run(["g++", "-std=c++17", "-O2", "-Wall", *flags, "-o", str(exe), str(folder / f"{name}.cpp")],
                               capture_output=True, text=True)
        assert build.returncode == 0, build.stderr
        if "-mavx2" in flags:
            require_host("avx2")
        outputs[name] = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60).stdout
    return outputs


def verify_briefly(work: Sequence[tuple[Kernel, Candidate]], tmp_path: Path) -> list[tuple[Status, str]]:
    """`verify_each` with a private cache and short sandbox limits (10 s of CPU, 30 s of wall time per run)."""
    from simdlens.config import SandboxSettings

    return verify_each(work, Settings(cache_dir=str(tmp_path / "cache"), jobs=2,
                                      sandbox=SandboxSettings(cpu_seconds=10, wall_seconds=30.0)))


def verify_each(work: Sequence[tuple[Kernel, Candidate]], settings: Settings) -> list[tuple[Status, str]]:
    """Each (kernel, candidate) of `work` verified in the sandbox, one after another: (status, detail)."""
    async def run() -> list[tuple[Status, str]]:
        out = []
        async with Sandbox(settings) as sandbox:
            for kernel, cand in work:
                (r,) = await sandbox.verify(kernel, [cand], bench=False)
                out.append((r.verdict.status, r.verdict.detail))
        return out

    return asyncio.run(run())
