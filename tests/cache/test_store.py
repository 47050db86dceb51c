"""The result store: what a user relies on when a cache directory is shared, broken or full."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cache_objects import make_candidate, make_kernel, make_measurement

from simdlens.cache.store import ResultStore, StoredProposal
from simdlens.config import Settings
from simdlens.core import Counterexample, Status, Verdict


def test_results_survive_a_restart_with_counterexamples_and_measurements(settings: Settings) -> None:
    verdict = Verdict(Status.MISMATCH, "b[5] differs", Counterexample(9, 42, "b", 5, "1.5", "nan", overlap=-1))
    kernel = make_kernel()
    cand = make_candidate(kernel)
    with ResultStore.open(settings) as store:
        assert store.kind == "disk"
        store.put_verdict("verdict:a", verdict)
        store.put_measurement("measure:a", make_measurement())
        store.put_proposal("proposal:a", StoredProposal((cand,), ("model: 2 rounds",)))
    with ResultStore.open(settings) as store:
        assert store.get_verdict("verdict:a") == verdict
        measurement = store.get_measurement("measure:a")
        assert measurement == make_measurement()
        assert measurement is not None and measurement.date and measurement.host == "vm"
        proposal = store.get_proposal("proposal:a")
        assert proposal is not None and proposal.candidates == (cand,) and proposal.notes == ("model: 2 rounds",)
        assert store.get_verdict("verdict:other") is None
        assert (store.stats.hits, store.stats.misses) == (3, 1)


def test_last_run_hit_rate_is_kept_for_cache_info(settings: Settings) -> None:
    with ResultStore.open(settings) as store:
        store.put_verdict("verdict:a", Verdict(Status.VERIFIED))
        store.get_verdict("verdict:a")
        store.get_verdict("verdict:b")
    with ResultStore.open(settings) as store:
        info = store.info()
    assert info.entries == 1
    assert info.last_run is not None and (info.last_run["hits"], info.last_run["misses"]) == (1, 1)


def test_a_record_of_the_wrong_shape_is_a_miss_and_is_dropped(settings: Settings) -> None:
    import diskcache

    ResultStore.open(settings).close()
    with diskcache.Cache(str(settings.cache_path)) as raw:
        raw.set("verdict:a", '{"schema": 1, "kind": "verdict", "data": {"status": "sort-of"}}')
        raw.set("verdict:b", "not json at all")
        raw.set("verdict:c", 12345)
    with ResultStore.open(settings) as store:
        assert [store.get_verdict(k) for k in ("verdict:a", "verdict:b", "verdict:c")] == [None, None, None]
        assert store.stats.dropped == 3 and store.stats.hits == 0
        assert store.info().entries == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "directory_is_a_file"])
def test_a_corrupted_cache_is_moved_aside_with_one_warning(settings: Settings, damage: str, caplog) -> None:
    with ResultStore.open(settings) as store:
        for i in range(300):
            store.put_verdict(f"verdict:{i}", Verdict(Status.VERIFIED, "x" * 500))
    path = settings.cache_path
    db = path / "cache.db"
    if damage == "garbage":
        db.write_bytes(b"\x7fELF this is not a database" * 100)
        (path / "stray.bin").write_bytes(b"\x00\x01garbage")
    elif damage == "truncated":
        for extra in path.glob("cache.db-*"):
            extra.unlink()
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    else:
        shutil.rmtree(path)
        path.write_text("someone wrote a file here")
    caplog.set_level(logging.WARNING, logger="simdlens")
    with ResultStore.open(settings) as store:
        assert store.kind == "disk"
        store.put_verdict("verdict:new", Verdict(Status.VERIFIED))
        assert store.get_verdict("verdict:new") == Verdict(Status.VERIFIED)
        assert store.get_verdict("verdict:1") is None  # the damaged data is not trusted
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "moved it aside" in warnings[0].getMessage()
    aside = list(path.parent.glob(f"{path.name}.corrupt-*"))
    assert len(aside) == 1  # kept for inspection, not deleted
    if damage == "garbage":
        assert (aside[0] / "stray.bin").exists()


@pytest.mark.parametrize(("error", "moved"), [(sqlite3.DatabaseError("database disk image is malformed"), True),
                                              (sqlite3.OperationalError("database is locked"), False)])
def test_a_failure_mid_run_switches_to_memory_and_warns_once(settings: Settings, caplog, error: Exception,
                                                             moved: bool) -> None:
    store = ResultStore.open(settings)
    store.put_verdict("verdict:a", Verdict(Status.VERIFIED))
    caplog.set_level(logging.WARNING, logger="simdlens")

    def broken(*args: object) -> None:
        raise error

    store._backend.get = broken  # type: ignore[method-assign]  # what a damaged page looks like to diskcache
    assert store.get_verdict("verdict:a") is None
    store.put_verdict("verdict:b", Verdict(Status.VERIFIED))
    assert store.get_verdict("verdict:b") == Verdict(Status.VERIFIED)
    store.get_verdict("verdict:c")
    store.close()
    assert store.kind == "memory"
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    # Only a damaged database is moved aside; a busy one (the server holding a lock) is left alone.
    assert bool(list(settings.cache_path.parent.glob("cache.corrupt-*"))) is moved
    assert settings.cache_path.is_dir() or moved


def test_unwritable_location_falls_back_to_memory(tmp_path: Path, caplog) -> None:
    (tmp_path / "file").write_text("x")
    caplog.set_level(logging.WARNING, logger="simdlens")
    with ResultStore.open(Settings(cache_dir=str(tmp_path / "file" / "cache"))) as store:
        assert store.kind == "memory"
        store.put_verdict("verdict:a", Verdict(Status.VERIFIED))
        assert store.get_verdict("verdict:a") == Verdict(Status.VERIFIED)
    assert len(caplog.records) == 1 and "in-memory" in caplog.records[0].getMessage()
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a real read-only mount")
def test_read_only_file_system_falls_back_to_memory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ResultStore.open(Settings(cache_dir=str(ro / "cache"))).close()  # an existing cache, then made read-only
    script = textwrap.dedent(f"""
        from simdlens.cache.store import ResultStore
        from simdlens.config import Settings
        from simdlens.core import Status, Verdict
        with ResultStore.open(Settings(cache_dir={str(ro / 'cache')!r})) as s:
            s.put_verdict("verdict:a", Verdict(Status.VERIFIED))
            print(s.kind, s.get_verdict("verdict:a").status)
    """)
    cmd = ["bwrap", "--bind", "/", "/", "--ro-bind", str(ro), str(ro), "--dev", "/dev", "--proc", "/proc",
           sys.executable, "-c", script]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0 and "bwrap" in done.stderr:
        pytest.skip(f"bubblewrap unusable here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["memory", "verified"]
    assert "not usable" in done.stderr and done.stderr.count("WARNING") <= 1


def test_size_limit_evicts_least_recently_used(tmp_path: Path) -> None:
    settings = Settings(cache_dir=str(tmp_path / "c"), cache_size_mb=1)
    with ResultStore.open(settings) as store:
        store.put_verdict("verdict:keep", Verdict(Status.VERIFIED, "k" * 60_000))
        for i in range(60):
            store.put_verdict(f"verdict:{i}", Verdict(Status.VERIFIED, "x" * 60_000))
            assert store.get_verdict("verdict:keep") is not None  # used all along: never the victim
        info = store.info()
        assert info.size_bytes <= 1.3 * 1024 * 1024
        assert store.get_verdict("verdict:0") is None  # least recently used: evicted
        assert store.get_verdict("verdict:59") is not None


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    """The language server and a CLI scan write and read the same directory at once."""
    cache = tmp_path / "shared"
    script = textwrap.dedent(f"""
        import sys
        from simdlens.cache.store import ResultStore
        from simdlens.config import Settings
        from simdlens.core import Status, Verdict
        me, other = sys.argv[1], sys.argv[2]
        with ResultStore.open(Settings(cache_dir={str(cache)!r})) as s:
            assert s.kind == "disk", s.notes
            for i in range(200):
                s.put_verdict(f"verdict:{{me}}:{{i}}", Verdict(Status.VERIFIED, me))
                s.get_verdict(f"verdict:{{other}}:{{i}}")
        print("ok")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, me, other], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for me, other in (("server", "cli"), ("cli", "server"))]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "ok", err
    with ResultStore.open(Settings(cache_dir=str(cache))) as store:
        assert store.get_verdict("verdict:server:199") == Verdict(Status.VERIFIED, "server")
        assert store.get_verdict("verdict:cli:0") == Verdict(Status.VERIFIED, "cli")
        assert store.info().entries == 400
