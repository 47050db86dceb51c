"""Whatever bytes arrive (half-typed code, mangled corpus files, binary noise), analysis never raises
and every loop still gets a verdict with a reason."""

from __future__ import annotations

from analysis_corpus import corpus_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simdlens.analysis import analyze_file

SOURCES = [p.read_bytes() for p in corpus_files()]
TOKENS = [b"(", b")", b"{", b"}", b"[", b"]", b";", b"*", b"&", b"++", b"--", b"+=", b"->", b".", b"?", b":", b"0",
          b"1.0f", b"i", b"n", b"a", b"for", b"while", b"if", b"else", b"break", b"goto", b"volatile", b"restrict",
          b"#define X", b"\n", b" ", b"/*", b"*/", b"//", b"'", b'"', b"\\", b"\xff", b"\x00"]


def _check(source: bytes, lang: str) -> None:
    fa = analyze_file(source, "fuzz.cpp" if lang == "cpp" else "fuzz.c", lang)  # type: ignore[arg-type]
    for a in fa.analyses:
        assert a.reasons, a
    for k in fa.kernels.values():
        assert k.source and k.content_hash


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SOURCES))), st.data())
def test_mutated_corpus(index: int, data: st.DataObject) -> None:
    src = bytearray(SOURCES[index])
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(src)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            src[pos:pos + data.draw(st.integers(1, 40))] = b""
        elif action == "insert":
            src[pos:pos] = data.draw(st.sampled_from(TOKENS))
        else:
            src[pos:pos + 1] = data.draw(st.sampled_from(TOKENS))
    _check(bytes(src), data.draw(st.sampled_from(["c", "cpp"])))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(range(len(SOURCES))), st.floats(0.0, 1.0))
def test_truncated_corpus(index: int, fraction: float) -> None:
    src = SOURCES[index]
    _check(src[: int(len(src) * fraction)], "c")


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _check(data, "c")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_random_loop_bodies(tokens: list[bytes]) -> None:
    body = b" ".join(tokens)
    src = b"void f(float *a, int n) { for (int i = 0; i < n; i++) { " + body + b" } }\n"
    _check(src, "c")
