"""The generate -> pre-check -> verify -> repair loop for one kernel (LLM-Vectorizer's state machine).

For each of K samples (run concurrently, limited by the client's request limiter):

    ask ──► answer ──► extract + static pre-check ──► sandbox.verify ──► verified: done
     ▲                        │ rejected                    │ compile error / mismatch / crash / timeout
     └──── feedback: the reason, the compiler's diagnostics, or the counterexample ◄┘

up to 1 + R answers per sample (R = `settings.rounds` repair rounds), until one sample is verified
(unless every sample should run, as `simdlens bench` wants for pass@k) or the loop's time budget is
spent. Every answer becomes an `Attempt`; model-server failures end the loop with one status line
via the shared `ModelHealth`, and are never raised to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Protocol

from simdlens.config import ModelSettings
from simdlens.core import Analysis, Candidate, CandidateResult, Kernel, Status, Verdict
from simdlens.model.client import ModelClient, ModelError, ModelHealth, ModelProtocolError
from simdlens.model.extract import check_answer, extract_code
from simdlens.model.intrinsics import IntrinsicSet
from simdlens.model.prompts import Message, build_messages, repair_message

log = logging.getLogger(__name__)


class Verifier(Protocol):
    """What the repair loop needs from the sandbox."""

    async def verify(self, kernel: Kernel, candidates: list[Candidate], *, bench: bool = ...,
                     bypass: bool = ...) -> tuple[CandidateResult, ...]: ...


@dataclass(frozen=True)
class Attempt:
    """One answer of the model and what became of it.

    `status` is a verdict (`verified`, `mismatch`, `compile_error`, `rejected`, `crash`, ...) or what
    stopped the answer from being judged: `truncated`, `unavailable`, `auth`, `protocol`, `budget`,
    `sandbox_error`, `cancelled`.
    """

    sample: int
    round: int  # 0 = first answer; 1.. = after feedback
    status: str
    detail: str
    seconds: float


@dataclass(frozen=True)
class ModelProposal:
    """What the model produced for one kernel: verified candidates only, and every attempt."""

    candidates: tuple[Candidate, ...]
    attempts: tuple[Attempt, ...] = ()
    # One line for the user when the model server misbehaved - set only the first time in a run.
    status_line: str = ""
    notes: tuple[str, ...] = field(default=())  # per-loop remarks for LoopReport.notes

    def verified_round(self, sample: int) -> int | None:
        """The round in which `sample` was verified, or None (for pass@k and rounds-needed figures)."""
        rounds = [a.round for a in self.attempts if a.sample == sample and a.status == Status.VERIFIED]
        return min(rounds) if rounds else None

    @property
    def samples(self) -> int:
        return len({a.sample for a in self.attempts})

    @property
    def verified_samples(self) -> int:
        return sum(1 for s in {a.sample for a in self.attempts} if self.verified_round(s) is not None)


def pass_at_k(samples: int, verified: int, k: int) -> float:
    """The unbiased pass@k estimate for one task: 1 - C(n-c, k) / C(n, k) (n samples, c verified).

    With fewer samples than k, it is the chance that one of the n samples passes (k = n)."""
    if samples <= 0 or k <= 0 or verified <= 0:
        return 0.0
    k = min(k, samples)
    if samples - verified < k:
        return 1.0
    return 1.0 - math.comb(samples - verified, k) / math.comb(samples, k)


class RepairLoop:
    """One run of the state machine for one kernel; `await run()` once."""

    def __init__(
        self,
        kernel: Kernel,
        analysis: Analysis | None,
        intrinsics: IntrinsicSet,
        settings: ModelSettings,
        client: ModelClient,
        sandbox: Verifier,
        health: ModelHealth,
        *,
        allow_contraction: bool = False,
        stop_at_first: bool = True,
        bypass_queue: bool = False,
    ) -> None:
        self.kernel = kernel
        self.analysis = analysis
        self.intrinsics = intrinsics
        self.settings = settings
        self.client = client
        self.sandbox = sandbox
        self.health = health
        self.allow_contraction = allow_contraction
        self.stop_at_first = stop_at_first
        self.bypass_queue = bypass_queue  # the caller already holds a sandbox job slot: queueing would deadlock
        self.attempts: list[Attempt] = []
        self.status_lines: list[str] = []
        self.notes: list[str] = []
        self.deadline = 0.0
        self._stopped = False  # a failure that makes further requests pointless (server down, budget)

    async def run(self) -> ModelProposal:
        self.deadline = time.monotonic() + self.settings.loop_budget
        samples = max(1, self.settings.samples)
        tasks = [asyncio.create_task(self._sample(i)) for i in range(samples)]
        verified: list[tuple[int, Candidate]] = []
        try:
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    found = task.result()
                    if found is not None:
                        verified.append((tasks.index(task), found))
                if verified and self.stop_at_first:
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        verified.sort(key=lambda pair: pair[0])
        unique = list({c.key: c for _, c in verified}.values())
        return ModelProposal(tuple(unique), tuple(self.attempts), "; ".join(s for s in self.status_lines if s),
                             tuple(dict.fromkeys(self.notes)))

    # ---------------------------------------------------------------------------------------------

    async def _sample(self, sample: int) -> Candidate | None:
        request = build_messages(self.kernel, self.analysis, self.intrinsics,
                                 allow_contraction=self.allow_contraction)
        # Each repair round sends the request plus only the latest answer and its feedback: local models
        # have small contexts, and the feedback is about the latest code anyway.
        messages = request
        rnd = 0
        started = time.monotonic()
        try:
            for rnd in range(1 + self.settings.rounds):
                if self._stopped:
                    return None
                started = time.monotonic()
                blocked = self.health.gate()
                if blocked is not None:
                    self._record(sample, rnd, blocked.kind, blocked.message, started)
                    self._stopped = True
                    self.notes.append(self.health.skipped(blocked))
                    return None
                try:
                    completion = await self.client.chat(messages, deadline=self.deadline)
                except ModelError as error:
                    self._record(sample, rnd, error.kind, error.message, started)
                    self.status_lines.append(self.health.failed(error))
                    if not isinstance(error, ModelProtocolError):
                        self._stop(error.message)
                    else:
                        self.notes.append(f"model: {error.message}")
                    return None
                self.status_lines.append(self.health.succeeded(self.client.url))
                extracted = extract_code(completion.text)
                answer: Message = {"role": "assistant", "content": f"```c\n{extracted.code}\n```"}
                if completion.truncated and extracted.unterminated:
                    tokens = self.settings.max_tokens
                    self._record(sample, rnd, "truncated", f"answer cut off at max_tokens={tokens}", started)
                    self.status_lines.append(self.health.note(
                        "truncated", f"model answers are cut off at max_tokens={tokens}; "
                        "raise simdlens.model.maxTokens"))
                    messages = [*request, answer, repair_message(Verdict(Status.REJECTED), self.kernel,
                                                                 truncated_at=tokens)]
                    continue
                candidate, verdict = await self._judge(extracted.code, sample, rnd, started)
                self._record(sample, rnd, verdict.status.value, verdict.detail, started)
                if verdict.status == Status.VERIFIED and candidate is not None:
                    return candidate
                if verdict.status == Status.UNSUPPORTED_CPU:
                    return None  # the model cannot fix the host
                function = candidate.function if candidate is not None else ""
                messages = [*request, answer, repair_message(verdict, self.kernel, function=function)]
        except _Stop:
            return None
        except asyncio.CancelledError:
            self._record(sample, rnd, "cancelled", "stopped: another sample was verified, or the loop was cancelled",
                         started)
            raise
        return None

    async def _judge(self, code: str, sample: int, rnd: int, started: float) -> tuple[Candidate | None, Verdict]:
        checked = check_answer(code, self.kernel, self.intrinsics)
        if not checked.ok:
            return None, Verdict(Status.REJECTED, checked.rejection)
        candidate = Candidate(
            kernel_hash=self.kernel.content_hash,
            isa=self.intrinsics.isa,
            origin=f"model:{self.settings.name}",
            function=checked.function,
            edits=(),
            caveats=self._caveats(checked.function + checked.support),
            flags=self.intrinsics.flags_for(re.findall(r"\b_mm\w+", checked.function + checked.support)),
            support=checked.support,
            type_facts=self.kernel.type_facts,  # what the harness tests it under: the kernel's element types
        )
        left = self.deadline - time.monotonic()
        if left <= 0:
            self._record(sample, rnd, "budget", "the loop's time budget ran out before verifying", started)
            self._stop("the loop's time budget ran out")
            raise _Stop
        try:
            verifying = self.sandbox.verify(self.kernel, [candidate], bench=False, bypass=self.bypass_queue)
            results = await asyncio.wait_for(verifying, left)
        except TimeoutError:
            self._record(sample, rnd, "budget", "the loop's time budget ran out while verifying", started)
            self._stop("the loop's time budget ran out while verifying")
            raise _Stop from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the sandbox broke, not the candidate: stop asking, say so once
            log.debug("sandbox failed on a model candidate", exc_info=True)
            message = f"sandbox failed on a model candidate: {exc.__class__.__name__}: {exc}"
            self._record(sample, rnd, "sandbox_error", message, started)
            self.status_lines.append(self.health.note("sandbox_error", message))
            self.notes.append(message)
            self._stop(message)
            raise _Stop from exc
        if not results:
            return candidate, Verdict(Status.CRASH, "the sandbox returned no result")
        verdict = results[0].verdict
        if verdict.status == Status.REJECTED and verdict.detail.startswith("sandbox failure"):
            # the machine failed (no compiler, disk full), not the candidate: the model cannot fix that
            self._record(sample, rnd, "sandbox_error", verdict.detail, started)
            self.status_lines.append(self.health.note("sandbox_error", verdict.detail))
            self.notes.append(verdict.detail)
            self._stop(verdict.detail)
            raise _Stop
        return candidate, verdict

    def _caveats(self, code: str) -> tuple[str, ...]:
        caveats = []
        if "float_reduction" in self.kernel.facts:
            caveats.append("reassociates floating-point operations")
        if re.search(r"_mm\d*_(mask_|maskz_|mask3_)?f(n)?m(add|sub)", code):
            caveats.append("contracts multiply-add into FMA")
        flags = self.intrinsics.flags_for(re.findall(r"\b_mm\w+", code))
        if flags:
            caveats.append("needs " + " ".join(flags))
        caveats.append(f"written by the model {self.settings.name}; verified by differential testing")
        return tuple(caveats)

    def _record(self, sample: int, rnd: int, status: str, detail: str, started: float) -> None:
        seconds = max(0.0, time.monotonic() - started)
        self.attempts.append(Attempt(sample, rnd, status, " ".join(detail.split())[:300], round(seconds, 3)))
        log.debug("model attempt sample=%d round=%d: %s %s", sample, rnd, status, detail[:120])

    def _stop(self, message: str) -> None:
        self._stopped = True
        if message:
            self.notes.append(f"model: {message}")


class _Stop(Exception):
    """Internal: end this sample (and, via `_stopped`, the others)."""

