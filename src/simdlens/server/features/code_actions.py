"""Code actions: the verified rewrites of the loops under the cursor, as one-click edits.

Titles say what was measured at every size and what changes semantically: "Vectorize with AVX2 —
verified, 5.3x at 4K, 0.49x at 1M (reassociates floating-point additions)". Only verified rewrites
that beat the compiler appear; the best of each loop is `isPreferred`.

Two kinds, never both for one loop in one answer (a menu would list every rewrite twice):
- `quickfix`, tied to the loop's simdlens diagnostic (`diagnostics`), when the request's context
  carries that diagnostic: VS Code's Ctrl+. and the diagnostic's hover ("Quick Fix…") ask this way;
- `refactor.rewrite.simdlens` otherwise (no diagnostic in the context: diagnostics turned off, a
  cursor in the loop's body) and whenever the request asks for refactorings (`only`: the Refactor…
  menu, Ctrl+Shift+R).

An action carries `data` (uri, loop id, candidate key) and, when the edit is small or the client
cannot resolve, the `edit` itself; large edits are filled in by `codeAction/resolve`. Actions never
carry a `command` (lsprotocol 2025 mis-parses CodeActions with one in Python clients).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from simdlens import summary
from simdlens.core import CandidateResult
from simdlens.server.features.diagnostics import SOURCE
from simdlens.server.features.measured import per_size
from simdlens.server.positions import Encoding, lsp_range
from simdlens.server.state import DocumentSnapshot, LoopState

KIND = "refactor.rewrite.simdlens"
QUICKFIX = types.CodeActionKind.QuickFix.value
LAZY_EDIT_BYTES = 4096  # edits larger than this are sent on codeAction/resolve when the client can
OFFERS_KEPT = 20  # documents whose offered rewrites are remembered (for the report after applying)


@dataclass(frozen=True)
class Offer:
    """A rewrite offered as a code action: when its text shows up in the document, it was applied."""

    text: bytes  # the main edit's new text
    title: str


_OFFERS: OrderedDict[str, dict[str, Offer]] = OrderedDict()  # uri -> candidate key -> offer


def _remember(uri: str, result: CandidateResult, title: str) -> None:
    # the edit replacing the loop (others insert an #include): its text is what the document then holds
    main = max(result.candidate.edits, key=lambda e: (e.span.end_byte > e.span.start_byte, len(e.new_text)),
               default=None)
    if main is None:
        return
    _OFFERS.setdefault(uri, {})[result.candidate.key] = Offer(main.new_text.encode("utf-8"), title)
    _OFFERS.move_to_end(uri)
    while len(_OFFERS) > OFFERS_KEPT:
        _OFFERS.popitem(last=False)


def applied_offers(uri: str, source: bytes) -> list[tuple[int, Offer]]:
    """The offered rewrites whose text is in `source` now, with their byte offsets (applied ones)."""
    found = [(source.find(offer.text), offer) for offer in _OFFERS.get(uri, {}).values() if offer.text.strip()]
    return sorted(((at, offer) for at, offer in found if at >= 0), key=lambda pair: pair[0])


def action_title(result: CandidateResult) -> str:
    isa = summary.isa_name(result.candidate.isa)
    measured = per_size(result)
    if not measured:
        title = f"Vectorize with {isa} — verified (not benchmarked)"
    else:
        title = f"Vectorize with {isa} — verified, {measured}"
        size = summary.headline(result)
        note = summary.build_note(result, size) if size is not None else ""
        if note:  # a program built at -O3 -march=native compiles the rewrite differently: say both
            title += f"; vs -O3 -march=native {note}"
    caveats = summary.semantic_caveats(result)
    if caveats:
        title += f" ({'; '.join(caveats)})"
    return title


def workspace_edit(snapshot: DocumentSnapshot, result: CandidateResult, encoding: Encoding,
                   document_changes: bool) -> types.WorkspaceEdit:
    edits = [types.TextEdit(range=lsp_range(snapshot.lines, e.span, encoding), new_text=e.new_text)
             for e in result.candidate.edits]
    if document_changes:
        ident = types.OptionalVersionedTextDocumentIdentifier(uri=snapshot.uri, version=snapshot.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=ident, edits=list(edits))])
    return types.WorkspaceEdit(changes={snapshot.uri: list(edits)})


def find_result(snapshot: DocumentSnapshot, loop_id: str, key: str) -> CandidateResult | None:
    state = snapshot.loop(loop_id)
    if state is None:
        return None
    return next((r for r in summary.ranked_wins(state.report) if r.candidate.key == key), None)


def _wanted(kind: str, only: list[str] | None) -> bool:
    return only is None or any(k in ("", kind) or kind.startswith(k + ".") for k in only)


def _diagnostic_of(state: LoopState, snapshot: DocumentSnapshot, encoding: Encoding,
                   diagnostics: list[types.Diagnostic]) -> types.Diagnostic | None:
    """The loop's own simdlens diagnostic among those the client sent (by loop id, else by range)."""
    header = lsp_range(snapshot.lines, state.header, encoding)
    for diagnostic in diagnostics:
        if diagnostic.source != SOURCE:
            continue
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        if data.get("loopId") == state.loop_id or (not data and diagnostic.range == header):
            return diagnostic
    return None


def code_actions(snapshot: DocumentSnapshot, start: int, end: int, encoding: Encoding, *, lazy: bool,
                 document_changes: bool, only: list[str] | None = None,
                 diagnostics: list[types.Diagnostic] | None = None) -> list[types.CodeAction]:
    if snapshot.skipped:
        return []
    if not (_wanted(KIND, only) or _wanted(QUICKFIX, only)):
        return []
    if start == end:  # a bare cursor (Neovim's code_action() in the indentation): the whole line counts
        point = snapshot.lines.byte_to_point(start)
        start = start - point.column
        end = start + len(snapshot.lines.line_text(point.line))
    actions: list[types.CodeAction] = []
    for state in snapshot.loops_touching(start, end):
        wins = summary.ranked_wins(state.report)
        if not wins:
            continue
        diagnostic = _diagnostic_of(state, snapshot, encoding, diagnostics or [])
        kinds = []
        if diagnostic is not None and _wanted(QUICKFIX, only):
            kinds.append(QUICKFIX)
        if _wanted(KIND, only) and (only is not None or not kinds):
            kinds.append(KIND)
        for kind in kinds:
            for rank, result in enumerate(wins):
                data: dict[str, Any] = {"uri": snapshot.uri, "loopId": state.loop_id,
                                        "candidate": result.candidate.key, "version": snapshot.version}
                size = sum(len(e.new_text) for e in result.candidate.edits)
                edit = None if lazy and size > LAZY_EDIT_BYTES else workspace_edit(snapshot, result, encoding,
                                                                                    document_changes)
                title = action_title(result)
                _remember(snapshot.uri, result, title)
                actions.append(types.CodeAction(
                    title=title, kind=kind, is_preferred=rank == 0, edit=edit, data=data,
                    diagnostics=[diagnostic] if kind == QUICKFIX and diagnostic is not None else None,
                ))
    return actions


def resolve(snapshot: DocumentSnapshot | None, action: types.CodeAction, encoding: Encoding,
            document_changes: bool) -> types.CodeAction:
    """Fill in the edit of a lazily sent action from the newest snapshot (edits move with the text)."""
    data = action.data if isinstance(action.data, dict) else {}
    if action.edit is not None or snapshot is None:
        return action
    result = find_result(snapshot, str(data.get("loopId", "")), str(data.get("candidate", "")))
    if result is not None:
        action.edit = workspace_edit(snapshot, result, encoding, document_changes)
    return action
