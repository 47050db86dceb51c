"""Code actions: the verified rewrites of the loops under the cursor, as one-click edits.

Kind `refactor.rewrite.simdlens`; the best rewrite of each loop is `isPreferred`. Titles say what was
measured and what changes semantically: "Vectorize with AVX2 — verified, 5.3x measured
(reassociates floating-point additions)". Only verified rewrites that beat the compiler appear.

An action carries `data` (uri, loop id, candidate key) and, when the edit is small or the client
cannot resolve, the `edit` itself; large edits are filled in by `codeAction/resolve`. Actions never
carry a `command` (lsprotocol 2025 mis-parses CodeActions with one in Python clients).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from simdlens import summary
from simdlens.core import CandidateResult
from simdlens.server.positions import Encoding, lsp_range
from simdlens.server.state import DocumentSnapshot

KIND = "refactor.rewrite.simdlens"
LAZY_EDIT_BYTES = 4096  # edits larger than this are sent on codeAction/resolve when the client can


def action_title(result: CandidateResult) -> str:
    isa = summary.isa_name(result.candidate.isa)
    size = summary.headline(result)
    if size is None or size.vs_user_flags is None:
        title = f"Vectorize with {isa} — verified (not benchmarked)"
    else:
        title = f"Vectorize with {isa} — verified, {size.vs_user_flags.median:.1f}x measured"
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


def code_actions(snapshot: DocumentSnapshot, start: int, end: int, encoding: Encoding, *, lazy: bool,
                 document_changes: bool, only: list[str] | None = None) -> list[types.CodeAction]:
    if snapshot.skipped:
        return []
    if only and not any(k in ("", KIND) or KIND.startswith(k + ".") for k in only):
        return []
    actions: list[types.CodeAction] = []
    for state in snapshot.loops_touching(start, end):
        for rank, result in enumerate(summary.ranked_wins(state.report)):
            data: dict[str, Any] = {"uri": snapshot.uri, "loopId": state.loop_id, "candidate": result.candidate.key,
                                    "version": snapshot.version}
            size = sum(len(e.new_text) for e in result.candidate.edits)
            edit = None if lazy and size > LAZY_EDIT_BYTES else workspace_edit(snapshot, result, encoding, document_changes)
            actions.append(types.CodeAction(
                title=action_title(result), kind=KIND, is_preferred=rank == 0, edit=edit, data=data,
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
