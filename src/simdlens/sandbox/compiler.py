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
            candidate  user flags + ISA flags (+ -ffp-contract=off as above), and again with the user's
                       -O level replaced by -O3 -march=native (bench.py: the lower ratio is judged)
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


# Where a toolchain may live: these are bound read-only into the sandbox (/usr always; one
# /opt/<name> per toolchain installed there). A compiler anywhere else is not run in the sandbox.
SYSTEM_TOOLCHAIN_DIRS = ("/usr", "/opt")
PROBE_LIMITS = Limits(cpu_seconds=10, wall_seconds=20.0, output_kb=64)


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
        """The toolchain's own install directory outside /usr (e.g. /opt/gcc-14), bound read-only."""
        return toolchain_mounts((self.cc, self.cxx)) or ()

    def scalar_flags(self) -> tuple[str, ...]:
        if self.family == "clang":
            return ("-O3", "-fno-vectorize", "-fno-slp-vectorize")
        return ("-O3", "-fno-tree-vectorize")


def toolchain_mounts(executables: tuple[str, ...]) -> tuple[Mount, ...] | None:
    """What the sandbox must bind for these compilers: nothing for /usr, `/opt/<name>` for a toolchain
    installed there; None when one of them lives anywhere else or in a directory that is not the
    system's (not root-owned, writable by others, or holding a workspace) - then it is not run."""
    out: list[Mount] = []
    for exe in executables:
        real = os.path.realpath(exe)
        parts = real.split("/")
        if real.startswith("/usr/"):
            prefix = "/usr"
        elif real.startswith("/opt/") and len(parts) > 3:
            prefix = "/".join(parts[:3])
        else:
            return None
        if not _system_owned(real, prefix):
            return None
        if prefix != "/usr":  # /usr is always bound read-only; anything else must hold no workspace
            if _holds_workspace(prefix):
                return None
            out.append(Mount(Path(prefix), prefix))
    return tuple(dict.fromkeys(out))


def _system_owned(real: str, prefix: str) -> bool:
    """Every directory from / to the file, and the file, belong to root and only root may write them."""
    path = Path(real)
    for p in (path, *path.parents):
        try:
            st = p.stat()
        except OSError:
            return False
        if st.st_uid != 0 or st.st_mode & 0o022:
            return False
        if str(p) == "/":
            break
    return real.startswith(prefix + "/")


def _holds_workspace(prefix: str) -> bool:
    """True when a workspace root lies inside `prefix` or `prefix` inside one (binding it would show it)."""
    from simdlens.compile_db import workspace_roots

    return any(root == prefix or root.startswith(prefix + "/") or prefix.startswith(root.rstrip("/") + "/")
               for root in workspace_roots())


def _in_workspace(real: str) -> bool:
    from simdlens.compile_db import workspace_roots

    return any(real == root or real.startswith(root + "/") for root in workspace_roots() if root != "/")


def _cxx_for(cc: str) -> str:
    """The C++ driver next to `cc` (gcc -> g++, x86_64-linux-gnu-gcc-12 -> x86_64-linux-gnu-g++-12)."""
    base = os.path.basename(cc)
    for c_name, cxx_name in (("clang", "clang++"), ("gcc", "g++"), ("cc", "c++")):
        at = base.rfind(c_name)
        if at >= 0 and not base[at:].startswith(cxx_name):
            candidate = os.path.join(os.path.dirname(cc), base[:at] + cxx_name + base[at + len(c_name):])
            if os.path.exists(candidate):
                return candidate
    return cc


async def _version(cc: str, isolation: Isolation | None = None) -> tuple[str, str] | None:
    """(family, "gcc 12.2.0") from `cc --version`: inside the sandbox when `isolation` has one."""
    if isolation is not None and isolation.sandboxed:
        mounts = toolchain_mounts((cc,))
        if mounts is None:
            log.warning("%s: not a system toolchain (outside %s); not run", cc, ", ".join(SYSTEM_TOOLCHAIN_DIRS))
            return None
        try:
            result = await isolation.run([cc, "--version"], mounts=mounts, limits=PROBE_LIMITS)
        except (OSError, RuntimeError):
            return None
        if result.returncode != 0:
            return None
        out = result.stdout
    else:
        if _in_workspace(os.path.realpath(cc)):  # no bubblewrap: only the user's own toolchains run here
            log.warning("%s: inside the workspace; not run outside the sandbox", cc)
            return None
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


async def find_toolchain(preferred: str = "", isolation: Isolation | None = None) -> Toolchain | None:
    """The compiler named in the settings (a name on PATH or a path), else gcc, else clang.

    With a sandboxing `isolation` the compiler must be a system toolchain (`toolchain_mounts`, on its
    resolved path) and its `--version` probe runs inside the sandbox."""
    sandboxed = isolation is not None and isolation.sandboxed
    names = [preferred] if preferred else ["gcc", "clang", *(f"clang-{v}" for v in range(21, 13, -1))]
    for name in names:
        path = shutil.which(name)
        if path is None:
            continue
        if sandboxed:
            path = runnable_name(path)
        probed = await _version(path, isolation)
        if probed is not None:
            family, version = probed
            cxx = _cxx_for(path)
            if sandboxed:
                cxx = runnable_name(cxx)
                if toolchain_mounts((path, cxx)) is None:
                    cxx = path
            return Toolchain(cc=path, cxx=cxx, family=family, version=version)
    return None


def runnable_name(path: str) -> str:
    """The name to run `path` by inside the sandbox: the path itself when each link on its way lives in
    a system directory under /usr or /opt (nobody but root can swap it, and a driver such as clang++ or
    ccache knows what to be by its name), else the resolved file (e.g. via /etc/alternatives, which the
    sandbox does not bind)."""
    current = os.path.abspath(path)
    for _ in range(40):
        directory = os.path.realpath(os.path.dirname(current))
        inside = directory == "/usr" or directory.startswith(("/usr/", "/opt/"))
        if not inside or not _system_owned(directory, ""):
            return os.path.realpath(path)
        if not os.path.islink(current):
            return os.path.abspath(path)
        try:
            current = os.path.normpath(os.path.join(directory, os.readlink(current)))
        except OSError:
            break
    return os.path.realpath(path)


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
        # one section per function: the link drops the user's other functions, and with them their calls
        # into files the sandbox never sees (`dummy(a)` defined elsewhere in the user's program)
        argv = [self.toolchain.driver(language), "-c", *self._quiet(), *lang, *flags, *include,
                "-ffunction-sections", "-fdata-sections", "-o", self.path(build_dir, obj), self.path(build_dir, source)]
        outcome = await self._run(argv, build_dir, mounts)
        if include and not outcome.ok and _PCH_TROUBLE.search(outcome.stderr):  # never blame the candidate
            log.info("precompiled header rejected; compiling without it")
            return await self.compile(build_dir, source, obj, language, flags, mounts=mounts)
        return outcome

    async def link(self, build_dir: Path, objs: tuple[str, ...], exe: str, language: str, flags: tuple[str, ...]) -> CompileOutcome:
        fast_ld = ("-fuse-ld=gold",) if self.toolchain.family == "gcc" and shutil.which("ld.gold") else ()  # links ASan binaries 3x faster than bfd
        argv = [self.toolchain.driver(language), *self._quiet(), *fast_ld, *(self.path(build_dir, o) for o in objs),
                "-o", self.path(build_dir, exe), *flags, "-Wl,--gc-sections", "-lm"]
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
        key = hashlib.sha256("\0".join((self.toolchain.cc, self.toolchain.version, language, "-ffunction-sections", *relevant)).encode()).hexdigest()[:20]
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
        argv = [self.toolchain.driver(language), *lang, *flags, "-ffunction-sections", "-fdata-sections",
                "-o", f"/pch/{key}/{gch.name}" if self.isolation.sandboxed else str(gch),
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
