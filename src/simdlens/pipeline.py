"""The pipeline: the one orchestration of analysis, proposals, verification and the cache.

    file -> check_source -> analyze_file -> per loop: Kernel -> rules (+ model) -> cache | sandbox -> LoopReport

`scan(paths, settings)` runs all of it for the CLI (`simdlens scan`, `simdlens bench`). The language
server analyses documents itself, incrementally (`simdlens.server.incremental`), and calls only the
second half: `await verify_loop(...)` in the background for each loop worth verifying, and
`verify_candidates` to re-measure one rewrite. A file's flags come from `compile_db.flags_for_file`, one
cached read of compile_commands.json shared with the sandbox.

In front of the sandbox sits the result cache: a candidate whose verdict (and, when benchmarking, whose
measurement on this CPU with this compiler) is stored is not compiled again, and a model proposal for
an unchanged kernel is not asked for again. `Counters` records what really ran, so tests can assert a
second scan of an unchanged tree compiles nothing.

`trusted=False` (an untrusted workspace) and `verify=False` (`scan --no-verify`) never compile or run
anything: proposals are listed as unverified, never as rewrites.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from simdlens.analysis.parse import MAX_SOURCE_BYTES, check_source, language_for
from simdlens.cache.keys import HostIdentity, Toolchain, measurement_key, proposal_key, verdict_key
from simdlens.cache.store import CacheInfo, CacheStats, ResultStore, StoredProposal
from simdlens.compile_db import CompileFlags, flags_for_file, scoped_workspace_roots
from simdlens.config import Settings
from simdlens.core import (
    Analysis,
    Candidate,
    CandidateResult,
    Kernel,
    Language,
    LoopReport,
    LoopVerdict,
    Status,
)
from simdlens.sandbox.cpu import HostCpu, host_cpu
from simdlens.summary import is_win
from simdlens.workspace_files import UnreadableFile, is_regular_file, read_workspace_file

if TYPE_CHECKING:
    from simdlens.analysis import FileAnalysis

log = logging.getLogger("simdlens.pipeline")

# The ISAs "auto" proposes for, each when the host runs it.
AUTO_ISAS = ("avx2", "avx512")
# Verdicts that may say more about the machine than about the candidate, never remembered: a timeout
# (load), and the sandbox's `rejected` (no compiler, no bubblewrap, a sandbox failure, a baseline that
# did not build). The model's static pre-check rejects before the sandbox, so nothing is lost.
_TRANSIENT = frozenset({Status.TIMEOUT, Status.REJECTED})
# Attempt statuses that say the model server or the machine failed, not the model: not remembered.
_MODEL_INFRA_FAILURES = frozenset({"unavailable", "auth", "protocol", "budget", "sandbox_error", "cancelled"})

Progress = Callable[[int, int, str], None]  # (done, total, what) -> None


@dataclass
class Counters:
    """What a run really did (tests assert on these; `scan --json` reports them)."""

    compiles: int = 0  # candidates handed to the sandbox (each is compiled at least once)
    sandbox_calls: int = 0  # sandbox.verify calls (one per kernel and batch)
    model_calls: int = 0  # propose_with_model calls (each may make several HTTP requests)
    cached_results: int = 0  # candidate results served from the cache
    model_status: list[str] = field(default_factory=list)  # the model server's health lines, once each

    def as_dict(self) -> dict[str, int]:
        return {"compiles": self.compiles, "sandbox_calls": self.sandbox_calls, "model_calls": self.model_calls,
                "cached_results": self.cached_results}


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str  # one line


@dataclass(frozen=True)
class FileReport:
    path: str
    language: Language
    source: bytes  # the text the positions refer to (the JSON report converts them to UTF-16)
    loops: tuple[LoopReport, ...]
    errors: tuple[str, ...] = ()
    # Candidates proposed but not verified (--no-verify, untrusted workspace), by loop id.
    unverified: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanReport:
    host: HostIdentity
    isas: tuple[str, ...]  # the ISAs candidates were proposed for
    toolchain: Toolchain | None  # None when nothing was to be compiled
    files: tuple[FileReport, ...]
    skipped: tuple[SkippedFile, ...]
    cache: CacheStats
    cache_info: CacheInfo | None
    counters: Counters
    verified: bool  # False: --no-verify or untrusted (nothing compiled or run)
    bench: bool
    quick: bool
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------
# The host and the toolchain
# --------------------------------------------------------------------------------------------------


@functools.cache
def host_identity() -> HostIdentity:
    """This machine's CPU model and ISA extensions."""
    cpu = host_cpu()
    return HostIdentity(cpu.model, cpu.isa)


def host_runs(host: HostIdentity, isa: str) -> bool:
    return HostCpu(host.cpu_model, host.isa).runs(isa)


def target_isas(settings: Settings, host: HostIdentity | None = None) -> tuple[str, ...]:
    """"auto": every ISA of AUTO_ISAS the host runs; otherwise the one asked for."""
    if settings.isa != "auto":
        return (settings.isa,)
    host = host or host_identity()
    return tuple(isa for isa in AUTO_ISAS if host_runs(host, isa))


_COMPILERS: dict[str, tuple[str, str]] = {}


async def _compiler_identity(name: str) -> tuple[str, str]:
    """(resolved path, version) of the compiler the sandbox picks for `name` ("" = its default)."""
    if name not in _COMPILERS:
        from simdlens.sandbox.compiler import find_toolchain

        found = await find_toolchain(name)
        _COMPILERS[name] = (os.path.realpath(found.cc), found.version) if found else (name or "no compiler", "")
    return _COMPILERS[name]


async def toolchain_for(settings: Settings, kernel: Kernel | None = None, sandbox: Any = None) -> Toolchain:
    """The compiler and the user's flags a result for `kernel` is produced with (as the sandbox builds it)."""
    user = (sandbox.user_flags(kernel) if kernel is not None and hasattr(sandbox, "user_flags")
            else compile_flags(settings, kernel.path if kernel is not None else ""))
    if user.compiler:  # the database's compiler never runs outside the sandbox: identified by its file
        path, version = user.compiler, _file_identity(user.compiler)
    else:
        path, version = await _compiler_identity(settings.compiler)
    flags = (*user.user_args(), *(f"-I{d}" for d in user.include_dirs))
    if not hasattr(sandbox, "user_flags"):
        flags = (*flags, *settings.extra_flags)
    return Toolchain(path, version, tuple(flags))


def _file_identity(path: str) -> str:
    """A compiler's identity without running it: its size, mtime and inode."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"file {st.st_size}-{st.st_mtime_ns}-{st.st_ino}"


def compile_flags(settings: Settings, path: str) -> CompileFlags:
    """The file's flags from compile_commands.json (allow-listed only), or none: one cached read of the
    database, shared with the sandbox."""
    return flags_for_file(path, settings.compile_commands_dir, settings.allowed_compilers)


# --------------------------------------------------------------------------------------------------
# Analysis (synchronous, fast)
# --------------------------------------------------------------------------------------------------


def analyze_document(source: bytes, path: str, language: Language, settings: Settings,
                     facts_cache: Path | None = None) -> FileAnalysis:
    """Parse and analyse one document: loops, verdicts with reasons, kernels. No compiling.
    `facts_cache`: the result cache's directory, where clang's facts are kept across runs too."""
    from simdlens.analysis import analyze_file
    from simdlens.analysis.clang_facts import flag_arguments, semantic_facts

    flags = compile_flags(settings, path)
    # clang's pass (types, macro expansions, declarations) once per file; cached by content and flags
    facts = semantic_facts(source, path, language, **flag_arguments(flags),
                           disk=facts_cache / "semantic-facts" if facts_cache is not None else None)
    return analyze_file(source, path, language, include_dirs=flags.include_dirs, defines=flags.define_map(),
                        defines_complete=flags.defines_complete, facts=facts)


# --------------------------------------------------------------------------------------------------
# Proposals and verification of one loop (asynchronous)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LoopOutcome:
    report: LoopReport
    unverified: tuple[Candidate, ...] = ()


async def verify_loop(analysis: Analysis, kernel: Kernel | None, source: bytes, settings: Settings,
                      store: ResultStore, sandbox: Verifier | None, *, bypass_cache: bool = False,
                      bench: bool = True, quick: bool = False, counters: Counters | None = None,
                      priority: int = 0) -> LoopReport:
    """Propose rewrites for one loop and verify (and measure) them, the cache in front of the sandbox.

    `bypass_cache` re-verifies even when a result is stored (the new result replaces it).
    `priority` orders the sandbox's queue (higher first: the loop under the cursor).
    `sandbox` may be None only when `settings.trusted` is False (nothing is compiled then).
    """
    outcome = await _process_loop(analysis, kernel, source, settings, store, sandbox, bypass_cache=bypass_cache,
                                  bench=bench, quick=quick, verify=True, counters=counters or Counters(),
                                  priority=priority)
    return outcome.report


def worth_verifying(analysis: Analysis, kernel: Kernel | None) -> bool:
    return kernel is not None and analysis.verdict != LoopVerdict.NOT_VECTORIZABLE


async def _process_loop(analysis: Analysis, kernel: Kernel | None, source: bytes, settings: Settings,
                        store: ResultStore, sandbox: Verifier | None, *, bypass_cache: bool, bench: bool,
                        quick: bool, verify: bool, counters: Counters, priority: int = 0) -> _LoopOutcome:
    if kernel is None or not worth_verifying(analysis, kernel):
        return _LoopOutcome(LoopReport(analysis, kernel))  # the caller says why there is no kernel
    host = host_identity()
    isas = target_isas(settings, host)
    notes: list[str] = []
    if not isas:
        notes.append("proposals: this CPU runs neither AVX2 nor AVX-512: nothing to propose (use --isa to choose one)")
    can_run = verify and settings.trusted and sandbox is not None
    candidates: list[Candidate] = []
    asked: set[str] = set()  # the ISAs the model was asked for before verification
    for isa in isas:
        # Rules take milliseconds but read compile_commands.json the first time: off the server's event loop.
        found, isa_notes = await asyncio.to_thread(_rule_candidates, analysis, kernel, isa, settings, source)
        notes.extend(isa_notes)
        if settings.model.enabled and (not found or settings.model.alternatives):
            asked.add(isa)
            if can_run:
                assert sandbox is not None
                model_found, model_notes = await _model_candidates(analysis, kernel, isa, settings, source, store,
                                                                   sandbox, bypass_cache, counters)
                found.extend(model_found)
                notes.extend(model_notes)
            else:
                notes.append(f"model: not asked for {isa}: its rewrites could not be verified in this run")
        candidates.extend(found)
    if not can_run:
        why = "workspace not trusted" if not settings.trusted else "verification disabled (--no-verify)"
        if candidates:
            notes.append(f"verification: {len(candidates)} rewrite(s) proposed but not verified: {why}")
        return _LoopOutcome(LoopReport(analysis, kernel, (), tuple(_dedupe(notes))), tuple(candidates))
    assert sandbox is not None
    options = {"priority": priority} if priority else None
    results = await verify_candidates(kernel, candidates, settings, store, sandbox, host,
                                   bypass_cache=bypass_cache, bench=bench, quick=quick, counters=counters,
                                   options=options)
    late = [isa for isa in isas if isa not in asked] if settings.model.enabled and rules_left_room(results, bench) else []
    extra: list[Candidate] = []
    for isa in late:  # the rules' rewrites did not beat the compiler: where the model can still help
        model_found, model_notes = await _model_candidates(analysis, kernel, isa, settings, source, store, sandbox,
                                                           bypass_cache, counters)
        extra.extend(model_found)
        notes.extend(model_notes)
    if extra:
        results = (*results, *await verify_candidates(kernel, extra, settings, store, sandbox, host,
                                                      bypass_cache=bypass_cache, bench=bench, quick=quick,
                                                      counters=counters, options=options))
    return _LoopOutcome(LoopReport(analysis, kernel, results, tuple(_dedupe(notes))))


def rules_left_room(results: Sequence[CandidateResult], bench: bool) -> bool:
    """Whether the model is still worth asking after the rules' rewrites were verified: none verified,
    or (when they were measured) none faster than -O3 -march=native."""
    verified = [r for r in results if r.verdict.status is Status.VERIFIED]
    if not verified:
        return True
    return bench and not any(is_win(r) for r in verified)


def _without_kernel(analysis: Analysis, fa: FileAnalysis) -> LoopReport:
    """The report of a loop that was not verified: a vectorizable one says why it has no kernel."""
    kernel = fa.kernels.get(analysis.site.loop_id)
    if analysis.verdict == LoopVerdict.NOT_VECTORIZABLE or kernel is not None:
        return LoopReport(analysis, kernel)
    from simdlens.analysis import why_no_kernel

    return LoopReport(analysis, None, notes=(f"kernel: {why_no_kernel(fa.kernels, analysis.site.loop_id)}",))


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _rule_candidates(analysis: Analysis, kernel: Kernel, isa: str, settings: Settings,
                     source: bytes) -> tuple[list[Candidate], list[str]]:
    try:
        from simdlens.rules import propose
    except ImportError:
        return [], ["rules: the rule engine is not available in this build"]
    try:
        user_flags = (*compile_flags(settings, analysis.site.path).user_args(), *settings.extra_flags)
        proposal = propose(analysis, kernel, isa, settings, source=source, user_flags=user_flags)
    except Exception as exc:  # a rule-engine bug must cost one loop, not the scan
        log.warning("rules failed on %s:%d: %s", analysis.site.path, analysis.site.span.start.line + 1, exc)
        log.debug("rules failure", exc_info=True)
        return [], [f"rules: internal error ({exc.__class__.__name__})"]
    return list(proposal.candidates), [str(n) for n in proposal.notes]


async def _model_candidates(analysis: Analysis, kernel: Kernel, isa: str, settings: Settings, source: bytes,
                            store: ResultStore, sandbox: Verifier, bypass_cache: bool,
                            counters: Counters) -> tuple[list[Candidate], list[str]]:
    try:
        from simdlens.model import propose_with_model
        from simdlens.model.splice import splice_edits
    except ImportError:
        return [], ["model: the model client is not available in this build"]
    key = proposal_key(kernel, isa, settings.model, settings.allow_contraction)
    if not bypass_cache:
        stored = await asyncio.to_thread(store.get_proposal, key)  # a cache read: off the event loop
        if stored is not None:
            # Edits depend on where the loop is now (it may have moved): splice them afresh.
            found, notes = [], list(stored.notes)
            for cand in stored.candidates:
                edits = splice_edits(kernel, cand, guard=settings.guard, source=source)
                if edits is None:
                    notes.append("model: verified rewrite cannot be spliced into the file automatically")
                found.append(replace(cand, edits=edits or ()))
            return found, _dedupe(notes)
    counters.model_calls += 1
    verifier = CachedVerifier(sandbox, store, settings, counters)
    try:
        proposal = await propose_with_model(kernel, analysis, isa, settings, verifier, source=source)
    except Exception as exc:  # a down or confused model server costs this loop's model rewrites only
        log.warning("model failed on %s:%d: %s", analysis.site.path, analysis.site.span.start.line + 1, exc)
        return [], [f"model: {exc.__class__.__name__}: {exc}"]
    found = list(getattr(proposal, "candidates", ()))
    notes = [str(n) for n in getattr(proposal, "notes", ())]
    status = getattr(proposal, "status_line", "")
    if status and status not in counters.model_status:  # the model's health: said once per run, not per loop
        counters.model_status.append(status)
        log.warning("model: %s", status)
    if not _model_failed(proposal):  # a server that was down is asked again next time
        await asyncio.to_thread(store.put_proposal, key,
                                StoredProposal(tuple(replace(c, edits=()) for c in found), tuple(notes)))
    return found, notes


def _model_failed(proposal: Any) -> bool:
    """The model server, not the model, decided this proposal (down, auth, protocol error, budget)."""
    attempts = getattr(proposal, "attempts", ())
    if getattr(proposal, "candidates", ()):
        return False
    return not attempts or any(str(a.status) in _MODEL_INFRA_FAILURES for a in attempts)


class Verifier(Protocol):
    """What verification needs from the sandbox (`simdlens.sandbox.Sandbox` is one)."""

    async def verify(self, kernel: Kernel, candidates: list[Candidate], *, bench: bool = ...,
                     quick: bool = ...) -> tuple[CandidateResult, ...]: ...


class CachedVerifier:
    """The sandbox with the cache in front: what the model's repair loop verifies its answers through,
    so an answer already judged is not compiled again, and each compile is counted."""

    def __init__(self, sandbox: Verifier, store: ResultStore, settings: Settings, counters: Counters) -> None:
        self.sandbox = sandbox
        self.store = store
        self.settings = settings
        self.counters = counters

    async def verify(self, kernel: Kernel, candidates: Sequence[Candidate], *, bench: bool = True,
                     quick: bool = False, **options: Any) -> tuple[CandidateResult, ...]:
        """`options` (priority, bypass, on_progress) go to the sandbox unchanged."""
        return await verify_candidates(kernel, candidates, self.settings, self.store, self.sandbox, host_identity(),
                                       bench=bench, quick=quick, counters=self.counters, options=options)


async def verify_candidates(kernel: Kernel, candidates: Sequence[Candidate], settings: Settings, store: ResultStore,
                            sandbox: Verifier, host: HostIdentity | None = None, *, bypass_cache: bool = False,
                            bench: bool = True, quick: bool = False, counters: Counters | None = None,
                            options: dict[str, Any] | None = None) -> tuple[CandidateResult, ...]:
    """Each candidate's result: from the cache when its verdict (and, with `bench`, its measurement on
    this CPU with this compiler) is stored, else from the sandbox, whose answers are then stored."""
    if not candidates:
        return ()
    host = host or host_identity()
    counters = counters if counters is not None else Counters()
    toolchain = await toolchain_for(settings, kernel, sandbox)
    results: dict[int, CandidateResult] = {}
    keys: dict[int, tuple[str, str]] = {}
    to_run: list[int] = []

    def lookup() -> list[CandidateResult | None]:  # hashing and cache reads: off the event loop
        found: list[CandidateResult | None] = []
        for i, cand in enumerate(candidates):
            vkey = verdict_key(kernel, cand, toolchain, host.isa, settings.sandbox, settings.allow_contraction)
            mkey = measurement_key(vkey, host.cpu_model, settings.bench, quick)
            keys[i] = (vkey, mkey)
            found.append(None if bypass_cache else _cached_result(cand, vkey, mkey, store, host, bench))
        return found

    for i, cached in enumerate(await asyncio.to_thread(lookup)):
        if cached is None:
            to_run.append(i)
        else:
            results[i] = cached
            counters.cached_results += 1
    if to_run:
        batch = [candidates[i] for i in to_run]
        counters.compiles += len(batch)
        counters.sandbox_calls += 1
        fresh = await sandbox.verify(kernel, batch, bench=bench, quick=quick, **(options or {}))
        by_key = {r.candidate.key: r for r in fresh}
        writes: list[Callable[[], None]] = []
        for i in to_run:
            cand = candidates[i]
            result = by_key.get(cand.key)
            if result is None:
                continue  # the sandbox dropped it (cancelled): neither shown nor remembered
            results[i] = replace(result, candidate=cand, cached=False)
            vkey, mkey = keys[i]
            if result.verdict.status not in _TRANSIENT:
                writes.append(functools.partial(store.put_verdict, vkey, result.verdict))
            if result.measurement is not None and result.verdict.status == Status.VERIFIED:
                writes.append(functools.partial(store.put_measurement, mkey, result.measurement))
        if writes:  # cache writes: off the event loop
            await asyncio.to_thread(lambda: [write() for write in writes])
    return tuple(results[i] for i in sorted(results))


def _cached_result(cand: Candidate, vkey: str, mkey: str, store: ResultStore, host: HostIdentity,
                   bench: bool) -> CandidateResult | None:
    verdict = store.get_verdict(vkey)
    if verdict is None:
        return None
    if verdict.status != Status.VERIFIED or not bench:
        return CandidateResult(cand, verdict, None, cached=True)
    measurement = store.get_measurement(mkey)
    # A speedup is only quoted for the CPU it was measured on (the key says so; the record double-checks).
    if measurement is None or (measurement.cpu and measurement.cpu != host.cpu_model):
        return None
    return CandidateResult(cand, verdict, measurement, cached=True)


# --------------------------------------------------------------------------------------------------
# Scanning files and trees
# --------------------------------------------------------------------------------------------------


def collect_files(paths: Sequence[str], language: str | None, header_language: str
                  ) -> tuple[list[tuple[str, Language]], list[SkippedFile]]:
    """The C/C++ files under `paths` (directories recursively, hidden ones skipped), sorted.

    A file named explicitly is parsed even with an unusual extension when `--lang` says how.
    """
    files: list[tuple[str, Language]] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()

    def add(path: Path, explicit: bool) -> None:
        key = os.path.realpath(path)
        if key in seen:
            return
        by_name = language_for(path, None, header_language)
        lang = language_for(path, language, header_language) if (by_name or explicit) else None
        if lang is None:
            if explicit:
                skipped.append(SkippedFile(str(path), "not a C/C++ file (use --lang c|cpp to scan it anyway)"))
            return
        if not is_regular_file(path):  # a FIFO named x.c would block the read; /proc never ends
            skipped.append(SkippedFile(str(path), "not a regular file (a FIFO, device, socket or /proc file)"))
            return
        seen.add(key)
        files.append((str(path), lang))

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            def unreadable(exc: OSError) -> None:
                skipped.append(SkippedFile(str(exc.filename), f"unreadable directory ({exc.strerror})"))

            for root, dirs, names in os.walk(p, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith("."):
                        add(Path(root) / name, explicit=False)
        elif p.exists():
            add(p, explicit=True)
        else:
            skipped.append(SkippedFile(raw, "no such file or directory"))
    return files, skipped


def scan_roots(paths: Sequence[str]) -> tuple[str, ...]:
    """The workspace roots of a scan: each scanned directory (a file's own directory), widened to the
    current directory or the git work tree holding it when only the user may write there (never a
    shared /tmp). A compile_commands.json above these is used only when configured explicitly."""
    roots: list[str] = []
    cwd = os.path.realpath(os.getcwd())
    for raw in paths:
        real = os.path.realpath(raw)
        base = real if os.path.isdir(real) else os.path.dirname(real)
        roots.append(base)
        for wider in (cwd, _git_top(base)):
            if wider and (base == wider or base.startswith(wider.rstrip("/") + "/")) and _private_dir(wider):
                roots.append(wider)
    return tuple(dict.fromkeys(roots))


def _git_top(directory: str) -> str:
    here = Path(directory)
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return str(d)
    return ""


def _private_dir(directory: str) -> bool:
    """Owned by this user and writable by no one else (a shared /tmp is not a workspace root)."""
    try:
        st = os.stat(directory)
    except OSError:
        return False
    return directory != "/" and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def read_source(path: str) -> bytes | str:
    """The file's bytes, or a one-line reason why it is not analysed."""
    try:
        data = read_workspace_file(path, MAX_SOURCE_BYTES)
    except UnreadableFile as exc:
        return str(exc)
    reason = check_source(data, path)
    return reason if reason is not None else data


async def scan_async(paths: Sequence[str], settings: Settings, *, store: ResultStore, sandbox: Verifier | None = None,
                     progress: Progress | None = None, verify: bool = True, bench: bool = True,
                     quick: bool = False, language: str | None = None) -> ScanReport:
    """Scan files and directories; see `scan`."""
    with scoped_workspace_roots(scan_roots(paths)):  # also for the tasks and threads started below
        return await _scan_async(paths, settings, store=store, sandbox=sandbox, progress=progress, verify=verify,
                                 bench=bench, quick=quick, language=language)


async def _scan_async(paths: Sequence[str], settings: Settings, *, store: ResultStore, sandbox: Verifier | None,
                      progress: Progress | None, verify: bool, bench: bool, quick: bool,
                      language: str | None) -> ScanReport:
    counters = Counters()
    host = host_identity()
    isas = target_isas(settings, host)
    files, skipped = collect_files(paths, language, settings.header_language)
    runs = verify and settings.trusted
    own_sandbox = runs and sandbox is None
    if own_sandbox:
        from simdlens.sandbox import Sandbox

        sandbox = Sandbox(settings)
    notes: list[str] = []
    if not settings.trusted:
        notes.append("workspace not trusted: nothing was compiled or run")
    elif not verify:
        notes.append("verification disabled (--no-verify): rewrites are listed but not verified")

    analysed: list[tuple[str, Language, bytes, FileAnalysis]] = []
    for path, lang in files:
        data = read_source(path)
        if isinstance(data, str):
            skipped.append(SkippedFile(path, data))
            continue
        try:
            analysed.append((path, lang, data, analyze_document(data, path, lang, settings, store.path)))
        except Exception as exc:  # an analyser bug costs one file, reported in one line
            log.debug("analysis failed for %s", path, exc_info=True)
            skipped.append(SkippedFile(path, f"analysis failed ({exc.__class__.__name__}: {exc})"))

    jobs = [(fi, a) for fi, (_, _, _, fa) in enumerate(analysed) for a in fa.analyses
            if worth_verifying(a, fa.kernels.get(a.site.loop_id))]
    total = len(jobs)
    done = 0
    if progress is not None:
        progress(0, total, "verifying" if runs else "proposing")

    async def one(analysis: Analysis, fa: FileAnalysis, source: bytes) -> _LoopOutcome:
        nonlocal done
        try:
            return await _process_loop(analysis, fa.kernels.get(analysis.site.loop_id), source, settings, store,
                                       sandbox, bypass_cache=False, bench=bench, quick=quick, verify=verify,
                                       counters=counters)
        except Exception as exc:  # one loop's failure is that loop's note, not the scan's end
            log.warning("%s:%d: %s", analysis.site.path, analysis.site.span.start.line + 1, exc)
            log.debug("loop failure", exc_info=True)
            report = LoopReport(analysis, fa.kernels.get(analysis.site.loop_id),
                                notes=(f"pipeline: internal error: {exc.__class__.__name__}: {exc}",))
            return _LoopOutcome(report)
        finally:
            done += 1
            if progress is not None:
                progress(done, total, f"{analysis.site.path}:{analysis.site.span.start.line + 1}")

    try:
        outcomes = await asyncio.gather(*(one(a, analysed[fi][3], analysed[fi][2]) for fi, a in jobs))
    finally:  # also on Ctrl-C: the sandbox kills what it runs and removes its build directory
        close = getattr(sandbox, "close", None) if own_sandbox else None
        if close is not None:
            await close()
    by_loop = {(fi, a.site.loop_id): o for (fi, a), o in zip(jobs, outcomes, strict=True)}

    reports: list[FileReport] = []
    for fi, (path, lang, data, fa) in enumerate(analysed):
        loops: list[LoopReport] = []
        unverified: dict[str, tuple[Candidate, ...]] = {}
        for a in fa.analyses:
            outcome = by_loop.get((fi, a.site.loop_id))
            if outcome is None:
                loops.append(_without_kernel(a, fa))
                continue
            loops.append(outcome.report)
            if outcome.unverified:
                unverified[a.site.loop_id] = outcome.unverified
        reports.append(FileReport(path, lang, data, tuple(loops), tuple(fa.errors), unverified))
    toolchain = await toolchain_for(settings) if runs else None
    skipped.sort(key=lambda s: s.path)
    notes.extend(f"model: {line}" for line in counters.model_status)
    return ScanReport(host, isas, toolchain, tuple(reports), tuple(skipped), store.stats, None, counters,
                      verified=runs, bench=bench and runs, quick=quick, notes=tuple(notes))


def scan(paths: Sequence[str], settings: Settings, progress: Progress | None = None, *,
         store: ResultStore | None = None, use_cache: bool = True, verify: bool = True, bench: bool = True,
         quick: bool = False, language: str | None = None) -> ScanReport:
    """Scan files and directories: analyse every loop, propose, verify and measure rewrites.

    Opens (and closes) the result cache at `settings.cache_path` unless a `store` is given.
    """
    own = store is None
    store = store or ResultStore.open(settings, enabled=use_cache)
    try:
        report = asyncio.run(scan_async(paths, settings, store=store, progress=progress, verify=verify,
                                        bench=bench, quick=quick, language=language))
        return replace(report, cache_info=store.info(), notes=(*report.notes, *store.notes))
    finally:
        if own:
            store.close()
