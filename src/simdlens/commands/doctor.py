"""`simdlens doctor`: is this machine ready to verify and benchmark rewrites?

Reports whether the analysis runs compiled (mypyc) or as Python source, where semantic facts come
from (libclang and the builtin headers it is given, or simdlens's own reader), the compilers found (with
versions), the host CPU and its SIMD extensions, the sandbox (it actually runs a trivial program in
bubblewrap), the cache directory, and the model server (via
`simdlens.model.doctor_lines` when the model package provides it). Exit 0 when simdlens can verify
candidates here (a compiler, and either a working sandbox or rule-only mode), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from simdlens.commands.common import add_pipeline_arguments, settings_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_pipeline_arguments(p)


def _interesting_isa(isa: frozenset[str]) -> list[str]:
    keep = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd",
            "avx512_vnni", "avx512vbmi", "avx512_vbmi2", "avx512_bf16", "avx512_fp16", "avx_vnni", "f16c", "bmi2")
    return [f for f in keep if f in isa]


def _semantic_lines() -> list[str]:
    """Where the analysis's types and macro expansions come from: libclang (and its builtin headers) or,
    without it, simdlens's own reader."""
    from simdlens.analysis import clang_facts

    problem = clang_facts.libclang_problem()
    if problem:
        return [f"semantic facts: libclang unavailable ({problem}): types and macros read by simdlens's own "
                "reader; install it: pip install libclang"]
    lines = [f"semantic facts: {clang_facts.libclang_version()}",
             f"semantic facts: builtin headers from {clang_facts.builtin_headers()[1]}"]
    if os.environ.get("SIMDLENS_NO_CLANG"):
        lines.append("semantic facts: disabled by SIMDLENS_NO_CLANG")
    return lines


async def _report(args: argparse.Namespace) -> tuple[list[str], bool]:
    from simdlens._native import HOT_PATH
    from simdlens.sandbox import cpu
    from simdlens.sandbox.compiler import find_toolchain, list_compilers
    from simdlens.sandbox.isolate import Isolation, self_test

    settings = settings_from_args(args)
    lines: list[str] = [f"analysis: {HOT_PATH.why}"]
    usable = True
    compilers = await list_compilers()
    chosen = await find_toolchain(settings.compiler)
    if compilers:
        for tc in compilers:
            mark = " (used)" if chosen and os.path.realpath(tc.cc) == os.path.realpath(chosen.cc) else ""
            lines.append(f"compiler: {tc.version} at {tc.cc}{mark}")
    if chosen is None:
        want = settings.compiler or "gcc or clang"
        lines.append(f"compiler: {want} not found — install one: apt-get install gcc")
        usable = False
    lines.extend(_semantic_lines())
    host = cpu.host_cpu()
    lines.append(f"cpu: {host.model}")
    isa = _interesting_isa(host.isa)
    lines.append(f"isa: {' '.join(isa) if isa else 'no SIMD extensions reported'}")
    runs = [name for name in ("avx512", "avx2", "sse4") if host.runs(name)]
    lines.append(f"candidates that run here: {', '.join(runs) if runs else 'none (candidates are compiled, not run)'}")
    isolation = Isolation.detect()
    ok, message = await self_test(isolation)
    lines.append(f"sandbox: {message}")
    if not ok:
        if isolation.sandboxed:
            usable = False
        else:
            lines.append("sandbox: without it, model-written code is never run; rule rewrites run with rlimits only")
            if settings.sandbox.require_bwrap_for_rules:
                usable = False
    if isolation.prlimit is None:
        lines.append("sandbox: prlimit (util-linux) not found — install util-linux")
        usable = False
    cache = settings.cache_path
    writable = os.access(cache if cache.exists() else cache.parent if cache.parent.exists() else "/", os.W_OK)
    lines.append(f"cache: {cache} ({'writable' if writable else 'not writable: results stay in memory'})")
    try:
        from simdlens import model

        doctor_lines = model.doctor_lines
        model_lines = doctor_lines(settings)
        if asyncio.iscoroutine(model_lines):
            model_lines = await model_lines
        lines.extend(line if line.startswith("model") else f"model: {line}" for line in model_lines)
    except (ImportError, AttributeError):
        lines.append("model: " + ("configured, but this build cannot check it" if settings.model.enabled else "not configured (rules only)"))
    return lines, usable


def run(args: argparse.Namespace) -> int:
    lines, usable = asyncio.run(_report(args))
    for line in lines:
        print(line)
    print("ready" if usable else "not ready: see the lines above", file=sys.stdout if usable else sys.stderr)
    return 0 if usable else 1
