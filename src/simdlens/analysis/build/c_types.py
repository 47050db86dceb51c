"""C's scalar types for the IR builder: spellings to `CType` (builtins, typedefs, type macros, complex
types), the integer promotions, the usual arithmetic conversions, implicit conversion, and number and
character literals with their C types.
"""

from __future__ import annotations

import re
from typing import Any

from simdlens.analysis.ir import (
    DOUBLE,
    FLOAT,
    INT32,
    INT64,
    UINT32,
    UINT64,
    Binary,
    Cast,
    Const,
    CType,
    Expr,
    Select,
    Unary,
    expr_type,
)

_RANK = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 3, "uint32": 3, "int64": 4, "uint64": 4}

_BUILTIN = {
    "char": "int8", "signed char": "int8", "unsigned char": "uint8", "short": "int16", "short int": "int16",
    "signed short": "int16", "signed short int": "int16", "unsigned short": "uint16",
    "unsigned short int": "uint16", "int": "int32", "signed": "int32", "signed int": "int32",
    "unsigned": "uint32", "unsigned int": "uint32", "long": "int64", "long int": "int64", "signed long": "int64",
    "long long": "int64", "long long int": "int64", "signed long long": "int64", "unsigned long": "uint64",
    "unsigned long int": "uint64", "unsigned long long": "uint64", "unsigned long long int": "uint64",
    "float": "float", "double": "double", "_Bool": "uint8", "bool": "uint8",
    "int8_t": "int8", "uint8_t": "uint8", "int16_t": "int16", "uint16_t": "uint16", "int32_t": "int32",
    "uint32_t": "uint32", "int64_t": "int64", "uint64_t": "uint64", "size_t": "uint64", "ssize_t": "int64",
    "ptrdiff_t": "int64", "intptr_t": "int64", "uintptr_t": "uint64",
}

_BUILTIN_CTYPES: dict[str, CType | None] = {}


class _CtxCache:
    """Answers that depend only on the file context (types of spellings, constant expressions),
    remembered for the file's loops: the same few spellings and bounds come back in every loop."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx  # keeps id(ctx) valid while cached
        self.ctypes: dict[str, CType | None] = {}
        self.ints: dict[str, int | None] = {}


_CTX_CACHES: dict[int, _CtxCache] = {}


def ctx_cache(ctx: Any) -> _CtxCache:
    c = _CTX_CACHES.get(id(ctx))
    if c is None or c.ctx is not ctx:
        if len(_CTX_CACHES) > 8:
            _CTX_CACHES.clear()
        c = _CTX_CACHES[id(ctx)] = _CtxCache(ctx)
    return c


def ctype_of(spelling: str, ctx: Any) -> CType | None:
    """The canonical scalar type of a spelling ("unsigned char", "pixel_t"), or None."""
    t = _BUILTIN_CTYPES.get(spelling)
    if t is not None:
        return t
    cache = ctx_cache(ctx).ctypes
    if spelling in cache:
        return cache[spelling]
    t = _ctype_of(spelling, ctx)
    if t is not None and t.name == _BUILTIN.get(_plain_spelling(spelling)):
        if len(_BUILTIN_CTYPES) > 4096:
            _BUILTIN_CTYPES.clear()
        _BUILTIN_CTYPES[spelling] = t  # a builtin spelling means the same in every file
    else:
        cache[spelling] = t
    return t


def _plain_spelling(spelling: str) -> str:
    return " ".join(w for w in spelling.replace("std::", "").split() if w not in ("const", "volatile", "static",
                                                                                  "register", "struct"))


COMPLEX_WORD = re.compile(r"\b(?:_Complex|__complex__|complex)\b")

_STD_COMPLEX = re.compile(r"\b(?:std\s*::\s*)?complex\s*<\s*([^<>]+?)\s*>")

TYPE_NOISE = frozenset({"const", "volatile", "static", "register", "typedef", "extern", "inline"})


def complex_type(spelling: str, ctx: Any, depth: int = 0) -> tuple[bool, CType | None]:
    """(is it a complex type, its CType with `is_complex`) for `float complex`, `_Complex double`,
    `std::complex<float>` and typedefs / macros naming one; (True, None) for a complex type of other
    parts (long double, integers)."""
    m = _STD_COMPLEX.search(spelling)
    words = [w for w in re.findall(r"[A-Za-z_]\w*", spelling) if w not in TYPE_NOISE]
    if "struct" in words or "union" in words or "class" in words:
        return False, None
    if m is not None:
        parts = m.group(1)
    elif COMPLEX_WORD.search(spelling):
        parts = COMPLEX_WORD.sub(" ", spelling)
    else:
        if len(words) != 1 or depth > 8 or ctx is None:
            return False, None
        typedefs = getattr(ctx, "typedefs", {})
        td = typedefs.get(words[0])
        if td is None:  # `typedef double _Complex z_t;` can be filed under the wrong name by the fallback reader
            td = next((x for x in typedefs.values() if COMPLEX_WORD.search(str(x.text))
                       and re.search(r"\b" + re.escape(words[0]) + r"\s*;\s*$", str(x.text))), None)
        if td is not None:  # the typedef's own text: `typedef float complex sample32f_t;`
            inner = re.sub(r"^\s*typedef\b|\b" + re.escape(words[0]) + r"\b|;\s*$", " ", str(td.text))
            inner = re.sub(r"^\s*using\s*=", " ", inner)
            found, t = complex_type(inner, ctx, depth + 1)
        else:
            body = getattr(ctx, "macros", {}).get(words[0])
            if body is None:
                return False, None
            found, t = complex_type(str(body), ctx, depth + 1)
        return found, (CType(t.name, spelling.strip(), True) if t is not None else None)
    part = _ctype_of(" ".join(parts.split()), ctx) if parts.strip() else None
    if part is None or not part.is_float or part.is_complex:
        return True, None
    return True, CType(part.name, " ".join(spelling.split()), True)


def _ctype_of(spelling: str, ctx: Any) -> CType | None:
    is_complex, cx = complex_type(spelling, ctx)
    if is_complex:
        return cx
    s = " ".join(w for w in spelling.replace("std::", "").split() if w not in ("const", "volatile", "static",
                                                                               "register", "struct"))
    name = _BUILTIN.get(s)
    if name is not None:
        return CType(name, spelling.strip())
    resolve = getattr(ctx, "resolve_type", None)
    if resolve is not None:
        try:
            t = resolve(spelling)
        except Exception:  # a colleague's resolver must never take the analysis down
            t = None
        if t is not None:
            return t if t.spelling else CType(t.name, spelling.strip())
    # `#define REAL double`: an object-like macro naming a type (until the clang pass answers it)
    words = [w for w in spelling.split() if w not in ("const", "volatile", "static", "register")]
    body = getattr(ctx, "macros", {}).get(words[0]) if len(words) == 1 else None
    if body is not None and re.fullmatch(r"[A-Za-z_][\w\s]*", str(body).strip()) and str(body).strip() != words[0]:
        t = _ctype_of(str(body).strip(), ctx)
        if t is not None:
            return CType(t.name, spelling.strip(), t.is_complex)
    return None


def promote(t: CType) -> CType:
    """C's integer promotions: anything narrower than int becomes int."""
    if t.is_float or _RANK[t.name] >= 3:
        return t
    return INT32


def usual(a: CType, b: CType) -> CType:
    """C's usual arithmetic conversions (LP64)."""
    if a.name == "double" or b.name == "double":
        return DOUBLE if a.name != "double" else a
    if a.name == "float" or b.name == "float":
        return FLOAT if a.name != "float" else a
    a, b = promote(a), promote(b)
    if a.name == b.name:
        return a
    if a.signed == b.signed:
        return a if _RANK[a.name] > _RANK[b.name] else b
    u, s = (a, b) if not a.signed else (b, a)
    if _RANK[u.name] >= _RANK[s.name]:
        return u
    return s  # a wider signed type represents every value of the unsigned one (LP64)


BOOL_SPELLINGS = frozenset({"bool", "_Bool", "const bool", "const _Bool"})


def convert(e: Expr, t: CType) -> Expr:
    """`e` converted to `t` as C would do implicitly (no node when the machine type is the same).

    Conversion to `_Bool` / `bool` is `e != 0` (2 becomes 1), not a truncation, so it is spelled out."""
    et = expr_type(e)
    if t.spelling in BOOL_SPELLINGS and et.spelling not in BOOL_SPELLINGS:
        if not (isinstance(e, Binary) and e.op in ("<", "<=", ">", ">=", "==", "!=", "&&", "||")) and not (
                isinstance(e, Unary) and e.op == "!"):
            e = Binary("!=", e, Cast(Const(0, INT32, "0"), et, implicit=True) if et.name != "int32"
                       else Const(0, INT32, "0"), INT32)
        return Cast(e, t, implicit=True)
    if et.name == t.name:
        return e
    return folded(Cast(e, t, implicit=True))


def _in_type(v: int, t: CType) -> int | None:
    """`v` as a value of the integer type `t`: unsigned wraps, signed overflow is undefined (None)."""
    bits = t.bits
    if not t.signed:
        return v % (1 << bits)
    return v if -(1 << (bits - 1)) <= v < (1 << (bits - 1)) else None


def _int_const(e: Expr) -> int | None:
    if isinstance(e, Const) and not e.type.is_float and not e.type.is_complex and isinstance(e.value, int):
        return e.value
    return None


def _int_result(op: str, a: int, b: int, bits: int) -> int | None:
    """`a op b` as C computes it on integers of `bits` bits, or None where C leaves it undefined."""
    if op in ("/", "%"):
        if b == 0:
            return None
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # C truncates toward zero
        return q if op == "/" else a - q * b
    if op in ("<<", ">>"):
        if b < 0 or b >= bits or (op == "<<" and a < 0):
            return None
        return a << b if op == "<<" else a >> b
    ops = {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b,
           "<": int(a < b), "<=": int(a <= b), ">": int(a > b), ">=": int(a >= b), "==": int(a == b),
           "!=": int(a != b), "&&": int(bool(a) and bool(b)), "||": int(bool(a) or bool(b))}
    return ops.get(op)


def folded(e: Expr) -> Expr:
    """`e` computed now where C computes it from integer constants (`(1U << (16 - 1U)) - 1U` is 32767U,
    `(sat >= 1U) ? … : …` with `sat` 16 takes its first branch): a rule then sees the bound that a helper
    function or a macro spells as an expression. Floating-point stays as written (its rounding is the
    target's), and so does whatever C leaves undefined (signed overflow, a shift past the width)."""
    if isinstance(e, Cast) and not e.type.is_float and not e.type.is_complex and e.type.spelling not in BOOL_SPELLINGS:
        v = _int_const(e.operand)
        if v is not None:
            bits = e.type.bits
            w = v % (1 << bits)
            w = w - (1 << bits) if e.type.signed and w >= 1 << (bits - 1) else w  # gcc: modulo 2^N
            return Const(w, e.type, str(w))
    elif isinstance(e, Unary) and not e.type.is_float and e.op in ("-", "~", "!"):
        v = _int_const(e.operand)
        if v is not None:
            r = _in_type(-v if e.op == "-" else ~v if e.op == "~" else int(not v), e.type)
            if r is not None:
                return Const(r, e.type, str(r))
    elif isinstance(e, Binary) and not e.type.is_float:
        a, b = _int_const(e.lhs), _int_const(e.rhs)
        if a is not None and b is not None:
            v = _int_result(e.op, a, b, expr_type(e.lhs).bits)
            r = None if v is None else _in_type(v, e.type)
            if r is not None:
                return Const(r, e.type, str(r))
    elif isinstance(e, Select):
        c = _int_const(e.cond)
        if c is not None:
            return e.then if c else e.else_
    return e



def strip_implicit_casts(e: Expr) -> Expr:
    while isinstance(e, Cast) and e.implicit:
        e = e.operand
    return e


_LONG_DOUBLE = CType("long double", "long double")

_LITERALS: dict[str, Const] = {}


def literal(text: str) -> Const:
    """A C number literal with its C type: `1.0` is double, `1.0f` float, `10` int, `3000000000` long,
    `0xFFFFFFFF` unsigned int, `10u` unsigned, `10UL` unsigned long."""
    c = _LITERALS.get(text)
    if c is None:
        if len(_LITERALS) > 4096:
            _LITERALS.clear()
        c = _LITERALS[text] = _parse_literal(text)
    return c


def _parse_literal(text: str) -> Const:
    raw = text.replace("'", "")
    low = raw.lower()
    is_hex = low.startswith("0x")
    is_float = ("." in low or ("e" in low and not is_hex) or ("p" in low and is_hex)) and not low.startswith("0b")
    if is_float:
        suffix = ""
        body = low
        while body and body[-1] in "fl" and not (is_hex and body[-1] == "f" and "p" not in body):
            suffix = body[-1] + suffix
            body = body[:-1]
        try:
            value = float.fromhex(body) if is_hex else float(body)
        except ValueError:
            value = 0.0
        if "f" in suffix:
            return Const(value, FLOAT, text)
        if "l" in suffix:
            return Const(value, _LONG_DOUBLE, text)
        return Const(value, DOUBLE, text)
    body = low.rstrip("ul")
    suffix = low[len(body):]
    try:
        if body.startswith("0b"):
            value_i = int(body[2:], 2)
        elif is_hex:
            value_i = int(body, 16)
        elif len(body) > 1 and body.startswith("0"):
            value_i = int(body, 8)
        else:
            value_i = int(body or "0")
    except ValueError:
        value_i = 0
    unsigned = "u" in suffix
    longs = suffix.count("l")
    decimal = not (is_hex or (len(body) > 1 and body.startswith("0")))
    candidates: list[CType]
    if unsigned:
        candidates = [UINT32, UINT64] if not longs else [UINT64]
    elif decimal:
        candidates = [INT32, INT64] if not longs else [INT64]
    else:
        candidates = [INT32, UINT32, INT64, UINT64] if not longs else [INT64, UINT64]
    for c in candidates:
        lo, hi = (-(1 << (c.bits - 1)), (1 << (c.bits - 1)) - 1) if c.signed else (0, (1 << c.bits) - 1)
        if lo <= value_i <= hi:
            return Const(value_i, c, text)
    return Const(value_i, UINT64, text)


def char_value(text: str) -> int:
    inner = text.strip()
    if inner.startswith(("u'", "U'", "L'")):
        inner = inner[1:]
    inner = inner.strip("'")
    try:
        s = inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return 0
    if not s:
        return 0
    v = ord(s[0])
    return v - 256 if 128 <= v < 256 else v  # char is signed on x86-64
