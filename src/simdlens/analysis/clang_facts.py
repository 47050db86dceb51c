"""Semantic facts from clang's front end: what the compiler, not a hand-written reader, says a file means.

`semantic_facts(source, path, language, include_dirs, defines, flags)` parses one file with libclang
(the PyPI `libclang` package) under the file's own compile flags and returns a frozen `SemanticFacts`:

- `typedefs`   every typedef / `using` alias of the file and its headers -> its canonical type
               (`TypeFact`: through typedef chains, type macros, `_Complex`, enums, structs,
               `long double`, vector types);
- `macros`     every object-like macro not defined by the compiler or a system header -> its full
               expansion as the preprocessor produces it, its integer value when clang evaluates it to
               a constant, and its type when it names one (`#define REAL double`);
- `variables`  parameters, locals and globals with their declared type and array shape (constant
               extents, VLA extents, pointer-to-array), including declarations written through macros;
- `uses`       each function-like macro used in a function body -> its expansion at that place;
- `instantiations` each template of the main file (a function template, a class template, a member
               defined outside its class) -> the template arguments of every instantiation the file
               uses, as clang instantiated it (explicit instantiations, calls with deduced arguments,
               variables, aliases and members of class template specialisations).

Expansions and values are clang's own: the file is parsed once with a few probe lines appended
(`static const char p[] = STR(NAME);` stringifies the expansion after it happened, `enum { v = (NAME) };`
lets clang evaluate it), so nothing here re-implements the preprocessor.

Builtin headers (`stddef.h`, `stdarg.h`): libclang from PyPI ships none, so clang is pointed at a
resource directory of an installed clang (`clang-19 -print-resource-dir`, any clang on PATH), else at
gcc's own include directory (`gcc -print-file-name=include`); `builtin_headers()` says which.

Results are cached in memory by content, flags and the local headers' versions. Never raises: when
libclang is missing or the file cannot be parsed at all, `SemanticFacts.ok` is False and `problem` says
why; the analysis then reads types with simdlens's own reader (`analysis.context`).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simdlens.core import Language

log = logging.getLogger(__name__)

FACTS_VERSION = "5"  # part of every cache key: bump when what is extracted changes
MAX_PROBED_MACROS = 2000
MAX_PROBED_USES = 4000
MAX_WALKED_CURSORS = 200_000  # the main file's declarations walked for template instantiations
_CACHE_ENTRIES = 32

# C++ containers whose elements are contiguous, as clang spells them canonically (libc++: `std::__1::`)
_CONTAINER = re.compile(r"(?:const\s+)?(?:volatile\s+)?std::(?:__\w+::)?(?:vector|array|span)<")

# clang's canonical builtin type kinds -> simdlens's canonical scalar names (LP64, x86-64: char is signed)
_SCALAR_KINDS = {
    "BOOL": "uint8", "CHAR_S": "int8", "SCHAR": "int8", "CHAR_U": "uint8", "UCHAR": "uint8",
    "SHORT": "int16", "USHORT": "uint16", "INT": "int32", "UINT": "uint32", "LONG": "int64",
    "ULONG": "uint64", "LONGLONG": "int64", "ULONGLONG": "uint64", "FLOAT": "float", "DOUBLE": "double",
    "WCHAR": "int32", "CHAR16": "uint16", "CHAR32": "uint32", "CHAR8": "uint8",
}


# --------------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldLayout:
    """One member of a structure as clang lays it out: `offset` in bytes, `scalar` its canonical scalar
    type (int8 … double; "" for anything else: a struct, pointer, complex, bit-field), `count` the
    extent of a fixed-size array member of scalars (1 for a scalar member). The members of a nested
    structure follow it as their paths ("pos.x", offsets from the outer structure's start)."""

    name: str
    offset: int
    scalar: str
    count: int = 1


@dataclass(frozen=True)
class RecordLayout:
    """A structure's layout (sizeof, alignof, members in order), for arrays of structures read as
    strided views of one member type (docs/analysis.md, "Arrays of structures")."""

    size: int
    align: int
    fields: tuple[FieldLayout, ...]

    def field(self, name: str) -> FieldLayout | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class TypeFact:
    """A type as clang sees it.

    `kind` is a canonical scalar name (int8 … uint64, float, double) for arithmetic types and enums,
    else one of "complex", "long_double", "struct", "union", "vector", "pointer", "array", "function",
    "other". `scalar` is the scalar itself for a scalar, the element for a complex type (`_Complex
    float` -> "float"), "" otherwise."""

    spelling: str  # as declared ("cf32_t", "const real_t *")
    canonical: str  # clang's canonical spelling ("_Complex float", "double *")
    kind: str
    scalar: str = ""
    const: bool = False
    volatile: bool = False
    restrict: bool = False
    layout: RecordLayout | None = None  # a complete struct's layout (kind "struct")

    @property
    def is_scalar(self) -> bool:
        return self.kind == self.scalar and bool(self.scalar)

    @property
    def is_complex(self) -> bool:
        return self.kind == "complex"


@dataclass(frozen=True)
class VarFact:
    """A parameter, local or global variable as declared.

    `dims` is the shape from the outside in: "*" for a pointer level, "" for an unsized `[]`, the
    extent otherwise (decimal for a constant, clang's text for a VLA: "n"); `double (*A)[M]` ->
    ("*", "200"), `double A[n][m]` -> ("n", "m"). `element` is what remains (its qualifiers are the
    element's: `const float *p` has a const element)."""

    name: str
    role: str  # "param", "local", "global"
    function: str  # the enclosing function ("" for a global)
    scope: tuple[int, int]  # bytes of the main file where the name is visible (the function; the file)
    start: int  # byte of the declaration
    type: TypeFact
    element: TypeFact
    dims: tuple[str, ...] = ()
    restrict: bool = False  # the outermost pointer is restrict
    through_macro: bool = False  # the declaration is written through a macro
    items: TypeFact | None = None  # a C++ container's elements (`std::vector<Particle> &` -> Particle)


@dataclass(frozen=True)
class MacroFact:
    name: str
    expansion: str  # the whole expansion, tokens separated by single spaces
    value: int | None = None  # clang's value when it is an integer constant expression
    type: TypeFact | None = None  # when the expansion names a type (`#define REAL double`)
    origin: str = ""  # the file that defines it


@dataclass(frozen=True)
class MacroUse:
    """One use of a function-like macro in a function body of the main file, expanded there."""

    name: str
    start: int
    end: int
    text: str  # as written: "BODY(i)"
    expansion: str


@dataclass(frozen=True)
class Instantiation:
    """One instantiation of a template of the main file, as clang made it. `start` is the byte of the
    template's `template` keyword (a member defined outside its class template: that definition's),
    `args` its template arguments in order (a type as clang's canonical spelling, "float"; a value
    as its number, "64"; "" for an argument clang does not report), `spelled` how reasons name it
    ("Tensor<float>", "scale<float, 4>")."""

    start: int
    args: tuple[str, ...]
    spelled: str


@dataclass(frozen=True)
class SemanticFacts:
    path: str
    ok: bool  # clang produced an AST for the file
    problem: str = ""  # why there are no facts (libclang unavailable, parse failure)
    # Equal facts declare the same types and macros; where they sit in the text does not count.
    errors: tuple[str, ...] = field(default=(), compare=False)  # clang's errors in the file (facts may be partial)
    builtin_headers: str = field(default="", compare=False)  # see `builtin_headers()`
    seconds: float = field(default=0.0, compare=False)  # the parse and extraction
    typedefs: Mapping[str, TypeFact] = field(default_factory=dict)
    macros: Mapping[str, MacroFact] = field(default_factory=dict)
    variables: tuple[VarFact, ...] = field(default=(), compare=False)
    uses: tuple[MacroUse, ...] = field(default=(), compare=False)
    instantiations: tuple[Instantiation, ...] = field(default=(), compare=False)

    def bindings(self, start: int) -> tuple[Instantiation, ...]:
        """The instantiations of the template declared at byte `start`, first use first."""
        return tuple(i for i in self.instantiations if i.start == start)

    def variable(self, name: str, byte: int) -> VarFact | None:
        """The declaration of `name` visible at `byte` of the main file (innermost scope first)."""
        best: VarFact | None = None
        for v in self.variables:
            visible = v.name == name and v.scope[0] <= byte < v.scope[1] and (v.role == "global" or v.start <= byte)
            if visible and (best is None or v.scope[0] >= best.scope[0]):
                best = v
        return best

    def use_at(self, start: int, end: int) -> MacroUse | None:
        """The macro use spanning exactly bytes [start, end) (or starting at `start` when `end` is -1)."""
        for u in self.uses:
            if u.start == start and (end < 0 or u.end == end):
                return u
        return None


def expanded_text(facts: SemanticFacts | None, source: bytes, lo: int, hi: int) -> tuple[bytes, str] | None:
    """`source` with the outermost function-like macro uses inside bytes [lo, hi) replaced by clang's
    expansion, and a description of them ("STEP(i) -> y[i] = …;"); None when there is none. A use
    counts only where its text still is (facts of an earlier version of the text have moved)."""
    if facts is None or not facts.ok:
        return None
    uses = sorted((u for u in facts.uses if lo <= u.start and u.end <= hi and source[u.start:u.end] == u.text.encode()),
                  key=lambda u: (u.start, -u.end))
    outer: list[MacroUse] = []
    for u in uses:  # an argument's macro is inside its caller's expansion
        if not outer or u.start >= outer[-1].end:
            outer.append(u)
    if not outer:
        return None
    text = source
    for u in reversed(outer):
        text = text[:u.start] + u.expansion.encode() + text[u.end:]
    what = ", ".join(dict.fromkeys(f"{u.text} -> {u.expansion}" for u in outer))
    return text, what[:200]


def unavailable(path: str, problem: str) -> SemanticFacts:
    return SemanticFacts(path, ok=False, problem=problem, builtin_headers=_headers_note())


# --------------------------------------------------------------------------------------------------
# libclang and its builtin headers
# --------------------------------------------------------------------------------------------------

_lock = threading.Lock()  # libclang indexes are not shared between threads; one parse at a time


@functools.cache
def _cindex() -> Any:
    """The `clang.cindex` module with its library loaded, or an error string."""
    try:
        import clang.cindex as ci

        ci.Index.create()  # loads the shared library: fails here, not in the middle of a parse
        return ci
    except Exception as e:  # ImportError, LibclangError (missing .so), OSError
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'cannot load'}"


def libclang_problem() -> str:
    """"" when libclang can be used, else why not (one line)."""
    ci = _cindex()
    return ci if isinstance(ci, str) else ""


def libclang_version() -> str:
    ci = _cindex()
    if isinstance(ci, str):
        return ""
    try:
        from importlib.metadata import version

        return f"libclang {version('libclang')} from PyPI, {ci.conf.get_filename()}"
    except Exception:
        return "unknown version"


@functools.cache
def builtin_headers() -> tuple[tuple[str, ...], str]:
    """(extra arguments, description): the builtin headers libclang is pointed at."""
    for cc in ("clang-19", "clang-18", "clang-20", "clang-17", "clang"):
        exe = shutil.which(cc)
        if exe is None:
            continue
        try:
            out = subprocess.run([exe, "-print-resource-dir"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        d = out.stdout.strip()
        if out.returncode == 0 and d and os.path.isfile(os.path.join(d, "include", "stddef.h")):
            return ("-resource-dir", d), f"clang resource dir {d} (from {cc})"
    gcc = shutil.which("gcc")
    if gcc is not None:
        try:
            out = subprocess.run([gcc, "-print-file-name=include"], capture_output=True, text=True, timeout=10)
            d = out.stdout.strip()
            if out.returncode == 0 and os.path.isfile(os.path.join(d, "stddef.h")):
                return ("-isystem", d), f"gcc's include directory {d}"
        except (OSError, subprocess.SubprocessError):
            pass
    return (), "none found (install clang or gcc): <stddef.h> and friends will not be found"


def _headers_note() -> str:
    return builtin_headers()[1]


# --------------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------------

_memory: OrderedDict[str, tuple[tuple[tuple[str, int, int], ...], SemanticFacts]] = OrderedDict()
_cache_lock = threading.Lock()  # the server's worker threads and the analysis threads share the cache


def _headers_unchanged(stamps: tuple[tuple[str, int, int], ...]) -> bool:
    for p, mtime, size in stamps:
        try:
            st = os.stat(p)
        except OSError:
            return False
        if st.st_mtime_ns != mtime or st.st_size != size:
            return False
    return True


def _key(source: bytes, path: str, language: Language, args: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for part in (FACTS_VERSION, path, language, "\0".join(args)):
        h.update(part.encode("utf-8", "replace") + b"\0")
    h.update(source)
    return h.hexdigest()


def cached_facts(source: bytes, path: str, language: Language, *, include_dirs: Iterable[str] = (),
                 defines: Mapping[str, str | None] | Iterable[tuple[str, str | None]] = (),
                 flags: Iterable[str] = ()) -> SemanticFacts | None:
    """The facts of this very version of the file when they are already known (never parses)."""
    args = _arguments(path, language, include_dirs, defines, flags)
    with _cache_lock:
        hit = _memory.get(_key(source, path, language, args))
    return hit[1] if hit is not None and _headers_unchanged(hit[0]) else None


def clear_cache() -> None:
    with _cache_lock:
        _memory.clear()


def flag_arguments(flags: Any) -> dict[str, Any]:
    """`semantic_facts` keyword arguments from a `compile_db.CompileFlags`: include dirs, -D/-U, -std, -m/-f."""
    extra = tuple(flags.flags) + ((flags.std,) if flags.std else ())
    return {"include_dirs": tuple(flags.include_dirs), "defines": tuple(flags.defines), "flags": extra}


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def _arguments(path: str, language: Language, include_dirs: Iterable[str],
               defines: Mapping[str, str | None] | Iterable[tuple[str, str | None]],
               flags: Iterable[str]) -> tuple[str, ...]:
    args: list[str] = ["-x", "c++" if language == "cpp" else "c"]
    items = defines.items() if isinstance(defines, Mapping) else defines
    for name, value in items:
        args.append(f"-U{name}" if value is None else f"-D{name}={value}")
    args += [f"-I{d}" for d in include_dirs]
    args += [f for f in flags if f.startswith(("-std=", "-m", "-f"))]  # compile_db's allow-listed flags
    return tuple(args)


def semantic_facts(source: bytes, path: str, language: Language, *, include_dirs: Iterable[str] = (),
                   defines: Mapping[str, str | None] | Iterable[tuple[str, str | None]] = (),
                   flags: Iterable[str] = (), disk: str | os.PathLike[str] | None = None) -> SemanticFacts:
    """Parse `source` (the text of `path`) with its flags; cached in memory and, with `disk` (a
    directory), on disk across runs. Never raises."""
    args = _arguments(path, language, tuple(include_dirs), defines, tuple(flags))
    key = _key(source, path, language, args)
    with _cache_lock:
        hit = _memory.get(key)
    if hit is None and disk is not None:
        hit = _disk_get(disk, key)
        if hit is not None:
            _remember(key, hit)
    if hit is not None and _headers_unchanged(hit[0]):
        return hit[1]
    if os.environ.get("SIMDLENS_NO_CLANG"):
        return unavailable(path, "libclang disabled (SIMDLENS_NO_CLANG is set)")
    ci = _cindex()
    if isinstance(ci, str):
        return unavailable(path, f"libclang unavailable ({ci})")
    started = time.perf_counter()
    try:
        with _lock:
            stamps, facts = _isolated(source, path, language, args)
    except TimeoutError:  # an include of a device or /proc file, or a pathological file: never a hang
        failed = unavailable(path, f"clang did not finish within {CLANG_TIMEOUT_S:.0f} s (an include that never "
                                   "ends, such as a /proc or device file, or a pathological file)")
        _remember(key, ((), failed))
        return failed
    except Exception as e:  # a crash in the bindings must not take the analysis down
        log.warning("clang facts of %s: %s: %s", path, type(e).__name__, e)
        failed = unavailable(path, f"clang could not parse the file ({type(e).__name__}: {e})")
        _remember(key, ((), failed))  # this text fails again: the server must not retry it on every pass
        return failed
    facts = SemanticFacts(facts.path, facts.ok, facts.problem, facts.errors, facts.builtin_headers,
                          time.perf_counter() - started, facts.typedefs, facts.macros, facts.variables, facts.uses,
                          facts.instantiations)
    _remember(key, (stamps, facts))
    if disk is not None and facts.ok:
        _disk_put(disk, key, (stamps, facts))
    return facts


# libclang reads every header the file includes, in-process and uninterruptibly: a `#include
# "/proc/kmsg"` (or a FIFO, a device) would block it forever. It runs in a worker process that is
# killed when a parse takes longer than this.
CLANG_TIMEOUT_S = 30.0


class _Worker:
    """One long-lived child process that parses with libclang; killed (and replaced on the next call)
    when a parse overruns."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="simdlens-clang", daemon=True)
        self.process.start()
        child.close()

    def call(self, payload: tuple[Any, ...], timeout: float) -> Any:
        self.conn.send(payload)
        if not self.conn.poll(timeout):
            self.kill()
            raise TimeoutError
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(value)
        return value

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


_worker: _Worker | None = None


def _isolated(source: bytes, path: str, language: Language, args: tuple[str, ...]) -> Any:
    """`_Extractor(...).run()` in the worker process, bounded by CLANG_TIMEOUT_S (call with `_lock` held)."""
    global _worker
    if _worker is None or not _worker.process.is_alive():
        _worker = _Worker()
    try:
        return _worker.call((source, path, language, args), CLANG_TIMEOUT_S)
    except (TimeoutError, EOFError, OSError, BrokenPipeError):
        _worker = None  # killed or died: the next file gets a fresh worker
        raise


def _serve(conn: Any) -> None:
    """The worker's loop: one parse per message, answered with ("ok", result) or ("error", text)."""
    while True:
        try:
            source, path, language, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            ci = _cindex()
            if isinstance(ci, str):
                raise RuntimeError(f"libclang unavailable ({ci})")
            conn.send(("ok", _Extractor(ci, source, path, language, args).run()))
        except Exception as e:
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _remember(key: str, entry: tuple[tuple[tuple[str, int, int], ...], SemanticFacts]) -> None:
    with _cache_lock:
        _memory[key] = entry
        _memory.move_to_end(key)
        while len(_memory) > _CACHE_ENTRIES:
            _memory.popitem(last=False)


_DISK_LIMIT = 64 * 1024 * 1024
_disks: dict[str, Any] = {}


def _disk_cache(directory: str | os.PathLike[str]) -> Any:
    """A diskcache.Cache in `directory` (None when it cannot be opened: the memory cache then suffices)."""
    d = os.fspath(directory)
    if d not in _disks:
        try:
            import diskcache

            _disks[d] = diskcache.Cache(d, size_limit=_DISK_LIMIT, eviction_policy="least-recently-used")
        except Exception as e:  # read-only, corrupt, locked: facts are cheap to recompute
            log.info("semantic facts cache at %s not usable: %s", d, e)
            _disks[d] = None
    return _disks[d]


def _disk_get(directory: str | os.PathLike[str], key: str) -> Any:
    cache = _disk_cache(directory)
    if cache is None:
        return None
    try:
        entry = cache.get(key)
    except Exception:  # an unreadable entry is a miss
        return None
    ok = isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], SemanticFacts)
    return entry if ok else None


def _disk_put(directory: str | os.PathLike[str], key: str, entry: Any) -> None:
    cache = _disk_cache(directory)
    if cache is not None:
        try:
            cache.set(key, entry)
        except Exception as e:
            log.info("semantic facts not stored: %s", e)


_PROBE_PREFIX = "simdlens_probe_"
_CREATE_PREAMBLE_ON_FIRST_PARSE = 0x100  # CXTranslationUnit_CreatePreambleOnFirstParse


@functools.cache
def _from_main_file(ci: Any) -> Any:
    """clang_Location_isFromMainFile (not wrapped by the Python bindings): far cheaper than comparing
    file names for every cursor."""
    import ctypes

    f = ci.conf.lib.clang_Location_isFromMainFile
    f.argtypes = [ci.SourceLocation]
    f.restype = ctypes.c_int
    return f
_STRINGIFY = ("\n#define SIMDLENS_STR_(...) #__VA_ARGS__\n"
              "#define SIMDLENS_STR(...) SIMDLENS_STR_(__VA_ARGS__)\n")
_WORDS = re.compile(r"[A-Za-z_][\w\s*]*")
_CV = re.compile(r"^(?:(?:const|volatile)\s+)+")


class _Extractor:
    def __init__(self, ci: Any, source: bytes, path: str, language: Language, args: tuple[str, ...]) -> None:
        self.ci = ci
        self.source = source
        self.path = os.path.abspath(path) if path else os.path.abspath("simdlens_input" + (".cpp" if language == "cpp"
                                                                                            else ".c"))
        self.language = language
        self.args = (*args, *builtin_headers()[0], "-ferror-limit=0", "-w")
        self.typedefs: dict[str, TypeFact] = {}
        self._types: dict[str, TypeFact] = {}
        self.from_main = _from_main_file(ci)
        # Macros to probe can only come from the file, a local header or an -I directory: without any,
        # there is no probe pass, and building a preamble for it would only cost time.
        self.may_probe = b"define" in source or b'include "' in source or any(a.startswith("-I") for a in args)
        self.templates = b"template" in source  # the instantiations are looked for only then
        self.main_tops: list[Any] = []  # the main file's top-level declarations (`_scan`), for `_Instantiations`
        try:
            source.decode("utf-8")
            self.utf8 = True
        except UnicodeDecodeError:
            self.utf8 = False

    def _parse(self, text: bytes) -> Any:
        ci = self.ci
        index = ci.Index.create()
        opts = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD | ci.TranslationUnit.PARSE_INCOMPLETE
        if self.may_probe:  # the preamble (the headers) is compiled once and reused by the probe reparse
            opts |= ci.TranslationUnit.PARSE_PRECOMPILED_PREAMBLE | _CREATE_PREAMBLE_ON_FIRST_PARSE
        return index.parse(self.path, args=list(self.args), unsaved_files=[(self.path, text.decode("utf-8", "replace"))],
                           options=opts)

    def run(self) -> tuple[tuple[tuple[str, int, int], ...], SemanticFacts]:
        ci = self.ci
        tu = self._parse(self.source)
        if tu is None:
            return (), unavailable(self.path, "clang could not parse the file")
        # Pass 1 (the file as written): declarations, typedefs, macro definitions and uses.
        macros, uses, variables = self._scan(tu)
        errors = tuple(f"line {d.location.line}: {d.spelling}" for d in tu.diagnostics
                       if d.severity >= ci.Diagnostic.Error and d.location.file is not None
                       and os.path.abspath(d.location.file.name) == self.path)[:20]
        stamps = tuple(self._stamps(tu))
        # Pass 2: the same file with probe lines: clang expands and evaluates the macros.
        instantiations: tuple[Instantiation, ...] = ()
        if self.templates:
            try:
                instantiations = _Instantiations(ci, self.from_main).run(sorted(
                    self.main_tops, key=lambda c: c.extent.start.offset))
            except Exception as e:  # the other facts stand without them: templates then read as without clang
                log.warning("template instantiations of %s: %s: %s", self.path, type(e).__name__, e)
        macro_facts, use_facts = self._probe(tu, macros, uses)
        return stamps, SemanticFacts(self.path, True, "", errors, _headers_note(), 0.0, dict(self.typedefs),
                                     macro_facts, tuple(variables), use_facts, instantiations)

    def _stamps(self, tu: Any) -> Iterable[tuple[str, int, int]]:
        for inc in tu.get_includes():
            f = inc.include
            if f is None or inc.location.file is None:
                continue
            name = os.path.abspath(f.name)
            if name.startswith(("/usr/", "/opt/")):  # system headers do not change under an editor
                continue
            try:
                st = os.stat(name)
            except OSError:
                continue
            yield name, st.st_mtime_ns, st.st_size

    def _in_main(self, cursor: Any) -> bool:
        return bool(self.from_main(cursor.location))

    def _scan(self, tu: Any) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, int, int]], list[VarFact]]:
        """One walk over the top level: object-like macros worth probing (name -> (definition,
        origin)), function-like macro uses in the main file (text -> (name, start, end)), typedefs,
        and the variables of the main file. System headers contribute their top-level typedefs and
        nothing else (their function bodies are never walked)."""
        ci = self.ci
        K = ci.CursorKind
        macros: dict[str, tuple[str, str]] = {}
        uses: dict[str, tuple[str, int, int]] = {}
        ranges: list[tuple[int, int]] = []
        later: list[Any] = []
        is_function_like = ci.conf.lib.clang_Cursor_isMacroFunctionLike
        for c in tu.cursor.get_children():
            kind = c.kind
            if kind == K.MACRO_INSTANTIATION:
                if not self.from_main(c.location):
                    continue
                start, end = c.extent.start.offset, c.extent.end.offset
                ranges.append((start, end))
                if end <= start or start < 0 or len(uses) >= MAX_PROBED_USES:
                    continue
                text = self.source[start:end].decode("utf-8", "replace")
                if "(" in text and self.utf8:  # clang's offsets are those of the UTF-8 text it was given
                    uses.setdefault(text, (c.spelling, start, end))
                    uses.setdefault(f"{text}@{start}", (c.spelling, start, end))
            elif kind == K.MACRO_DEFINITION:
                loc = c.location
                if loc.is_in_system_header or c.spelling.startswith("SIMDLENS_"):
                    continue
                f = loc.file
                if f is None:
                    continue  # the compiler's own (__GNUC__, __x86_64__)
                if is_function_like(c):
                    macros.pop(c.spelling, None)
                elif len(macros) < MAX_PROBED_MACROS:
                    toks = [t.spelling for t in c.get_tokens()][1:]
                    macros[c.spelling] = (" ".join(toks), os.path.abspath(f.name))
            elif kind in (K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL):
                self._typedef(c)
                if self.templates and self.from_main(c.location):  # `using TensorF = Tensor<float>;`
                    self.main_tops.append(c)
            elif kind == K.INCLUSION_DIRECTIVE:
                continue
            elif not c.location.is_in_system_header:
                later.append(c)
        variables: list[VarFact] = []
        end_of_file = len(self.source) + 1
        for c in later:  # declarations of the main file and its local headers
            kind = c.kind
            main = self.from_main(c.location)
            if main and self.templates:
                self.main_tops.append(c)
            if kind == K.VAR_DECL and main:
                variables.append(self._var(c, "global", "", (0, end_of_file), ranges))
                continue
            if kind in (K.FUNCTION_DECL, K.CXX_METHOD, K.FUNCTION_TEMPLATE):
                # Parameters only: locals and typedefs in bodies are simdlens's reader's (scoped by block),
                # and walking every body costs more than the parse.
                if main and c.is_definition():
                    scope = (c.extent.start.offset, c.extent.end.offset)
                    variables.extend(self._var(d, "param", c.spelling, scope, ranges) for d in c.get_children()
                                     if d.kind == K.PARM_DECL)
                continue
            for d in c.walk_preorder():  # structs, namespaces, linkage blocks: their typedefs
                if d.kind in (K.TYPEDEF_DECL, K.TYPE_ALIAS_DECL):
                    self._typedef(d)
        return macros, uses, [v for v in variables if v.name]

    def _typedef(self, c: Any) -> None:
        if c.spelling and not c.spelling.startswith(_PROBE_PREFIX):
            fact = self._type_fact(c.underlying_typedef_type)
            if fact.kind != "other" or c.spelling not in self.typedefs:
                self.typedefs[c.spelling] = fact

    # ---- macros -----------------------------------------------------------------------------------

    def _probe(self, tu: Any, macros: dict[str, tuple[str, str]], uses: dict[str, tuple[str, int, int]]
               ) -> tuple[dict[str, MacroFact], tuple[MacroUse, ...]]:
        ci = self.ci
        lines: list[str] = []
        kinds: list[tuple[str, str]] = []  # per probe line: (what, key)
        tail = b"" if self.source.endswith(b"\n") else b"\n"
        base = (self.source + tail).count(b"\n") + _STRINGIFY.count("\n")  # the line before the first probe
        for k, (name, (definition, _origin)) in enumerate(macros.items()):
            lines.append(f"static const char {_PROBE_PREFIX}m{k}[] = SIMDLENS_STR({name});")
            kinds.append(("text", name))
            if definition and not _WORDS.fullmatch(definition):
                lines.append(f"enum {{ {_PROBE_PREFIX}v{k} = ({name}) }};")
                kinds.append(("value", name))
            elif definition:
                lines.append(f"typedef {name} {_PROBE_PREFIX}t{k};")
                kinds.append(("type", name))
                lines.append(f"enum {{ {_PROBE_PREFIX}v{k} = ({name}) }};")
                kinds.append(("value", name))
        texts = [t for t in uses if "@" not in t]
        for k, text in enumerate(texts):
            lines.append(f"static const char {_PROBE_PREFIX}u{k}[] = SIMDLENS_STR({' '.join(text.split())});")
            kinds.append(("use", text))
        if not lines:
            return {}, ()
        probed = self.source + tail + _STRINGIFY.encode() + "\n".join(lines).encode() + b"\n"
        tu.reparse(unsaved_files=[(self.path, probed.decode("utf-8", "replace"))])
        bad: set[int] = set()
        for d in tu.diagnostics:
            if d.severity >= ci.Diagnostic.Error and d.location.file is not None and \
                    os.path.abspath(d.location.file.name) == self.path and d.location.line > base:
                bad.add(d.location.line - base - 1)
        found_text: dict[str, str] = {}
        found_value: dict[str, int] = {}
        found_type: dict[str, TypeFact] = {}
        line_of = {(_what, key): i for i, (_what, key) in enumerate(kinds)}
        for c in tu.cursor.get_children():
            name = c.spelling
            if c.kind == ci.CursorKind.ENUM_DECL:
                name = next((e.spelling for e in c.get_children()), "")
            if not name.startswith(_PROBE_PREFIX) or not self._in_main(c):
                continue
            i = c.location.line - base - 1
            if i < 0 or i >= len(kinds) or i in bad:
                continue
            what, key = kinds[i]
            if what in ("text", "use") and c.kind == ci.CursorKind.VAR_DECL:
                lit = next((x for x in c.walk_preorder() if x.kind == ci.CursorKind.STRING_LITERAL), None)
                if lit is not None:
                    found_text[f"{what}:{key}"] = _unquote(lit.spelling)
            elif what == "type" and c.kind == ci.CursorKind.TYPEDEF_DECL:
                found_type[key] = self._type_fact(c.underlying_typedef_type)
            elif what == "value" and c.kind == ci.CursorKind.ENUM_DECL:
                for e in c.get_children():
                    if e.kind == ci.CursorKind.ENUM_CONSTANT_DECL and line_of.get(("value", key)) == i:
                        found_value[key] = e.enum_value
        facts = {}
        for name, (_d, origin) in macros.items():
            text = found_text.get(f"text:{name}", "")
            if text == name:  # #undef'd before the end of the file: its expansion where it is used is unknown
                facts[name] = MacroFact(name, "", None, None, origin)
            else:
                facts[name] = MacroFact(name, text, found_value.get(name), found_type.get(name), origin)
        out: list[MacroUse] = []
        for text, (name, start, end) in uses.items():
            plain = text.split("@")[0] if "@" in text and text.rsplit("@", 1)[1].isdigit() else text
            expansion = found_text.get(f"use:{plain}")
            if expansion is not None:
                out.append(MacroUse(name, start, end, plain, expansion))
        return facts, tuple(dict.fromkeys(out))

    # ---- types ------------------------------------------------------------------------------------

    def _type_fact(self, t: Any) -> TypeFact:
        # Parameter and typedef types are file-scope types: one spelling means one type in the file.
        spelling = t.spelling
        fact = self._types.get(spelling)
        if fact is None:
            fact = self._types[spelling] = self._new_type_fact(t)
        return fact

    def _new_type_fact(self, t: Any) -> TypeFact:
        ci = self.ci
        canon = t.get_canonical()
        kind_name = canon.kind.name
        const, volatile, restrict = canon.is_const_qualified(), canon.is_volatile_qualified(), \
            canon.is_restrict_qualified()
        if canon.kind == ci.TypeKind.ENUM:
            under = canon.get_declaration().enum_type.get_canonical()
            underlying = _SCALAR_KINDS.get(under.kind.name, "")
            return TypeFact(t.spelling, canon.spelling, underlying or "other", underlying, const, volatile, restrict)
        scalar = _SCALAR_KINDS.get(kind_name)
        if scalar is not None:
            return TypeFact(t.spelling, canon.spelling, scalar, scalar, const, volatile, restrict)
        if kind_name == "COMPLEX":
            elem = _SCALAR_KINDS.get(canon.element_type.get_canonical().kind.name, "")
            return TypeFact(t.spelling, canon.spelling, "complex", elem, const, volatile, restrict)
        if kind_name == "RECORD":
            decl = canon.get_declaration()
            kind = "union" if decl.kind == ci.CursorKind.UNION_DECL else "struct"
            if self.language == "cpp" and re.match(r"(const\s+)?(volatile\s+)?std::(__\d+::)?complex<", canon.spelling):
                inner = canon.get_template_argument_type(0).get_canonical() if canon.get_num_template_arguments() > 0 \
                    else None
                elem = _SCALAR_KINDS.get(inner.kind.name, "") if inner is not None else ""
                return TypeFact(t.spelling, canon.spelling, "complex", elem, const, volatile, restrict)
            layout = self._layout(canon) if kind == "struct" else None
            return TypeFact(t.spelling, canon.spelling, kind, "", const, volatile, restrict, layout)
        kind = {"LONGDOUBLE": "long_double", "VECTOR": "vector", "EXTVECTOR": "vector", "POINTER": "pointer",
                "LVALUEREFERENCE": "pointer", "CONSTANTARRAY": "array", "INCOMPLETEARRAY": "array",
                "VARIABLEARRAY": "array", "DEPENDENTSIZEDARRAY": "array", "FUNCTIONPROTO": "function",
                "FUNCTIONNOPROTO": "function"}.get(kind_name, "other")
        return TypeFact(t.spelling, canon.spelling, kind, "", const, volatile, restrict)

    def _layout(self, canon: Any) -> RecordLayout | None:
        """sizeof, alignof and member offsets of a complete struct, as clang computes them."""
        size, align = canon.get_size(), canon.get_align()
        if size <= 0 or align <= 0:
            return None  # incomplete or dependent
        fields = self._fields(canon, "", 0, 0)
        return None if fields is None else RecordLayout(size, align, tuple(fields))

    def _fields(self, record: Any, prefix: str, base: int, depth: int) -> list[FieldLayout] | None:
        """The members of `record` (a nested structure's members too, as "pos.x"), offsets from `base`."""
        ci = self.ci
        fields: list[FieldLayout] = []
        for f in record.get_fields():
            bits = f.get_field_offsetof()
            if bits < 0:
                return None
            ft = f.type.get_canonical()
            count = 1
            if ft.kind == ci.TypeKind.CONSTANTARRAY:
                count, ft = ft.element_count, ft.element_type.get_canonical()
            # bit-fields, bools and enums are not plain lanes: random test data would be invalid values
            plain = not f.is_bitfield() and bits % 8 == 0 and ft.kind.name != "BOOL"
            scalar = _SCALAR_KINDS.get(ft.kind.name, "") if plain else ""
            name, offset = prefix + f.spelling, base + bits // 8
            fields.append(FieldLayout(name, offset, scalar, count))
            nested = ft.get_declaration()
            if (count == 1 and plain and depth < 4 and ft.kind == ci.TypeKind.RECORD and f.spelling
                    and nested.kind == ci.CursorKind.STRUCT_DECL):
                inner = self._fields(ft, name + ".", offset, depth + 1)
                fields += inner or []
        return fields

    # ---- variables --------------------------------------------------------------------------------

    def _var(self, c: Any, role: str, function: str, scope: tuple[int, int],
             macro_ranges: list[tuple[int, int]]) -> VarFact:
        ci = self.ci
        t = c.type
        dims: list[str] = []
        restrict = t.is_restrict_qualified()
        cur = t
        for _ in range(16):
            k = cur.get_canonical().kind if cur.kind in (ci.TypeKind.TYPEDEF, ci.TypeKind.ELABORATED) else cur.kind
            if k == ci.TypeKind.POINTER and cur.kind == ci.TypeKind.POINTER:
                dims.append("*")
                cur = cur.get_pointee()
            elif k == ci.TypeKind.CONSTANTARRAY and cur.kind == ci.TypeKind.CONSTANTARRAY:
                dims.append(str(cur.element_count))
                cur = cur.element_type
            elif k == ci.TypeKind.INCOMPLETEARRAY and cur.kind == ci.TypeKind.INCOMPLETEARRAY:
                dims.append("")
                cur = cur.element_type
            elif k == ci.TypeKind.VARIABLEARRAY and cur.kind == ci.TypeKind.VARIABLEARRAY:
                dims.append(_outer_extent(cur.spelling))
                cur = cur.element_type
            elif cur.kind == ci.TypeKind.ELABORATED and cur.get_named_type().kind in (
                    ci.TypeKind.POINTER, ci.TypeKind.CONSTANTARRAY, ci.TypeKind.INCOMPLETEARRAY,
                    ci.TypeKind.VARIABLEARRAY):
                cur = cur.get_named_type()
            else:
                break
        start, end = c.extent.start.offset, c.extent.end.offset
        k = bisect.bisect_left(macro_ranges, (end, -1))  # sorted by start: the last use starting before `end`
        through = k > 0 and macro_ranges[k - 1][1] > start and macro_ranges[k - 1][0] < end
        through = through or any(lo < end and start < hi for lo, hi in macro_ranges[max(0, k - 8):k])
        return VarFact(c.spelling, role, function, scope, start, self._type_fact(t), self._type_fact(cur),
                       tuple(dims), restrict, through, self._items(t))

    def _items(self, t: Any) -> TypeFact | None:
        """The element type of the std::vector, std::array or std::span `t` names (through a reference)."""
        ci = self.ci
        if self.language != "cpp":
            return None
        canon = t.get_canonical()
        if canon.kind in (ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE):
            canon = canon.get_pointee().get_canonical()
        if canon.kind != ci.TypeKind.RECORD or canon.get_num_template_arguments() < 1 or \
                not _CONTAINER.match(canon.spelling):
            return None
        return self._type_fact(canon.get_template_argument_type(0))


class _Instantiations:
    """The instantiations of the main file's templates: clang resolved every call and type, so each
    call's function, each variable's, alias's and explicit instantiation's class, and each member call's
    class is a specialisation whose template and arguments clang reports (no deduction here)."""

    def __init__(self, ci: Any, from_main: Any) -> None:
        self.ci = ci
        self.from_main = from_main
        self.specialized = _specialized_template(ci)
        self.found: dict[tuple[int, tuple[str, ...]], Instantiation] = {}
        self.members: dict[int, list[int]] = {}  # a class template's start -> its out-of-class members' starts

    def run(self, tops: list[Any]) -> tuple[Instantiation, ...]:
        """`tops`: the main file's top-level declarations, in file order."""
        K = self.ci.CursorKind
        budget = MAX_WALKED_CURSORS
        for top in tops:
            for c in top.walk_preorder():
                budget -= 1
                if budget < 0:
                    break  # a huge file: the instantiations found so far (the first uses are the ones read)
                kind = c.kind
                if kind in (K.CALL_EXPR, K.DECL_REF_EXPR, K.MEMBER_REF_EXPR):
                    ref = c.referenced
                    if ref is not None:
                        self._function(ref)
                        self._class(ref.semantic_parent)
                elif kind in (K.VAR_DECL, K.FIELD_DECL, K.PARM_DECL, K.STRUCT_DECL, K.CLASS_DECL):
                    self._type(c.type)
                elif kind == K.FUNCTION_DECL and not c.is_definition():  # `template void f<float>(…);`
                    self._function(c)
                elif kind in (K.TYPE_ALIAS_DECL, K.TYPEDEF_DECL):
                    self._type(c.underlying_typedef_type)
                elif kind in (K.CXX_METHOD, K.CONSTRUCTOR, K.DESTRUCTOR):
                    owner, lexical = c.semantic_parent, c.lexical_parent
                    outside = owner is not None and lexical is not None and lexical.kind != owner.kind
                    if outside and owner.kind == K.CLASS_TEMPLATE and self.from_main(owner.location):
                        self.members.setdefault(owner.extent.start.offset, []).append(c.extent.start.offset)
        out = list(self.found.values())
        for i in list(out):  # a member defined outside its class template is instantiated with its class
            out += [Instantiation(m, i.args, i.spelled) for m in self.members.get(i.start, ())]
        return tuple(out)

    def _type(self, t: Any) -> None:
        t = t.get_canonical()
        while t.kind in (self.ci.TypeKind.POINTER, self.ci.TypeKind.LVALUEREFERENCE, self.ci.TypeKind.RVALUEREFERENCE):
            t = t.get_pointee().get_canonical()
        if t.kind == self.ci.TypeKind.RECORD:
            self._class(t.get_declaration())

    def _class(self, decl: Any) -> None:
        K = self.ci.CursorKind
        if decl is None or decl.kind not in (K.STRUCT_DECL, K.CLASS_DECL):
            return
        pattern = self.specialized(decl)
        if pattern is not None and pattern.kind == K.CLASS_TEMPLATE and self.from_main(pattern.location):
            self._add(pattern, decl)

    def _function(self, ref: Any) -> None:
        K = self.ci.CursorKind
        if ref.kind not in (K.FUNCTION_DECL, K.CXX_METHOD):
            return
        pattern = self.specialized(ref)
        if pattern is not None and pattern.kind == K.FUNCTION_TEMPLATE and self.from_main(pattern.location):
            self._add(pattern, ref)

    def _add(self, pattern: Any, decl: Any) -> None:
        n = decl.get_num_template_arguments()  # clang reports them for functions and classes, not methods
        args = tuple(self._argument(decl, k) for k in range(n)) if n >= 0 else self._method_arguments(pattern, decl)
        owner = decl.semantic_parent
        if decl.kind == self.ci.CursorKind.CXX_METHOD and owner is not None and owner.kind in (
                self.ci.CursorKind.STRUCT_DECL, self.ci.CursorKind.CLASS_DECL):
            outer = self.specialized(owner)  # a member template of a class template: the class's arguments first
            if outer is not None and outer.kind == self.ci.CursorKind.CLASS_TEMPLATE:
                k = owner.get_num_template_arguments()
                own = args
                args = tuple(self._argument(owner, j) for j in range(k)) + own if k >= 0 and own else ()
                key = (pattern.extent.start.offset, args)
                if args and key not in self.found:
                    self.found[key] = Instantiation(key[0], args, f"{owner.displayname}::{pattern.spelling}<"
                                                    f"{', '.join(own)}>")
                return
        key = (pattern.extent.start.offset, args)
        if key not in self.found:
            spelled = f"{pattern.spelling}<{', '.join(args)}>" if args else decl.displayname
            self.found[key] = Instantiation(key[0], args, spelled)

    def _method_arguments(self, pattern: Any, method: Any) -> tuple[str, ...]:
        """A member function template's arguments (clang's C API reports none for methods): each type
        parameter is read off the first function parameter the template declares as exactly it (`U v`,
        `const U *x`, `U &r`), in the instantiated method's type at the same place; () when one is not."""
        K = self.ci.CursorKind
        declared = [c for c in pattern.get_children() if c.kind in (
            K.TEMPLATE_TYPE_PARAMETER, K.TEMPLATE_NON_TYPE_PARAMETER, K.TEMPLATE_TEMPLATE_PARAMETER)]
        if any(c.kind != K.TEMPLATE_TYPE_PARAMETER for c in declared):
            return ()
        tparams = [c.type.get_canonical().spelling for c in declared]
        found: dict[str, str] = {}
        pattern_types = [a.type for a in pattern.get_children() if a.kind == K.PARM_DECL]
        method_types = list(method.type.argument_types())
        if len(pattern_types) != len(method_types):
            return ()
        indirect = (self.ci.TypeKind.POINTER, self.ci.TypeKind.LVALUEREFERENCE, self.ci.TypeKind.RVALUEREFERENCE)
        for written, made in zip(pattern_types, method_types, strict=True):
            written, made = written.get_canonical(), made.get_canonical()
            while written.kind in indirect and made.kind == written.kind:
                written, made = written.get_pointee().get_canonical(), made.get_pointee().get_canonical()
            qualifiers = _CV.match(written.spelling)  # `const U *x` given `const float *`: U is float
            name = written.spelling[qualifiers.end():] if qualifiers else written.spelling
            if name in tparams and (not qualifiers or made.spelling.startswith(qualifiers.group(0))):
                found.setdefault(name, made.spelling[qualifiers.end():] if qualifiers else made.spelling)
        return tuple(found.get(t, "") for t in tparams) if all(t in found for t in tparams) else ()

    def _argument(self, decl: Any, k: int) -> str:
        kind = decl.get_template_argument_kind(k).name
        if kind == "TYPE":
            return str(decl.get_template_argument_type(k).get_canonical().spelling)
        if kind == "INTEGRAL":
            return str(decl.get_template_argument_value(k))
        return ""


@functools.cache
def _specialized_template(ci: Any) -> Any:
    """clang_getSpecializedCursorTemplate (not wrapped by the Python bindings): the template a
    specialisation was instantiated from, or None."""
    f = ci.conf.lib.clang_getSpecializedCursorTemplate
    f.argtypes = [ci.Cursor]
    f.restype = ci.Cursor
    f.errcheck = ci.Cursor.from_result
    return f


def _outer_extent(spelling: str) -> str:
    """The outermost extent of a VLA type as clang prints it: "double[n][m]" -> "n" (clang prints the
    size expression after macro expansion)."""
    i = spelling.find("[")
    depth = 0
    for j in range(max(i, 0), len(spelling)):
        depth += {"[": 1, "]": -1}.get(spelling[j], 0)
        if i >= 0 and depth == 0:
            return spelling[i + 1:j].strip()
    return ""


def _unquote(literal: str) -> str:
    if len(literal) >= 2 and literal[0] == '"' and literal[-1] == '"':
        body = literal[1:-1]
        return re.sub(r'\\(["\\])', r"\1", body)
    return literal
