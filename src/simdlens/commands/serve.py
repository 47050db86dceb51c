"""`simdlens serve`: run the language server over stdio (what editors start) or TCP (for debugging).

The pipeline options are the same as `simdlens scan`'s; they are the lowest layer of the server's
settings, under the editor's `initializationOptions` and `simdlens` workspace configuration.
"""

from __future__ import annotations

import argparse
import re

from simdlens.commands.common import add_pipeline_arguments


def _host_port(value: str) -> str:
    if not re.fullmatch(r"[^\s:]*:\d{1,5}", value) or int(value.rpartition(":")[2]) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    where.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen for one client on HOST:PORT")
    bench = p.add_argument_group("benchmarks")
    bench.add_argument("--quick", action="store_true", help="benchmark one (L1-resident) size only")
    bench.add_argument("--no-bench", action="store_true", help="verify rewrites but do not time them")
    add_pipeline_arguments(p)


def run(args: argparse.Namespace) -> int:
    from simdlens.server.server import main

    return main(args)
