"""An async client for a local model server that speaks the OpenAI chat API.

vLLM, llama.cpp's server, Ollama and LM Studio all answer `POST {base_url}/chat/completions` and
`GET {base_url}/models`. This module turns everything that can go wrong on that wire into one of three
typed errors, each with a one-line message for the user:

    ModelUnavailable    the server is down, refuses connections, or does not answer in time
    ModelAuthError      HTTP 401/403: the API key is missing or wrong
    ModelProtocolError  the answer is not the OpenAI format (malformed JSON, no choices, no content)

Transient failures (HTTP 429, 5xx, connection errors) are retried a bounded number of times with
exponential backoff, never past the caller's deadline. The API key is read from the environment
variable *named* in the settings at request time; it is never logged, cached or put in a message.

`ModelHealth` remembers, for one run, what went wrong with a server so that the user sees one status
line instead of one per loop, and so that later loops fail fast instead of waiting on a dead server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from simdlens.config import ModelSettings

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # after the first try: 4 requests at most
BACKOFF_SECONDS = 0.5  # first pause; doubles per retry
MAX_PAUSE_SECONDS = 8.0  # cap for backoff and for a server's Retry-After


class ModelError(Exception):
    """Something went wrong talking to the model server; `message` is one line for the user."""

    kind = "model_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelUnavailable(ModelError):
    kind = "unavailable"


class ModelAuthError(ModelError):
    kind = "auth"


class ModelProtocolError(ModelError):
    kind = "protocol"


class ModelBudgetSpent(ModelError):
    """The loop's time budget ran out; not the server's fault, so it does not affect `ModelHealth`."""

    kind = "budget"


@dataclass(frozen=True)
class Completion:
    """One answer of the model."""

    text: str
    finish_reason: str  # "stop", "length" (cut off at max_tokens), ... ("" when the server omits it)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


def display_url(url: str) -> str:
    """The URL without user:password, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)).rstrip("/")


def api_key(settings: ModelSettings) -> str | None:
    """The API key from the environment variable the settings name (read each time: never stored)."""
    return os.environ.get(settings.api_key_env) if settings.api_key_env else None


class ModelClient:
    """Requests to one model server; use as `async with ModelClient(settings) as client:`.

    `limiter` bounds the requests in flight; pass a shared one (see `shared_limiter`) so that concurrent
    loops together respect `settings.max_concurrent`.
    """

    def __init__(
        self,
        settings: ModelSettings,
        *,
        limiter: asyncio.Semaphore | None = None,
        max_retries: int = MAX_RETRIES,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self.settings = settings
        self.url = display_url(settings.base_url)
        self._limiter = limiter or asyncio.Semaphore(max(1, settings.max_concurrent))
        self._max_retries = max_retries
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            follow_redirects=False,
            trust_env=False,  # a local server: a proxy from the environment would only get in the way
        )

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---------------------------------------------------------------------------------------------

    async def chat(self, messages: list[dict[str, str]], *, deadline: float | None = None) -> Completion:
        """One chat completion for `messages`; raises a `ModelError` subclass on failure."""
        s = self.settings
        body: dict[str, Any] = {
            "model": s.name,
            "messages": messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "stream": False,
        }
        data = await self._request("POST", "chat/completions", body, deadline)
        return _parse_completion(data, self.url)

    async def models(self, *, deadline: float | None = None) -> list[str]:
        """The model ids the server serves (`GET /models`)."""
        data = await self._request("GET", "models", None, deadline)
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ModelProtocolError(f"model server {self.url}: /models answer has no 'data' list")
        return [str(e["id"]) for e in entries if isinstance(e, dict) and "id" in e]

    # ---------------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: dict[str, Any] | None, deadline: float | None) -> Any:
        headers = {"Accept": "application/json"}
        key = api_key(self.settings)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        attempt = 0
        while True:
            read_timeout, capped = self._read_timeout(deadline)
            try:
                async with self._limiter:
                    # The wait for a slot counts against the budget: recompute after acquiring it.
                    read_timeout, capped = self._read_timeout(deadline)
                    response = await self._http.request(
                        method, path, json=body, headers=headers,
                        timeout=httpx.Timeout(read_timeout, connect=min(self.settings.connect_timeout, read_timeout)),
                    )
                    content = response.content
            except httpx.TimeoutException as exc:
                if capped:
                    raise ModelBudgetSpent(f"model server {self.url}: the loop's time budget ran out") from exc
                if isinstance(exc, httpx.ConnectTimeout):
                    error: ModelError = ModelUnavailable(
                        f"model server {self.url} did not accept a connection within {self.settings.connect_timeout:g} s")
                else:
                    # A slow server is still busy with the request: retrying would only queue more work.
                    raise ModelUnavailable(
                        f"model server {self.url} did not answer within {read_timeout:g} s "
                        f"(simdlens.model.timeout)") from exc
                retry_after = None
            except httpx.TransportError as exc:
                error = ModelUnavailable(f"model server {self.url} is not reachable ({_short(exc)})")
                retry_after = None
            else:
                status = response.status_code
                if status < 300:
                    try:
                        return response.json() if content else None
                    except ValueError as exc:
                        raise ModelProtocolError(f"model server {self.url} answered with malformed JSON") from exc
                if status in (401, 403):
                    env = self.settings.api_key_env
                    hint = f"${env} is not set" if not key else f"check the key in ${env}"
                    raise ModelAuthError(f"model server {self.url} refused the request (HTTP {status}): {hint}")
                if status != 429 and status < 500:
                    message = _error_message(response)
                    if status == 404:
                        hint = "" if self.url.endswith("/v1") else "; the base URL usually ends in /v1"
                        raise ModelUnavailable(
                            f"model server {self.url} answered HTTP 404 for /{path}{message} "
                            f"(is model '{self.settings.name}' served{hint}?)")
                    raise ModelProtocolError(f"model server {self.url} rejected the request (HTTP {status}{message})")
                error = ModelUnavailable(f"model server {self.url} answered HTTP {status}{_error_message(response)}")
                retry_after = _retry_after(response)
            if attempt >= self._max_retries:
                raise error
            pause = min(MAX_PAUSE_SECONDS, retry_after if retry_after is not None else self._backoff * 2**attempt)
            pause *= 1.0 + 0.1 * random.random()  # de-synchronise concurrent loops
            if deadline is not None and time.monotonic() + pause >= deadline:
                raise error
            log.debug("model request failed (%s); retry %d in %.2f s", error.message, attempt + 1, pause)
            await asyncio.sleep(pause)
            attempt += 1

    def _read_timeout(self, deadline: float | None) -> tuple[float, bool]:
        """The read timeout for the next request and whether the loop budget (not the setting) sets it."""
        timeout = self.settings.timeout
        if deadline is None:
            return timeout, False
        left = deadline - time.monotonic()
        if left <= 0:
            raise ModelBudgetSpent(f"model server {self.url}: the loop's time budget ran out")
        return (left, True) if left < timeout else (timeout, False)


def _parse_completion(data: Any, url: str) -> Completion:
    if not isinstance(data, dict):
        raise ModelProtocolError(f"model server {url} answered with JSON that is not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ModelProtocolError(f"model server {url} answered with no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise ModelProtocolError(f"model server {url} answered without message content")
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Completion(text=content, finish_reason=finish if isinstance(finish, str) else "")


def _error_message(response: httpx.Response) -> str:
    """The server's own error text (OpenAI `{"error": {"message": ...}}` or plain), shortened: ': ...'."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
    else:
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            text = str(err.get("message", ""))
        elif isinstance(err, str):
            text = err
        else:
            text = str(data.get("detail", "")) if isinstance(data, dict) else ""
    text = " ".join(text.split())
    return f": {text[:160]}" if text else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:120] if text else exc.__class__.__name__


# --------------------------------------------------------------------------------------------------
# Shared state for one run: concurrency limit and health
# --------------------------------------------------------------------------------------------------


class ModelHealth:
    """What this run knows about one model server, so users get one status line, not one per loop.

    After an auth error every later request fails fast (the key will not change during the run); after
    the server was unavailable, requests fail fast for `cooldown` seconds and then one is let through.
    Protocol errors do not stop requests (they may be specific to one prompt) but are reported once.
    """

    def __init__(self, cooldown: float = 60.0) -> None:
        self.cooldown = cooldown
        self._reported: set[str] = set()
        self._blocked: ModelError | None = None
        self._blocked_until = 0.0
        self.status = "ok"  # "ok", or the kind of the last failure

    def gate(self) -> ModelError | None:
        """The error to fail fast with, or None when a request may be made."""
        if self._blocked is None:
            return None
        if isinstance(self._blocked, ModelAuthError) or time.monotonic() < self._blocked_until:
            return self._blocked
        return None

    @staticmethod
    def skipped(error: ModelError) -> str:
        """The short per-loop note for a loop not asked because of an earlier, already reported failure."""
        why = "refused the API key" if isinstance(error, ModelAuthError) else "was unavailable"
        return f"model: not asked (the model server {why} earlier in this run)"

    def failed(self, error: ModelError) -> str:
        """Record a failure; returns its status line the first time this kind of failure is seen."""
        if isinstance(error, ModelBudgetSpent):
            return ""
        self.status = error.kind
        if isinstance(error, ModelUnavailable | ModelAuthError):
            self._blocked = error
            self._blocked_until = time.monotonic() + self.cooldown
        if error.kind in self._reported:
            return ""
        self._reported.add(error.kind)
        log.warning("%s", error.message)
        return error.message

    def note(self, kind: str, message: str) -> str:
        """Report a model-quality problem (e.g. answers cut off at max_tokens) once per run."""
        if kind in self._reported:
            return ""
        self._reported.add(kind)
        log.warning("%s", message)
        return message

    def succeeded(self, url: str) -> str:
        """Record a good answer; returns a status line when the server has recovered from being down."""
        was = self._blocked
        self._blocked = None
        self.status = "ok"
        if was is not None:
            self._reported.discard(was.kind)  # report it again if it goes down again
            return f"model server {url} is answering again"
        return ""


_health: dict[ModelSettings, ModelHealth] = {}
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ModelSettings, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary())


def shared_health(settings: ModelSettings) -> ModelHealth:
    """The one `ModelHealth` of this process for these settings."""
    return _health.setdefault(settings, ModelHealth())


def shared_limiter(settings: ModelSettings) -> asyncio.Semaphore:
    """The request limiter for these settings on the running event loop (semaphores belong to a loop)."""
    per_loop = _limiters.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(settings, asyncio.Semaphore(max(1, settings.max_concurrent)))


def reset_shared_state() -> None:
    """Forget health and limiters (settings changed, or a test wants a fresh run)."""
    _health.clear()
    _limiters.clear()
