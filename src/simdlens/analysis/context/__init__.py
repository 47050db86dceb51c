"""What a file declares outside its functions: the context a loop's types and bounds come from.

`FileContext.build(source, path, language)` reads, from the file and from the headers it includes
with `#include "…"` (searched in the file's directory, then `include_dirs`; `#include <…>` only in
`include_dirs`):

- `includes`       the file's own `#include` lines, verbatim, in order;
- `macros`         object-like `#define NAME value` macros and `-D` defines (name -> replacement text);
- `typedefs`       `typedef …;` and C++ `using T = …;` (name -> `Typedef`);
- `structs`        struct / class / union definitions with their fields (name -> `StructDef`; both the
                   tag and a typedef name of the struct are keys);
- `enum_constants` enumerators (name -> value expression);
- `globals`        global variable declarations (name -> `VarDecl`);
- `declarations`   all of the above as verbatim text in file order, for building kernel preambles
                   (`preamble(names)`).

Queries:

- `resolve_type(spelling)` maps a scalar type spelling ("unsigned char", "const uint8_t",
  "std::size_t", a typedef name, a typedef of a typedef) to the canonical `CType`; qualifiers are
  ignored (ask `qualifiers(spelling)` for them); anything else (pointers, structs, `long double`,
  templates, unknown names) gives None. Never raises.
- `macro_value(name)` / `int_constant(name)` / `eval_int(expr)` evaluate integer constant expressions
  over macros, enumerators and `const` globals (`#define HALF (LEN/2)`).
- `struct_of(spelling)`, `pointee(spelling)` help with `p->x[i]` and pointer typedefs.

Preprocessor conditionals are followed the way the compiler would, as far as the macros known here
allow (`#ifdef`, `#ifndef`, `#if defined(X) && X > 1`; unknown identifiers in `#if` are 0, as in C).
Deciding which code is *skipped* is stricter (`inactive_regions`: only what is certain, a loop is
never hidden on a guess). Typedefs declared inside function bodies are scoped: `at(byte)` is the
context seen from one position of the file (inside a function template, with its binding).
Data models are LP64 (x86-64 Linux): `long` is 64-bit, `char` is signed.

One module per concern: `records` (what is declared), `reader` (reading the file and its headers into
records), `file_context` (`FileContext` and its queries), `spellings` (type spellings and builtin
types), `constants` (integer constant expressions), `conditionals` (code the preprocessor skips),
`templates` (the one instantiation of a function template a file names, see `at`).
"""

from simdlens.analysis.context.conditionals import (
                                               Regions,
                                               in_regions,
                                               inactive_regions,
                                               live_branch,
                                               skipping_directive,
)
from simdlens.analysis.context.file_context import FileContext, annotate_reasons, predefined_macros
from simdlens.analysis.context.records import (
                                               MAX_HEADER_BYTES,
                                               MAX_HEADERS,
                                               MAX_INCLUDE_DEPTH,
                                               Declaration,
                                               LocalTypedef,
                                               StructDef,
                                               Typedef,
                                               VarDecl,
)

__all__ = ["MAX_HEADERS", "MAX_HEADER_BYTES", "MAX_INCLUDE_DEPTH", "Declaration", "FileContext", "LocalTypedef", "Regions",
           "StructDef", "Typedef", "VarDecl", "annotate_reasons", "in_regions", "inactive_regions", "live_branch",
           "predefined_macros", "skipping_directive"]
