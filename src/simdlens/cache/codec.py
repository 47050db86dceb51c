"""A small typed JSON codec for the core types the cache stores.

The cache must never unpickle arbitrary classes (a cache directory is just files someone could edit),
so results are stored as plain JSON. `encode` turns one of the allow-listed frozen dataclasses into
JSON-able dicts/lists; `decode(cls, data)` rebuilds it from the dataclass's own type hints and raises
`CodecError` on anything that does not fit, which the store treats as a corrupt entry.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from simdlens.core import (
    Candidate,
    CompileDiagnostic,
    Counterexample,
    Measurement,
    Point,
    Ratio,
    SizeMeasurement,
    Span,
    TextEdit,
    TypeFact,
    Verdict,
)

T = TypeVar("T")

# Only these classes are ever rebuilt from cache data.
STORABLE: tuple[type, ...] = (
    Point, Span, TextEdit, Candidate, Counterexample, CompileDiagnostic, Verdict, Ratio, SizeMeasurement,
    Measurement, TypeFact,
)


class CodecError(ValueError):
    """Stored data does not describe a value of the expected type."""


def encode(value: Any) -> Any:
    """A JSON-able form of `value` (allow-listed dataclasses, enums, tuples, dicts, scalars)."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value) not in STORABLE:
            raise CodecError(f"{type(value).__name__} is not a storable type")
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise CodecError(f"cannot encode {type(value).__name__}")


def decode(cls: type[T], data: Any) -> T:
    """Rebuild a `cls` (one of STORABLE) from `encode`'s output."""
    return typing.cast(T, _decode(cls, data))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, data: Any) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, data)
            except CodecError as exc:
                errors.append(str(exc))
        raise CodecError("; ".join(errors) or "no matching type")
    if origin is tuple:
        if not isinstance(data, list):
            raise CodecError(f"expected a list, got {type(data).__name__}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        if len(args) != len(data):
            raise CodecError("tuple length mismatch")
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is frozenset:
        if not isinstance(data, list):
            raise CodecError("expected a list")
        return frozenset(_decode(get_args(tp)[0], v) for v in data)
    if origin is dict:
        if not isinstance(data, dict):
            raise CodecError("expected an object")
        key_t, val_t = get_args(tp)
        return {_decode(key_t, k): _decode(val_t, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError as exc:
            raise CodecError(str(exc)) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp not in STORABLE:
            raise CodecError(f"{tp.__name__} is not a storable type")
        if not isinstance(data, dict):
            raise CodecError(f"expected an object for {tp.__name__}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CodecError(f"{tp.__name__}.{f.name} missing")
        return tp(**kwargs)
    if tp is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise CodecError(f"expected a number, got {type(data).__name__}")
    if tp in (int, str, bool):
        if isinstance(data, tp) and not (tp is int and isinstance(data, bool)):
            return data
        raise CodecError(f"expected {tp.__name__}, got {type(data).__name__}")
    raise CodecError(f"unsupported type {tp!r}")


__all__ = ["STORABLE", "CodecError", "decode", "encode"]
