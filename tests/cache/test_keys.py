"""One definition of "the same kernel" (`kernel_identity`), for cache keys and the sandbox's builds.

Layout and comments do not make a new kernel; anything the preprocessor or the harness reads does.
"""

from __future__ import annotations

import dataclasses

from cache_objects import make_kernel

from simdlens.analysis import analyze_file
from simdlens.cache import keys
from simdlens.config import BenchSettings
from simdlens.core import Kernel

SOURCE = b"""#include <stdint.h>
#define SCALE(x) ((x) * 3)

void triple(int32_t *restrict out, const int32_t *restrict in, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = SCALE(in[i]);
}
"""


def kernel_of(source: bytes) -> Kernel:
    fa = analyze_file(source, "t.c", "c")
    (kernel,) = fa.kernels.values()
    return kernel


def test_a_reindented_recommented_loop_is_the_same_kernel_for_cache_and_build() -> None:
    base = kernel_of(SOURCE)
    relaid = kernel_of(b"/* moved down */\n\n" + SOURCE.replace(b"out[i] = SCALE(in[i]);", b"out[i] =   SCALE( in[i] ); // x3"))
    assert keys.kernel_identity(relaid) == keys.kernel_identity(base)
    assert keys.kernel_build_key(relaid, ("gcc",), ("-O2",)) == keys.kernel_build_key(base, ("gcc",), ("-O2",))
    assert keys.kernel_build_key(base, ("gcc",), ("-O3",)) != keys.kernel_build_key(base, ("gcc",), ("-O2",))


def test_preprocessor_layout_that_changes_meaning_makes_another_kernel() -> None:
    k = make_kernel()
    function_like = dataclasses.replace(k, preamble="#define F(x) x\n")
    object_like = dataclasses.replace(k, preamble="#define F (x) x\n")  # the same tokens, another macro
    two_lines = dataclasses.replace(k, preamble="#define N 4\nint pad;\n")
    one_line = dataclasses.replace(k, preamble="#define N 4 int pad;\n")
    identities = [keys.kernel_identity(x) for x in (function_like, object_like, two_lines, one_line)]
    assert all(a != b for i, a in enumerate(identities) for b in identities[i + 1:])
    # A stringizing macro turns the spacing of its argument into data: then the text counts verbatim.
    stringize = dataclasses.replace(k, preamble="#define S(x) #x\n")
    spaced = dataclasses.replace(stringize, source=k.source.replace("{ for", "{  for"))
    assert keys.kernel_identity(stringize) != keys.kernel_identity(spaced)
    assert keys.kernel_identity(dataclasses.replace(k, source=k.source.replace("{ for", "{  for"))) == \
        keys.kernel_identity(k)


def test_everything_the_harness_reads_is_in_the_identity() -> None:
    k = make_kernel()
    changed = [
        dataclasses.replace(k, footprints=(dataclasses.replace(k.footprints[0], indexes="b"), *k.footprints[1:])),
        dataclasses.replace(k, params=(dataclasses.replace(k.params[0], decl="double *a"), *k.params[1:])),
        dataclasses.replace(k, facts=frozenset({"search"})),
        dataclasses.replace(k, may_alias=(("a", "b"),)),
        dataclasses.replace(k, size_param=None),
        dataclasses.replace(k, name="other_kernel"),
    ]
    base = keys.kernel_identity(k)
    assert all(keys.kernel_identity(c) != base for c in changed)
    # Positions, the file and the loop id are not.
    assert keys.kernel_identity(dataclasses.replace(k, loop_id="x", path="y.c", loop_span=None)) == base


def test_a_quick_measurement_is_keyed_by_the_sizes_it_measured() -> None:
    full, quick = BenchSettings(sizes=(4096, 65536)), BenchSettings(sizes=(4096, 65536), quick=True)
    assert keys.measurement_key("verdict:x", "cpu", full, quick=True) == keys.measurement_key("verdict:x", "cpu", quick, False)
    assert keys.measurement_key("verdict:x", "cpu", full, quick=False) != keys.measurement_key("verdict:x", "cpu", quick, False)
