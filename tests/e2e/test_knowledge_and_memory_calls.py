"""Calls that use what the agent knows: the company's documents and the person's history.

Real WebRTC calls on loopback between the media worker's conversation line and bot
softphones (espeak-ng voices, faster-whisper hearing, the shipped Spanish flow), with
the production agent lookup (`TenantAgents`) binding each call to its tenant's knowledge
base: the example Chilean company's documents, indexed by the local e5 model in real
Postgres. The memory call runs as a campaign on the real Temporal dev server with the
production orchestrator worker, whose call activity reads the person's earlier calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.indexing import index_examples
from centralita.knowledge.retrieval import KnowledgeBase
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from realtime.conversation_line import ConversationLine
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents
from tests.support.campaigns import (
    ALWAYS_OPEN,
    Population,
    new_campaign,
    rows,
    run_until_settled,
)
from tests.support.lines import loopback_line, maria_calls
from tests.support.remembered_calls import insert_attempt, insert_campaign, insert_contact

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEBT = {"monto_total": 200000, "fecha_limite": "2026-11-30"}
PROMISED_PHONE, WRONG_PHONE = "+56963000001", "+56963000002"
# What the agent says of the earlier promise ("...nos dijo que pagaría el viernes 27...").
PROMISE_WORDS = ("nos dijo que pagaría", "27 de noviembre")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def line(pool: Pool) -> AsyncIterator[ConversationLine]:
    """The media worker's line over the default tenant, whose knowledge base holds the
    example Chilean company's FAQ and payment conditions."""
    embedder = embedder_for("local")
    async with pool.connection() as conn:
        await index_examples(conn, DEFAULT_TENANT_ID, "Cobranzas Andes SpA", embedder)
    agents = TenantAgents(pool, knowledge=KnowledgeBase(pool, embedder))
    async with loopback_line(agents.setup_for_call) as conversation_line:
        yield conversation_line


def _agent_said(line: ConversationLine, key: str) -> str:
    return " ".join(text for who, text in line.records[key].transcript if who == "agent")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_question_mid_flow_is_answered_from_the_documents_and_the_flow_goes_on(
    line: ConversationLine,
) -> None:
    request = maria_calls("kb-donde-pagar", "kb-e2e")
    script = BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            # (espeak-ng's short "¿Dónde puedo pagar?" reaches Whisper as "¿Dónde puedo
            # pañar?"; said as people also say it, it is heard right)
            BotLine(say="Oiga, ¿dónde puedo pagar la cuota?"),
            BotLine(say="Doscientos mil pesos, el viernes."),
            BotLine(say="Sí, correcto."),
            BotLine(say="No, gracias. Adiós."),
        ]
    )
    result = await line.converse(request, script, datetime.now(UTC))

    record = line.records["kb-donde-pagar"]
    said = _agent_said(line, "kb-donde-pagar")
    assert result.outcome is CallOutcome.PROMISE_TO_PAY, record.transcript_text()
    assert "Servipag" in said, record.transcript_text()  # the FAQ's answer, heard
    [search] = [
        e.payload
        for e in record.events
        if e.type is CallEventType.TOOL_CALL and e.payload["name"] == "search_knowledge"
    ]
    assert search["result"]["found"] is True  # the sources are stored with the turn
    assert search["result"]["sources"][0]["heading"].endswith("¿Dónde puedo pagar?")
    assert result.extracted["promised_amount"] == 200000  # and the flow carried on


def _talks(*lines: str) -> PersonaStep:
    script = BotScript(lines=[BotLine(say=line) for line in lines])
    return PersonaStep(outcome=CallOutcome.COMPLETED, ring_seconds=0, conversation=script)


async def _promised_last_month(pool: Pool, phone: str) -> None:
    """An earlier campaign's call in which this number's person promised 200.000 for
    Friday 27 November 2026, a promise no payment has kept."""
    campaign = await insert_campaign(pool, DEFAULT_TENANT_ID, "noviembre")
    contact = await insert_contact(pool, DEFAULT_TENANT_ID, campaign, [phone])
    await insert_attempt(
        pool, DEFAULT_TENANT_ID, campaign, contact,
        started=datetime(2026, 11, 20, 15, tzinfo=UTC), outcome="promise_to_pay",
        extracted={"promised_amount": 200000, "promised_currency": "CLP",
                   "promised_date": "2026-11-27"},
    )  # fmt: skip


@pytest.mark.asyncio(loop_scope="session")
async def test_the_person_hears_of_the_broken_promise_and_a_wrong_person_never_does(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str, line: ConversationLine
) -> None:
    for phone in (PROMISED_PHONE, WRONG_PHONE):
        await _promised_last_month(pool, phone)
    people = Population()
    people.contacts = [
        NewContact(name="María", phones=[PROMISED_PHONE], variables={"nombre": "María", **DEBT}),
        NewContact(name="Rosa", phones=[WRONG_PHONE], variables={"nombre": "Rosa", **DEBT}),
    ]
    people.personas = [
        Persona(
            number=PROMISED_PHONE,
            name="María",
            script=[_talks("Sí, con ella habla.", "No, no pude.", "No, gracias. Adiós.")],
        ),
        Persona(
            number=WRONG_PHONE,
            name="a stranger",
            script=[_talks("No, se equivocó de número. Aquí no vive ninguna Rosa.")],
        ),
    ]
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": 1})
    campaign_id = await new_campaign(pool, people, policy)
    carrier = SimulatedCarrier(people.personas, line=line)
    # María's retry is not waited for
    await run_until_settled(dev_env.client, pool, database_url, campaign_id, carrier, timeout_s=200)

    calls = {
        r["name"]: r
        for r in rows(
            database_url,
            "SELECT c.name, a.outcome, a.transcript FROM call_attempts a "
            "JOIN contacts c ON c.id = a.contact_id WHERE a.campaign_id = %s::uuid",
            campaign_id,
        )
    }
    heard_by_maria = _agent_lines(calls["María"]["transcript"])
    assert all(w in heard_by_maria for w in PROMISE_WORDS), calls["María"]["transcript"]
    heard_by_stranger = _agent_lines(calls["Rosa"]["transcript"])
    assert calls["Rosa"]["outcome"] == "wrong_person", calls["Rosa"]["transcript"]
    assert not any(w in heard_by_stranger for w in PROMISE_WORDS)
    assert "200.000" not in heard_by_stranger


def _agent_lines(transcript: str | None) -> str:
    """The agent's words in a stored transcript (`agent: ...` / `user: ...` lines)."""
    lines = (transcript or "").splitlines()
    return " ".join(line.removeprefix("agent: ") for line in lines if line.startswith("agent: "))
