"""When a verified rewrite is offered as a win: the low end of its measured range, at the sizes that
decide, must beat the compiler; noisy measurements are measured again first (synthetic numbers)."""

from __future__ import annotations

from simdlens import summary
from simdlens.core import Candidate, CandidateResult, Measurement, Ratio, SizeMeasurement, Status, Verdict
from simdlens.sandbox import bench
from simdlens.server.features.code_actions import action_title
from simdlens.server.features.hover import compact_table
from simdlens.server.features.measured import per_size


def _size(n: int, native: tuple[float, float, float], *, user: float = 3.0, real: bool = False) -> SizeMeasurement:
    label = bench.size_label(n)
    median, lo, hi = native
    return SizeMeasurement(n, label, {}, Ratio(user, user, user, 5), Ratio(user, user * 0.95, user * 1.05, 5),
                           Ratio(median, lo, hi, 5), memory_bound=label == "memory", real=real)


def _result(*sizes: SizeMeasurement, status: Status = Status.VERIFIED) -> CandidateResult:
    cand = Candidate("k", "avx2", "rules:elementwise", "void simdlens_kernel(void) {}", ())
    return CandidateResult(cand, Verdict(status), Measurement(tuple(sizes), "gcc 12", "cpu", ("-O2",), "2026-12-07"))


def test_the_low_end_decides_not_the_median() -> None:
    clear = _result(_size(4096, (1.40, 1.30, 1.45)))
    assert summary.is_win(clear)
    # the median beats the margin, the slowest process does not: not offered
    median_only = _result(_size(4096, (1.20, 1.01, 1.25)))
    assert not summary.is_win(median_only)
    assert "not reliably faster" in summary.not_a_win(median_only) and "1.01" in summary.not_a_win(median_only)
    # an unverified rewrite is never a win, however fast
    assert not summary.is_win(_result(_size(4096, (3.0, 2.9, 3.1)), status=Status.MISMATCH))


def test_every_cache_resident_size_must_win() -> None:
    assert summary.is_win(_result(_size(4096, (2.0, 1.9, 2.1)), _size(65536, (1.5, 1.4, 1.6))))
    # wins at 4K, loses at 64K (L2): not a win
    assert not summary.is_win(_result(_size(4096, (2.0, 1.9, 2.1)), _size(65536, (1.02, 0.98, 1.04))))


def test_memory_bound_sizes_only_veto_a_clear_loss() -> None:
    tie = _result(_size(4096, (2.0, 1.9, 2.1)), _size(1048576, (1.0, 0.7, 1.2)))
    assert summary.is_win(tie)  # a DRAM-bound tie does not hide an L1 win
    loss = _result(_size(4096, (2.0, 1.9, 2.1)), _size(1048576, (0.80, 0.75, 0.85)))
    assert not summary.is_win(loss)
    assert "from memory" in summary.not_a_win(loss)


def test_real_sizes_decide_when_measured() -> None:
    # the code's own arrays are 1M elements: the L1 win does not count there
    at_home = _result(_size(4096, (2.0, 1.9, 2.1)), _size(1048576, (1.01, 0.99, 1.03), real=True))
    assert not summary.is_win(at_home)
    assert summary.deciding_sizes(at_home.measurement.sizes) == (at_home.measurement.sizes[1],)  # type: ignore[union-attr]
    # and a real size that wins is a win even when a preset does not
    real_win = _result(_size(4096, (1.02, 0.99, 1.04)), _size(65536, (1.3, 1.2, 1.35), real=True))
    assert summary.is_win(real_win)


def test_undecided_measurements_are_measured_again() -> None:
    # low end just under the margin while the median is over it
    assert summary.undecided(_result(_size(4096, (1.20, 1.03, 1.22))).measurement)  # type: ignore[arg-type]
    # a clear win with a wide spread (one process disturbed): measured again too
    assert summary.undecided(_result(_size(4096, (1.60, 1.30, 1.90))).measurement)  # type: ignore[arg-type]
    # clear wins, clear losses and quiet ties are decided at once
    assert not summary.undecided(_result(_size(4096, (1.40, 1.35, 1.45))).measurement)  # type: ignore[arg-type]
    assert not summary.undecided(_result(_size(4096, (0.90, 0.70, 1.20))).measurement)  # type: ignore[arg-type]
    assert bench.REMEASURES >= 1


def test_titles_say_when_the_speedup_depends_on_size() -> None:
    steep = _result(_size(4096, (2.0, 1.9, 2.1), user=7.2), _size(1048576, (1.0, 0.9, 1.1), user=1.3))
    assert summary.size_dependent(steep)
    assert per_size(steep) == "7.2x at 4K, 1.3x at 1M (memory-bound); depends on size"
    assert action_title(steep) == "Vectorize with AVX2 — verified, 7.2x at 4K, 1.3x at 1M (memory-bound); depends on size"
    flat = _result(_size(4096, (2.0, 1.9, 2.1), user=3.0), _size(65536, (1.9, 1.8, 2.0), user=2.5, real=True))
    assert not summary.size_dependent(flat)
    assert per_size(flat) == "3.0x at 4K, 2.5x at 64K (your size)"


def test_the_one_line_quotes_the_codes_own_size() -> None:
    result = _result(_size(4096, (2.0, 1.9, 2.1), user=7.0), _size(32000, (1.5, 1.4, 1.6), user=4.0, real=True))
    size = summary.headline(result)
    assert size is not None and size.n == 32000


def test_the_reason_a_rewrite_is_not_offered_says_where_it_falls_short() -> None:
    partial = _result(_size(4096, (2.0, 1.9, 2.1)), _size(65536, (1.0, 0.97, 1.02)))
    assert summary.not_a_win(partial) == "faster than -O3 -march=native at some sizes only: 2.00x at n=4096, 1.00x at n=65536"
    tie = _result(_size(4096, (1.01, 0.98, 1.03)))
    assert summary.not_a_win(tie) == "the compiler already vectorizes this loop as well (best verified rewrite: 1.01x vs -O3 -march=native)"
    # no faster than the scalar build either (a loop neither compiler vectorizes, memory-bound or costly
    # shuffles): the reason does not blame the vectorizer
    slow = _result(_size(4096, (0.35, 0.33, 0.37), user=0.34))
    assert summary.not_a_win(slow) == ("the verified rewrite is no faster than this loop's scalar code here "
                                       "(0.34x vs -O3 -fno-tree-vectorize, 0.35x vs -O3 -march=native)")
    # a memory-bound preset does not veto when the code's own size decided
    own = _result(_size(65536, (1.5, 1.4, 1.6), real=True), _size(1048576, (0.8, 0.7, 0.9)))
    assert summary.is_win(own)


def _process(candidate_over_native: float) -> bench.ProcessTimes:
    # ns/element per variant: scalar, user flags, -O3 -march=native, the candidate
    return bench.ProcessTimes({4096: (4096, (4.0, 1.0, 1.0, 1.0 / candidate_over_native))})


def test_a_re_measured_rewrite_is_judged_on_both_batches_not_on_a_lucky_second_one() -> None:
    first = [_process(r) for r in (1.00, 1.02, 1.12, 1.15, 1.20)]  # undecided: median 1.12, slowest 1.00
    lucky = [_process(r) for r in (1.06, 1.10, 1.14, 1.18, 1.26)]  # the same loop, a luckier batch
    def judged(processes: list[bench.ProcessTimes], trim: int = 0) -> CandidateResult:
        sizes = bench.summarize(processes, [4096], 3, trim=trim)
        return _result(*sizes)
    assert summary.undecided(judged(first).measurement)  # type: ignore[arg-type]
    assert summary.is_win(judged(lucky))  # alone, the second batch would offer it
    both = judged(first + lucky, trim=1)  # pooled, the one slowest process left out
    assert not summary.is_win(both) and "not reliably faster" in summary.not_a_win(both)
    assert both.measurement.sizes[0].vs_native_autovec.runs == 9  # type: ignore[union-attr]
    # a clear win with one disturbed process (gesummv under load: 9.8x, one process 0.55x): offered
    disturbed = [_process(r) for r in (0.55, 9.1, 9.6, 10.2, 11.0)]
    assert summary.undecided(judged(disturbed).measurement)  # type: ignore[arg-type]
    again = judged(disturbed + [_process(r) for r in (8.8, 9.4, 9.9, 10.4, 12.0)], trim=1)
    assert summary.is_win(again) and again.measurement.sizes[0].vs_native_autovec.lo == 8.8  # type: ignore[union-attr]


def _builds(at_user_flags: float, at_native: float) -> bench.ProcessTimes:
    # ns/element: scalar, user flags (-O2), -O3 -march=native, the rewrite built at -O2, the rewrite built
    # at -O3 -march=native; the arguments are the rewrite's speedups over -O3 -march=native
    return bench.ProcessTimes({4096: (4096, (4.0, 2.0, 1.0, 1.0 / at_user_flags, 1.0 / at_native))})


def test_the_rewrites_slower_build_is_judged_and_both_are_shown() -> None:
    # mul64 (session 11, a standalone driver): 1.21x, 1.22x, 1.14x built -O2 -mavx2 -mfma; 0.98x, 0.98x,
    # 0.93x built -O3 -march=native, as in a program built that way: not offered
    (size,) = bench.summarize([_builds(u, n) for u, n in ((1.21, 0.98), (1.22, 0.98), (1.14, 0.93))], [4096], 3,
                              native_index=4)
    assert size.vs_native_user_build is not None and size.vs_native_native_build is not None
    assert (size.vs_native_user_build.median, size.vs_native_native_build.median) == (1.21, 0.98)
    assert size.vs_native_autovec == size.vs_native_native_build  # the lower one is quoted and judged
    assert size.vs_user_flags is not None and size.vs_user_flags.median == 2.42  # the user's build: its own rewrite
    assert size.ns_per_element["candidate_native"] == 1 / 0.98
    mul64 = _result(size)
    assert not summary.is_win(mul64)
    assert summary.not_a_win(mul64) == ("the compiler already vectorizes this loop as well (best verified rewrite: 0.98x "
                                        "vs -O3 -march=native; 1.21x built at -O2, 0.98x built at -O3 -march=native)")
    assert summary.build_note(mul64, size) == "1.21x built at -O2, 0.98x built at -O3 -march=native"
    assert any("0.98x (0.93–0.98) (1.21x built at -O2, 0.98x built at -O3 -march=native)" in line
               for line in compact_table([mul64]))  # the hover
    # mul64 in the sandbox this session: the median beats the margin, the slowest process does not
    (undecided,) = bench.summarize([_builds(u, n) for u, n in ((1.32, 1.08), (1.45, 0.95), (1.10, 1.15))], [4096], 3,
                                   native_index=4)
    assert summary.not_a_win(_result(undecided)) == (
        "not reliably faster than -O3 -march=native: 1.08x (0.95–1.10) at n=4096 (1.32x built at -O2, 1.08x built at "
        "-O3 -march=native), its slowest run under 1.05x")
    # per process: each build is 1.30x in two of three processes, but in each process one of them is 1.02x
    (mixed,) = bench.summarize([_builds(1.30, 1.02), _builds(1.02, 1.30), _builds(1.30, 1.30)], [4096], 3, native_index=4)
    assert mixed.vs_native_user_build.median == mixed.vs_native_native_build.median == 1.30  # type: ignore[union-attr]
    assert mixed.vs_native_autovec == Ratio(1.02, 1.02, 1.30, 3)
    # a win whose builds differ says both in its code action; builds within the noise say nothing more
    (win,) = bench.summarize([_builds(2.0, 1.4), _builds(2.1, 1.45), _builds(1.9, 1.35)], [4096], 3, native_index=4)
    assert summary.is_win(_result(win))
    assert action_title(_result(win)).endswith("; vs -O3 -march=native 2.00x built at -O2, 1.40x built at -O3 -march=native")
    (same,) = bench.summarize([_builds(1.42, 1.40), _builds(1.45, 1.44), _builds(1.38, 1.35)], [4096], 3, native_index=4)
    assert summary.build_note(_result(same), same) == "" and "march" not in action_title(_result(same))
