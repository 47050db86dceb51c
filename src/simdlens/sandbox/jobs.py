"""The background job queue: sandbox work runs here, never on the caller's time.

- at most `limit` jobs run at once (Settings.job_limit: cores - 1, at least 1);
- higher `priority` starts first (the server gives the loop under the cursor a higher number),
  first come first served among equals;
- `cancel_kernel(hash)` cancels every queued and running job of a kernel (its loop changed): a running
  job's subprocesses are killed, its awaiters get `asyncio.CancelledError`;
- each job reports `Progress` through its callback;
- jobs only await (compilers and drivers are asyncio subprocesses), so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    kernel_hash: str
    stage: str  # "queued", "started", "check", "bench", "done", "cancelled", "failed"
    message: str = ""


ProgressCallback = Callable[[Progress], None]


class Job(Generic[T]):
    """One unit of queued work for one kernel."""

    def __init__(self, kernel_hash: str, priority: int, work: Callable[[Callable[[str, str], None]], Awaitable[T]],
                 on_progress: ProgressCallback | None) -> None:
        self.kernel_hash = kernel_hash
        self.priority = priority
        self._work = work
        self._on_progress = on_progress
        self.future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None

    def report(self, stage: str, message: str = "") -> None:
        if self._on_progress is not None:
            try:
                self._on_progress(Progress(self.kernel_hash, stage, message))
            except Exception:  # a broken callback must not break verification
                log.exception("progress callback failed")

    @property
    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        elif not self.future.done():
            self.future.cancel()
            self.report("cancelled")

    async def result(self) -> T:
        return await asyncio.shield(self.future)

    async def _run(self) -> None:
        self.report("started")
        try:
            value = await self._work(self.report)
        except asyncio.CancelledError:
            if not self.future.done():
                self.future.cancel()
            self.report("cancelled")
            raise
        except Exception as exc:
            if not self.future.done():
                self.future.set_exception(exc)
            self.report("failed", str(exc))
            return
        if not self.future.done():
            self.future.set_result(value)
        self.report("done")


class JobQueue:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._pending: list[tuple[int, int, Job[object]]] = []
        self._running: set[Job[object]] = set()
        self._seq = itertools.count()

    def submit(self, kernel_hash: str, work: Callable[[Callable[[str, str], None]], Awaitable[T]], *,
               priority: int = 0, on_progress: ProgressCallback | None = None) -> Job[T]:
        job: Job[T] = Job(kernel_hash, priority, work, on_progress)
        entry: tuple[int, int, Job[object]] = (-priority, next(self._seq), job)  # type: ignore[assignment]
        heapq.heappush(self._pending, entry)
        job.report("queued")
        self._pump()
        return job

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return sum(1 for _, _, j in self._pending if not j.done)

    def cancel_kernel(self, kernel_hash: str) -> int:
        """Cancel every queued or running job of this kernel; returns how many."""
        count = 0
        for _, _, job in self._pending:
            if job.kernel_hash == kernel_hash and not job.done:
                job.cancel()
                count += 1
        for job in list(self._running):
            if job.kernel_hash == kernel_hash:
                job.cancel()
                count += 1
        return count

    def cancel_all(self) -> None:
        for _, _, job in self._pending:
            job.cancel()
        for job in list(self._running):
            job.cancel()

    async def close(self, timeout: float = 15.0) -> None:
        """Cancel everything and wait until running jobs have killed their processes."""
        tasks = [j.task for j in self._running if j.task is not None]
        self.cancel_all()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def _pump(self) -> None:
        while self._pending and len(self._running) < self.limit:
            _, _, job = heapq.heappop(self._pending)
            if job.done:
                continue
            self._running.add(job)
            job.task = asyncio.ensure_future(job._run())
            job.task.add_done_callback(functools.partial(self._finished, job))

    def _finished(self, job: Job[object], _task: object = None) -> None:
        self._running.discard(job)
        if not job.future.done():
            job.future.cancel()
        self._pump()
