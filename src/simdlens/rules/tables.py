"""ISA tables: the rule engine's knowledge of each instruction set, loaded from `rules/isa/<name>.toml`.

A table maps (operation, element type, register width in bits) to a C template built from intrinsics,
and (from type, to type, destination width) to a conversion template. Every intrinsic a template uses
is declared once with its element type, a one-line semantics string and the `-m` flags it needs, so
the same data can feed the model's prompt and check model output (`known_intrinsics`).

A table may `extend` another one (avx512 extends avx2): rows are merged per (op, type, width), the
child winning. Tables are loaded and validated once per process; a malformed table raises `TableError`
naming the file and the row.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

ELEMENT_TYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float", "double")
WIDTHS = (32, 64, 128, 256, 512)
MASK_KINDS = ("vector", "kmask")
TAILS = ("scalar", "masked")
# {d}: the fourth operand of the stride-4 de-interleave / interleave ops; {e} {f} the fifth and sixth of stride 6
PLACEHOLDERS = frozenset({"a", "b", "c", "d", "p", "m", "t", "e", "f", "x", "args", "full"})
# Memory operations touch exactly `width` bits, so a 64-bit access never falls back to a 128-bit row.
MEMORY_OPS = frozenset({"load", "store", "maskload", "maskstore"})

_INTRINSIC = re.compile(r"\b_mm(?:256|512)?_\w+|\b_p(?:ext|dep)_u(?:32|64)\b")
_FIELD = re.compile(r"\{(\w+)\}")


class TableError(ValueError):
    """A table file is malformed (the message names the file and the entry)."""


@dataclass(frozen=True)
class Intrinsic:
    name: str
    elem: str  # element type it works on ("int" = any integer width)
    semantics: str  # one line, for people and for the model's prompt
    flags: tuple[str, ...]  # -m flags it needs
    isa: str  # the table that declares it


@dataclass(frozen=True)
class IsaFlag:
    flag: str  # "-mavx2"
    macro: str  # "__AVX2__"
    cpu: str  # __builtin_cpu_supports name
    target: str  # __attribute__((target(...))) name
    cpuinfo: str = ""  # the /proc/cpuinfo flag name ("avx512_vbmi2"); default: the flag without "-m"
    # an extension beyond the ISA's baseline: templates needing it are used only if the host CPU has it
    host_only: bool = False

    @property
    def feature(self) -> str:
        return self.cpuinfo or self.flag.removeprefix("-m")


@dataclass(frozen=True)
class IsaTable:
    name: str
    vector_bits: int
    mask: str  # "vector" (all-ones lanes in an integer vector) or "kmask" (AVX-512 mask registers)
    tail: str  # "scalar" epilogue or "masked" final iteration
    flags: dict[str, IsaFlag]
    vtypes: dict[tuple[str, int], str]  # ("int" | "float" | "double", width) -> C vector type
    intrinsics: dict[str, Intrinsic]
    ops: dict[tuple[str, str, int], str]  # (op, element type, width) -> template
    converts: dict[tuple[str, str, int], str]  # (from, to, destination width) -> template
    semantics: dict[tuple[str, str], str] = field(default_factory=dict)  # (op, type) -> note from the row
    # (chain op, element type) -> (latency in cycles, steps started per cycle): see `accumulators`
    chains: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    loads_per_cycle: float = 2.0
    max_accumulators: int = 1
    short_step: int = 0  # an element-wise step of at most this many vector instructions runs twice an iteration
    test_store_mask: bool = False  # a store under a vector mask tests its lanes first (skip / plain / masked)

    def op(self, name: str, elem: str, width: int) -> str | None:
        """The template for `name` on `elem` lanes filling `width` bits, or None if the ISA has none."""
        hit = self.ops.get((name, elem, width))
        if hit is None and width < 128 and name not in MEMORY_OPS:
            hit = self.ops.get((name, elem, 128))  # lane-wise ops on a partly filled xmm register
        return hit

    def convert(self, src: str, dst: str, width: int) -> str | None:
        return self.converts.get((src, dst, width))

    def accumulators(self, chain_op: str, elem: str, loads_per_step: int) -> int:
        """How many independent accumulators a reduction whose chain is `chain_op` on `elem` lanes needs:
        latency x steps per cycle (the op's throughput, or the loads a step waits for), capped."""
        hit = self.chains.get((chain_op, elem))
        if hit is None:
            return 1
        latency, per_cycle = hit
        if loads_per_step > 0:
            per_cycle = min(per_cycle, self.loads_per_cycle / loads_per_step)
        return max(1, min(self.max_accumulators, math.ceil(latency * per_cycle - 1e-9)))

    def vtype(self, elem: str, width: int) -> str | None:
        cls = elem if elem in ("float", "double") else "int"
        return self.vtypes.get((cls, width))

    def mask_ctype(self, lanes: int) -> str:
        """The C type holding a compare result of `lanes` lanes when `mask == "kmask"`."""
        return f"__mmask{max(8, lanes)}"

    def intrinsics_in(self, code: str) -> tuple[str, ...]:
        return tuple(sorted(set(_INTRINSIC.findall(code))))

    def flags_for(self, code: str) -> tuple[str, ...]:
        """The -m flags `code` needs: the union over the intrinsics it uses, in table order."""
        needed: set[str] = set()
        for name in self.intrinsics_in(code):
            intrinsic = self.intrinsics.get(name)
            if intrinsic is not None:
                needed.update(intrinsic.flags)
        return tuple(f for f in self.flags if f in needed)

    @property
    def all_flags(self) -> tuple[str, ...]:
        return tuple(self.flags)

    def missing_on_host(self, code: str, host: frozenset[str]) -> tuple[str, ...]:
        """The `host_only` flags `code` needs whose CPU feature (/proc/cpuinfo names) `host` lacks."""
        return tuple(f for f in self.flags_for(code) if self.flags[f].host_only and self.flags[f].feature not in host)


def available_isas() -> tuple[str, ...]:
    return tuple(sorted(p.name[:-5] for p in resources.files("simdlens.rules").joinpath("isa").iterdir()
                        if p.name.endswith(".toml")))


@functools.cache
def load_isa(name: str) -> IsaTable:
    """The validated table for `name` ("avx2", "avx512"); `TableError` if missing or malformed."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise TableError(f"invalid ISA name {name!r}")
    path = resources.files("simdlens.rules").joinpath("isa", f"{name}.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TableError(f"no ISA table {name}.toml (available: {', '.join(available_isas())})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TableError(f"{name}.toml: {exc}") from None
    parent = None
    extends = data.get("isa", {}).get("extends", "")
    if extends:
        if extends == name:
            raise TableError(f"{name}.toml extends itself")
        parent = load_isa(extends)
    return _build(name, data, parent)


def isa_flags(name: str) -> tuple[str, ...]:
    """Every -m flag a candidate for `name` may need (e.g. ("-mavx2", "-mfma"))."""
    return load_isa(name).all_flags


@functools.cache
def cpu_features() -> dict[str, str]:
    """Every -m flag any table declares -> the /proc/cpuinfo name of the CPU feature it needs
    ("-mavx512vbmi2" -> "avx512_vbmi2"); tables that cannot be loaded are left out."""
    out: dict[str, str] = {}
    for isa in available_isas():
        try:
            table = load_isa(isa)
        except TableError:
            continue
        for flag, info in table.flags.items():
            out.setdefault(flag, info.feature)
    return out


@functools.cache
def known_intrinsics() -> dict[str, str]:
    """Every intrinsic any table declares -> the ISA table that declares it first (avx2 before avx512)."""
    out: dict[str, str] = {}
    for isa in available_isas():
        for intrinsic in load_isa(isa).intrinsics.values():
            out.setdefault(intrinsic.name, intrinsic.isa)
    return out


# --------------------------------------------------------------------------------------------------


def _build(name: str, data: dict[str, Any], parent: IsaTable | None) -> IsaTable:
    where = f"{name}.toml"
    isa = _table(data, "isa", where)
    vector_bits = isa.get("vector_bits")
    if vector_bits not in WIDTHS:
        raise TableError(f"{where}: isa.vector_bits must be one of {WIDTHS}")
    mask = isa.get("mask")
    tail = isa.get("tail")
    if mask not in MASK_KINDS or tail not in TAILS:
        raise TableError(f"{where}: isa.mask must be one of {MASK_KINDS} and isa.tail one of {TAILS}")
    base_flags = tuple(isa.get("base_flags", ()))

    flags = dict(parent.flags) if parent else {}
    for flag, info in _table(data, "flags", where).items():
        try:
            flags[flag] = IsaFlag(flag, info["macro"], info["cpu"], info["target"], str(info.get("cpuinfo", "")),
                                  bool(info.get("host_only", False)))
        except (KeyError, TypeError, AttributeError):
            raise TableError(f"{where}: flags.{flag} needs macro, cpu and target") from None
    for flag in base_flags:
        if flag not in flags:
            raise TableError(f"{where}: base flag {flag} is not described in [flags]")

    vtypes = dict(parent.vtypes) if parent else {}
    for cls, by_width in _table(data, "vtypes", where).items():
        if cls not in ("int", "float", "double"):
            raise TableError(f"{where}: vtypes.{cls}: expected int, float or double")
        for key, ctype in by_width.items():
            vtypes[(cls, _width(key, f"{where}: vtypes.{cls}"))] = ctype

    intrinsics = dict(parent.intrinsics) if parent else {}
    for iname, info in _table(data, "intrinsics", where).items():
        if not _INTRINSIC.fullmatch(iname):
            raise TableError(f"{where}: {iname!r} does not look like an intrinsic name")
        if not isinstance(info, dict) or not info.get("sem") or "elem" not in info:
            raise TableError(f"{where}: intrinsic {iname} needs elem and sem")
        iflags = tuple(info.get("flags", base_flags))
        for flag in iflags:
            if flag not in flags:
                raise TableError(f"{where}: intrinsic {iname} needs unknown flag {flag}")
        intrinsics[iname] = Intrinsic(iname, str(info["elem"]), str(info["sem"]), iflags, name)

    ops = dict(parent.ops) if parent else {}
    semantics = dict(parent.semantics) if parent else {}
    for index, row in enumerate(data.get("op", [])):
        row_where = f"{where}: op #{index + 1} ({row.get('op')})"
        names = row.get("op")
        names = [names] if isinstance(names, str) else list(names or [])
        preds = list(row.get("pred", []))
        if preds and len(preds) != len(names):
            raise TableError(f"{row_where}: pred must have one entry per op")
        if not names:
            raise TableError(f"{row_where}: missing op")
        for i, op_name in enumerate(names):
            for elem in _types(row, row_where):
                if row.get("sem"):
                    semantics[(op_name, elem)] = str(row["sem"])
                for width, template in _templates(row, row_where):
                    text = template.replace("{pred}", preds[i]) if preds else template
                    _check_template(text, row_where, intrinsics)
                    ops[(op_name, elem, width)] = text

    converts = dict(parent.converts) if parent else {}
    for index, row in enumerate(data.get("convert", [])):
        row_where = f"{where}: convert #{index + 1}"
        sources = _types(row, row_where, key="from")
        targets = _types(row, row_where, key="to")
        for width, template in _templates(row, row_where):
            _check_template(template, row_where, intrinsics)
            for src in sources:
                for dst in targets:
                    converts[(src, dst, width)] = template

    chains = dict(parent.chains) if parent else {}
    for index, row in enumerate(data.get("reduction", [])):
        row_where = f"{where}: reduction #{index + 1}"
        names = row.get("op")
        names = [names] if isinstance(names, str) else list(names or [])
        latency, per_cycle = row.get("latency"), row.get("per_cycle")
        if not names or not isinstance(latency, int | float) or not isinstance(per_cycle, int | float) \
                or latency <= 0 or per_cycle <= 0:
            raise TableError(f"{row_where}: needs op, a positive latency and a positive per_cycle")
        for chain_op in names:
            for elem in _types(row, row_where):
                chains[(chain_op, elem)] = (float(latency), float(per_cycle))
    machine = _table(data, "reduction_machine", where)
    loads_per_cycle = machine.get("loads_per_cycle", parent.loads_per_cycle if parent else 2)
    max_accumulators = machine.get("max_accumulators", parent.max_accumulators if parent else 1)
    if not isinstance(loads_per_cycle, int | float) or loads_per_cycle <= 0 \
            or not isinstance(max_accumulators, int) or not 1 <= max_accumulators <= 16:
        raise TableError(f"{where}: reduction_machine needs loads_per_cycle > 0 and max_accumulators in 1..16")
    short_step = machine.get("short_step", parent.short_step if parent else 0)
    if not isinstance(short_step, int) or short_step < 0:
        raise TableError(f"{where}: reduction_machine needs short_step >= 0")
    stores = _table(data, "store_machine", where)
    test_store_mask = stores.get("test_mask", parent.test_store_mask if parent else False)
    if not isinstance(test_store_mask, bool):
        raise TableError(f"{where}: store_machine test_mask must be true or false")

    return IsaTable(name=name, vector_bits=vector_bits, mask=mask, tail=tail, flags=flags, vtypes=vtypes,
                    intrinsics=intrinsics, ops=ops, converts=converts, semantics=semantics, chains=chains,
                    loads_per_cycle=float(loads_per_cycle), max_accumulators=max_accumulators, short_step=short_step,
                    test_store_mask=test_store_mask)


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise TableError(f"{where}: [{key}] must be a table")
    return value


def _width(key: str, where: str) -> int:
    if not key.startswith("w") or not key[1:].isdigit() or int(key[1:]) not in WIDTHS:
        raise TableError(f"{where}: {key!r} is not a width key (w32, w64, w128, w256, w512)")
    return int(key[1:])


def _types(row: dict[str, Any], where: str, key: str = "types") -> list[str]:
    types = row.get(key)
    if not isinstance(types, list) or not types:
        raise TableError(f"{where}: `{key}` must be a non-empty list of element types")
    for t in types:
        if t not in ELEMENT_TYPES:
            raise TableError(f"{where}: unknown element type {t!r}")
    return types


def _templates(row: dict[str, Any], where: str) -> list[tuple[int, str]]:
    out = [(_width(k, where), v) for k, v in row.items() if k.startswith("w") and k[1:].isdigit()]
    if not out:
        raise TableError(f"{where}: no template (w128 = ..., w256 = ...)")
    for _, v in out:
        if not isinstance(v, str):
            raise TableError(f"{where}: templates must be strings")
    return out


def _check_template(text: str, where: str, intrinsics: dict[str, Intrinsic]) -> None:
    for placeholder in _FIELD.findall(text):
        if placeholder not in PLACEHOLDERS:
            raise TableError(f"{where}: unknown placeholder {{{placeholder}}} in {text!r}")
    for used in _INTRINSIC.findall(text):
        if used not in intrinsics:
            raise TableError(f"{where}: intrinsic {used} is not declared in [intrinsics]")
    if text.count("(") != text.count(")"):
        raise TableError(f"{where}: unbalanced parentheses in {text!r}")
