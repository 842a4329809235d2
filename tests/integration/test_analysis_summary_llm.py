"""The LLM call summary against a local OpenAI-compatible server, and its fallback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralita.analysis import CallAnalysisInput, Turn, analyse, analyse_call
from centralita.analysis.llm_summary import LlmSummarizer
from centralita.kernel.llm import LlmEndpoint
from tests.support.fakes.openai_server import FakeOpenAI, Scripted

pytestmark = pytest.mark.integration

RUT = "12.345.678-5"
SUMMARY = "María confirmó su identidad y prometió pagar 200.000 pesos el viernes."


def _call() -> CallAnalysisInput:
    return CallAnalysisInput(
        call_id="summary-1",
        language="es",
        started_at=datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
        timezone="America/Santiago",
        default_currency="CLP",
        goal="promise_to_pay",
        turns=[
            Turn(speaker="agent", text="Hola, ¿hablo con María?"),
            Turn(speaker="user", text=f"Sí, con ella. Mi RUT es {RUT}."),
            Turn(speaker="agent", text="Gracias. ¿Cuándo podría pagar?"),
            Turn(speaker="user", text="Le pago doscientos mil pesos el viernes."),
        ],
    )


async def test_the_model_writes_the_summary_and_never_sees_the_rut() -> None:
    async with FakeOpenAI([Scripted(text=SUMMARY)]) as fake:
        summarizer = LlmSummarizer(LlmEndpoint(base_url=fake.base_url, model="fake-1"))
        analysis = await analyse_call(_call(), summarizer)
    assert analysis.summary == SUMMARY
    assert analysis.summary_source == "llm"
    [request] = fake.requests
    sent = " ".join(str(m["content"]) for m in request["messages"])
    assert RUT not in sent
    assert "[rut]" in sent
    assert "doscientos mil pesos el viernes" in sent  # the rest of the call is there
    assert "promise: 200000" in sent  # with what the rules already found


async def test_a_failing_model_leaves_the_extractive_summary() -> None:
    async with FakeOpenAI([Scripted(fail="500"), Scripted(fail="500")]) as fake:
        summarizer = LlmSummarizer(LlmEndpoint(base_url=fake.base_url, model="fake-1"))
        analysis = await analyse_call(_call(), summarizer)
    assert analysis.summary_source == "extractive"
    assert analysis.summary == analyse(_call()).summary
