"""Take the code out of a model's answer and reject, before anything is compiled, what must never run.

`extract_code` takes the last fenced code block (the whole text when there is none). `check_answer`
then applies a static pre-check; the first rule that fails becomes a `rejected` verdict with its reason:

- the expected function is not defined with the exact name and a compatible signature, or `main` is;
- an intrinsic (`_mm*`) is unknown to the ISA tables or belongs to another ISA; no SIMD at all;
- inline assembly, `.incbin`, compiler builtins of the target, attributes other than harmless ones
  (`constructor`, `section`, `target`, ...), `#pragma` other than loop pragmas, `_Pragma`;
- process, file, network, environment or I/O APIs (`system`, `exec*`, `fork`, `fopen`, `socket`, ...);
- `#include` of anything but the C (and a few C++) standard headers and the intrinsic headers;
- preprocessor tricks that could hide any of the above (token pasting, trigraphs, digraph `%:`).

The pre-check is the first line of defence only: model code is compiled and run solely inside the
sandbox, which is what contains anything these rules miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter

from simdlens.analysis.parse import parse
from simdlens.core import Kernel
from simdlens.model.intrinsics import IntrinsicSet

# --------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE_LINE = re.compile(r"^[ \t]*(```|~~~)")


@dataclass(frozen=True)
class ExtractedCode:
    code: str
    unterminated: bool = False  # the answer opened a code block it never closed (cut off?)


def extract_code(answer: str) -> ExtractedCode:
    """The last fenced code block of `answer`; the whole answer when it has no fences."""
    if re.search(r"<think>", answer, re.IGNORECASE) and not re.search(r"</think>", answer, re.IGNORECASE):
        return ExtractedCode("", unterminated=True)  # cut off while still reasoning: no answer yet
    text = _THINK.sub("", answer)
    blocks: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if _FENCE_LINE.match(line):
            inside = not inside
            if inside:
                blocks.append([])
            continue
        if inside:
            blocks[-1].append(line)
    if not blocks:
        return ExtractedCode(text.strip("\n"))
    return ExtractedCode("\n".join(blocks[-1]).strip("\n"), unterminated=inside)


# --------------------------------------------------------------------------------------------------
# Static pre-check
# --------------------------------------------------------------------------------------------------

ALLOWED_HEADERS = frozenset({
    # C standard library (the APIs that matter are banned by name below)
    "assert.h", "complex.h", "ctype.h", "errno.h", "fenv.h", "float.h", "inttypes.h", "iso646.h",
    "limits.h", "math.h", "stdalign.h", "stdarg.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h",
    "stdlib.h", "string.h", "tgmath.h",
    # C++ counterparts and header-only numerics
    "cassert", "cfloat", "cinttypes", "climits", "cmath", "cstddef", "cstdint", "cstdlib", "cstring",
    "algorithm", "array", "bit", "limits", "numeric", "type_traits", "utility",
    # x86 intrinsics
    "immintrin.h", "x86intrin.h", "mmintrin.h", "xmmintrin.h", "emmintrin.h", "pmmintrin.h",
    "tmmintrin.h", "smmintrin.h", "nmmintrin.h", "wmmintrin.h", "x86gprintrin.h",
})

_BANNED_CALLS = frozenset({
    # processes
    "system", "popen", "pclose", "fork", "vfork", "clone", "clone3", "execl", "execlp", "execle", "execv",
    "execvp", "execvpe", "execve", "execveat", "fexecve", "posix_spawn", "posix_spawnp", "daemon",
    "kill", "raise", "ptrace", "syscall", "pthread_create", "thrd_create", "signal", "sigaction",
    "exit", "_exit", "_Exit", "quick_exit", "abort", "atexit", "at_quick_exit", "setjmp", "longjmp",
    # files
    "fopen", "fopen64", "freopen", "fdopen", "tmpfile", "tmpnam", "mkstemp", "open", "open64", "openat",
    "creat", "close", "read", "write", "pread", "pwrite", "readv", "writev", "lseek", "unlink", "unlinkat",
    "remove", "rename", "chmod", "chown", "mkdir", "rmdir", "opendir", "readdir", "stat", "lstat",
    "fstat", "access", "truncate", "ftruncate", "symlink", "link", "readlink", "chdir", "chroot",
    "mmap", "munmap", "mprotect", "dup", "dup2", "pipe", "ioctl", "fcntl",
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "send", "sendto",
    "sendmsg", "recv", "recvfrom", "recvmsg", "getaddrinfo", "gethostbyname", "inet_addr", "inet_pton",
    # loading code, environment
    "dlopen", "dlsym", "dlmopen", "getenv", "secure_getenv", "setenv", "putenv", "unsetenv", "environ",
    "setuid", "setgid", "seteuid", "setegid", "prctl", "sysconf",
    # I/O (the harness owns stdout/stderr)
    "printf", "fprintf", "dprintf", "sprintf", "snprintf", "vprintf", "vfprintf", "puts", "fputs",
    "putchar", "fputc", "putc", "fwrite", "fread", "fgets", "fgetc", "getc", "getchar", "gets", "scanf",
    "fscanf", "sscanf", "perror", "fflush", "fclose", "fseek", "ftell", "FILE", "stdin", "stdout", "stderr",
    # C++ streams, threads, files
    "cout", "cerr", "clog", "cin", "ifstream", "ofstream", "fstream", "filebuf", "filesystem", "thread",
    "jthread", "async",
    # inline assembly, preprocessor operators, target builtins that escape the ISA check
    "_Pragma", "__pragma", "__builtin_apply", "__builtin_apply_args", "__builtin_return",
    "__builtin_frame_address", "__builtin_return_address", "__builtin_extract_return_addr",
})
_ASM = frozenset({"asm", "__asm", "__asm__", "_asm"})
_HARMLESS_ATTRIBUTES = frozenset({
    "aligned", "always_inline", "unused", "maybe_unused", "noinline", "hot", "cold", "flatten", "pure",
    "const", "nonnull", "may_alias", "vector_size", "likely", "unlikely", "fallthrough", "nodiscard",
})
_LOOP_PRAGMA = re.compile(r"^(GCC\s+(unroll\s+\d+|ivdep)|unroll(\s*\(?\s*\d+\s*\)?)?|clang\s+loop\b.*|omp\s+simd\b.*)$")
_DIRECTIVES_OK = frozenset({"define", "undef", "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef", "else",
                            "endif", "include", "pragma"})

_LEXEME = re.compile(r"//[^\n]*|/\*.*?(\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
_IDENT = re.compile(r"[A-Za-z_]\w*")
_NAME = re.compile(r"(->|\.)?\s*\b([A-Za-z_]\w*)")  # group 1: member access before the name
_ATTRIBUTE = re.compile(r"__attribute__\s*\(\((.*?)\)\)(?!\))|__declspec\s*\((.*?)\)|\[\[(.*?)\]\]", re.DOTALL)
_TRIGRAPH = re.compile(r"\?\?[=/'()!<>-]")


@dataclass(frozen=True)
class CheckedAnswer:
    """The pieces of an answer the sandbox compiles, or why it was rejected."""

    code: str  # the extracted code, as the model wrote it
    function: str = ""  # the definition of the kernel function (storage class removed)
    support: str = ""  # everything else it needs (helpers, includes), compiled before it
    rejection: str = ""  # one line; "" = passed the pre-check

    @property
    def ok(self) -> bool:
        return not self.rejection


def check_answer(code: str, kernel: Kernel, intrinsics: IntrinsicSet) -> CheckedAnswer:
    """Apply the static pre-check to `code` (already extracted) for `kernel` on `intrinsics.isa`."""
    reason = _check_text(code, intrinsics)
    if reason:
        return CheckedAnswer(code, rejection=reason)
    return _split(code, kernel)


def _blank(match: re.Match[str], keep_strings: bool) -> str:
    text = match.group(0)
    if text.startswith(("//", "/*")):
        return " " + "\n" * text.count("\n")  # a comment is whitespace; keep line numbers
    return text if keep_strings else '""'


def _check_text(code: str, intrinsics: IntrinsicSet) -> str:
    joined = re.sub(r"\\\r?\n", "", code)  # line continuations can split a banned name in two
    if _TRIGRAPH.search(joined):
        return "trigraphs (??x) are not allowed"
    no_comments = _LEXEME.sub(lambda m: _blank(m, True), joined)
    bare = _LEXEME.sub(lambda m: _blank(m, False), joined)
    if not bare.isascii():
        return "non-ASCII characters outside comments and strings are not allowed"
    if "%:" in bare:
        return "the digraph %: (a hidden #) is not allowed"
    if "incbin" in no_comments:
        return ".incbin is not allowed"

    for line in no_comments.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            continue
        reason = _check_directive(stripped[1:].strip())
        if reason:
            return reason

    for m in _ATTRIBUTE.finditer(bare):
        reason = _check_attributes(next(g for g in m.groups() if g is not None))
        if reason:
            return reason

    uses_simd = "vector_size" in bare
    for m in _NAME.finditer(bare):
        name = m.group(2)
        if m.group(1):
            continue  # a struct member (`p->read`) is not the library function
        if name in _ASM:
            return "inline assembly is not allowed"
        if name == "main":
            return "defines or uses `main`; answer with the kernel function only"
        if name in _BANNED_CALLS:
            return f"uses `{name}`: process, file, network, environment and I/O APIs are not allowed in a kernel"
        if name.startswith("__builtin_ia32_"):
            return f"uses the compiler builtin `{name}`; use the documented intrinsics instead"
        if name.startswith("_mm"):
            uses_simd = True
            reason = intrinsics.rejection(name)
            if reason:
                return reason
    if re.search(r"\bextern\b(?!\s*\"C)", no_comments):
        return "`extern` declarations are not allowed; the kernel must be self-contained"
    if not uses_simd:
        return "uses no SIMD intrinsics; the answer must vectorize the loop with intrinsics"
    return ""


def _check_directive(directive: str) -> str:
    word = _IDENT.match(directive)
    name = word.group(0) if word else directive[:1]
    rest = directive[len(name):].strip()
    if name not in _DIRECTIVES_OK:
        return f"#{name} is not allowed"
    if name == "include":
        m = re.fullmatch(r"<\s*([\w./+-]+)\s*>", rest)
        if m is None or m.group(1) not in ALLOWED_HEADERS:
            return f"#include {rest} is not allowed; only C standard headers and intrinsic headers may be included"
    if name in ("define", "undef") and "##" in rest:
        return "token pasting (##) in macros is not allowed"
    if name == "pragma" and not _LOOP_PRAGMA.match(" ".join(rest.split())):
        return f"#pragma {rest} is not allowed (only loop pragmas such as `GCC unroll N` and `GCC ivdep`)"
    return ""


def _check_attributes(text: str) -> str:
    inner = text
    while True:  # drop argument lists: aligned(32) -> aligned
        shorter = re.sub(r"\([^()]*\)", "", inner)
        if shorter == inner:
            break
        inner = shorter
    for raw in inner.split(","):
        name = raw.strip().split("::")[-1].strip().strip("_")
        if name and name not in _HARMLESS_ATTRIBUTES:
            return f"the attribute `{raw.strip()}` is not allowed"
    return ""


# --------------------------------------------------------------------------------------------------
# Finding the function and checking its signature (tree-sitter)
# --------------------------------------------------------------------------------------------------

_QUALIFIERS = frozenset({"const", "volatile", "restrict", "__restrict", "__restrict__", "register", "struct",
                         "enum", "union"})
_TYPE_NAMES = {
    "char": "int8", "signed char": "int8", "int8_t": "int8", "unsigned char": "uint8", "uint8_t": "uint8",
    "short": "int16", "short int": "int16", "signed short": "int16", "int16_t": "int16",
    "unsigned short": "uint16", "unsigned short int": "uint16", "uint16_t": "uint16",
    "int": "int32", "signed": "int32", "signed int": "int32", "int32_t": "int32",
    "unsigned": "uint32", "unsigned int": "uint32", "uint32_t": "uint32",
    "long": "int64", "long int": "int64", "long long": "int64", "long long int": "int64", "int64_t": "int64",
    "ptrdiff_t": "int64", "ssize_t": "int64", "intptr_t": "int64",
    "unsigned long": "uint64", "unsigned long int": "uint64", "unsigned long long": "uint64",
    "size_t": "uint64", "uint64_t": "uint64", "uintptr_t": "uint64",
    "_Bool": "bool", "bool": "bool",
}
_STORAGE = frozenset({"static", "inline", "__inline", "__inline__", "extern"})


@dataclass(frozen=True)
class _Signature:
    returns: str
    params: tuple[str, ...]


def _split(code: str, kernel: Kernel) -> CheckedAnswer:
    source = code.encode()
    tree = parse(source, kernel.language)
    defs = [n for n in _walk(tree.root_node) if n.type == "function_definition" and _def_name(n) == kernel.name]
    if not defs:
        return CheckedAnswer(code, rejection=f"does not define the function `{kernel.signature}`")
    if len(defs) > 1:
        return CheckedAnswer(code, rejection=f"defines `{kernel.name}` more than once")
    fn = defs[0]
    aliases = {p.elem.spelling: p.elem.name for p in kernel.params if p.elem is not None and p.elem.spelling}
    if kernel.return_type is not None and kernel.return_type.spelling:
        aliases[kernel.return_type.spelling] = kernel.return_type.name
    expected = _expected_signature(kernel, aliases)
    got = _signature_of(fn, source, aliases)
    if expected is not None and got is not None and expected != got:
        return CheckedAnswer(code, rejection=f"changes the signature; keep exactly `{kernel.signature}` "
                             f"({_difference(expected, got)})")
    # The sandbox links the function from its own translation unit: `static`/`inline` would hide it.
    cut = [(c.start_byte, c.end_byte) for c in fn.children
           if c.type == "storage_class_specifier" and _text(c, source) in _STORAGE]
    function = _remove(source[fn.start_byte:fn.end_byte], [(a - fn.start_byte, b - fn.start_byte) for a, b in cut])
    preamble = _squash(kernel.preamble)
    kept = []
    for child in tree.root_node.children:
        if child.id == fn.id or _squash(_text(child, source)) in preamble:
            continue  # the function itself, or a typedef/include the kernel's preamble already has
        if fn.start_byte >= child.start_byte and fn.end_byte <= child.end_byte:
            # the function sits inside a block (`#ifdef __AVX2__ ... #endif`, `extern "C" {}`): keep the rest
            kept.append(_remove(source[child.start_byte:child.end_byte],
                                [(fn.start_byte - child.start_byte, fn.end_byte - child.start_byte)]))
            continue
        kept.append(_text(child, source))
    support = "\n".join(k for k in kept if k.strip())
    return CheckedAnswer(code, function=function.strip(), support=support.strip())


def _walk(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            out.append(n)
            continue  # no functions inside functions
        stack.extend(reversed(n.children))
    return out


def _text(node: tree_sitter.Node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode(errors="replace")


def _remove(data: bytes, cuts: list[tuple[int, int]]) -> str:
    for a, b in sorted(cuts, reverse=True):
        data = data[:a] + data[b:]
    return data.decode(errors="replace")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _innermost(declarator: tree_sitter.Node | None) -> tree_sitter.Node | None:
    """Follow pointer/function/array/parenthesised declarators down to the declared name."""
    node = declarator
    while node is not None and node.type not in ("identifier", "field_identifier", "qualified_identifier",
                                                  "destructor_name", "operator_name"):
        nxt = node.child_by_field_name("declarator")
        if nxt is None:
            nxt = next((c for c in node.named_children if c.type.endswith("declarator") or c.type == "identifier"),
                       None)
        node = nxt
    return node


def _def_name(fn: tree_sitter.Node) -> str | None:
    name = _innermost(fn.child_by_field_name("declarator"))
    return name.text.decode() if name is not None and name.text is not None else None


def _function_declarator(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    return node


def _type_key(text: str, aliases: dict[str, str]) -> str:
    tokens = re.findall(r"[A-Za-z_]\w*|\*|&|\[[^\]]*\]", text)
    depth = sum(1 for t in tokens if t in ("*", "&") or t.startswith("["))
    words = [t for t in tokens if t[0].isalpha() or t[0] == "_"]
    words = [w for w in words if w not in _QUALIFIERS and not w.startswith("__attribute")]
    base = " ".join(words)
    base = aliases.get(base, _TYPE_NAMES.get(base, base))
    return base + "*" * depth


def _signature_of(decl: tree_sitter.Node, source: bytes, aliases: dict[str, str]) -> _Signature | None:
    fdecl = _function_declarator(decl.child_by_field_name("declarator"))
    type_node = decl.child_by_field_name("type")
    if fdecl is None or type_node is None:
        return None
    # Pointers between the return type and the name ("float *f(...)") belong to the return type.
    head = source[type_node.start_byte:fdecl.start_byte].decode(errors="replace")
    head = "".join(c for c in head if c == "*") if "*" in head else ""
    returns = _type_key(_text(type_node, source) + head, aliases)
    params = []
    plist = fdecl.child_by_field_name("parameters")
    for p in plist.named_children if plist is not None else ():
        if p.type not in ("parameter_declaration", "optional_parameter_declaration"):
            continue
        text = _text(p, source)
        name = _innermost(p.child_by_field_name("declarator"))
        if name is not None:
            a, b = name.start_byte - p.start_byte, name.end_byte - p.start_byte
            text = _remove(source[p.start_byte:p.end_byte], [(a, b)])
        key = _type_key(text, aliases)
        if key != "void":
            params.append(key)
    return _Signature(returns, tuple(params))


def _expected_signature(kernel: Kernel, aliases: dict[str, str]) -> _Signature | None:
    source = (kernel.signature.strip().rstrip(";{ ") + ";").encode()
    tree = parse(source, kernel.language)
    for node in tree.root_node.children:
        if node.type == "declaration" and _function_declarator(node.child_by_field_name("declarator")) is not None:
            return _signature_of(node, source, aliases)
    return None


def _difference(expected: _Signature, got: _Signature) -> str:
    if expected.returns != got.returns:
        return f"returns {got.returns} instead of {expected.returns}"
    if len(expected.params) != len(got.params):
        return f"{len(got.params)} parameters instead of {len(expected.params)}"
    for i, (e, g) in enumerate(zip(expected.params, got.params, strict=True), 1):
        if e != g:
            return f"parameter {i} is {g} instead of {e}"
    return "different types"
