"""Type spellings as words: qualifiers, builtin arithmetic types and the named integer types of
<stdint.h> and friends, with their canonical names (LP64: `long` is 64-bit, `char` is signed).
"""

from __future__ import annotations

import re
from typing import Any

QUALIFIERS = {
    "const": "const", "volatile": "volatile", "restrict": "restrict", "__restrict": "restrict",
    "__restrict__": "restrict", "static": "static", "extern": "extern", "register": "register",
    "inline": "inline", "thread_local": "thread_local", "_Thread_local": "thread_local",
    "constexpr": "constexpr", "mutable": "mutable", "__extension__": "", "_Atomic": "atomic",
}

BUILTIN_WORDS = frozenset({"signed", "unsigned", "char", "short", "int", "long", "float", "double", "_Bool", "bool",
                           "__signed__", "__signed"})

NAMED_TYPES: dict[str, str] = {
    "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16",
    "int32_t": "int32", "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64",
    "int_least8_t": "int8", "uint_least8_t": "uint8", "int_least16_t": "int16", "uint_least16_t": "uint16",
    "int_least32_t": "int32", "uint_least32_t": "uint32", "int_least64_t": "int64", "uint_least64_t": "uint64",
    # glibc on x86-64: the fast types wider than 8 bits are 64-bit.
    "int_fast8_t": "int8", "uint_fast8_t": "uint8", "int_fast16_t": "int64", "uint_fast16_t": "uint64",
    "int_fast32_t": "int64", "uint_fast32_t": "uint64", "int_fast64_t": "int64", "uint_fast64_t": "uint64",
    "intmax_t": "int64", "uintmax_t": "uint64", "size_t": "uint64", "ssize_t": "int64", "ptrdiff_t": "int64",
    "intptr_t": "int64", "uintptr_t": "uint64", "off_t": "int64", "wchar_t": "int32", "char8_t": "uint8",
    "char16_t": "uint16", "char32_t": "uint32", "__int8_t": "int8", "__uint8_t": "uint8", "__int16_t": "int16",
    "__uint16_t": "uint16", "__int32_t": "int32", "__uint32_t": "uint32", "__int64_t": "int64",
    "__uint64_t": "uint64", "u_int8_t": "uint8", "u_int16_t": "uint16", "u_int32_t": "uint32", "u_int64_t": "uint64",
}

SPELLING_TOKEN = re.compile(r"::|[A-Za-z_]\w*|\S")

COMPLEX_WORD = re.compile(r"\b(_Complex|complex)\b")


def declaration_text(v: Any, element: str) -> str:
    """A declaration of a clang `VarFact` in C syntax ("const double *restrict x", "double (*A)[200]")."""
    const = "const " if v.element.const else ""
    stars = 0
    while stars < len(v.dims) and v.dims[stars] == "*":
        stars += 1
    arrays = "".join(f"[{d}]" for d in v.dims[stars:] if d != "*")
    ptr = "*" * stars + (" restrict " if v.restrict and stars else "")
    if stars and arrays:
        return f"{const}{element} ({ptr.strip()}{v.name}){arrays}"
    return f"{const}{element} {ptr}{v.name}{arrays}".replace("  ", " ")


def builtin_type(words: list[str]) -> str | None:
    """Canonical name of a builtin arithmetic type given its keywords (qualifiers already removed)."""
    longs = words.count("long")
    unsigned = "unsigned" in words
    signed = "signed" in words or "__signed__" in words or "__signed" in words
    base = [w for w in words if w not in ("long", "unsigned", "signed", "__signed__", "__signed")]
    if len(base) == 2 and "int" in base and "short" in base:  # `short int`
        base = ["short"]
    if (unsigned and signed) or len(base) > 1 or longs > 2:
        return None
    b = base[0] if base else "int"
    if b in ("float", "_Bool", "bool"):
        if unsigned or signed or longs:
            return None
        return "float" if b == "float" else "uint8"
    if b == "double":
        return None if (unsigned or signed or longs) else "double"  # long double: unsupported
    if b == "char":
        return None if longs else ("uint8" if unsigned else "int8")
    if b == "short":
        return None if longs else ("uint16" if unsigned else "int16")
    if b == "int":
        if longs:
            return "uint64" if unsigned else "int64"
        return "uint32" if unsigned else "int32"
    return None


def spelling_words(spelling: str) -> list[str] | None:
    """Words of a type spelling with `::`/`std::` prefixes dropped; None for pointers, references,
    templates, arrays and anything else that is not a plain (qualified) type name."""
    toks = SPELLING_TOKEN.findall(spelling)
    words: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t == "::":
            i += 1
            continue
        if i + 1 < len(toks) and toks[i + 1] == "::":
            if t != "std":
                return None  # some other namespace / class scope: not a type we know
            i += 2
            continue
        if not (t[0].isalpha() or t[0] == "_"):
            return None
        words.append(t)
        i += 1
    return words
