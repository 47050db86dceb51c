"""Document state: applying the client's edits, carrying results across edits, settings layers, contract."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from server_builders import DOT_LOOP, SOURCE, dot_report, kernel

from simdlens.config import Settings
from simdlens.server.config import ServerConfig
from simdlens.server.documents import Change, OpenDocument, merge, rewritten_regions
from simdlens.server.features import commands
from simdlens.server.positions import LineIndex
from simdlens.server.state import ByteEdit, EditLog, LoopStatus


def test_edit_log_moves_ranges_after_edits_and_drops_touched_ones() -> None:
    log = EditLog()
    log.record(ByteEdit(2, 10, 12, 5))  # v1 -> v2: bytes 10..12 became 5 bytes (+3)
    assert log.map_range(20, 30, since=1) == (23, 33)  # after the edit: moved
    assert log.map_range(0, 10, since=1) == (0, 10)  # before it: unchanged
    assert log.map_range(8, 11, since=1) is None  # overlapping: gone
    assert log.map_range(20, 30, since=2) == (20, 30)  # already at v2
    log.forget_before(3)  # a full-text replacement at v3
    assert log.map_range(20, 30, since=2) is None


def test_incremental_changes_in_utf16_and_utf8() -> None:
    for encoding, column in (("utf-16", 11), ("utf-8", 14)):  # after "// héllo 😀" (é: 2 bytes, 😀: 2 units/4 bytes)
        doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
        doc.apply(2, [Change("!", (0, column), (0, column))], encoding)
        assert doc.source.splitlines()[0].decode() == "// héllo 😀!"
        assert doc.version == 2
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    doc.apply(2, [Change("int x;\n")], "utf-16")  # whole-document change
    assert doc.source == b"int x;\n"


def test_results_survive_edits_elsewhere_and_not_edits_of_the_loop() -> None:
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    first = merge(doc, 1, SOURCE, [dot_report()], (), "")
    doc.snapshot = dataclasses.replace(first, loops=tuple(dataclasses.replace(s, status=LoopStatus.DONE)
                                                          for s in first.loops))
    # v2: a comment line inserted above the function
    doc.apply(2, [Change("// new\n", (1, 0), (1, 0))], "utf-16")
    fresh = dataclasses.replace(dot_report(doc.source), results=())
    second = merge(doc, 2, doc.source, [fresh], (), "", {"loop-dot": kernel("loop-dot")})
    (state,) = second.loops
    assert state.status is LoopStatus.DONE and len(state.report.results) == 2
    loop_edit = state.report.results[0].candidate.edits[1]
    assert doc.source[loop_edit.span.start_byte:loop_edit.span.end_byte] == DOT_LOOP
    assert loop_edit.span.start.line == 4  # moved down one line
    doc.snapshot = second
    # v3: the loop itself is edited (same kernel hash here, but its text moved under the edits): start over
    where = doc.source.index(b"a[i] * b[i]")
    line = doc.source[:where].count(b"\n")
    col = where - doc.source.rindex(b"\n", 0, where) - 1
    doc.apply(3, [Change("a[i]*b[i]", (line, col), (line, col + len("a[i] * b[i]")))], "utf-16")
    third = merge(doc, 3, doc.source, [dataclasses.replace(dot_report(SOURCE), results=())], (), "",
                  {"loop-dot": kernel("loop-dot")})
    assert third.loops[0].status is LoopStatus.QUEUED and third.loops[0].report.results == ()


def test_results_are_dropped_when_the_kernel_changes() -> None:
    # same loop text (same id), but e.g. a typedef it uses changed: the kernel hash differs
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    first = merge(doc, 1, SOURCE, [dot_report()], (), "")
    doc.snapshot = dataclasses.replace(first, loops=tuple(dataclasses.replace(s, status=LoopStatus.DONE)
                                                          for s in first.loops))
    doc.apply(2, [Change("typedef double real;\n", (0, 0), (0, 0))], "utf-16")
    fresh = dataclasses.replace(dot_report(doc.source), results=())
    second = merge(doc, 2, doc.source, [fresh], (), "", {"loop-dot": kernel("loop-dot", "another-hash")})
    assert second.loops[0].status is LoopStatus.QUEUED and second.loops[0].report.results == ()


REWRITTEN = b"""float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
#if defined(__AVX2__)
    {
        /* simdlens rules:dot_product (avx2, 8 lanes) */
        int i = 0;
        for (; i + 8 <= n; i += 8) { }
        for (; i < n; i++) s += a[i] * b[i];
    }
#else
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
#endif
#ifdef OTHER
    for (int j = 0; j < n; j++) s += a[j];
#endif
    return s;
}
"""


def test_loops_of_a_written_rewrite_are_not_offered_again() -> None:
    (region,) = rewritten_regions(REWRITTEN)
    text = REWRITTEN[region[0]:region[1]]
    assert text.startswith(b"#if defined(__AVX2__)") and text.endswith(b"#endif")
    assert b"for (int j" not in text  # the next, unrelated conditional block is not part of it
    assert rewritten_regions(SOURCE) == []


def test_waiting_reason_marks_new_loops_skipped() -> None:
    doc = OpenDocument("file:///t.c", "/t.c", "c", 1, SOURCE)
    snap = merge(doc, 1, SOURCE, [dataclasses.replace(dot_report(), results=())], (), "no C compiler found")
    assert snap.loops[0].status is LoopStatus.SKIPPED and snap.loops[0].detail == "no C compiler found"


def test_server_config_layers_and_warns_once() -> None:
    config = ServerConfig(Settings(jobs=3))
    warnings = config.set_initialization_options({"simdlens": {"isa": "avx2", "bench": {"quick": True}}})
    assert warnings == [] and config.settings.isa == "avx2" and config.settings.bench.quick and config.settings.jobs == 3
    warnings = config.set_workspace({"isa": "avx512", "verifyOn": "sometimes"})
    assert config.settings.isa == "avx512" and config.settings.verify_on == "open"
    assert len(warnings) == 1 and "simdlens.verifyOn" in warnings[0]
    assert config.set_workspace({"isa": "avx512", "verifyOn": "sometimes"}) == []  # shown once already
    config.set_workspace({})
    assert config.settings.isa == "avx2"  # back to the initializationOptions layer


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _settings_fields(obj: object, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out.update(_settings_fields(value, prefix + _camel(f.name) + "."))
        else:
            out[prefix + _camel(f.name)] = list(value) if isinstance(value, tuple) else value
    return out


def test_contract_matches_settings_and_commands() -> None:
    import simdlens.server

    contract = json.loads((Path(simdlens.server.__file__).parent / "contract.json").read_text())
    expected = _settings_fields(Settings())
    assert set(contract["settings"]) == set(expected)
    for name, spec in contract["settings"].items():
        assert spec["default"] == expected[name], name
        assert spec["description"], name
        # every documented setting is accepted by Settings.from_mapping without a warning
        head, _, tail = name.partition(".")
        mapping = {head: {tail: spec["default"]}} if tail else {head: spec["default"]}
        assert Settings.from_mapping(mapping)[1] == [], name
        for value in spec.get("enum", []):
            assert Settings.from_mapping({name: value})[1] == [], (name, value)
    assert contract["commands"] == list(commands.ALL)
    from simdlens.server.server import build_server

    ls = build_server(engine=object())
    assert set(ls.protocol.fm.commands) == set(contract["commands"])


def test_line_index_round_trip() -> None:
    lines = LineIndex(SOURCE)
    for encoding in ("utf-8", "utf-16", "utf-32"):
        for offset in (0, SOURCE.index(b"float"), len(SOURCE)):
            line, character = lines.byte_to_lsp(offset, encoding)
            assert lines.lsp_to_byte(line, character, encoding) == offset
