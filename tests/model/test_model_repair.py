"""The repair loop end to end over real HTTP (scripted server) with a *fake* verifier: the state
machine, the feedback it sends, budgets and failure handling. The same scenarios against the real
sandbox are in test_model_sandbox.py."""

from __future__ import annotations

import asyncio
import os
import time

from modelkit import (
    ADD_AVX512,
    ADD_MALICIOUS,
    ADD_NO_REMAINDER,
    ADD_NOT_COMPILING,
    ADD_OK,
    MARKER,
    FakeVerifier,
    Reply,
    ScriptedServer,
    add_kernel,
    answer,
    fenced,
    settings_for,
)

from simdlens.config import Settings
from simdlens.core import (
    Candidate,
    CandidateResult,
    CompileDiagnostic,
    Counterexample,
    Kernel,
    Status,
    Verdict,
)
from simdlens.model import ModelProposal, propose_with_model
from simdlens.model.intrinsics import IntrinsicSet

MISMATCH = Verdict(Status.MISMATCH, "c[1000] differs",
                   Counterexample(size=1001, seed=7, array="c", index=1000, expected="3", got="0"))
NO_COMPILE = Verdict(Status.COMPILE_ERROR, "does not compile",
                     diagnostics=(CompileDiagnostic(7, 60, "error", "'vb' undeclared (first use in this function)"),))


def scripted_verifier() -> FakeVerifier:
    return FakeVerifier({
        "for (int i = 0; i + 8 <= n; i += 8)": MISMATCH,  # ADD_NO_REMAINDER
        "(a + i));\n        _mm256_storeu": NO_COMPILE,  # ADD_NOT_COMPILING
    })


async def propose(server: ScriptedServer, verifier: FakeVerifier, avx2: IntrinsicSet, **changes: object
                  ) -> ModelProposal:
    return await propose_with_model(add_kernel(), None, "avx2", settings_for(server, **changes), verifier,
                                    intrinsics=avx2)


def user_messages(server: ScriptedServer, request: int) -> list[str]:
    return [m["content"] for m in server.chat_requests()[request]["messages"] if m["role"] == "user"]


async def test_correct_code_is_verified_in_the_first_round(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script.append(answer(fenced(ADD_OK)))
    verifier = scripted_verifier()
    proposal = await propose(server, verifier, avx2)
    assert len(proposal.candidates) == 1
    cand = proposal.candidates[0]
    assert cand.origin == "model:test-model" and cand.isa == "avx2" and cand.flags == ("-mavx2",)
    assert "_mm256_add_epi32" in cand.function and cand.kernel_hash == "add-kernel-hash"
    assert [(a.sample, a.round, a.status) for a in proposal.attempts] == [(0, 0, "verified")]
    assert proposal.verified_round(0) == 0 and proposal.status_line == ""
    assert len(verifier.calls) == 1


async def test_a_remainder_bug_gets_the_counterexample_and_is_repaired(server: ScriptedServer,
                                                                       avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_NO_REMAINDER)), answer(fenced(ADD_OK))]
    proposal = await propose(server, scripted_verifier(), avx2)
    assert [a.status for a in proposal.attempts] == ["mismatch", "verified"]
    assert proposal.verified_round(0) == 1
    feedback = user_messages(server, 1)[-1]
    assert "n = 1001" in feedback and "c[1000] is 0" in feedback and "gives 3" in feedback
    # the model sees its own previous answer before the feedback
    history = server.chat_requests()[1]["messages"]
    assert history[-2]["role"] == "assistant" and "i + 8 <= n" in history[-2]["content"]
    assert "for (; i < n; i++)" in proposal.candidates[0].function


async def test_code_that_does_not_compile_gets_the_diagnostics_and_is_repaired(server: ScriptedServer,
                                                                               avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_NOT_COMPILING)), answer(fenced(ADD_OK))]
    proposal = await propose(server, scripted_verifier(), avx2)
    assert [a.status for a in proposal.attempts] == ["compile_error", "verified"]
    assert "'vb' undeclared" in user_messages(server, 1)[-1]
    assert len(proposal.candidates) == 1


async def test_an_intrinsic_outside_the_isa_is_rejected_without_reaching_the_sandbox(
        server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_AVX512)), answer(fenced(ADD_OK))]
    verifier = scripted_verifier()
    proposal = await propose(server, verifier, avx2)
    assert [a.status for a in proposal.attempts] == ["rejected", "verified"]
    assert "belongs to avx512" in proposal.attempts[0].detail
    assert all("_mm512" not in c.function for c in verifier.calls)
    assert "belongs to avx512" in user_messages(server, 1)[-1]


async def test_malicious_code_is_rejected_and_never_run(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    server.script += [answer(fenced(ADD_MALICIOUS))] * 4
    verifier = scripted_verifier()
    proposal = await propose(server, verifier, avx2)
    assert proposal.candidates == ()
    assert [a.status for a in proposal.attempts] == ["rejected"] * 4  # 1 + 3 repair rounds, all rejected
    assert verifier.calls == []
    assert not os.path.exists(MARKER)


async def test_rounds_are_bounded_and_the_conversation_does_not_grow(server: ScriptedServer,
                                                                     avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_NO_REMAINDER))] * 5
    proposal = await propose(server, scripted_verifier(), avx2, rounds=2)
    assert [a.round for a in proposal.attempts] == [0, 1, 2]
    assert proposal.candidates == () and len(server.chat_requests()) == 3
    # system + request, then only the latest answer and its feedback
    assert [len(r["messages"]) for r in server.chat_requests()] == [2, 4, 4]


async def test_samples_stop_at_the_first_verified_unless_all_are_wanted(server: ScriptedServer,
                                                                        avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_OK))] * 3
    proposal = await propose_with_model(add_kernel(), None, "avx2", settings_for(server, samples=3),
                                        scripted_verifier(), intrinsics=avx2, stop_at_first=False)
    assert proposal.samples == 3 and proposal.verified_samples == 3
    assert all(proposal.verified_round(s) == 0 for s in range(3))
    assert len(proposal.candidates) == 1  # the same code three times is one candidate


async def test_a_truncated_answer_is_recorded_and_asked_again_shorter(server: ScriptedServer,
                                                                      avx2: IntrinsicSet) -> None:
    cut = "```c\n" + ADD_OK[: len(ADD_OK) // 2]
    server.script += [answer(cut, finish_reason="length"), answer(fenced(ADD_OK))]
    verifier = scripted_verifier()
    proposal = await propose(server, verifier, avx2, max_tokens=64)
    assert [a.status for a in proposal.attempts] == ["truncated", "verified"]
    assert "max_tokens=64" in proposal.status_line
    assert "cut off after 64 tokens" in user_messages(server, 1)[-1]
    assert len(verifier.calls) == 1  # the cut-off code was never compiled


async def test_http_500_then_success_is_retried_transparently(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [Reply({"error": {"message": "overloaded"}}, status=500), answer(fenced(ADD_OK))]
    proposal = await propose(server, scripted_verifier(), avx2)
    assert len(proposal.candidates) == 1 and proposal.status_line == ""


async def test_a_slow_server_gives_one_status_line_per_run_and_later_loops_fail_fast(
        server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [Reply(answer("late").body, delay=1.5)] * 2
    first = await propose(server, scripted_verifier(), avx2, timeout=0.3)
    assert first.candidates == ()
    assert "did not answer within 0.3 s" in first.status_line
    assert [a.status for a in first.attempts] == ["unavailable"]
    started = time.monotonic()
    second = await propose(server, scripted_verifier(), avx2, timeout=0.3)
    assert time.monotonic() - started < 0.2  # no second wait on a server known to be down
    assert second.status_line == "" and second.attempts[0].status == "unavailable"
    assert second.notes == ("model: not asked (the model server was unavailable earlier in this run)",)
    assert len(server.chat_requests()) == 1


async def test_malformed_json_and_empty_choices_give_one_status_line_and_no_crash(
        server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [Reply("<html>Bad Gateway</html>"), Reply({"choices": []})]
    first = await propose(server, scripted_verifier(), avx2)
    second = await propose(server, scripted_verifier(), avx2)
    assert first.candidates == second.candidates == ()
    assert "malformed JSON" in first.status_line and second.status_line == ""
    assert first.attempts[0].status == second.attempts[0].status == "protocol"
    assert any("no choices" in n for n in second.notes)  # still explained per loop


async def test_401_names_the_key_variable_once(server: ScriptedServer, avx2: IntrinsicSet, monkeypatch) -> None:
    monkeypatch.delenv("SIMDLENS_TEST_MODEL_KEY", raising=False)
    server.script += [Reply({"error": {"message": "unauthorized"}}, status=401)] * 2
    first = await propose(server, scripted_verifier(), avx2)
    second = await propose(server, scripted_verifier(), avx2)
    assert "HTTP 401" in first.status_line and "$SIMDLENS_TEST_MODEL_KEY is not set" in first.status_line
    assert second.status_line == "" and second.attempts[0].status == "auth"
    assert len(server.chat_requests()) == 1


async def test_the_loop_budget_stops_the_repair_loop(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [Reply(answer(fenced(ADD_NO_REMAINDER)).body, delay=0.3)] * 5
    started = time.monotonic()
    proposal = await propose(server, scripted_verifier(), avx2, loop_budget=0.5)
    assert time.monotonic() - started < 2.0
    assert proposal.candidates == ()
    assert proposal.attempts[-1].status == "budget"
    assert proposal.status_line == ""  # running out of budget is not the server's fault


async def test_no_model_configured_means_no_requests(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    proposal = await propose_with_model(add_kernel(), None, "avx2", Settings(), scripted_verifier(),
                                        intrinsics=avx2)
    assert proposal == ModelProposal(())
    assert server.requests == []


class BrokenVerifier(FakeVerifier):
    """A sandbox whose machine fails (not the candidate)."""

    async def verify(self, kernel: Kernel, candidates: list[Candidate], *, bench: bool = True,
                     bypass: bool = False) -> tuple[CandidateResult, ...]:
        raise OSError("No space left on device")


class SlowVerifier(FakeVerifier):
    async def verify(self, kernel: Kernel, candidates: list[Candidate], *, bench: bool = True,
                     bypass: bool = False) -> tuple[CandidateResult, ...]:
        await asyncio.sleep(5)
        return await super().verify(kernel, candidates, bench=bench)


async def test_a_broken_sandbox_stops_the_loop_with_one_line_and_no_crash(server: ScriptedServer,
                                                                          avx2: IntrinsicSet) -> None:
    server.script += [answer(fenced(ADD_OK))] * 2
    first = await propose(server, BrokenVerifier(), avx2)
    second = await propose(server, BrokenVerifier(), avx2)
    assert first.candidates == () and first.attempts[-1].status == "sandbox_error"
    assert "No space left on device" in first.status_line and second.status_line == ""
    assert len(server.chat_requests()) == 2  # one answer per loop: not asked again after the sandbox broke


async def test_the_budget_also_bounds_verification(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script.append(answer(fenced(ADD_OK)))
    started = time.monotonic()
    proposal = await propose(server, SlowVerifier(), avx2, loop_budget=0.5)
    assert time.monotonic() - started < 2.0
    assert proposal.candidates == () and proposal.attempts[-1].status == "budget"


def test_pass_at_k_estimate() -> None:
    from simdlens.model.repair import pass_at_k

    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 1) == 1.0
    assert abs(pass_at_k(5, 1, 1) - 0.2) < 1e-12
    assert abs(pass_at_k(5, 1, 2) - 0.4) < 1e-12  # 1 - C(4,2)/C(5,2) = 1 - 6/10
    assert pass_at_k(5, 4, 2) == 1.0


async def test_an_isa_without_a_table_is_not_asked_for(server: ScriptedServer) -> None:
    proposal = await propose_with_model(add_kernel(), None, "sse4", settings_for(server), scripted_verifier())
    assert proposal.candidates == () and any("no ISA table for sse4" in n for n in proposal.notes)
    assert server.requests == []


async def test_concurrent_requests_are_limited_across_loops(server: ScriptedServer, avx2: IntrinsicSet) -> None:
    server.script += [Reply(answer(fenced(ADD_OK)).body, delay=0.15)] * 4
    settings = settings_for(server, samples=2, max_concurrent=1)
    loops = [propose_with_model(add_kernel(), None, "avx2", settings, scripted_verifier(), intrinsics=avx2,
                                stop_at_first=False) for _ in range(2)]
    proposals = await asyncio.gather(*loops)
    assert all(p.verified_samples == 2 for p in proposals)
    assert len(server.chat_requests()) == 4 and server.max_in_flight == 1


async def test_an_internal_error_becomes_one_line_not_a_crash(server: ScriptedServer, avx2: IntrinsicSet,
                                                              monkeypatch) -> None:
    import simdlens.model.repair as repair

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("tree-sitter exploded")

    monkeypatch.setattr(repair, "check_answer", broken)
    server.script.append(answer(fenced(ADD_OK)))
    proposal = await propose(server, scripted_verifier(), avx2)
    assert proposal.candidates == ()
    assert "internal error: ValueError: tree-sitter exploded" in proposal.status_line
