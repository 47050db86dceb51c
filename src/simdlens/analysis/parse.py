"""Parsing C and C++ source with tree-sitter.

`language_for` picks the grammar from a file name, `parse` turns bytes into a tree-sitter tree (never
raising: malformed code yields a tree with ERROR nodes, which later stages skip around), and
`check_source` says in one line why a file should not be analysed at all (binary, not UTF-8, huge).
`tokenize` / `normalized_tokens` split C/C++ text into tokens, for layout- and comment-insensitive
content hashes.

Parsers and grammars are created once per language and reused; a `Parser` is not thread-safe, so each
thread gets its own.
"""

from __future__ import annotations

import re
import threading
from pathlib import PurePath

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp

from simdlens.core import Language

MAX_SOURCE_BYTES = 2 * 1024 * 1024

_C_SUFFIXES = frozenset({".c"})
_CPP_SUFFIXES = frozenset({".cc", ".cpp", ".cxx", ".hpp", ".hh", ".c++", ".hxx", ".h++", ".ipp", ".tpp"})
_HEADER_SUFFIXES = frozenset({".h"})

_GRAMMARS: dict[str, tree_sitter.Language] = {}
_local = threading.local()


def language_for(path: str | PurePath, override: str | None = None, header_language: str = "c") -> Language | None:
    """The language to parse `path` as: "c", "cpp", or None when it is not a C/C++ source file.

    `override` (the `--lang` option) wins when given; `.h` files use `header_language`.
    """
    if override is not None:
        return _normalise(override)
    suffix = PurePath(path).suffix
    lower = suffix.lower()
    if lower in _C_SUFFIXES and suffix != ".C":  # `.C` is a C++ convention
        return "c"
    if lower in _HEADER_SUFFIXES:
        return _normalise(header_language) or "c"
    if lower in _CPP_SUFFIXES or suffix == ".C":
        return "cpp"
    return None


def _normalise(name: str) -> Language | None:
    name = name.strip().lower()
    if name in ("c",):
        return "c"
    if name in ("cpp", "c++", "cxx", "cc"):
        return "cpp"
    return None


def grammar(language: Language) -> tree_sitter.Language:
    """The tree-sitter grammar object for `language` (cached)."""
    g = _GRAMMARS.get(language)
    if g is None:
        g = tree_sitter.Language(tree_sitter_cpp.language() if language == "cpp" else tree_sitter_c.language())
        _GRAMMARS[language] = g
    return g


def _parser(language: Language) -> tree_sitter.Parser:
    parsers: dict[str, tree_sitter.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = {}
        _local.parsers = parsers
    p = parsers.get(language)
    if p is None:
        p = tree_sitter.Parser(grammar(language))
        parsers[language] = p
    return p


def parse(source: bytes, language: Language, old_tree: tree_sitter.Tree | None = None) -> tree_sitter.Tree:
    """Parse `source`; with `old_tree` (already `edit()`ed to match `source`) re-parse incrementally.

    Never raises on bad input: syntax errors become ERROR / MISSING nodes in the tree.
    """
    parser = _parser(language)
    if old_tree is not None:
        return parser.parse(source, old_tree)
    return parser.parse(source)


def check_source(data: bytes, path: str | PurePath = "") -> str | None:
    """A one-line reason why `data` should not be analysed ("binary file", "not UTF-8",
    "larger than 2 MB"), or None when it is fine to parse."""
    if len(data) > MAX_SOURCE_BYTES:
        return f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB"
    head = data[:8192]
    if b"\x00" in head:
        return "binary file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return f"not UTF-8 (invalid byte at line {line})"
    # Control characters other than whitespace / form feed are a sign of a binary blob.
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if sample and controls > max(4, len(sample) // 100):
        return "binary file"
    return None


# One C/C++ token. Identifiers come first (the most common token), so a string prefix such as `u8` or
# `L` is its own token: `u8"x"` and `u8 "x"` tokenize alike (a harmless blind spot in loop code).
_TOKEN_BODY = (
    r"""[A-Za-z_$][A-Za-z0-9_$]*"""
    r"""|\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.'])*"""
    r"""|"(?:\\.|[^"\\\n])*"?"""
    r"""|'(?:\\.|[^'\\\n])*'?"""
    r"""|->\*?|\+\+|--|<<=?|>>=?|<=>|&&|\|\||::|\.\.\.|\#\#|[-+*/%&|^!=<>]=|\S"""
)
_TOKEN = re.compile(_TOKEN_BODY)
# The same with comments (group 1, dropped) recognised in the same scan, for text with both comments
# and quotes (where a `//` may sit inside a string).
_TOKEN_OR_COMMENT = re.compile(r"(//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|(" + _TOKEN_BODY + ")")
_COMMENT = re.compile(r"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)")


def tokenize(text: bytes | str) -> list[str]:
    """The C/C++ tokens of `text` (comments dropped; string and character literals kept whole)."""
    data = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if "/" in data:
        if '"' in data or "'" in data:
            return [tok for _com, tok in _TOKEN_OR_COMMENT.findall(data) if tok]
        data = _COMMENT.sub(" ", data)
    return _TOKEN.findall(data)


def normalized_tokens(text: bytes | str) -> str:
    """The C/C++ token stream of `text` joined by single spaces, comments dropped: two texts that
    differ only in layout or comments give the same string, any token change gives another."""
    return " ".join(tokenize(text))
