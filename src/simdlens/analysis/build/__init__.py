"""From a tree-sitter loop to the loop IR, with C's typing rules.

`build_loop(site, tree, source, ctx)` normalises the loop header to `for (iv = lower; iv cmp upper;
iv += step)` with a trip-count expression, and turns the body into IR statements whose expressions
carry C's types after the usual conversions (integer promotions, usual arithmetic conversions,
conversion on assignment: every conversion is an explicit `Cast`, `implicit=True` when C inserts it).
Scalars written in the body are classified on the way (reduction, min/max, argmin/argmax, linear
induction, carried value, pack counter, private temporary); anything the IR cannot express faithfully
becomes a `Reason` instead of a guess. The function never raises on strange input.

Forms understood in the header: `<`, `<=`, `!=`, `>`, `>=` (also with the counter on the right),
`i++`, `++i`, `i--`, `i += c`, `i -= c`, `i = i + c`, counters declared outside the loop, bounds that
are expressions or macros, `for (...; i < n && cond; ...)` (a search: `cond` becomes an early exit),
`while (i < n) { ...; i++; }`, and pointer-walking loops (`while (n--) *d++ = *s++ * k;`), whose
iterations are counted by a synthetic counter `simdlens_k`. Loops that are SIMD code already (written
with intrinsics, or part of a rewrite simdlens applied: see `rewritten`) are refused before anything else.

Array storage: `Access.root` names the storage dependence and alias tests compare: the variable
("a", "img"), or the member path for struct members ("p->x", "s.v"), or the container for C++
`std::vector` / `std::array` ("v"); `Access.base` is C text for the (loop-invariant) pointer indexed.

One module per concern (a newcomer can start at `loop`, which runs the others in order):

- `loop`: the entry point and the order of the stages.
- `builder`: the per-loop state the stages share (`LoopBuilder`) and its name and constant lookups.
- `headers`, `counters`, `walks`: the loop header, its counter and trip count, pointer-walking loops.
- `uses`: where names are read and written, and whether they live after the loop.
- `statements`: statements and control flow. `scalars`: reductions and the other scalar updates.
- `expressions`, `macros`: typed expressions, function-like macros. `accesses`: memory accesses.
- `complex_values`: complex elements as (real, imaginary) pairs.
- `c_types`, `declarations`, `syntax`: C types and literals, declarations in scope, tree-sitter helpers.
"""

from simdlens.analysis.build.accesses import accesses_of, element_root
from simdlens.analysis.build.builder import WALK_IV
from simdlens.analysis.build.c_types import (
                                             complex_type,
                                             convert,
                                             ctype_of,
                                             literal,
                                             promote,
                                             strip_implicit_casts,
                                             usual,
)
from simdlens.analysis.build.declarations import (
                                             Decl,
                                             enclosing_function,
                                             function_scope,
                                             loop_node,
                                             release_file_scans,
)
from simdlens.analysis.build.loop import build_loop

__all__ = ["WALK_IV", "Decl", "accesses_of", "build_loop", "complex_type", "convert", "ctype_of", "element_root",
           "enclosing_function",
           "function_scope", "literal", "loop_node", "promote", "release_file_scans", "strip_implicit_casts", "usual"]
