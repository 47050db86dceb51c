"""A small checker for the `simdlens scan --json` document (docs/scan.md) and for SARIF 2.1.0's
required fields: returns the list of problems, empty when the document conforms."""

from __future__ import annotations

from typing import Any

STATUSES = {"verified", "mismatch", "compile_error", "crash", "sanitizer", "timeout", "unsupported_cpu",
            "rejected", "unverified"}
VERDICTS = {"vectorizable", "vectorizable_with_checks", "not_vectorizable"}
CODES = {"SL101", "SL102", "SL103", "SL201"}


class _Check:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def need(self, obj: Any, key: str, types: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            self.problems.append(f"{where}: missing {key!r}")
            return None
        if not isinstance(obj[key], types) or (isinstance(obj[key], bool) and bool not in _tuple(types)):
            self.problems.append(f"{where}.{key}: {type(obj[key]).__name__} is not {types}")
            return None
        return obj[key]

    def position(self, pos: Any, where: str) -> None:
        for key in ("line", "character"):
            v = self.need(pos, key, int, where)
            if isinstance(v, int) and v < 0:
                self.problems.append(f"{where}.{key} is negative")

    def range(self, rng: Any, where: str) -> None:
        start = self.need(rng, "start", dict, where)
        end = self.need(rng, "end", dict, where)
        if start is not None:
            self.position(start, where + ".start")
        if end is not None:
            self.position(end, where + ".end")
        if start and end and (start.get("line"), start.get("character")) > (end.get("line"), end.get("character")):
            self.problems.append(f"{where}: start after end")


def _tuple(t: type | tuple[type, ...]) -> tuple[type, ...]:
    return t if isinstance(t, tuple) else (t,)


def check_scan_json(doc: Any) -> list[str]:
    c = _Check()
    c.need(doc, "simdlens", str, "$")
    host = c.need(doc, "host", dict, "$")
    if host is not None:
        c.need(host, "cpu", str, "$.host")
        isa = c.need(host, "isa", list, "$.host")
        if isa is not None and not all(isinstance(x, str) for x in isa):
            c.problems.append("$.host.isa: not all strings")
    for key in ("skipped", "notes", "isas"):
        c.need(doc, key, list, "$")
    cache = c.need(doc, "cache", dict, "$")
    if cache is not None:
        for key in ("hits", "misses", "writes"):
            c.need(cache, key, int, "$.cache")
    counters = c.need(doc, "counters", dict, "$")
    if counters is not None:
        for key in ("compiles", "model_calls"):
            c.need(counters, key, int, "$.counters")
    for i, f in enumerate(c.need(doc, "files", list, "$") or []):
        w = f"$.files[{i}]"
        c.need(f, "path", str, w)
        for j, loop in enumerate(c.need(f, "loops", list, w) or []):
            lw = f"{w}.loops[{j}]"
            c.need(loop, "id", str, lw)
            rng = c.need(loop, "range", dict, lw)
            if rng is not None:
                c.range(rng, lw + ".range")
            if c.need(loop, "verdict", str, lw) not in VERDICTS:
                c.problems.append(f"{lw}.verdict: {loop.get('verdict')!r} unknown")
            reasons = c.need(loop, "reasons", list, lw)
            if reasons is not None and not all(isinstance(r, str) and r for r in reasons):
                c.problems.append(f"{lw}.reasons: not all non-empty strings")
            if c.need(loop, "code", str, lw) not in CODES:
                c.problems.append(f"{lw}.code: {loop.get('code')!r} unknown")
            for k, cand in enumerate(c.need(loop, "candidates", list, lw) or []):
                cw = f"{lw}.candidates[{k}]"
                c.need(cand, "isa", str, cw)
                c.need(cand, "origin", str, cw)
                status = c.need(cand, "status", str, cw)
                if status not in STATUSES:
                    c.problems.append(f"{cw}.status: {status!r} unknown")
                c.need(cand, "caveats", list, cw)
                edits = c.need(cand, "edits", list, cw) or []
                if status != "verified" and edits:
                    c.problems.append(f"{cw}: an unverified candidate carries edits")
                for m, edit in enumerate(edits):
                    ew = f"{cw}.edits[{m}]"
                    r = c.need(edit, "range", dict, ew)
                    if r is not None:
                        c.range(r, ew + ".range")
                    c.need(edit, "newText", str, ew)
                if "speedup" not in cand:
                    c.problems.append(f"{cw}: missing 'speedup'")
                elif cand["speedup"] is not None:
                    sp = cand["speedup"]
                    for key in ("vs_scalar", "vs_user_flags", "vs_native_autovec", "vs_native_user_build",
                                "vs_native_native_build"):
                        v = c.need(sp, key, (int, float, type(None)), cw + ".speedup")
                        if isinstance(v, int | float) and v <= 0:
                            c.problems.append(f"{cw}.speedup.{key} not positive")
                    c.need(sp, "spread", (int, float), cw + ".speedup")
                    c.need(sp, "n", int, cw + ".speedup")
                    if status != "verified":
                        c.problems.append(f"{cw}: a speedup for an unverified candidate")
                if status == "mismatch" and "counterexample" in cand:
                    for key in ("size", "seed", "index"):
                        c.need(cand["counterexample"], key, int, cw + ".counterexample")
    return c.problems


def check_sarif(doc: Any) -> list[str]:
    c = _Check()
    if c.need(doc, "version", str, "$") != "2.1.0":
        c.problems.append("$.version is not 2.1.0")
    runs = c.need(doc, "runs", list, "$") or []
    if not runs:
        c.problems.append("$.runs is empty")
    for i, run in enumerate(runs):
        w = f"$.runs[{i}]"
        tool = c.need(run, "tool", dict, w)
        driver = c.need(tool, "driver", dict, w + ".tool") if tool else None
        if driver is None:
            continue
        c.need(driver, "name", str, w + ".tool.driver")
        rules = c.need(driver, "rules", list, w + ".tool.driver") or []
        ids = [r.get("id") for r in rules if isinstance(r, dict)]
        if set(ids) != CODES:
            c.problems.append(f"{w}: rules {ids} are not {sorted(CODES)}")
        for j, res in enumerate(c.need(run, "results", list, w) or []):
            rw = f"{w}.results[{j}]"
            rule = c.need(res, "ruleId", str, rw)
            if rule not in ids:
                c.problems.append(f"{rw}.ruleId {rule!r} not among the rules")
            idx = res.get("ruleIndex")
            if idx is not None and (not isinstance(idx, int) or idx >= len(ids) or ids[idx] != rule):
                c.problems.append(f"{rw}.ruleIndex does not point at {rule}")
            if res.get("level", "warning") not in ("none", "note", "warning", "error"):
                c.problems.append(f"{rw}.level invalid")
            msg = c.need(res, "message", dict, rw)
            if msg is not None:
                c.need(msg, "text", str, rw + ".message")
            for k, loc in enumerate(c.need(res, "locations", list, rw) or []):
                lw = f"{rw}.locations[{k}]"
                phys = c.need(loc, "physicalLocation", dict, lw)
                if phys is None:
                    continue
                art = c.need(phys, "artifactLocation", dict, lw + ".physicalLocation")
                if art is not None:
                    c.need(art, "uri", str, lw + ".physicalLocation.artifactLocation")
                region = c.need(phys, "region", dict, lw + ".physicalLocation")
                if region is not None:
                    line = c.need(region, "startLine", int, lw + ".region")
                    if isinstance(line, int) and line < 1:
                        c.problems.append(f"{lw}.region.startLine < 1")
                    col = region.get("startColumn", 1)
                    if not isinstance(col, int) or col < 1:
                        c.problems.append(f"{lw}.region.startColumn < 1")
    return c.problems
