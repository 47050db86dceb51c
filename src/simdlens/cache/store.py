"""The result cache: verdicts, measurements and model proposals remembered across runs.

`ResultStore.open(settings)` opens a diskcache `Cache` at `settings.cache_path` with the configured
size limit and least-recently-used eviction; diskcache (SQLite in WAL mode) lets the language server
and a CLI scan use the same directory at once. Records are JSON (see `simdlens.cache.codec`), never
pickles, each wrapped with the key schema, the date and the host that produced it.

Faults never stop a scan and never lose the user's work:

- a corrupted directory (a `cache.db` that is not SQLite, is truncated, or fails queries) is reported
  once, renamed to `<dir>.corrupt-<timestamp>` (kept for inspection, not deleted) and replaced by a
  fresh cache;
- an unwritable location (read-only file system, a path through a regular file, no permission) falls
  back to an in-memory cache for the run, with one warning;
- an unreadable single record counts as a miss and is dropped.

Lookups and writes are counted; `close()` saves the counts, which `simdlens cache info` shows as the
hit rate of the last run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sqlite3
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import diskcache

from simdlens.cache.codec import CodecError, decode, encode
from simdlens.cache.keys import KEY_SCHEMA
from simdlens.config import Settings
from simdlens.core import Candidate, Measurement, Verdict

log = logging.getLogger("simdlens.cache")

LAST_RUN_KEY = "meta:last_run"
_DB_NAME = "cache.db"  # diskcache's SQLite file
_SQLITE_MAGIC = b"SQLite format 3\x00"


class CacheCorrupt(Exception):
    """The cache directory's database is not usable."""


@dataclass
class CacheStats:
    """Counts of one run (one process's use of the store)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    dropped: int = 0  # records that could not be read back (counted as misses too)

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.lookups if self.lookups else None

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "writes": self.writes, "dropped": self.dropped}


@dataclass(frozen=True)
class StoredProposal:
    """A model's candidates for one (kernel, ISA), without edits (they depend on where the loop is
    now, so they are spliced afresh on reuse), and the notes the model's run left."""

    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CacheInfo:
    kind: str  # "disk", "memory" (fallback) or "disabled"
    path: Path | None
    size_bytes: int
    entries: int
    size_limit_bytes: int
    last_run: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())


class _Backend(Protocol):
    def get(self, key: str) -> Any: ...
    def set(self, key: str, value: str) -> Any: ...
    def delete(self, key: str) -> Any: ...
    def clear(self) -> int: ...
    def volume(self) -> int: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...


class _MemoryBackend:
    """An LRU dict with a byte budget: the fallback when the cache directory cannot be written."""

    def __init__(self, size_limit: int) -> None:
        self._data: OrderedDict[str, str] = OrderedDict()
        self._size = 0
        self._limit = size_limit
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def set(self, key: str, value: str) -> bool:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._data[key] = value
            self._size += len(value)
            while self._size > self._limit and len(self._data) > 1:
                _, evicted = self._data.popitem(last=False)
                self._size -= len(evicted)
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old)
            return old is not None

    def clear(self) -> int:
        with self._lock:
            n = len(self._data)
            self._data.clear()
            self._size = 0
            return n

    def volume(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._data)

    def close(self) -> None:
        pass


class _NullBackend(_MemoryBackend):
    """`--no-cache`: nothing is remembered."""

    def __init__(self) -> None:
        super().__init__(0)

    def set(self, key: str, value: str) -> bool:
        return False


def _check_database(path: Path) -> None:
    """Raise CacheCorrupt when `path`'s cache.db is not an intact SQLite file (cheap: header only)."""
    db = path / _DB_NAME
    if not db.exists():
        return
    if not db.is_file():
        raise CacheCorrupt(f"{db} is not a file")
    size = db.stat().st_size
    if size == 0:
        return  # SQLite treats an empty file as an empty database
    with db.open("rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise CacheCorrupt(f"{db} is not an SQLite database")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    change_counter, valid_for = struct.unpack(">I", header[24:28])[0], struct.unpack(">I", header[92:96])[0]
    # The in-header page count is only trustworthy when it was written by the last change.
    if pages and change_counter == valid_for and size < pages * page_size:
        # Another process may be mid-checkpoint (page 1 written, the file not yet grown): ask SQLite,
        # which reads a consistent snapshot under its locks, before calling it corrupted.
        problem = _integrity_problem(db)
        if problem:
            raise CacheCorrupt(f"{db} is truncated ({size} of {pages * page_size} bytes): {problem}")


def _integrity_problem(db: Path) -> str:
    """SQLite's own quick check of `db`: "" when it is intact, else what is wrong."""
    try:
        with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=30)) as con:
            rows = con.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])


def _move_aside(path: Path) -> Path | None:
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
    except FileNotFoundError:
        return None  # another process moved it aside first
    return target


class ResultStore:
    """Verdicts, measurements and model proposals by key (see `simdlens.cache.keys`)."""

    def __init__(self, backend: _Backend, kind: str, path: Path | None, size_limit: int,
                 notes: tuple[str, ...] = ()) -> None:
        self._backend = backend
        self.kind = kind
        self.path = path
        self.size_limit = size_limit
        self.notes = notes  # what went wrong while opening, one line each (already logged)
        self.stats = CacheStats()
        # False: stored model proposals are not served (`simdlens bench` asks the model afresh for its
        # pass@k figures); verdicts and new proposals are still read and written.
        self.read_proposals = True
        self._warned = False
        self._lock = threading.Lock()

    # -- opening ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, *, enabled: bool = True) -> ResultStore:
        """The store at `settings.cache_path`; never raises (falls back to memory, with a warning)."""
        size_limit = max(1, settings.cache_size_mb) * 1024 * 1024
        if not enabled:
            return cls(_NullBackend(), "disabled", None, 0)
        path = settings.cache_path.expanduser()
        notes: list[str] = []
        for attempt in range(2):
            try:
                return cls(cls._open_disk(path, size_limit), "disk", path, size_limit, tuple(notes))
            except CacheCorrupt as exc:
                if attempt:
                    break
                moved = _move_aside(path)
                note = f"cache at {path} is corrupted ({exc}); moved it aside to {moved} and started a new one"
                log.warning("%s", note)
                notes.append(note)
            except (OSError, sqlite3.Error) as exc:
                note = f"cache location {path} is not usable ({_why(exc)}); using an in-memory cache for this run"
                log.warning("%s", note)
                notes.append(note)
                return cls.memory(size_limit, notes=tuple(notes))
        note = f"cache at {path} could not be recreated; using an in-memory cache for this run"
        log.warning("%s", note)
        return cls.memory(size_limit, notes=(*notes, note))

    @classmethod
    def memory(cls, size_limit: int = 64 * 1024 * 1024, notes: tuple[str, ...] = ()) -> ResultStore:
        return cls(_MemoryBackend(size_limit), "memory", None, size_limit, notes)

    @staticmethod
    def _open_disk(path: Path, size_limit: int) -> diskcache.Cache:
        if path.exists() and not path.is_dir():
            raise CacheCorrupt(f"{path} is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        _check_database(path)
        try:
            cache = diskcache.Cache(str(path), size_limit=size_limit, eviction_policy="least-recently-used")
            len(cache)  # one real query: a database that opens but cannot be read fails here
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                raise CacheCorrupt(str(exc)) from exc
            raise  # locked, read-only, I/O: not the directory's fault; the caller falls back to memory
        if not os.access(path, os.W_OK):
            cache.close()
            raise PermissionError(f"{path} is not writable")
        if (cache.size_limit, cache.eviction_policy) != (size_limit, "least-recently-used"):
            cache.reset("size_limit", size_limit)
            cache.reset("eviction_policy", "least-recently-used")
        return cache

    # -- records ------------------------------------------------------------------------------------

    def get_verdict(self, key: str) -> Verdict | None:
        data = self._get(key, "verdict")
        return self._decoded(key, Verdict, data)

    def put_verdict(self, key: str, verdict: Verdict) -> None:
        self._put(key, "verdict", encode(verdict))

    def get_measurement(self, key: str) -> Measurement | None:
        data = self._get(key, "measurement")
        return self._decoded(key, Measurement, data)

    def put_measurement(self, key: str, measurement: Measurement) -> None:
        self._put(key, "measurement", encode(measurement))

    def get_proposal(self, key: str) -> StoredProposal | None:
        if not self.read_proposals:
            return None
        data = self._get(key, "proposal")
        if data is None:
            return None
        try:
            candidates = tuple(decode(Candidate, c) for c in data["candidates"])
            return StoredProposal(candidates, tuple(str(n) for n in data["notes"]))
        except (CodecError, KeyError, TypeError, ValueError):
            self._drop(key)
            return None

    def put_proposal(self, key: str, proposal: StoredProposal) -> None:
        self._put(key, "proposal", {"candidates": [encode(c) for c in proposal.candidates],
                                    "notes": list(proposal.notes)})

    def _decoded(self, key: str, cls: type[Any], data: Any) -> Any:
        if data is None:
            return None
        try:
            return decode(cls, data)
        except CodecError:
            self._drop(key)
            return None

    def _get(self, key: str, kind: str) -> Any:
        raw = self._call("get", key)
        record = _parse(raw, kind)
        with self._lock:
            if record is None:
                self.stats.misses += 1
                if raw is not None:
                    self.stats.dropped += 1
            else:
                self.stats.hits += 1
        if record is None and raw is not None:
            self._call("delete", key)
        return record

    def _drop(self, key: str) -> None:
        """A record whose envelope parsed but whose contents did not: a miss after all."""
        with self._lock:
            self.stats.hits -= 1
            self.stats.misses += 1
            self.stats.dropped += 1
        self._call("delete", key)

    def _put(self, key: str, kind: str, data: Any) -> None:
        record = {"schema": KEY_SCHEMA, "kind": kind, "stored": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "host": socket.gethostname(), "data": data}
        if self._call("set", key, json.dumps(record, separators=(",", ":"))):
            with self._lock:
                self.stats.writes += 1

    # -- fault handling -----------------------------------------------------------------------------

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._backend, method)(*args)
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
            try:
                return getattr(self._backend, method)(*args)
            except (sqlite3.Error, OSError):
                return None

    def _fail(self, exc: Exception) -> None:
        """The disk cache broke mid-run: move a corrupted one aside; carry on in memory either way."""
        with self._lock:
            if self.kind != "disk":
                return
            with contextlib.suppress(Exception):
                self._backend.close()
            corrupt = _is_corruption(exc)
            if corrupt and self.path is not None:
                moved = _move_aside(self.path)
                note = (f"cache at {self.path} is corrupted ({exc}); moved it aside to {moved}; "
                        "using an in-memory cache for the rest of this run")
            else:
                note = f"cache at {self.path} failed ({_why(exc)}); using an in-memory cache for the rest of this run"
            if not self._warned:
                log.warning("%s", note)
                self._warned = True
            self.notes = (*self.notes, note)
            self._backend = _MemoryBackend(self.size_limit)
            self.kind = "memory"

    # -- housekeeping -------------------------------------------------------------------------------

    def info(self) -> CacheInfo:
        last = self._call("get", LAST_RUN_KEY)
        try:
            last_run = json.loads(last) if isinstance(last, str) else None
        except ValueError:
            last_run = None
        entries = self._call("__len__") or 0
        entries -= 1 if last is not None else 0
        return CacheInfo(self.kind, self.path, int(self._call("volume") or 0), max(0, entries), self.size_limit,
                         last_run if isinstance(last_run, dict) else None, self.notes)

    def clear(self) -> int:
        """Remove every entry (and the last run's counts); returns how many results there were."""
        had_meta = self._call("get", LAST_RUN_KEY) is not None
        return max(0, int(self._call("clear") or 0) - had_meta)

    def close(self) -> None:
        """Save this run's counts (when there were lookups) and release the database."""
        if self.stats.lookups:
            run = {**self.stats.as_dict(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                   "host": socket.gethostname(), "pid": os.getpid()}
            self._call("set", LAST_RUN_KEY, json.dumps(run))
        with contextlib.suppress(Exception):
            self._backend.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parse(raw: Any, kind: str) -> Any:
    if not isinstance(raw, str):
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("schema") != KEY_SCHEMA or record.get("kind") != kind:
        return None
    return record.get("data")


def _is_corruption(exc: BaseException) -> bool:
    """A damaged database, as opposed to a busy, read-only or failing one (never moved aside)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(
        w in text for w in ("malformed", "not a database", "corrupt", "file is encrypted"))


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
