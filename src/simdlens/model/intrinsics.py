"""The intrinsics a model may use for a target ISA, read from the rule engine's ISA tables.

The same data feeds the prompt (which intrinsics exist, with one-line semantics, so the model does not
invent any) and the static pre-check of its answers (an intrinsic outside the target ISA is rejected
before compiling). ISA knowledge stays in `rules/isa/*.toml`; this module only reads it through
`simdlens.rules.tables.load_isa(name)`, tolerating the small differences in how an entry may spell its
fields (object attributes or mapping keys).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intrinsic:
    name: str
    semantics: str  # one line: what it computes, incl. wrap/saturate and NaN behaviour where it matters
    elem: str  # element type(s) as the table names them ("float", "int32", "int" = any integer); "" = any
    isa: str
    flags: tuple[str, ...] = ()  # flags beyond the ISA's base flags (e.g. "-mfma")


@dataclass(frozen=True)
class IntrinsicSet:
    """What the tables say about one target ISA."""

    isa: str
    allowed: Mapping[str, Intrinsic]  # usable on the target (its table and the tables it includes)
    known: Mapping[str, str] = field(default_factory=dict)  # every intrinsic of every table -> its ISA
    flags: tuple[str, ...] = ()  # base compiler flags of the target, e.g. ("-mavx2",)
    available: bool = True  # False: no table could be loaded; intrinsics are then not checked
    macros: Mapping[str, str] = field(default_factory=dict)  # flag -> the macro it defines ("-mavx2" -> "__AVX2__")

    @property
    def all_flags(self) -> tuple[str, ...]:
        """Every flag the target's tables describe (what the prompt says the code is compiled with)."""
        return tuple(dict.fromkeys([*self.flags, *self.macros]))

    def flags_for(self, names: Iterable[str]) -> tuple[str, ...]:
        """The flags code using the intrinsics `names` needs: the base flags plus each intrinsic's own."""
        extra = [f for n in names if n in self.allowed for f in self.allowed[n].flags]
        return tuple(dict.fromkeys([*self.flags, *extra]))

    def for_types(self, elems: Iterable[str], limit: int = 160) -> list[Intrinsic]:
        """The allowed intrinsics for these element types (and the type-agnostic ones), at most `limit`."""
        wanted = {e for e in elems if e}
        chosen = [i for i in self.allowed.values() if not i.elem or _matches(i.elem, wanted)]
        chosen.sort(key=lambda i: (i.elem == "", i.name))  # typed entries first, then loads/stores/bitwise
        return chosen[:limit]

    def rejection(self, name: str) -> str:
        """Why the intrinsic `name` may not be used on this target ("" when it may)."""
        if not self.available or name in self.allowed:
            return ""
        other = self.known.get(name)
        if other:
            return f"{name} belongs to {other}, not to the target ISA {self.isa}"
        return f"{name} is not an intrinsic simdlens knows for {self.isa}"

    def without_flags(self, flags: Iterable[str]) -> IntrinsicSet:
        """This set minus the intrinsics needing any of `flags` (extensions this CPU lacks), and those flags."""
        drop = set(flags)
        if not drop:
            return self
        allowed = {n: i for n, i in self.allowed.items() if not drop.intersection(i.flags)}
        macros = {f: m for f, m in self.macros.items() if f not in drop}
        return dataclasses.replace(self, allowed=allowed, macros=macros)

    @classmethod
    def from_tables(cls, isa: str, tables: Mapping[str, Any]) -> IntrinsicSet:
        """Build from loaded ISA tables (name -> table); `isa` must be one of them."""
        known: dict[str, str] = {}
        for name, table in tables.items():
            for entry in _entries(table, name):
                known.setdefault(entry.name, name)
        allowed: dict[str, Intrinsic] = {}
        for name in _closure(isa, tables):
            for entry in _entries(tables[name], name):
                allowed.setdefault(entry.name, entry)
        if isa not in tables:
            return cls(isa, {}, known, available=False)
        flags = _field(tables[isa], "base_flags", "flags", "cflags", "compile_flags")
        base = [str(f) for f in (flags if isinstance(flags, list | tuple) else ())]
        macros: dict[str, str] = {}
        for name in _closure(isa, tables):
            described = _field(tables[name], "flags")
            if isinstance(described, Mapping):
                for flag, info in described.items():
                    macro = _field(info, "macro")
                    if macro:
                        macros.setdefault(str(flag), str(macro))
        return cls(isa, allowed, known, tuple(base), macros=macros)


@functools.lru_cache(maxsize=8)
def intrinsics_for(isa: str) -> IntrinsicSet:
    """The intrinsic set for `isa` from the project's ISA tables (cached; empty if they cannot be read)."""
    try:
        tables_module = importlib.import_module("simdlens.rules.tables")
        load_isa = tables_module.load_isa
    except (ImportError, AttributeError):
        log.warning("ISA tables (simdlens.rules.tables) are not available: model intrinsics are not checked")
        return IntrinsicSet(isa, {}, available=False)
    tables: dict[str, Any] = {}
    for name in dict.fromkeys([isa, *_isa_names(tables_module)]):
        try:
            tables[name] = load_isa(name)
        except Exception as exc:  # a missing or broken table: the others still count
            log.debug("ISA table %s not loaded: %s", name, exc)
    if isa not in tables:
        log.warning("no ISA table for %s: model intrinsics are not checked", isa)
        return IntrinsicSet(isa, {}, available=False)
    # a model answer using an extension this CPU lacks could never be verified here: don't offer it
    return IntrinsicSet.from_tables(isa, tables).without_flags(_lacking_on_host(tables[isa]))


def _lacking_on_host(table: Any) -> list[str]:
    """The table's `host_only` flags (extensions beyond the ISA's baseline) whose feature this CPU lacks."""
    from simdlens.sandbox.cpu import host_cpu

    host = host_cpu().isa
    flags = _field(table, "flags")
    if not isinstance(flags, Mapping):
        return []
    return [str(f) for f, info in flags.items() if _get(info, "host_only") and _get(info, "feature") not in host]


def _isa_names(tables_module: Any) -> list[str]:
    for attr in ("available_isas", "isa_names", "list_isas"):
        fn = getattr(tables_module, attr, None)
        if callable(fn):
            return [str(n) for n in fn()]
    for attr in ("ISA_NAMES", "ISAS"):
        names = getattr(tables_module, attr, None)
        if names:
            return [str(n) for n in names]
    try:
        folder = resources.files("simdlens.rules") / "isa"
        return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    except (OSError, ModuleNotFoundError):
        return []


def _closure(isa: str, tables: Mapping[str, Any]) -> list[str]:
    """`isa` and every table it includes (AVX-512 code may use AVX2 intrinsics), in order."""
    seen: list[str] = []
    todo = [isa]
    while todo:
        name = todo.pop()
        if name in seen or name not in tables:
            continue
        seen.append(name)
        parents = _field(tables[name], "includes", "implies", "extends", "inherits", "base")
        if isinstance(parents, str):
            parents = [parents]
        todo.extend(str(p) for p in parents or ())
    return seen


def _entries(table: Any, isa: str) -> list[Intrinsic]:
    raw = _field(table, "intrinsics")
    if isinstance(raw, Mapping):
        items: list[tuple[str | None, Any]] = list(raw.items())
    else:
        items = [(None, e) for e in raw or ()]
    out = []
    for key, entry in items:
        name = _field(entry, "name") or key
        if not name:
            continue
        semantics = _field(entry, "semantics", "sem", "summary", "doc", "description") or ""
        elem = _field(entry, "elem", "element", "element_type", "elems", "types", "type") or ""
        if not isinstance(elem, str):
            elem = ",".join(str(e) for e in elem)
        flags = _field(entry, "flags") or ()
        out.append(Intrinsic(str(name), " ".join(str(semantics).split()), str(elem), isa,
                             tuple(str(f) for f in flags)))
    return out


def _field(obj: Any, *names: str) -> Any:
    """The first of `names` that `obj` has (attribute or key), also looking inside its `isa` section."""
    for holder in (obj, _get(obj, "isa")):
        if holder is None or isinstance(holder, str):
            continue
        for name in names:
            value = _get(holder, name)
            if value is not None:
                return value
    return None


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _matches(elem: str, wanted: set[str]) -> bool:
    types = _types_of(elem)
    if "int" in types and any(w.startswith(("int", "uint")) for w in wanted):
        return True  # the table's "int": any integer element type (256-bit loads, bitwise ops)
    return any(w in types for w in wanted)


def _types_of(elem: str) -> set[str]:
    """'int16->int32' or 'uint8, int8' -> {'int16', 'int32'} / {'uint8', 'int8'}."""
    for sep in ("->", ",", "/", " "):
        elem = elem.replace(sep, " ")
    return set(elem.split())
