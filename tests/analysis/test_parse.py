"""Choosing the grammar, parsing bad input, and refusing files that are not source code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simdlens.analysis.parse import (
    MAX_SOURCE_BYTES,
    check_source,
    language_for,
    normalized_tokens,
    parse,
    tokenize,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.c", "c"), ("dir/b.h", "c"), ("x.cc", "cpp"), ("x.cpp", "cpp"), ("x.cxx", "cpp"), ("x.hpp", "cpp"),
        ("x.hh", "cpp"), ("x.c++", "cpp"), ("x.hxx", "cpp"), ("X.CPP", "cpp"), ("x.C", "cpp"),
        ("README.md", None), ("Makefile", None), ("x.py", None),
    ],
)
def test_language_by_extension(path: str, expected: str | None) -> None:
    assert language_for(path) == expected


def test_header_language_is_configurable_and_override_wins() -> None:
    assert language_for("x.h", header_language="cpp") == "cpp"
    assert language_for("x.h", header_language="c") == "c"
    assert language_for("x.c", override="cpp") == "cpp"
    assert language_for("notes.txt", override="c") == "c"
    assert language_for("x.c", override="fortran") is None


def test_parse_gives_a_tree_with_errors_for_malformed_code() -> None:
    tree = parse(b"int f( { for (;;) ", "c")
    assert tree.root_node.has_error
    assert tree.root_node.type == "translation_unit"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["c", "cpp"]))
def test_parse_never_raises_on_random_bytes(data: bytes, language: str) -> None:
    tree = parse(data, language)  # type: ignore[arg-type]
    assert tree.root_node.end_byte <= len(data)


def test_check_source_accepts_c_and_rejects_binary_non_utf8_and_huge() -> None:
    assert check_source(b"int main(void) { return 0; }\n", "a.c") is None
    assert check_source("const char *s = \"héllo\";\n".encode(), "a.c") is None
    assert check_source(b"\x7fELF\x02\x01\x01\x00\x00\x00", "a.out") == "binary file"
    reason = check_source(b"int x;\n\xff\xfe garbage\n", "a.c")
    assert reason is not None and reason.startswith("not UTF-8") and "line 2" in reason
    assert check_source(b"x" * (MAX_SOURCE_BYTES + 1), "big.c") == "larger than 2 MB"
    assert check_source(b"\x01\x02\x03\x04\x05\x06 ok " * 20, "blob.c") == "binary file"


def test_tokens_ignore_layout_and_comments_but_keep_strings() -> None:
    a = normalized_tokens(b"for (int i=0;i<n;i++) a[i] = b[i]+1; // note")
    b = normalized_tokens(b"for ( int i = 0 ;\n   i < n ; i ++ )\n  /* c */ a [ i ]=b[ i ] + 1 ;")
    assert a == b
    assert normalized_tokens(b"a - -b") != normalized_tokens(b"a--b")
    assert tokenize('s = "a  b // not a comment";') == ["s", "=", '"a  b // not a comment"', ";"]
    assert tokenize("x >>= 1.5e-3f") == ["x", ">>=", "1.5e-3f"]
