"""The `simdlens` command: one place that lists the subcommands and hands each to its module.

Each subcommand lives in `simdlens.commands.<name>` with `add_arguments(parser)` and `run(args) -> int`;
heavy imports happen inside `run`, so `simdlens --help` stays fast.
Exit codes: 0 success, 1 internal error, 2 usage error (argparse's own convention).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from simdlens import __version__

SUBCOMMANDS = {
    "scan": "analyse C/C++ files, propose rewrites, verify and benchmark them",
    "serve": "run the language server (stdio by default)",
    "bench": "run the benchmark corpus and write docs/benchmarks.md",
    "cache": "inspect or clear the result cache",
    "doctor": "check compilers, host ISA, sandbox and model server",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simdlens",
        description="Find loops that could run on SIMD units, write AVX2/AVX-512 rewrites, "
        "prove them against the original and measure the speedup on this machine.",
        epilog="Run `simdlens COMMAND --help` for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"simdlens {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        module = importlib.import_module(f"simdlens.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        module.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="simdlens: %(levelname)s: %(message)s")
    module = importlib.import_module(f"simdlens.commands.{args.command}")
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("simdlens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, not a traceback
        logging.getLogger("simdlens").debug("internal error", exc_info=True)
        print(f"simdlens: internal error: {exc.__class__.__name__}: {exc} (run with -vv for details)", file=sys.stderr)
        return 1
