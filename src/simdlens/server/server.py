"""The simdlens language server: the one place where LSP methods are wired to feature modules.

    documents   didOpen / didChange (incremental) / didSave / didClose  -> background analysis + verification
    features    hover, codeLens, codeAction (+ resolve)                 -> features/*.py, read from snapshots
    commands    simdlens.applyAndBenchmark / verifyLoop / showReport / clearCache -> features/commands.py
    settings    initializationOptions, workspace/configuration `simdlens`, didChangeConfiguration -> config.py

Every handler is guarded: an exception is logged and the request gets an empty answer. simdlens's
log lines go to window/logMessage once the client has initialized, to stderr before (one or the other,
never both: editors show both in one panel). The server never writes to stdout except the protocol itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import logging
import sys
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import unquote, urlparse

import cattrs
from cattrs.v import format_exception
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage

from simdlens import __version__, compile_db
from simdlens.analysis.parse import language_for
from simdlens.config import Settings
from simdlens.server import config as server_config
from simdlens.server.background import Background, Engine
from simdlens.server.documents import Change, OpenDocument
from simdlens.server.features import code_actions, code_lens, commands, diagnostics, hover
from simdlens.server.positions import Encoding, encode_text, encoding_of, offset_of
from simdlens.server.state import DocumentSnapshot

log = logging.getLogger("simdlens.server")

STATUS_NOTIFICATION = "simdlens/status"  # {"isa": ["avx2", "avx512"]}: what the editor's status item shows
STATUS_SECTION = "simdlens"  # capabilities.experimental.simdlens: the same object, at initialize
SWITCH_INTERVAL_S = 0.0005  # how long the event loop waits at most for a busy worker thread's GIL
DIAGNOSTICS_KEPT = 2  # documents whose last diagnostics are kept for reuse (those being verified, mostly)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class DocumentsOwnProtocol(LanguageServerProtocol):
    """pygls's protocol without its own copy of every open document: simdlens keeps the bytes it
    analyses (`documents.OpenDocument`), and a second copy of fifty big files costs the editor memory
    (and re-splicing pygls's copy costs every keystroke time). Only the handlers are called."""

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Generator[Any, Any, None]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Generator[Any, Any, None]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Generator[Any, Any, None]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        result = yield from super().lsp_initialize(params)
        server = cast(SimdlensServer, self._server)
        result.capabilities.experimental = {STATUS_SECTION: server.status()}  # the ISA `auto` resolved to
        return result

    def _user_handler(self, method: str, params: Any) -> Generator[Any, Any, None]:
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    # pygls answers nothing to a request whose params do not fit the protocol (a `character` beyond
    # 2^31-1, a line of -1, a missing field): it logs a traceback and the client waits forever.
    def structure_message(self, data: dict[str, Any]) -> Any:
        """A message from the client as lsprotocol's type; a request or notification whose params do not
        fit gets a one-line log, and a request its JSON-RPC error (-32602 InvalidParams)."""
        if not (isinstance(data, dict) and "jsonrpc" in data and isinstance(data.get("method"), str)
                and "error" not in data):
            return super().structure_message(data)
        method = data["method"]
        kind = self.get_message_type(method) or (JsonRPCRequestMessage if "id" in data else JsonRPCNotification)
        try:
            return self._converter.structure(data, kind)
        except Exception as exc:
            why = "; ".join(cattrs.transform_error(exc, format_exception=_why_invalid)) \
                if isinstance(exc, cattrs.ClassValidationError) else str(exc)
            why = " ".join(why.split())[:300]
            if "id" not in data:
                log.warning("ignored %s: invalid params: %s", method, why)
                return _ANSWERED
            log.warning("%s request %s: invalid params: %s", method, data["id"], why)
            self._send_response(data["id"], None, types.ResponseError(
                code=types.ErrorCodes.InvalidParams, message=f"invalid params: {why}"))
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is not _ANSWERED:
            super().handle_message(message)


def _why_invalid(exc: BaseException, kind: type | None) -> str:
    return str(exc) if type(exc) is ValueError and str(exc) else format_exception(exc, kind)


_ANSWERED = object()  # a malformed message, already answered (or dropped) by `structure_message`


class SimdlensServer(LanguageServer):
    """pygls's server plus simdlens's state: settings, open documents and background work."""

    def __init__(self, engine: Engine, base: Settings | None = None) -> None:
        super().__init__("simdlens", __version__, protocol_cls=DocumentsOwnProtocol)
        self.engine = engine
        self.config = server_config.ServerConfig(base)
        self.background = Background(self, engine, lambda: self.config.settings, self.publish,
                                     lambda: self._capability("window.work_done_progress"))
        self._refresh_pending = False
        self._skip_told: set[str] = set()
        self._status_sent: dict[str, Any] | None = None
        self._diagnostics: dict[str, diagnostics.Reuse] = {}  # by document: the last publish's diagnostics

    # ---------------------------------------------------------------- client capabilities

    def _capability(self, dotted: str) -> bool:
        node: Any = self.client_capabilities if self.protocol.client_capabilities else None
        for part in dotted.split("."):
            node = getattr(node, part, None) if node is not None else None
        return bool(node)

    @property
    def encoding(self) -> Encoding:
        return encoding_of(self.workspace.position_encoding) if self.protocol.client_capabilities else "utf-16"

    @property
    def document_changes(self) -> bool:
        return self._capability("workspace.workspace_edit.document_changes")

    @property
    def show_document_supported(self) -> bool:
        return self._capability("window.show_document.support")

    @property
    def lazy_lenses(self) -> bool:
        """The client resolves lenses' commands itself (`codeLens.resolveSupport`, LSP 3.18)."""
        lens = self.client_capabilities.text_document and self.client_capabilities.text_document.code_lens
        support = getattr(lens, "resolve_support", None) if lens else None
        return bool(support and "command" in support.properties)

    @property
    def lazy_edits(self) -> bool:
        resolve = self.client_capabilities.text_document and self.client_capabilities.text_document.code_action
        support = resolve.resolve_support if resolve else None
        return bool(support and "edit" in support.properties)

    # ---------------------------------------------------------------- publishing

    def publish(self, snapshot: DocumentSnapshot) -> None:
        """A new snapshot: diagnostics now, lenses on the client's next refresh."""
        try:
            reuse = self._diagnostics.pop(snapshot.uri, None) or diagnostics.Reuse()
            self._diagnostics[snapshot.uri] = reuse  # the documents published last keep theirs (memory)
            while len(self._diagnostics) > DIAGNOSTICS_KEPT:
                del self._diagnostics[next(iter(self._diagnostics))]
            found = diagnostics.diagnostics(snapshot, self.config.settings.diagnostics, self.encoding, reuse)
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=snapshot.uri, diagnostics=found, version=snapshot.version))
            if snapshot.skipped and snapshot.uri not in self._skip_told:
                self._skip_told.add(snapshot.uri)
                self.window_show_message(types.ShowMessageParams(
                    type=types.MessageType.Info,
                    message=f"simdlens: {Path(snapshot.path).name or snapshot.uri} skipped: {snapshot.skipped}"))
            self._refresh_lenses()
        except Exception:
            log.exception("publishing results for %s failed", snapshot.uri)

    def _refresh_lenses(self) -> None:
        if self._refresh_pending or not self._capability("workspace.code_lens.refresh_support"):
            return
        self._refresh_pending = True

        async def refresh() -> None:
            await asyncio.sleep(0)  # one refresh for the results of one loop iteration; VS Code debounces too
            self._refresh_pending = False
            try:
                await self.workspace_code_lens_refresh_async(None)
            except Exception as exc:
                log.debug("codeLens refresh failed: %s", exc)

        asyncio.get_running_loop().create_task(refresh())

    # ---------------------------------------------------------------- status (editor's status item)

    def status(self) -> dict[str, Any]:
        return {"isa": list(self.engine.isas(self.config.settings))}

    def send_status(self) -> None:
        """`simdlens/status` when what the status item shows changed (and once after initialized)."""
        status = self.status()
        if status != self._status_sent:
            self._status_sent = status
            self.protocol.notify(STATUS_NOTIFICATION, status)

    # ---------------------------------------------------------------- settings

    def apply_settings_warnings(self, warnings: list[str]) -> None:
        for warning in warnings:
            log.warning("%s", warning)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"simdlens: {warning}"))

    async def pull_configuration(self) -> None:
        if not self._capability("workspace.configuration"):
            return
        try:
            answer = await self.workspace_configuration_async(types.ConfigurationParams(
                items=[types.ConfigurationItem(section=server_config.SECTION)]))
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return
        value = answer[0] if answer else None
        self.apply_settings_warnings(self.config.set_workspace(value if value is not None else {}))

    def settings_changed(self, before: Settings) -> None:
        """Apply new settings to open documents: a new verbosity re-publishes; anything else that
        decides what is verified (compiler, ISA, trust, benchmarks...) starts their verification over."""
        after = self.config.settings
        if before == after:
            return
        only_display = dataclasses.replace(before, diagnostics=after.diagnostics) == after
        for uri in list(self.background.documents):
            doc = self.background.documents[uri]
            if only_display:
                if doc.snapshot is not None:
                    self.publish(doc.snapshot)
                continue
            doc.snapshot = None
            self.background.open(doc)


class ClientLogHandler(logging.Handler):
    """simdlens's log, each line once: to the client's output panel (window/logMessage) once the client
    has initialized, to stderr before that (an editor shows the server's stderr in the same panel, so
    sending a line both ways showed it twice)."""

    _TYPES: ClassVar[dict[int, types.MessageType]] = {
        logging.ERROR: types.MessageType.Error, logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info}

    def __init__(self, ls: SimdlensServer, before_initialized: logging.Handler | None = None) -> None:
        super().__init__(logging.INFO)
        self._ls = ls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stderr = before_initialized or logging.StreamHandler(sys.stderr)
        self._stderr.setFormatter(logging.Formatter(STDERR_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(self._ls.protocol, "client_capabilities", None):
            self._stderr.handle(record)  # not initialized yet
            return
        kind = next((t for level, t in sorted(self._TYPES.items(), reverse=True) if record.levelno >= level),
                    types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        with contextlib.suppress(Exception):  # never let logging break the server
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:  # a worker thread: hand the message to the event loop
                if self._loop is None:
                    self._stderr.handle(record)
                else:
                    self._loop.call_soon_threadsafe(self._ls.window_log_message, params)
                return
            self._ls.window_log_message(params)


STDERR_FORMAT = "simdlens: %(levelname)s: %(message)s"


def log_to_client(ls: SimdlensServer) -> ClientLogHandler:
    """Route the `simdlens` loggers through `ClientLogHandler` only (not also the root's stderr)."""
    handler = ClientLogHandler(ls)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("simdlens")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler


def path_of(uri: str) -> str:
    """The file path of a document URI. A NUL byte names no file (and makes every file call raise):
    `%00` stays as written."""
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme in ("file", "") else unquote(parsed.path or uri)
    return path.replace("\x00", "%00")


def guarded(default: Callable[[], Any]) -> Callable[[F], F]:
    """Log and answer `default()` instead of letting an exception reach pygls."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception:
                log.exception("%s failed", fn.__name__)
                return default()

        return cast(F, inner)

    return wrap


def guarded_async(default: Callable[[], T]) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    def wrap(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(fn)
        async def inner(*args: Any) -> T:
            try:
                return await fn(*args)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("%s failed", fn.__name__)
                answer = default()
                if isinstance(answer, dict):
                    answer["error"] = f"{exc.__class__.__name__}: {exc}"
                return answer

        return inner

    return wrap


def build_server(engine: Engine | None = None, base: Settings | None = None) -> SimdlensServer:
    if engine is None:
        from simdlens.server.engine import PipelineEngine

        engine = PipelineEngine()
    ls = SimdlensServer(engine, base)
    background = ls.background

    def nothing() -> None:
        return None

    # -------------------------------------------------------------- lifecycle and settings

    @ls.feature(types.INITIALIZE)
    @guarded(nothing)
    def initialize(params: types.InitializeParams) -> None:
        ls.apply_settings_warnings(ls.config.set_initialization_options(params.initialization_options))
        # compile_commands.json is not searched above these (and the sandbox never binds them).
        folders = [f.uri for f in params.workspace_folders or ()] or [params.root_uri or params.root_path or ""]
        compile_db.set_workspace_roots(path_of(uri) for uri in folders if uri)

    @ls.feature(types.INITIALIZED)
    @guarded_async(nothing)
    async def initialized(params: types.InitializedParams) -> None:
        before = ls.config.settings
        await ls.pull_configuration()
        ls.settings_changed(before)
        ls.send_status()

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded_async(nothing)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        before = ls.config.settings
        pushed = params.settings if isinstance(params.settings, dict) else None
        if pushed and isinstance(pushed.get(server_config.SECTION), dict):
            ls.apply_settings_warnings(ls.config.set_workspace(pushed))
        else:
            await ls.pull_configuration()  # the usual pull model: the notification only says "changed"
        ls.settings_changed(before)
        ls.send_status()

    @ls.feature(types.SHUTDOWN)
    @guarded_async(nothing)
    async def shutdown(params: None) -> None:
        background.shutdown()
        close = getattr(ls.engine, "close", None)
        if close is not None:
            await asyncio.wait_for(close(), 10)

    # -------------------------------------------------------------- documents

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded(nothing)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        path = path_of(item.uri)
        override = {"c": "c", "cpp": "cpp", "cuda-cpp": "cpp", "objective-c": None}.get(item.language_id)
        language = language_for(path, override, ls.config.settings.header_language) if path else None
        if language is None and item.language_id in ("c", "cpp"):
            language = "cpp" if item.language_id == "cpp" else "c"
        doc = OpenDocument(item.uri, path, language, item.version, encode_text(item.text))
        background.open(doc)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded(nothing)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        doc = background.documents.get(params.text_document.uri)
        if doc is None:
            return
        changes = []
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                r = change.range
                changes.append(Change(change.text, (r.start.line, r.start.character), (r.end.line, r.end.character)))
            else:
                changes.append(Change(change.text))
        doc.apply(params.text_document.version, changes, ls.encoding)
        background.changed(doc.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded(nothing)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        background.saved(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded(nothing)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        background.close(params.text_document.uri)
        ls._diagnostics.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    # -------------------------------------------------------------- features (read-only, from snapshots)

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded(nothing)
    def on_hover(params: types.HoverParams) -> types.Hover | None:
        snapshot = background.snapshot(params.text_document.uri)
        if snapshot is None:
            return None
        background.focus(snapshot.uri, params.position.line)
        return hover.hover(snapshot, offset_of(snapshot.lines, params.position, ls.encoding), ls.encoding)

    @ls.feature(types.TEXT_DOCUMENT_CODE_LENS)
    @guarded(list)
    def on_code_lens(params: types.CodeLensParams) -> list[types.CodeLens]:
        snapshot = background.snapshot(params.text_document.uri)
        return code_lens.code_lenses(snapshot, ls.encoding, lazy=ls.lazy_lenses) if snapshot else []

    @ls.feature(types.CODE_LENS_RESOLVE)
    def on_code_lens_resolve(lens: types.CodeLens) -> types.CodeLens:
        try:
            data = lens.data if isinstance(lens.data, dict) else {}
            return code_lens.resolve(background.snapshot(str(data.get("uri", ""))), lens)
        except Exception:
            log.exception("codeLens/resolve failed")
            return lens

    @ls.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[code_actions.QUICKFIX, code_actions.KIND], resolve_provider=True))
    @guarded(list)
    def on_code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        snapshot = background.snapshot(params.text_document.uri)
        if snapshot is None:
            return []
        start = offset_of(snapshot.lines, params.range.start, ls.encoding)
        end = offset_of(snapshot.lines, params.range.end, ls.encoding)
        background.focus(snapshot.uri, params.range.start.line)
        only = [str(k) for k in params.context.only] if params.context.only else None
        return code_actions.code_actions(snapshot, start, end, ls.encoding, lazy=ls.lazy_edits,
                                         document_changes=ls.document_changes, only=only,
                                         diagnostics=list(params.context.diagnostics))

    @ls.feature(types.CODE_ACTION_RESOLVE)
    def on_code_action_resolve(action: types.CodeAction) -> types.CodeAction:
        try:
            data = action.data if isinstance(action.data, dict) else {}
            snapshot = background.snapshot(str(data.get("uri", "")))
            return code_actions.resolve(snapshot, action, ls.encoding, ls.document_changes)
        except Exception:
            log.exception("codeAction/resolve failed")
            return action

    # -------------------------------------------------------------- commands

    for name, handler in commands.HANDLERS.items():
        ls.command(name)(_command(ls, handler))

    return ls


def _command(ls: SimdlensServer, handler: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    @guarded_async(dict)
    async def run(*args: Any) -> dict[str, Any]:
        return await handler(ls, *args)

    run.__name__ = handler.__name__
    return run


def main(args: argparse.Namespace | None = None) -> int:
    """Run the server over stdio (default) or TCP; `args` are `simdlens serve`'s."""
    from simdlens.commands.common import settings_from_args

    base = settings_from_args(args) if args is not None and hasattr(args, "isa") else Settings()
    if getattr(args, "quick", False) or getattr(args, "no_bench", False):
        bench = dataclasses.replace(base.bench, quick=bool(getattr(args, "quick", False)) or base.bench.quick,
                                    enabled=not getattr(args, "no_bench", False))
        base = base.replace(bench=bench)
    use_cache = not getattr(args, "no_cache", False)
    # Analyses run in threads and hold the GIL between pauses; the event loop, back from reading a
    # request, waits for it up to the switch interval each time (5 ms by default, several per request).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=STDERR_FORMAT)  # other libraries' lines
    from simdlens.server.engine import PipelineEngine

    ls = build_server(PipelineEngine(use_cache=use_cache), base)
    log_to_client(ls)
    tcp = getattr(args, "tcp", None)
    if tcp:
        host, _, port = tcp.rpartition(":")
        ls.start_tcp(host or "127.0.0.1", int(port))
    else:
        ls.start_io()
    return 0
