"""Vector rewrites written by a local language model, verified like every other candidate.

    await propose_with_model(kernel, analysis, isa, settings, sandbox) -> ModelProposal
    doctor_lines(settings) -> list[str]          # for `simdlens doctor`

`recording()` collects every proposal made while it is active, each sample run to its end, for the
pass@k figures of `simdlens bench`.

The model is reached over the OpenAI-compatible chat API (`client`), asked with a prompt built from the
kernel and the ISA tables (`prompts`), its answers are extracted and statically checked (`extract`)
and then verified in the sandbox, with failures fed back for repair (`repair`). Only verified
candidates come back, each with the edits that splice it into the user's file (`splice`).

Nothing here raises for a bad model server: failures become attempts, notes and - once per run - a
status line, so the rule engine's candidates keep flowing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import Iterator

from simdlens.config import ModelSettings, Settings
from simdlens.core import Analysis, Kernel
from simdlens.model.client import (
    ModelAuthError,
    ModelClient,
    ModelError,
    ModelProtocolError,
    ModelUnavailable,
    api_key,
    display_url,
    shared_health,
    shared_limiter,
)
from simdlens.model.intrinsics import IntrinsicSet, intrinsics_for
from simdlens.model.prompts import TEMPLATE_VERSION
from simdlens.model.repair import Attempt, ModelProposal, RepairLoop, Verifier
from simdlens.model.splice import splice_edits

log = logging.getLogger(__name__)

__all__ = [
    "TEMPLATE_VERSION",
    "Attempt",
    "ModelAuthError",
    "ModelError",
    "ModelProposal",
    "ModelProtocolError",
    "ModelUnavailable",
    "ProposalLog",
    "cache_identity",
    "doctor_lines",
    "propose_with_model",
    "recording",
]


@dataclasses.dataclass
class ProposalLog:
    """The proposals made while `recording()` was active: (kernel content hash, ISA) -> proposal."""

    proposals: dict[tuple[str, str], ModelProposal] = dataclasses.field(default_factory=dict)


_recording: contextvars.ContextVar[ProposalLog | None] = contextvars.ContextVar("simdlens_model_recording",
                                                                                 default=None)


@contextlib.contextmanager
def recording() -> Iterator[ProposalLog]:
    """Record every `propose_with_model` call in this context (and the event loops it starts), and run
    every sample to its end instead of stopping at the first verified one: pass@k needs all of them."""
    log_ = ProposalLog()
    token = _recording.set(log_)
    try:
        yield log_
    finally:
        _recording.reset(token)


async def propose_with_model(
    kernel: Kernel,
    analysis: Analysis | None,
    isa: str,
    settings: Settings | ModelSettings,
    sandbox: Verifier,
    *,
    intrinsics: IntrinsicSet | None = None,
    stop_at_first: bool = True,
    bypass_queue: bool = False,
    source: bytes | None = None,
) -> ModelProposal:
    """Ask the configured model for `isa` rewrites of `kernel`; return the verified ones.

    `settings` may be the whole `Settings` (then `allow_contraction` is honoured) or just its
    `ModelSettings`. Edits always use the `#if` guard, also when `settings.guard` is "dispatch". `stop_at_first=False` runs every sample to the end (for pass@k).
    `bypass_queue=True` when the caller runs inside a sandbox job already (passed on as
    `sandbox.verify(..., bypass=True)`). `source` is the user's document (as for `rules.propose`): with
    it the edits keep the loop's indentation and can place helper functions; it is never sent to the
    model. `intrinsics` replaces the ISA tables (tests).
    """
    full = settings if isinstance(settings, Settings) else Settings(model=settings)
    model = full.model
    if not model.enabled:
        return ModelProposal(())
    record = _recording.get()
    if record is not None:
        stop_at_first = False
    proposal = await _propose(kernel, analysis, isa, full, sandbox, intrinsics, stop_at_first, bypass_queue, source)
    if record is not None:
        record.proposals[(kernel.content_hash, isa)] = proposal
    return proposal


async def _propose(kernel: Kernel, analysis: Analysis | None, isa: str, full: Settings, sandbox: Verifier,
                   intrinsics: IntrinsicSet | None, stop_at_first: bool, bypass_queue: bool,
                   source: bytes | None) -> ModelProposal:
    model = full.model
    health = shared_health(model)
    blocked = health.gate()
    if blocked is not None:  # already reported once this run: fail fast and quietly
        return ModelProposal((), (Attempt(0, 0, blocked.kind, blocked.message, 0.0),), notes=(health.skipped(blocked),))
    table = intrinsics if intrinsics is not None else intrinsics_for(isa)
    if not table.available:  # without the table neither the prompt nor the pre-check can be trusted
        return ModelProposal((), notes=(f"model: no ISA table for {isa}; not asking the model",))
    try:
        async with ModelClient(model, limiter=shared_limiter(model)) as client:
            loop = RepairLoop(kernel, analysis, table, model, client, sandbox, health,
                              allow_contraction=full.allow_contraction, stop_at_first=stop_at_first,
                              bypass_queue=bypass_queue)
            proposal = await loop.run()
    except Exception as exc:  # a bug on our side must not take the rule engine's results down with it
        log.debug("model proposal failed", exc_info=True)
        message = f"model: internal error: {exc.__class__.__name__}: {exc} (run with -vv for details)"
        return ModelProposal((), status_line=health.note("internal_error", message), notes=(message,))
    with_edits = []
    for candidate in proposal.candidates:
        edits = splice_edits(kernel, candidate, guard=full.guard, source=source)
        if edits is None:
            proposal = dataclasses.replace(
                proposal, notes=(*proposal.notes, "model: verified rewrite cannot be spliced into the file automatically"))
            edits = ()
        with_edits.append(dataclasses.replace(candidate, edits=edits))
    return dataclasses.replace(proposal, candidates=tuple(with_edits))


def cache_identity(settings: ModelSettings, isa: str) -> str:
    """What a model result depends on besides the kernel: prompt template, server, model, sampling, ISA.

    For cache keys. The API key is deliberately not part of it (it is never stored anywhere).
    """
    s = settings
    return "|".join(str(v) for v in (TEMPLATE_VERSION, display_url(s.base_url), s.name, s.temperature, s.top_p,
                                     s.max_tokens, s.samples, s.rounds, isa))


def doctor_lines(settings: Settings | ModelSettings) -> list[str]:
    """Lines for `simdlens doctor`: is the model server reachable, what it serves, is our model there."""
    model = settings.model if isinstance(settings, Settings) else settings
    if not model.base_url:
        return ["model: not configured (optional; set simdlens.model.baseUrl and simdlens.model.name, "
                "or pass --model-url and --model)"]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_doctor(model))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from async code: use a fresh loop
        return pool.submit(asyncio.run, _doctor(model)).result()


async def _doctor(model: ModelSettings) -> list[str]:
    url = display_url(model.base_url)
    key_line = (f"model: API key from ${model.api_key_env} is set" if api_key(model)
                else f"model: ${model.api_key_env} is not set (fine for servers without authentication)")
    started = time.monotonic()
    try:
        async with ModelClient(model, max_retries=0) as client:
            served = await client.models(deadline=time.monotonic() + model.connect_timeout + 10.0)
    except ModelError as error:
        return [error.message, key_line]  # "model server ... is not reachable (...)"
    ms = (time.monotonic() - started) * 1000
    shown = ", ".join(served[:8]) + (f", … ({len(served)} in all)" if len(served) > 8 else "")
    lines = [f"model: server {url} reachable ({ms:.0f} ms); serves: {shown or 'nothing'}"]
    if not model.name:
        lines.append("model: no model name configured (simdlens.model.name)")
    elif model.name in served:
        lines.append(f"model: '{model.name}' is served")
    else:
        lines.append(f"model: '{model.name}' is NOT served by {url}; set simdlens.model.name to one of the above")
    lines.append(key_line)
    return lines
