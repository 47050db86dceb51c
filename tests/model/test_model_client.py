"""The model client over real HTTP against a scripted OpenAI-compatible server: answers, retries,
timeouts, malformed answers and auth errors each become a typed error with one clear line."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from modelkit import Reply, ScriptedServer, answer, settings_for

from simdlens.model import doctor_lines
from simdlens.model.client import (
    ModelAuthError,
    ModelClient,
    ModelHealth,
    ModelProtocolError,
    ModelUnavailable,
    display_url,
)

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


async def test_chat_sends_the_openai_request_and_returns_the_content(server: ScriptedServer, monkeypatch) -> None:
    monkeypatch.setenv("SIMDLENS_TEST_MODEL_KEY", "sk-secret-123")
    server.script.append(answer("hello"))
    settings = settings_for(server, temperature=0.3, top_p=0.9, max_tokens=321)
    async with ModelClient(settings) as client:
        completion = await client.chat(MESSAGES)
    assert completion.text == "hello" and not completion.truncated
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    body = request["json"]
    assert body["model"] == "test-model" and body["messages"] == MESSAGES
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 321)
    assert request["headers"]["Authorization"] == "Bearer sk-secret-123"


async def test_no_authorization_header_without_a_key(server: ScriptedServer, monkeypatch) -> None:
    monkeypatch.delenv("SIMDLENS_TEST_MODEL_KEY", raising=False)
    server.script.append(answer("hi"))
    async with ModelClient(settings_for(server)) as client:
        await client.chat(MESSAGES)
    assert "Authorization" not in server.requests[0]["headers"]


async def test_http_500_then_success_is_retried(server: ScriptedServer) -> None:
    server.script += [Reply({"error": {"message": "CUDA out of memory"}}, status=500), answer("second time")]
    async with ModelClient(settings_for(server), backoff=0.01) as client:
        completion = await client.chat(MESSAGES)
    assert completion.text == "second time"
    assert len(server.chat_requests()) == 2


async def test_429_honours_retry_after_and_retries_are_bounded(server: ScriptedServer) -> None:
    server.script += [Reply({"error": "busy"}, status=429, headers={"Retry-After": "0"})] * 3
    async with ModelClient(settings_for(server), max_retries=2, backoff=0.01) as client:
        with pytest.raises(ModelUnavailable) as info:
            await client.chat(MESSAGES)
    assert len(server.chat_requests()) == 3  # first try + 2 retries, then give up
    assert "HTTP 429" in info.value.message


@pytest.mark.parametrize(("reply", "words"), [
    (Reply("{not json"), "malformed JSON"),
    (Reply({"choices": []}), "no choices"),
    (Reply({"choices": [{"message": {"role": "assistant"}}]}), "without message content"),
    (Reply({"object": "error"}), "no choices"),
])
async def test_malformed_answers_are_protocol_errors(server: ScriptedServer, reply: Reply, words: str) -> None:
    server.script.append(reply)
    async with ModelClient(settings_for(server)) as client:
        with pytest.raises(ModelProtocolError) as info:
            await client.chat(MESSAGES)
    assert words in info.value.message and "\n" not in info.value.message
    assert len(server.chat_requests()) == 1  # not retried: the server answered, just badly


async def test_401_is_an_auth_error_naming_the_variable_never_the_key(
        server: ScriptedServer, monkeypatch, caplog) -> None:
    monkeypatch.setenv("SIMDLENS_TEST_MODEL_KEY", "sk-wrong-456")
    server.script.append(Reply({"error": {"message": "invalid api key"}}, status=401))
    caplog.set_level(logging.DEBUG)
    async with ModelClient(settings_for(server)) as client:
        with pytest.raises(ModelAuthError) as info:
            await client.chat(MESSAGES)
    assert "401" in info.value.message and "$SIMDLENS_TEST_MODEL_KEY" in info.value.message
    assert "sk-wrong-456" not in info.value.message and "sk-wrong-456" not in caplog.text
    assert len(server.chat_requests()) == 1


async def test_a_server_slower_than_the_timeout_is_unavailable_without_retrying(server: ScriptedServer) -> None:
    server.script += [Reply(answer("late").body, delay=2.0), answer("never asked")]
    started = time.monotonic()
    async with ModelClient(settings_for(server, timeout=0.3), backoff=0.01) as client:
        with pytest.raises(ModelUnavailable) as info:
            await client.chat(MESSAGES)
    assert time.monotonic() - started < 1.5
    assert "did not answer within 0.3 s" in info.value.message
    assert len(server.chat_requests()) == 1


async def test_a_refused_connection_is_unavailable(server: ScriptedServer) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(server, base_url=f"http://127.0.0.1:{port}/v1")
    async with ModelClient(settings, max_retries=1, backoff=0.01) as client:
        with pytest.raises(ModelUnavailable) as info:
            await client.chat(MESSAGES)
    assert "not reachable" in info.value.message and f"127.0.0.1:{port}" in info.value.message


async def test_models_lists_what_the_server_serves(server: ScriptedServer) -> None:
    async with ModelClient(settings_for(server)) as client:
        assert await client.models() == ["test-model", "other-model"]
    assert server.requests[0]["path"] == "/v1/models"


def test_doctor_reports_reachability_and_whether_the_model_is_served(server: ScriptedServer, monkeypatch) -> None:
    monkeypatch.delenv("SIMDLENS_TEST_MODEL_KEY", raising=False)
    lines = doctor_lines(settings_for(server))
    assert any("reachable" in line and "test-model" in line for line in lines)
    assert any("'test-model' is served" in line for line in lines)
    assert any("$SIMDLENS_TEST_MODEL_KEY is not set" in line for line in lines)
    missing = doctor_lines(settings_for(server, name="autoveccoder-8b"))
    assert any("'autoveccoder-8b' is NOT served" in line for line in missing)


def test_doctor_says_when_the_server_is_down_or_not_configured(server: ScriptedServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = doctor_lines(settings_for(server, base_url=f"http://127.0.0.1:{port}/v1"))
    assert "not reachable" in lines[0]
    assert "not configured" in doctor_lines(settings_for(server, base_url=""))[0]


def test_health_reports_each_failure_kind_once_and_fails_fast_while_down() -> None:
    health = ModelHealth(cooldown=60.0)
    down = ModelUnavailable("model server http://x is not reachable")
    assert health.failed(down) == down.message
    assert health.failed(down) == ""  # second loop: no second status line
    assert health.gate() is down  # later loops do not wait on a dead server
    assert health.succeeded("http://x") == "model server http://x is answering again"
    assert health.gate() is None
    auth = ModelAuthError("refused (HTTP 401)")
    assert health.failed(auth) == auth.message and health.gate() is auth


def test_display_url_hides_credentials() -> None:
    assert display_url("http://user:pw@gpu-box:8000/v1/") == "http://gpu-box:8000/v1"
    assert display_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"


async def test_a_wrong_base_url_gets_a_hint(server: ScriptedServer) -> None:
    settings = settings_for(server, base_url=server.base_url.removesuffix("/v1"))
    async with ModelClient(settings) as client:
        with pytest.raises(ModelUnavailable) as info:
            await client.models()
    assert "HTTP 404" in info.value.message and "ends in /v1" in info.value.message
