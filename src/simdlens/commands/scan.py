"""`simdlens scan PATH...`: analyse C/C++ files, propose rewrites, verify and benchmark them.

Prints a table (default), the JSON document (`--json`, schema in docs/scan.md) and/or writes SARIF
(`--sarif FILE`). The scanned tree is trusted unless `--untrusted` says otherwise (then nothing from it
is compiled or run: the same limited mode as the server in an untrusted workspace).
Skipped files get one line each on stderr; a progress bar is drawn on stderr only
when it is a terminal. Exit codes: 0 success, 2 usage error (e.g. a path that does not exist),
1 internal error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

from simdlens.commands.common import add_pipeline_arguments, settings_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="C/C++ files or directories (searched recursively)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    out.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 to FILE ('-' for stdout)")
    run = p.add_argument_group("verification")
    run.add_argument("--no-bench", action="store_true", help="verify rewrites but do not time them")
    run.add_argument("--quick", action="store_true", help="benchmark one (L1-resident) size only")
    run.add_argument("--no-verify", action="store_true",
                     help="only analyse and propose: compile and run nothing (rewrites listed as unverified)")
    run.add_argument("--untrusted", action="store_true",
                     help="the tree is not trusted (a fresh clone): analyse and propose only; nothing is compiled "
                          "or run, no compile_commands.json compiler is used, no model is asked (default: trusted)")
    add_pipeline_arguments(p)


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        for p in missing:
            print(f"simdlens: {p}: no such file or directory", file=sys.stderr)
        return 2
    if args.sarif == "-" and args.json:
        print("simdlens: --json and --sarif - both want stdout; write SARIF to a file", file=sys.stderr)
        return 2

    from simdlens import report
    from simdlens.cache.store import ResultStore
    from simdlens.pipeline import scan

    settings = settings_from_args(args)
    if args.untrusted:  # the server's untrusted-workspace mode: analysis only
        settings = settings.replace(trusted=False, allowed_compilers=())
    settings = settings.replace(bench=dataclasses.replace(settings.bench, quick=args.quick, enabled=not args.no_bench))
    store = ResultStore.open(settings, enabled=not args.no_cache)
    try:
        with _progress() as progress:
            result = scan(args.paths, settings, progress, store=store, verify=not args.no_verify,
                          bench=not args.no_bench, quick=args.quick, language=args.lang)
    finally:
        store.close()

    for skipped in result.skipped:
        print(f"simdlens: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    for f in result.files:  # a file's own errors (a loop the analysis failed on) are never silent
        for error in f.errors:
            print(f"simdlens: {error}", file=sys.stderr)
    if args.sarif:
        text = json.dumps(report.to_sarif(result), indent=2)
        if args.sarif == "-":
            print(text)
        else:
            Path(args.sarif).write_text(text + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report.to_json(result), indent=2))
    elif args.sarif != "-":
        from rich.console import Console

        console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, highlight=False)
        console.print(report.to_table(result))
        console.print(report.summary_line(result))
        for note in result.notes:
            console.print(f"note: {note}", markup=False)
    return 0


class _progress:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _progress | None:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("{task.fields[what]}"),
                             console=Console(stderr=True), transient=True)
        self._bar.start()
        self._task = self._bar.add_task("verifying", total=None, what="")
        return self

    def __call__(self, done: int, total: int, what: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=total or None, what=what)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
