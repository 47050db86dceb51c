"""What the cache saves a user, and what it must never reuse.

Verification goes through `pipeline.verify_candidates` with a counting stand-in for the sandbox (the
real cache on disk, nothing mocked in it): the counts are the compiles a user would wait for.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from cache_objects import CountingSandbox, make_candidate, make_kernel

from simdlens import pipeline
from simdlens.cache import keys
from simdlens.cache.keys import HostIdentity, Toolchain
from simdlens.cache.store import ResultStore
from simdlens.config import ModelSettings, Settings
from simdlens.core import CandidateResult, Status, Verdict

HOST = HostIdentity("Test CPU", frozenset({"avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"}))
GCC = Toolchain("/usr/bin/gcc", "gcc (Debian 12.2.0-14) 12.2.0", ("-O2",))


def use_toolchain(monkeypatch: pytest.MonkeyPatch, toolchain: Toolchain) -> None:
    async def fixed(*args: object, **kwargs: object) -> Toolchain:
        return toolchain

    monkeypatch.setattr(pipeline, "toolchain_for", fixed)


@pytest.fixture(autouse=True)
def fixed_host_and_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "host_identity", lambda: HOST)
    use_toolchain(monkeypatch, GCC)


def verify(settings: Settings, sandbox: CountingSandbox, kernel, candidates, *, bench: bool = True,
           host: HostIdentity = HOST) -> tuple[CandidateResult, ...]:
    with ResultStore.open(settings) as store:
        return asyncio.run(pipeline.verify_candidates(kernel, candidates, settings, store, sandbox, host, bench=bench))


def test_second_verification_of_unchanged_kernels_compiles_nothing(settings: Settings) -> None:
    kernels = [make_kernel("a[i] = b[i] * k;"), make_kernel("a[i] = b[i] + k;", loop_start=200)]
    sandbox = CountingSandbox()
    for k in kernels:
        verify(settings, sandbox, k, [make_candidate(k, "avx2"), make_candidate(k, "avx512")])
    assert sandbox.compiled == 4
    again = CountingSandbox()
    results = [verify(settings, again, k, [make_candidate(k, "avx2"), make_candidate(k, "avx512")]) for k in kernels]
    assert again.compiled == 0
    assert all(r.cached and r.verdict.status is Status.VERIFIED and r.measurement is not None
               for rs in results for r in rs)


def test_editing_one_loop_reverifies_only_that_loop(settings: Settings) -> None:
    a, b = make_kernel("a[i] = b[i] * k;"), make_kernel("a[i] = b[i] + k;", loop_start=200)
    verify(settings, CountingSandbox(), a, [make_candidate(a)])
    verify(settings, CountingSandbox(), b, [make_candidate(b)])
    edited = make_kernel("a[i] = b[i] - k;", loop_start=200)
    sandbox = CountingSandbox()
    verify(settings, sandbox, a, [make_candidate(a)])
    verify(settings, sandbox, edited, [make_candidate(edited)])
    assert [h for h, _ in sandbox.calls] == [edited.content_hash]


def test_the_same_loop_moved_to_another_line_or_file_hits(settings: Settings) -> None:
    k = make_kernel(loop_start=10, path="src/a.c")
    verify(settings, CountingSandbox(), k, [make_candidate(k)])
    moved = make_kernel(loop_start=4000, path="src/other.c")
    sandbox = CountingSandbox()
    (result,) = verify(settings, sandbox, moved, [make_candidate(moved)])
    assert sandbox.compiled == 0 and result.cached
    # The result carries the edits for where the loop is now, not where it was measured.
    assert result.candidate.edits[0].span == moved.loop_span


def test_a_speedup_measured_on_another_cpu_is_not_reused(settings: Settings) -> None:
    k = make_kernel()
    verify(settings, CountingSandbox(cpu="Test CPU"), k, [make_candidate(k)])
    other = HostIdentity("Other CPU", HOST.isa)
    sandbox = CountingSandbox(cpu="Other CPU")
    (result,) = verify(settings, sandbox, k, [make_candidate(k)], host=other)
    assert sandbox.compiled == 1 and not result.cached
    assert result.measurement is not None and result.measurement.cpu == "Other CPU"
    # Correctness does not depend on the CPU model: without benchmarking the verdict is reused.
    sandbox = CountingSandbox(cpu="Third CPU")
    (result,) = verify(settings, sandbox, k, [make_candidate(k)], bench=False,
                       host=HostIdentity("Third CPU", HOST.isa))
    assert sandbox.compiled == 0 and result.cached and result.measurement is None


def test_a_result_from_another_compiler_is_not_reused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    k = make_kernel()
    verify(settings, CountingSandbox(), k, [make_candidate(k)])
    clang = Toolchain("/usr/bin/clang-19", "Debian clang version 19.1.7", ("-O2",))
    use_toolchain(monkeypatch, clang)
    sandbox = CountingSandbox()
    verify(settings, sandbox, k, [make_candidate(k)])
    assert sandbox.compiled == 1
    newer_gcc = dataclasses.replace(GCC, version="gcc (Debian 13.1.0) 13.1.0")
    use_toolchain(monkeypatch, newer_gcc)
    verify(settings, sandbox, k, [make_candidate(k)])
    assert sandbox.compiled == 2


def test_a_host_without_the_isa_extensions_does_not_reuse_verdicts(settings: Settings) -> None:
    k = make_kernel()
    verify(settings, CountingSandbox(), k, [make_candidate(k, "avx512")], bench=False)
    sandbox = CountingSandbox()
    verify(settings, sandbox, k, [make_candidate(k, "avx512")], bench=False,
           host=HostIdentity("Test CPU", frozenset({"avx2", "fma"})))
    assert sandbox.compiled == 1


def test_failures_are_remembered_with_their_counterexample(settings: Settings) -> None:
    k = make_kernel()
    bad = make_candidate(k, variant="remainder bug")
    verify(settings, CountingSandbox(wrong={bad.function}), k, [bad])
    sandbox = CountingSandbox()
    (result,) = verify(settings, sandbox, k, [bad])
    assert sandbox.compiled == 0 and result.cached
    assert result.verdict.status is Status.MISMATCH
    assert result.verdict.counterexample is not None and result.verdict.counterexample.index == 3


@pytest.mark.parametrize(("status", "detail"), [(Status.TIMEOUT, "did not finish within 30 s"),
                                                (Status.REJECTED, "no C compiler found: install gcc or clang")])
def test_machine_dependent_failures_are_not_remembered(settings: Settings, status: Status, detail: str) -> None:
    k = make_kernel()

    class FailingSandbox(CountingSandbox):
        async def verify(self, kernel, candidates, **kw):  # type: ignore[no-untyped-def,override]
            await super().verify(kernel, candidates, **kw)
            return tuple(CandidateResult(c, Verdict(status, detail)) for c in candidates)

    verify(settings, FailingSandbox(), k, [make_candidate(k)])
    sandbox = CountingSandbox()
    verify(settings, sandbox, k, [make_candidate(k)])
    assert sandbox.compiled == 1


def test_no_cache_never_remembers(settings: Settings) -> None:
    k = make_kernel()
    sandbox = CountingSandbox()
    for _ in range(2):
        with ResultStore.open(settings, enabled=False) as store:
            asyncio.run(pipeline.verify_candidates(k, [make_candidate(k)], settings, store, sandbox, HOST))
    assert sandbox.compiled == 2


def test_keys_cover_what_results_depend_on_and_not_positions() -> None:
    k = make_kernel()
    c = make_candidate(k)
    sb = Settings().sandbox
    base = keys.verdict_key(k, c, GCC, HOST.isa, sb)
    moved = make_kernel(loop_start=999, path="elsewhere.cpp")
    assert keys.verdict_key(moved, make_candidate(moved), GCC, HOST.isa, sb) == base
    assert keys.verdict_key(k, dataclasses.replace(c, origin="model:qwen"), GCC, HOST.isa, sb) == base
    changed = [
        keys.verdict_key(make_kernel("a[i] = b[i] / k;"), c, GCC, HOST.isa, sb),
        keys.verdict_key(k, dataclasses.replace(c, function=c.function + " "), GCC, HOST.isa, sb),
        keys.verdict_key(k, dataclasses.replace(c, caveats=("reassociates float additions",)), GCC, HOST.isa, sb),
        keys.verdict_key(k, c, dataclasses.replace(GCC, flags=("-O3",)), HOST.isa, sb),
        keys.verdict_key(k, c, dataclasses.replace(GCC, compiler="/opt/gcc"), HOST.isa, sb),
        keys.verdict_key(k, c, GCC, frozenset({"avx2"}), sb),
        keys.verdict_key(k, c, GCC, HOST.isa, sb, allow_contraction=True),
    ]
    assert base not in changed and len(set(changed)) == len(changed)
    bench = Settings().bench
    assert keys.measurement_key(base, "A", bench, False) != keys.measurement_key(base, "B", bench, False)
    assert keys.measurement_key(base, "A", bench, False) != keys.measurement_key(base, "A", bench, True)
    model = ModelSettings(base_url="http://127.0.0.1:8080/v1", name="qwen")
    p = keys.proposal_key(k, "avx2", model)
    assert p == keys.proposal_key(moved, "avx2", model)
    for variant in (dataclasses.replace(model, name="llama"), dataclasses.replace(model, temperature=0.7),
                    dataclasses.replace(model, base_url="http://other:8000/v1"), dataclasses.replace(model, samples=4)):
        assert keys.proposal_key(k, "avx2", variant) != p
    assert keys.proposal_key(k, "avx512", model) != p
