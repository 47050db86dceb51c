"""`simdlens cache info|clear|path`: inspect or clear the result cache.

`info` shows the location, its size and entries, the size limit and the hit rate of the last run
that used it; `clear` removes every entry; `path` prints the directory (for scripts).
"""

from __future__ import annotations

import argparse
import json
import sys

from simdlens.config import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("info", "clear", "path"), help="what to do")
    p.add_argument("--cache-dir", default="", metavar="DIR",
                   help="cache location (default: $SIMDLENS_CACHE_DIR, else $XDG_CACHE_HOME/simdlens, "
                   "else ~/.cache/simdlens)")
    p.add_argument("--json", action="store_true", help="info: print JSON")


def run(args: argparse.Namespace) -> int:
    settings = Settings(cache_dir=args.cache_dir)
    if args.action == "path":
        print(settings.cache_path)
        return 0

    from simdlens.cache.store import ResultStore

    with ResultStore.open(settings) as store:
        if args.action == "clear":
            removed = store.clear()
            print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {store.path or 'the in-memory cache'}")
            return 0 if store.kind == "disk" else 1
        info = store.info()
    last = info.last_run or {}
    lookups = int(last.get("hits", 0)) + int(last.get("misses", 0))
    rate = (int(last.get("hits", 0)) / lookups) if lookups else None
    if args.json:
        print(json.dumps({"path": str(settings.cache_path), "kind": info.kind, "size_bytes": info.size_bytes,
                          "entries": info.entries, "size_limit_bytes": info.size_limit_bytes,
                          "last_run": {**last, "hit_rate": rate} if last else None}, indent=2))
        return 0
    print(f"path:        {settings.cache_path}" + ("" if info.kind == "disk" else f" (unusable: {info.kind} fallback)"))
    print(f"size:        {info.size_bytes / 1e6:.1f} MB of {info.size_limit_bytes / 1e6:.0f} MB "
          "(least-recently-used entries are evicted beyond that)")
    print(f"entries:     {info.entries}")
    if rate is None:
        print("last run:    no lookups recorded yet")
    else:
        print(f"last run:    hit rate {rate:.0%} ({last.get('hits', 0)} of {lookups} lookups, "
              f"{last.get('writes', 0)} stored) on {last.get('date', '?')}")
    if info.kind != "disk":
        print("simdlens: the cache directory is not usable; see the warning above", file=sys.stderr)
        return 1
    return 0
