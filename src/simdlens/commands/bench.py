"""`simdlens bench`: run the whole pipeline on the benchmark corpus and write docs/benchmarks.md.

With a model configured, every loop the model is asked about is asked afresh (stored proposals are
not reused) and every sample runs to its end, so the report's pass@1 / pass@k describe this run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import sys
import time
from pathlib import Path

from simdlens.commands.common import add_pipeline_arguments, settings_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", default="benchmarks/corpus", metavar="DIR", help="the loop corpus (default: %(default)s)")
    p.add_argument("--out", default="docs/benchmarks.md", metavar="FILE", help="report to write (default: %(default)s)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only corpus files whose name contains NAME (repeatable; CI runs a subset)")
    p.add_argument("--quick", action="store_true", help="benchmark one (L1-resident) size only")
    p.add_argument("--no-bench", action="store_true", help="verify but do not time")
    p.add_argument("--no-chart", action="store_true", help="do not draw the PNG chart")
    p.add_argument("--expert", default="benchmarks/expert", metavar="DIR",
                   help="hand-tuned expert kernels to time against simdlens's rewrites (default: %(default)s)")
    p.add_argument("--expert-only", action="store_true",
                   help="time only the expert set against simdlens's rewrites and replace that section of --out")
    p.add_argument("--lsp-figures", metavar="FILE",
                   help="language-server latency figures to include (JSON from benchmarks/lsp_latency.py --json)")
    add_pipeline_arguments(p)


def run(args: argparse.Namespace) -> int:
    from simdlens import corpus_report
    from simdlens.cache.store import ResultStore
    from simdlens.model import ProposalLog, recording
    from simdlens.pipeline import scan

    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"simdlens: {corpus}: no such corpus directory", file=sys.stderr)
        return 2
    if args.expert_only:
        return _expert_only(args, corpus)
    entries = [e for e in corpus_report.read_corpus(corpus) if not args.only or any(s in e.path for s in args.only)]
    if not entries:
        print(f"simdlens: no '// bench:' loops found under {corpus}", file=sys.stderr)
        return 2
    settings = settings_from_args(args)
    settings = settings.replace(bench=dataclasses.replace(settings.bench, quick=args.quick, enabled=not args.no_bench))
    paths = sorted({e.path for e in entries})
    store = ResultStore.open(settings, enabled=not args.no_cache)
    store.read_proposals = not settings.model.enabled
    started = time.monotonic()
    proposals = ProposalLog()
    try:
        with recording() if settings.model.enabled else contextlib.nullcontext(proposals) as proposals:
            result = scan(paths, settings, store=store, bench=not args.no_bench, quick=args.quick, language=args.lang)
    finally:
        store.close()
    wall = time.monotonic() - started
    outcomes = corpus_report.match_outcomes(entries, {f.path: f.loops for f in result.files})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = None
    if not args.no_bench and not args.no_chart:
        png = out.with_name(out.stem + "-speedup.png")
        if corpus_report.write_chart(outcomes, result.isas, png):
            chart = png.name
    compiler = result.toolchain.label if result.toolchain else "none"
    lsp = None
    if args.lsp_figures:
        try:
            lsp = {str(k): float(v) for k, v in json.loads(Path(args.lsp_figures).read_text()).items()}
        except (OSError, ValueError, AttributeError) as exc:
            print(f"simdlens: {args.lsp_figures}: not a figures file ({exc}); left out", file=sys.stderr)
    ctx = corpus_report.BenchContext(
        cpu=result.host.cpu_model, isa=sorted(result.host.isa), compiler=compiler, isas=result.isas,
        wall_seconds=wall, quick=args.quick, bench=not args.no_bench, lsp_figures=lsp,
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        model=f"model: {settings.model.name} at {settings.model.base_url}" if settings.model.enabled else "",
        model_rates=corpus_report.model_pass_rates(outcomes, proposals.proposals, result.isas,
                                                   settings.model.samples) if settings.model.enabled else (),
    )
    text = corpus_report.render(outcomes, ctx, chart)
    if not args.no_bench:
        section = _expert_section(args, corpus, settings)
        if section:
            text = corpus_report.splice_expert_section(text, section)
    out.write_text(text, encoding="utf-8")
    print(f"simdlens: wrote {out} ({len(outcomes)} loops, {wall:.0f} s)", file=sys.stderr)
    return 0


def _expert_section(args: argparse.Namespace, corpus: Path, settings: object) -> str:
    """The simdlens-vs-expert section for the expert kernels of the corpus files benchmarked ("" if none)."""
    from simdlens import corpus_report, expert_set

    root = Path(args.expert)
    if not root.is_dir():
        return ""
    try:
        experts = [e for e in expert_set.read_expert_set(root) if not args.only or any(s in e.corpus for s in args.only)]
    except expert_set.ExpertSetError as exc:
        print(f"simdlens: {exc}", file=sys.stderr)
        return ""
    if not experts:
        return ""
    load = _load_average()
    rows = expert_set.compare(experts, corpus, settings, quick=args.quick)  # type: ignore[arg-type]
    command = "simdlens bench" + (" --quick" if args.quick else "") + "".join(f" --only {x}" for x in args.only)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return corpus_report.render_expert(rows, quick=args.quick, load=load, command=command, date=date)


def _expert_only(args: argparse.Namespace, corpus: Path) -> int:
    from simdlens import corpus_report

    settings = settings_from_args(args)
    settings = settings.replace(bench=dataclasses.replace(settings.bench, quick=args.quick, enabled=True))
    section = _expert_section(args, corpus, settings).replace("`simdlens bench", "`simdlens bench --expert-only", 1)
    if not section:
        print(f"simdlens: no expert kernels under {args.expert}", file=sys.stderr)
        return 2
    out = Path(args.out)
    document = out.read_text(encoding="utf-8") if out.is_file() else "# simdlens benchmark report\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(corpus_report.splice_expert_section(document, section), encoding="utf-8")
    print(f"simdlens: wrote the expert section of {out}", file=sys.stderr)
    return 0


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""
