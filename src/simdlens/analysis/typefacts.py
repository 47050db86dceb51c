"""Type facts: what a kernel or a rewrite assumes about C types, as compile-time assertions.

A `TypeFact` says "this expression has exactly this machine type" (`c[0]` is float, `n` is a signed
32-bit integer). The sandbox asserts every fact of a kernel (what its harness assumes) and of a
candidate (what its vector code assumes) in the build it tests, inside the user's file context, so a
type simdlens misread fails to build instead of verifying (docs/sandbox.md, "Type facts"). The rule
engine also writes its facts into the edit it applies, as a guard against later type changes.

    C    _Static_assert(__builtin_types_compatible_p(__typeof__(c[0]), float), "...");
    C++  static_assert(std::is_same<typename std::remove_cv<typename std::remove_reference<decltype(c[0])>::type>::type,
                                float>::value, "...");

Floats and booleans must be that very type (a `float complex`, a `long double`, a struct fail); an
integer must be an integer (or enum) of the same size and signedness (`long` and `long long` are one
machine type on x86-64, and `char` is a signed byte there).
"""

from __future__ import annotations

import re

from simdlens.analysis.ir import CType
from simdlens.core import CompileDiagnostic, TypeFact

FACT_MARK = "simdlens type fact: "
_FACT_FAILED = re.compile(re.escape(FACT_MARK) + r"(?P<subject>.*?) is (?P<type>[\w ,-]+?)\"?\s*$")
_FACT_LITERAL = {"float": "1.0f", "double": "1.0", "bool": "true",
                 "complex float": "(1.0f + 1.0fi)", "complex double": "(1.0 + 1.0i)"}  # GNU imaginary constants
# complex element types by name: C's _Complex, C++'s std::complex (the rewrite reads either as part pairs)
_COMPLEX_NAMES = {"c": {"complex float": "_Complex float", "complex double": "_Complex double"},
                  "cpp": {"complex float": "std::complex<float>", "complex double": "std::complex<double>"}}
_LAYOUT = re.compile(r"(?P<what>size|offset) (?P<n>\d+)")  # `TypeFact.type` of a structure's layout
_FACT_WORDS = {
    "float": "float", "double": "double", "bool": "bool",
    "complex float": "a complex float", "complex double": "a complex double",
    **{f"{s}int{b}": f"{'an unsigned' if s else 'a signed'} {b}-bit integer" for s in ("", "u") for b in (8, 16, 32, 64)},
}


def fact_type(ctype: CType) -> str:
    """The `TypeFact.type` of a simdlens element type: its canonical name, "bool", or "complex float"."""
    if ctype.is_complex:
        return f"complex {ctype.name}"
    return "bool" if ctype.spelling in ("bool", "_Bool") else ctype.name


def describe(type_name: str) -> str:
    """"float", "a signed 32-bit integer", "12 bytes" (a size), "at byte 4" (a member's offset)."""
    layout = _LAYOUT.fullmatch(type_name)
    if layout is not None:
        return f"{layout['n']} bytes" if layout["what"] == "size" else f"at byte {layout['n']}"
    return _FACT_WORDS.get(type_name, type_name)


def _cpp_type(expr: str) -> str:
    """The C++ type of `expr` without reference and qualifiers; `typename` because in a function template
    the expression's type may depend on the template's parameters (and C++11 allows it anywhere)."""
    return f"typename std::remove_cv<typename std::remove_reference<decltype({expr})>::type>::type"


def fact_assertion(fact: TypeFact, language: str, *, literal_types: bool = False, message: str = "") -> str:
    """Block-scope compile-time assertion(s) of `fact` (one line each).

    `literal_types` names float and double through literals (`__typeof__(1.0f)`), so that a user's
    `#define float double` cannot rewrite the assertion along with the code it checks (the sandbox's
    form); without it the plain names read better (the form in the user's edit)."""
    text = message or f"{FACT_MARK}{fact.subject} is {describe(fact.type)}"
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    layout = _LAYOUT.fullmatch(fact.type)
    if layout is not None:  # a structure's size, a member's offset (arrays of structures as strided views)
        if layout["what"] == "size":
            test = f"sizeof({fact.expr}) == {layout['n']}"
        else:
            holder, member = fact.expr.split("].", 1)  # "p[0].pos.x": the member path from the element
            holder += "]"
            record = _cpp_type(holder) if language == "cpp" else f"__typeof__({holder})"
            test = f"__builtin_offsetof({record}, {member}) == {layout['n']}"
        return f"static_assert({test}, {quoted});" if language == "cpp" else f"_Static_assert({test}, {quoted});"
    if fact.type in _COMPLEX_NAMES["c"]:
        named = _COMPLEX_NAMES["cpp" if language == "cpp" else "c"][fact.type]
        if language == "cpp":
            t = _cpp_type(fact.expr)
            return f"static_assert(std::is_same<{t}, {named}>::value, {quoted});"
        name = f"__typeof__({_FACT_LITERAL[fact.type]})" if literal_types else named
        return f"_Static_assert(__builtin_types_compatible_p(__typeof__({fact.expr}), {name}), {quoted});"
    if fact.type in _FACT_LITERAL:
        literal = _FACT_LITERAL[fact.type] if literal_types else ""
        if language == "cpp":
            t = _cpp_type(fact.expr)
            return f"static_assert(std::is_same<{t}, {f'decltype({literal})' if literal else fact.type}>::value, {quoted});"
        name = "_Bool" if fact.type == "bool" else (f"__typeof__({literal})" if literal else fact.type)
        return f"_Static_assert(__builtin_types_compatible_p(__typeof__({fact.expr}), {name}), {quoted});"
    bits = int(fact.type.lstrip("uint"))
    unsigned = fact.type.startswith("u")
    if language == "cpp":
        t = _cpp_type(fact.expr)
        return (f"static_assert((std::is_integral<{t}>::value || std::is_enum<{t}>::value) && !std::is_same<{t}, bool>::value"
                f" && sizeof({t}) == {bits // 8} && {'' if unsigned else '!'}std::is_unsigned<{t}>::value, {quoted});")
    # the class first (1 integer, 3 enum): a cast of a struct, to test its sign, is an error of its own
    kind = (f"(__builtin_classify_type({fact.expr}) == 1 || __builtin_classify_type({fact.expr}) == 3)"
            f" && !__builtin_types_compatible_p(__typeof__({fact.expr}), _Bool)")  # gcc classes _Bool as an integer
    return (f"_Static_assert({kind}, {quoted});\n"
            f"_Static_assert(sizeof({fact.expr}) == {bits // 8} && (__typeof__({fact.expr}))-1 {'>' if unsigned else '<'} 0, {quoted});")


def type_fact_failure(diagnostics: tuple[CompileDiagnostic, ...]) -> str | None:
    """The clear reason when a build failed because simdlens misread a type, else None."""
    for d in diagnostics:
        m = _FACT_FAILED.search(d.message)
        if m:
            return f"simdlens misread the type of {m['subject']} (the compiler says it is not {m['type']})"
    return None
