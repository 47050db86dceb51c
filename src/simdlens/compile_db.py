"""The user's compile flags, taken from a `compile_commands.json` — which is untrusted input.

A cloned repository can put anything in its compilation database: a "compiler" that is a script,
`-fplugin=evil.so`, `-B/tmp/x` (a directory of substitute `as`/`ld`/`cc1`), `-wrapper`, `-specs=`,
`@response-file`s, `-include /home/me/.ssh/id_rsa`. So we keep only an allow-list of flag kinds that
change what the code means, never how the compiler runs:

    -I / -isystem / -iquote / -idirafter <dir>    include directories (paths only)
    -D / -U                                       macros
    -std=<standard>                               language standard
    -m<isa or tuning>                             target flags, without paths (`-mllvm` dropped)
    -O<level>                                     optimisation level
    -f<known-safe>                                see SAFE_F_FLAGS

Everything else is dropped (and listed in `CompileFlags.dropped`). The database's compiler is used
only when its resolved path (realpath) matches one of `Settings.allowed_compilers` (globs, as clangd's
`--query-driver`, matched per path component), and then only inside the sandbox (`sandbox.compiler`).

`flags_for_file(path, compile_commands_dir, allowed_compilers)` is the one lookup the rest of simdlens
uses: it parses a database once and keeps it while the file's path, size, mtime and inode are
unchanged, so an edited (or regenerated) compile_commands.json is read again on the next lookup.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import functools
import glob as globlib
import itertools
import json
import logging
import os
import re
import shlex
import shutil
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simdlens.workspace_files import UnreadableFile, read_workspace_file

log = logging.getLogger(__name__)

DB_NAME = "compile_commands.json"
MAX_DB_BYTES = 256 * 1024 * 1024
MAX_CACHED_DATABASES = 16
MAX_GLOB_MATCHES = 4096  # files one allow-list glob may name

# -f flags that only change code generation or language semantics (no paths, no plugins, no files).
SAFE_F_FLAGS = re.compile(
    r"^-f(no-)?("
    r"strict-aliasing|wrapv|trapv|fast-math|math-errno|unsafe-math-optimizations|trapping-math|"
    r"associative-math|reciprocal-math|signed-zeros|finite-math-only|rounding-math|"
    r"fp-contract=(fast|on|off)|excess-precision=(fast|standard|16)|"
    r"tree-vectorize|tree-loop-vectorize|tree-slp-vectorize|vectorize|slp-vectorize|"
    r"unroll-loops|peel-loops|inline|inline-functions|builtin|common|"
    r"PIC|pic|PIE|pie|plt|semantic-interposition|omit-frame-pointer|"
    r"signed-char|unsigned-char|exceptions|rtti|threadsafe-statics|"
    r"openmp-simd|ms-extensions|gnu89-inline|permissive|"
    r"stack-protector|stack-protector-strong|stack-protector-all|"
    r"visibility=(default|hidden|internal|protected)|cf-protection(=(full|none|branch|return))?|"
    r"lax-vector-conversions|delete-null-pointer-checks|strict-overflow|"
    r"vect-cost-model=(unlimited|dynamic|cheap|very-cheap)|simd-cost-model=(unlimited|dynamic|cheap|very-cheap)"
    r")$"
)
SAFE_M_FLAG = re.compile(r"^-m(?!llvm$)[A-Za-z0-9][A-Za-z0-9_.,=+-]*$")
STD_FLAG = re.compile(r"^-std=(c|gnu|c\+\+|gnu\+\+|iso9899:)[0-9a-z]+$")
OPT_FLAG = re.compile(r"^-O([0-3sgz]|fast)?$")
MACRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INCLUDE_DIR_FLAGS = ("-I", "-isystem", "-iquote", "-idirafter")
# Flags that take the next argument (so that argument is not mistaken for a source file).
TAKES_ARGUMENT = frozenset({
    "-o", "-MF", "-MT", "-MQ", "-include", "-imacros", "-x", "-Xclang", "-Xlinker", "-Xassembler",
    "-Xpreprocessor", "-wrapper", "-B", "-L", "-isysroot", "--sysroot", "-target", "-iprefix",
    "-iwithprefix", "-iwithprefixbefore", "-specs", "-aux-info", "-dumpbase", "-dumpdir", "-arch",
    "-I", "-isystem", "-iquote", "-idirafter", "-D", "-U", "--param", "-mllvm", "-z",
})


@dataclass(frozen=True)
class CompileFlags:
    """The parts of one file's compile command that simdlens will use."""

    compiler: str = ""  # "" = not given or not allow-listed: simdlens picks gcc/clang itself
    include_dirs: tuple[str, ...] = ()
    defines: tuple[tuple[str, str | None], ...] = ()  # (name, value); value None = -U name
    flags: tuple[str, ...] = ()  # allowed -m / -f flags, in order
    std: str = ""  # e.g. "-std=c11"; "" = compiler default
    opt_level: str = ""  # e.g. "-O2"; "" = not given (simdlens then uses -O2)
    dropped: tuple[str, ...] = ()  # what was refused, for `doctor` and logs
    exact: bool = False  # True when the database had an entry for this very file

    def define_map(self) -> dict[str, str]:
        """Macros as a mapping (what `FileContext.build(defines=...)` takes); -U removes."""
        out: dict[str, str] = {}
        for name, value in self.defines:
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value
        return out

    @property
    def defines_complete(self) -> bool:
        """Whether `defines` are every macro the build gives this file: its own database entry, and no
        `-include`, `-imacros` or response file that could define more (then an undefined name is known)."""
        return self.exact and not any(d.startswith(("-include", "-imacros", "@")) for d in self.dropped)

    def define_args(self) -> tuple[str, ...]:
        return tuple(f"-D{n}={v}" if v is not None else f"-U{n}" for n, v in self.defines)

    def user_args(self) -> tuple[str, ...]:
        """What the user's own build passes that matters for codegen: -O, -std, -m/-f, macros."""
        return (self.opt_level or "-O2", *((self.std,) if self.std else ()), *self.flags, *self.define_args())

    @property
    def is_native_build(self) -> bool:
        """Whether the user already builds at -O3 -march=native: then a second build at those flags would
        compile the same code (gcc's -march only sets the ISA flags not given explicitly, so a later
        -march=native changes nothing)."""
        arches = [f for f in self.flags if f.startswith("-march=")]
        return self.opt_level == "-O3" and bool(arches) and arches[-1] == "-march=native"


def sanitize_arguments(args: list[str] | tuple[str, ...], directory: str = ".") -> CompileFlags:
    """Keep only allow-listed flags from a compiler command line (without its argv[0])."""
    include_dirs: list[str] = []
    defines: list[tuple[str, str | None]] = []
    flags: list[str] = []
    dropped: list[str] = []
    std = opt = ""
    i = 0
    while i < len(args):
        arg = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        consumed = 1
        if arg.startswith("@"):
            dropped.append(arg)  # response files: never read
        elif arg in INCLUDE_DIR_FLAGS or any(arg.startswith(f) and len(arg) > len(f) for f in INCLUDE_DIR_FLAGS):
            flag = next(f for f in sorted(INCLUDE_DIR_FLAGS, key=len, reverse=True) if arg.startswith(f))
            path = arg[len(flag):]
            if not path and nxt is not None:
                path, consumed = nxt, 2
            if path and "\0" not in path:
                include_dirs.append(os.path.normpath(os.path.join(directory, path)))
        elif arg in ("-D", "-U") or (arg[:2] in ("-D", "-U") and len(arg) > 2):
            body = arg[2:]
            if not body and nxt is not None:
                body, consumed = nxt, 2
            name, eq, value = body.partition("=")
            if MACRO_NAME.match(name) and "\n" not in value:
                defines.append((name, (value if eq else "1") if arg.startswith("-D") else None))
            else:
                dropped.append(arg if consumed == 1 else f"{arg} {body}")
        elif STD_FLAG.match(arg):
            std = arg
        elif OPT_FLAG.match(arg):
            opt = arg
        elif SAFE_M_FLAG.match(arg) or _safe_f_flag(arg):
            flags.append(arg)
        elif arg.startswith("-"):
            if arg in TAKES_ARGUMENT and nxt is not None:
                consumed = 2
                dropped.append(f"{arg} {nxt}")
            elif arg not in ("-c", "-g", "-pipe") and not arg.startswith(("-W", "-g", "-M")):
                dropped.append(arg)
        # else: a source/object file name
        i += consumed
    return CompileFlags(
        include_dirs=tuple(dict.fromkeys(include_dirs)), defines=tuple(defines), flags=tuple(flags),
        std=std, opt_level=opt, dropped=tuple(dropped),
    )


def _safe_f_flag(arg: str) -> bool:
    return bool(SAFE_F_FLAGS.match(arg))


def compiler_allowed(path: str, allowed: tuple[str, ...], directory: str = ".") -> bool:
    """True when the database's compiler `path` is one the user trusts (see `trusted_compiler`)."""
    return bool(trusted_compiler(path, allowed, directory))


def trusted_compiler(path: str, allowed: tuple[str, ...], directory: str = ".") -> str:
    """The resolved executable of the database's compiler `path` when the user trusts it, else "".

    `path` (relative to the entry's `directory`, or a bare name looked up on PATH) is resolved with
    realpath first, so `..` and symlinks cannot smuggle a workspace file past a glob. The resolved file
    is trusted when it matches one of `allowed` component by component (a `*` never matches `/`, and a
    resolved path has no `..`), or when it is what one of the user's globs names on this machine
    (`/usr/bin/gcc*` names /usr/bin/gcc, whose real file is /usr/bin/x86_64-linux-gnu-gcc-12).
    """
    if not path or not allowed or "\0" in path:
        return ""
    if "/" in path:
        absolute = os.path.normpath(os.path.join(os.path.abspath(directory), path))
    else:  # a bare name: the user's PATH, never a relative PATH entry (the workspace's cwd)
        search = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if os.path.isabs(d))
        found = shutil.which(path, path=search)
        if found is None:
            return ""
        absolute = found
    real = os.path.realpath(absolute)
    if not _is_executable_file(real):
        return ""
    # A workspace file is trusted only when a glob names it itself, never as a symlink's target.
    in_workspace = any(real.startswith(root + "/") for root in workspace_roots() if root != "/")
    for glob in allowed:
        pattern = os.path.normpath(glob) if os.path.isabs(glob) else ""
        if pattern and (_match_components(real, pattern) or (not in_workspace and real in _named_by(pattern))):
            return real
    return ""


def _is_executable_file(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and os.access(path, os.X_OK)


def _match_components(path: str, pattern: str) -> bool:
    """`fnmatch` per path component: `/usr/bin/*gcc*` matches /usr/bin/gcc-12, never /usr/bin/../x/gcc."""
    parts, globs = path.split("/"), pattern.split("/")
    return len(parts) == len(globs) and all(
        p not in (".", "..") and fnmatch.fnmatchcase(p, g) for p, g in zip(parts, globs, strict=True))


@functools.lru_cache(maxsize=64)
def _named_by(pattern: str) -> frozenset[str]:
    """The real files the user's glob names on this machine (at most MAX_GLOB_MATCHES)."""
    found: set[str] = set()
    for match in itertools.islice(globlib.iglob(pattern), MAX_GLOB_MATCHES):
        found.add(os.path.realpath(match))
    return frozenset(found)


@dataclass(frozen=True)
class _Entry:
    file: str  # absolute, normalised
    directory: str
    arguments: tuple[str, ...]


@dataclass
class CompileDatabase:
    """A parsed compile_commands.json."""

    path: Path
    entries: list[_Entry] = field(default_factory=list)
    allowed_compilers: tuple[str, ...] = ()
    _by_file: dict[str, _Entry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Indexed once, before the database is shared between threads (it can have thousands of entries).
        self._by_file = {}
        for e in self.entries:
            self._by_file.setdefault(e.file, e)

    @classmethod
    def find(cls, start_dir: str | os.PathLike[str], allowed_compilers: tuple[str, ...] = (),
             root: str | os.PathLike[str] | None = None) -> CompileDatabase | None:
        """The nearest compile_commands.json at or above `start_dir` up to `root` (also in a `build/`
        child, as clangd looks); None when there is none or it cannot be read (logged as one line)."""
        path = locate(start_dir, root if root is not None else start_dir)
        return cls.load(path, allowed_compilers) if path is not None else None

    @classmethod
    def load(cls, path: Path, allowed_compilers: tuple[str, ...] = ()) -> CompileDatabase | None:
        try:
            raw = read_workspace_file(path, MAX_DB_BYTES)  # regular files only, bounded: never /proc/kmsg
            data: Any = json.loads(raw.decode("utf-8", errors="replace"))
        except UnreadableFile as exc:
            log.warning("%s: %s", path, exc)
            return None
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            log.warning("%s: not a readable compilation database (%s), ignored", path, str(exc).splitlines()[0][:200])
            return None
        if not isinstance(data, list):
            log.warning("%s: not a JSON list of compile commands, ignored", path)
            return None
        entries: list[_Entry] = []
        for item in data:
            entry = _parse_entry(item, path.parent)
            if entry is not None:
                entries.append(entry)
        return cls(path=path, entries=entries, allowed_compilers=allowed_compilers)

    def flags_for(self, path: str | os.PathLike[str]) -> CompileFlags:
        """The sanitized flags for `path`: its own entry, else a neighbour's (same directory, same
        stem for headers), else the first entry; defaults when the database is empty."""
        target = os.path.normpath(os.path.abspath(path))
        entry = self._by_file.get(target)
        exact = entry is not None
        if entry is None:
            stem = os.path.splitext(target)[0]
            same_dir = [e for e in self.entries if os.path.dirname(e.file) == os.path.dirname(target)]
            entry = next((e for e in same_dir if os.path.splitext(e.file)[0] == stem), None)
            entry = entry or (same_dir[0] if same_dir else (self.entries[0] if self.entries else None))
        if entry is None:
            return CompileFlags()
        flags = sanitize_arguments(entry.arguments[1:], entry.directory)
        named = entry.arguments[0] if entry.arguments else ""
        compiler = trusted_compiler(named, self.allowed_compilers, entry.directory)
        if named and not compiler:
            log.debug("compile_commands.json compiler %r not allow-listed; using simdlens's own", named)
        return CompileFlags(
            compiler=compiler, include_dirs=flags.include_dirs, defines=flags.defines, flags=flags.flags,
            std=flags.std, opt_level=flags.opt_level, dropped=flags.dropped, exact=exact,
        )


# The workspace roots: the server's workspace folders (set once at `initialize`), or what one `scan`
# covers (scoped to that scan's context). A compile_commands.json above every root is never used
# unless configured explicitly, and the sandbox never binds a directory holding a root.
_process_roots: tuple[str, ...] = ()
_scoped_roots: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("simdlens_workspace_roots", default=None)


def set_workspace_roots(roots: Iterable[str | os.PathLike[str]]) -> None:
    """The process's workspace roots (the language server's folders)."""
    global _process_roots
    _process_roots = _real_roots(roots)


@contextlib.contextmanager
def scoped_workspace_roots(roots: Iterable[str | os.PathLike[str]]) -> Iterator[None]:
    """Workspace roots for the code run inside this block (and the tasks and threads it starts)."""
    token = _scoped_roots.set(_real_roots(roots))
    try:
        yield
    finally:
        _scoped_roots.reset(token)


def workspace_roots() -> tuple[str, ...]:
    scoped = _scoped_roots.get()
    return scoped if scoped is not None else _process_roots


def _real_roots(roots: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(os.path.realpath(r) for r in roots if str(r)))


def locate(start_dir: str | os.PathLike[str], root: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest compile_commands.json in `start_dir` or a parent of it up to `root` (never above:
    one planted in /tmp must not apply to every file below it), also in a `build/` child (as clangd
    looks). Without `root`, or when `root` does not contain `start_dir`, only `start_dir` is searched.
    A name that is there but not a regular file is returned, so that loading it says why it is unusable."""
    here = Path(os.path.realpath(start_dir))
    top = Path(os.path.realpath(root)) if root is not None else here
    if top != here and top not in here.parents:
        top = here
    for directory in (here, *here.parents):
        for candidate in (directory / DB_NAME, directory / "build" / DB_NAME):
            if os.path.lexists(candidate) and not os.path.isdir(candidate):
                return candidate
        if directory == top:
            break
    return None


def search_root(path: str) -> str:
    """Where the upward search for `path`'s database stops: the outermost workspace root holding it,
    else the file's own directory."""
    real = os.path.realpath(path)
    holding = [r for r in workspace_roots() if real == r or real.startswith(r.rstrip("/") + "/")]
    return min(holding, key=len) if holding else os.path.dirname(real)


_databases: OrderedDict[tuple[str, int, int, int, tuple[str, ...]], CompileDatabase | None] = OrderedDict()
_databases_lock = threading.Lock()  # the pipeline and the sandbox look up from worker threads; never held while reading


def cached_database(start_dir: str | os.PathLike[str], allowed_compilers: tuple[str, ...] = (),
                    root: str | os.PathLike[str] | None = None) -> CompileDatabase | None:
    """`CompileDatabase.find`, parsed once per version of the file (path, size, mtime, inode)."""
    path = locate(start_dir, root if root is not None else start_dir)
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, tuple(allowed_compilers))
    with _databases_lock:
        if key in _databases:
            _databases.move_to_end(key)
            return _databases[key]
    db = CompileDatabase.load(path, tuple(allowed_compilers))  # outside the lock: a slow read blocks no one else
    with _databases_lock:
        for old in [k for k in _databases if k[0] == key[0] and k[4] == key[4] and k != key]:
            del _databases[old]  # an older version of the same file
        _databases[key] = db
        while len(_databases) > MAX_CACHED_DATABASES:
            _databases.popitem(last=False)
        return db


def flags_for_file(path: str, compile_commands_dir: str = "", allowed_compilers: tuple[str, ...] = ()) -> CompileFlags:
    """The sanitized flags of `path` from its compile_commands.json; defaults when there is none.

    `compile_commands_dir` (configured explicitly) is used as it is: the database in it or in its
    `build/` child. Otherwise the search starts at the file's directory and stops at the workspace root
    holding the file (`search_root`). Never raises: a database that cannot be used costs its flags
    (one logged line), not the scan.
    """
    if not path:
        return CompileFlags()
    if compile_commands_dir:
        start = root = compile_commands_dir
    else:
        start, root = os.path.dirname(os.path.abspath(path)), search_root(path)
    try:
        db = cached_database(start, allowed_compilers, root)
    except Exception as exc:  # e.g. a directory we may not stat: no flags rather than no scan
        log.warning("compile_commands.json near %s: %s", start, exc)
        return CompileFlags()
    return db.flags_for(path) if db is not None else CompileFlags()


def _parse_entry(item: Any, db_dir: Path) -> _Entry | None:
    if not isinstance(item, dict):
        return None
    directory = item.get("directory")
    file = item.get("file")
    if not isinstance(file, str) or not isinstance(directory, str):
        return None
    directory = os.path.normpath(os.path.join(db_dir, directory))
    arguments = item.get("arguments")
    if isinstance(arguments, list) and all(isinstance(a, str) for a in arguments):
        args = tuple(arguments)
    elif isinstance(item.get("command"), str):
        try:
            args = tuple(shlex.split(item["command"]))
        except ValueError:
            return None
    else:
        return None
    return _Entry(file=os.path.normpath(os.path.join(directory, file)), directory=directory, arguments=args)
