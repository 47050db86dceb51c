"""Compilers: find gcc/clang, compile and link inside the sandbox, keep a precompiled immintrin.h,
and turn compiler output into structured diagnostics.

Builds (the flag sets themselves are put together in `sandbox.run`; "user flags" are the file's
allow-listed compile_commands.json flags plus `Settings.extra_flags`, default -O2):

    check   reference  user flags + -fwrapv + the candidate's sanitizers (ASAN_CANDIDATE), so the
                       original's own undefined behaviour is blamed on the kernel, not a candidate
            candidate  user flags + ISA flags + -fwrapv + ASAN_CANDIDATE: -fsanitize=address,undefined
                       minus signed-overflow/shift checks (wrapping is what SIMD integer ops do);
                       -ffp-contract=off unless contraction is declared or allowed
            driver     -O0 + ASAN_REF (-fsanitize=address): its compile time matters more than its speed
    bench   scalar     -O3 -fno-tree-vectorize   (clang: -O3 -fno-vectorize -fno-slp-vectorize)
            user       the user flags
            native     -O3 -march=native          (what the compiler's own vectorizer gives)
            candidate  user flags + ISA flags (+ -ffp-contract=off as above)
            driver     -O2

Every bench build also gets ALIGN_FLAGS (-falign-functions=64 -falign-loops=64): code layout alone
moves the ratios.

Including immintrin.h dominates a candidate's compile: gcc 12 ~0.65 s without and ~0.1 s with a
precompiled header, clang 19 ~0.3-0.4 s / ~0.1 s (one small AVX2 function, -O2 -mavx2 -mfma, outside
the sandbox, mean of 10 compiles on the 2-core development VM under a load of ~5). So candidate builds
use one PCH per (compiler, language, flag set without -D/-U), built once inside the sandbox and kept
in the cache directory. A PCH the compiler rejects means a plain retry, never a compile error for the
candidate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from simdlens.compile_db import CompileFlags, sanitize_arguments
from simdlens.core import CompileDiagnostic
from simdlens.sandbox.isolate import Isolation, Limits, Mount

log = logging.getLogger(__name__)

ALIGN_FLAGS = ("-falign-functions=64", "-falign-loops=64")
ASAN_REF = ("-fsanitize=address", "-fno-omit-frame-pointer")
ASAN_CANDIDATE = ("-fsanitize=address,undefined", "-fno-sanitize=signed-integer-overflow,shift",
                  "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
PCH_HEADER = "simdlens_pch.h"
MAX_DIAGNOSTICS = 20

_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? ?(?P<sev>fatal error|error|Error|warning|Warning): (?P<msg>.*)$")
_PCH_TROUBLE = re.compile(r"AST file|precompiled header|PCH file|\.gch|\.pch")
_LINK = re.compile(r"(undefined reference to .*|multiple definition of .*|ld returned .*|cannot find .*)$")


@dataclass(frozen=True)
class Toolchain:
    cc: str  # absolute path of the C compiler
    cxx: str  # the matching C++ compiler
    family: str  # "gcc" or "clang"
    version: str  # "gcc 12.2.0"

    def driver(self, language: str) -> str:
        return self.cxx if language == "cpp" else self.cc

    @property
    def mounts(self) -> tuple[Mount, ...]:
        """Directories outside /usr the compiler needs, bound read-only at the same path."""
        out: list[Mount] = []
        for exe in (self.cc, self.cxx):
            real = Path(os.path.realpath(exe))
            if not str(real).startswith("/usr/"):
                prefix = real.parent.parent
                out.append(Mount(prefix, str(prefix)))
        return tuple(dict.fromkeys(out))

    def scalar_flags(self) -> tuple[str, ...]:
        if self.family == "clang":
            return ("-O3", "-fno-vectorize", "-fno-slp-vectorize")
        return ("-O3", "-fno-tree-vectorize")


def _cxx_for(cc: str) -> str:
    base = os.path.basename(cc)
    for c_name, cxx_name in (("clang", "clang++"), ("gcc", "g++"), ("cc", "c++")):
        if base.startswith(c_name) and not base.startswith(cxx_name):
            candidate = os.path.join(os.path.dirname(cc), cxx_name + base[len(c_name):])
            if os.path.exists(candidate):
                return candidate
    return cc


async def _version(cc: str) -> tuple[str, str] | None:
    try:
        proc = await asyncio.create_subprocess_exec(
            cc, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
    except (TimeoutError, OSError):
        return None
    if proc.returncode != 0:
        return None
    first = out.decode(errors="replace").splitlines()[0] if out else ""
    number = re.search(r"(\d+\.\d+(\.\d+)?)", first)
    family = "clang" if "clang" in first.lower() else "gcc"
    return family, f"{family} {number.group(1) if number else '?'}"


async def find_toolchain(preferred: str = "") -> Toolchain | None:
    """The compiler named in the settings (a name on PATH or a path), else gcc, else clang."""
    names = [preferred] if preferred else ["gcc", "clang", *(f"clang-{v}" for v in range(21, 13, -1))]
    for name in names:
        path = shutil.which(name)
        if path is None:
            continue
        probed = await _version(path)
        if probed is not None:
            family, version = probed
            return Toolchain(cc=path, cxx=_cxx_for(path), family=family, version=version)
    return None


async def list_compilers() -> list[Toolchain]:
    """Every gcc/clang found on PATH (for `simdlens doctor`)."""
    seen: set[str] = set()
    found: list[Toolchain] = []
    for name in ["gcc", "clang", *(f"clang-{v}" for v in range(21, 13, -1)), *(f"gcc-{v}" for v in range(15, 9, -1))]:
        path = shutil.which(name)
        if path is None or os.path.realpath(path) in seen:
            continue
        seen.add(os.path.realpath(path))
        probed = await _version(path)
        if probed:
            found.append(Toolchain(cc=path, cxx=_cxx_for(path), family=probed[0], version=probed[1]))
    return found


def candidate_flags(flags: tuple[str, ...]) -> tuple[str, ...]:
    """A candidate's own compile flags through the same allow-list as compile_commands.json."""
    clean = sanitize_arguments(list(flags))
    return clean.flags


def language_flags(language: str, user: CompileFlags) -> tuple[str, ...]:
    lang = ("-Drestrict=__restrict",) if language == "cpp" else ()
    return (*lang, *((user.std,) if user.std else ()))


@dataclass(frozen=True)
class CompileOutcome:
    ok: bool
    diagnostics: tuple[CompileDiagnostic, ...] = ()
    stderr: str = ""
    seconds: float = 0.0


def parse_diagnostics(text: str) -> tuple[CompileDiagnostic, ...]:
    """Errors from gcc/clang/as/ld output, with lines mapped into the candidate's function text.

    The variant TU marks the candidate's function with `#line 1 "function"` and its support code
    with `#line 1 "support"`; anything else is the kernel's preamble or simdlens's wrapper."""
    out: list[CompileDiagnostic] = []
    for raw in text.splitlines():
        m = _DIAG.match(raw.strip())
        if m:
            sev = m["sev"].lower().replace("fatal ", "")
            if sev != "error":
                continue
            file, line, col, msg = m["file"], int(m["line"]), int(m["col"] or 0), m["msg"].strip()
            if file.endswith("function"):
                out.append(CompileDiagnostic(line, col, "error", msg))
            elif file.endswith("support"):
                out.append(CompileDiagnostic(0, 0, "error", f"support code line {line}: {msg}"))
            elif file.endswith("simdlens-wrapper"):
                out.append(CompileDiagnostic(0, 0, "error", f"the function does not match the kernel's signature: {msg}"))
            elif file.endswith((".s", "input}")) or "Assembler" in file:
                out.append(CompileDiagnostic(0, 0, "error", f"assembler: {msg}"))
            else:
                out.append(CompileDiagnostic(0, 0, "error", f"{os.path.basename(file)} line {line}: {msg}"))
        else:
            link = _LINK.search(raw)
            if link and "ld returned" not in raw:
                out.append(CompileDiagnostic(0, 0, "error", f"link: {link.group(1).strip()}"))
        if len(out) >= MAX_DIAGNOSTICS:
            break
    return tuple(out)


class Compiler:
    """Runs one toolchain inside the isolation, on files of one build directory mounted at /sb."""

    def __init__(self, toolchain: Toolchain, isolation: Isolation, limits: Limits, pch_root: Path, pch_cache: Path | None) -> None:
        self.toolchain = toolchain
        self.isolation = isolation
        self.limits = limits
        self.pch_root = pch_root  # per-Sandbox directory the sandboxed compiler can read
        self.pch_cache = pch_cache  # persistent copy across runs (None = do not keep)
        self._pch_tasks: dict[str, asyncio.Task[str | None]] = {}

    def _mounts(self, build_dir: Path, writable: bool) -> tuple[Mount, ...]:
        return (Mount(build_dir, "/sb", writable), Mount(self.pch_root, "/pch"), *self.toolchain.mounts)

    def path(self, build_dir: Path, name: str) -> str:
        return f"{self.isolation.path(Mount(build_dir, '/sb'))}/{name}"

    async def compile(self, build_dir: Path, source: str, obj: str, language: str, flags: tuple[str, ...],
                      *, pch: bool = False, mounts: tuple[Mount, ...] = ()) -> CompileOutcome:
        """Compile build_dir/source to build_dir/obj (names relative to the build directory); `mounts`:
        the user's source and include directories, read-only, for a kernel built in the user's file context."""
        include: tuple[str, ...] = ()
        if pch:
            header = await self.pch(language, flags)
            if header:
                include = ("-include", header)
        lang = ("-x", "c++" if language == "cpp" else "c")
        argv = [self.toolchain.driver(language), "-c", *self._quiet(), *lang, *flags, *include,
                "-o", self.path(build_dir, obj), self.path(build_dir, source)]
        outcome = await self._run(argv, build_dir, mounts)
        if include and not outcome.ok and _PCH_TROUBLE.search(outcome.stderr):  # never blame the candidate
            log.info("precompiled header rejected; compiling without it")
            return await self.compile(build_dir, source, obj, language, flags, mounts=mounts)
        return outcome

    async def link(self, build_dir: Path, objs: tuple[str, ...], exe: str, language: str, flags: tuple[str, ...]) -> CompileOutcome:
        fast_ld = ("-fuse-ld=gold",) if self.toolchain.family == "gcc" and shutil.which("ld.gold") else ()  # links ASan binaries 3x faster than bfd
        argv = [self.toolchain.driver(language), *self._quiet(), *fast_ld, *(self.path(build_dir, o) for o in objs),
                "-o", self.path(build_dir, exe), *flags, "-lm"]
        return await self._run(argv, build_dir)

    def _quiet(self) -> tuple[str, ...]:
        if self.toolchain.family == "clang":
            return ("-fno-color-diagnostics", "-fno-caret-diagnostics")
        return ("-fdiagnostics-plain-output", "-fdiagnostics-color=never")

    async def _run(self, argv: list[str], build_dir: Path, extra: tuple[Mount, ...] = ()) -> CompileOutcome:
        mounts = (*self._mounts(build_dir, writable=True), *extra)
        result = await self.isolation.run(argv, mounts=mounts, cwd=mounts[0], limits=self.limits)
        log.debug("%s: %.3f s", os.path.basename(argv[-1]) if "-c" in argv else "link " + os.path.basename(argv[argv.index("-o") + 1]), result.wall)
        text = result.stderr.decode(errors="replace")
        if result.timed_out or result.cpu_exceeded:
            diag = (CompileDiagnostic(0, 0, "error", "the compiler exceeded its time limit"),)
            return CompileOutcome(False, diag, text, result.wall)
        if result.returncode == 0:
            return CompileOutcome(True, (), text, result.wall)
        diags = parse_diagnostics(text)
        if not diags:
            last = [ln for ln in text.splitlines() if ln.strip()]
            diags = (CompileDiagnostic(0, 0, "error", last[-1][:300] if last else f"compiler failed ({result.returncode or result.signal})"),)
        return CompileOutcome(False, diags, text, result.wall)

    async def pch(self, language: str, flags: tuple[str, ...]) -> str | None:
        """Inside path of a header whose precompiled form matches `flags`, or None."""
        relevant = tuple(f for f in flags if not f.startswith(("-D", "-U")))
        key = hashlib.sha256("\0".join((self.toolchain.cc, self.toolchain.version, language, *relevant)).encode()).hexdigest()[:20]
        task = self._pch_tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(self._build_pch(key, language, relevant))
            self._pch_tasks[key] = task
        return await asyncio.shield(task)

    async def _build_pch(self, key: str, language: str, flags: tuple[str, ...]) -> str | None:
        directory = self.pch_root / key
        # gcc and clang both pick up "<header>.gch" / "<header>.pch" for `-include <header>`.
        header, gch = directory / PCH_HEADER, directory / (PCH_HEADER + (".pch" if self.toolchain.family == "clang" else ".gch"))
        inside = f"{self.isolation.path(Mount(self.pch_root, '/pch'))}/{key}/{PCH_HEADER}"
        directory.mkdir(parents=True, exist_ok=True)
        header.write_text("#include <immintrin.h>\n", encoding="utf-8")
        cached = self.pch_cache / key / gch.name if self.pch_cache else None
        if cached is not None and cached.is_file():
            try:
                os.link(cached, gch)  # 25 MB: a hard link when the cache is on the same file system
                return inside
            except OSError:
                try:
                    await asyncio.to_thread(shutil.copyfile, cached, gch)
                    return inside
                except OSError:
                    pass
        self.isolation.prepare_dir(directory)
        lang = ["-x", "c++-header"] if language == "cpp" else ["-x", "c-header"]
        argv = [self.toolchain.driver(language), *lang, *flags, "-o", f"/pch/{key}/{gch.name}" if self.isolation.sandboxed else str(gch),
                f"/pch/{key}/{PCH_HEADER}" if self.isolation.sandboxed else str(header)]
        mounts = (Mount(self.pch_root, "/pch", writable=True), *self.toolchain.mounts)
        result = await self.isolation.run(argv, mounts=mounts, cwd=mounts[0], limits=self.limits)
        if result.returncode != 0 or not gch.is_file():
            log.info("precompiled header not built (%s); compiling without", result.stderr.decode(errors="replace")[-200:])
            return None
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_name(f"{cached.name}.{os.getpid()}.partial")
                await asyncio.to_thread(shutil.copyfile, gch, partial)
                os.replace(partial, cached)  # atomic: others may hold hard links to the old one
            except OSError:
                pass
        return inside
