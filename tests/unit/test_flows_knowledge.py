"""A flow's off-script question, answered from the knowledge base by its `knowledge` node.

The flow engine asks the call's knowledge lookup (here a scripted one: the retrieval
itself has its own tests on real documents in Postgres), says the answer, and then the
node the question came in again; nothing is looked up before identity is verified.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.knowledge.answers import KnowledgeAnswer, KnowledgeSource
from centralita.knowledge.retrieval import KnowledgeUnavailable
from centralita.understanding.model import Intent as I  # noqa: N817
from centralita.understanding.nlu import understand
from realtime.agents.flows import FlowBrain
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.loader import load_agent
from realtime.providers.base import BrainTurn
from tests.support.flows import run, spoken, turn

pytestmark = pytest.mark.unit

SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2025, 3, 10, 10, 0, tzinfo=SANTIAGO)  # a Monday
VARIABLES = {"nombre": "María González", "monto_total": "200000", "fecha_limite": "2025-03-05"}
PLACES = (
    "Puede pagar en cualquier sucursal de ServiEstado o Caja Vecina, con el código de "
    "pago de su carta."
)
SOURCE = KnowledgeSource(
    document_id="doc-1", title="Preguntas frecuentes", heading="¿Dónde puedo pagar?", chunk_id=7
)


class Answers:
    """A knowledge lookup that answers from a fixed table and keeps what it was asked."""

    def __init__(self, answers: dict[str, KnowledgeAnswer], *, fail: bool = False) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.fail = fail

    async def __call__(self, question: str) -> KnowledgeAnswer:
        self.asked.append(question)
        if self.fail:
            raise KnowledgeUnavailable("search", "the database did not answer")
        for key, answer in self.answers.items():
            if key in question.lower():
                return answer
        return KnowledgeAnswer(found=False, text="", sources=())


def brain(lookup: Answers | None) -> FlowBrain:
    return FlowBrain(
        load_agent("cobranza-temprana"), VARIABLES, clock=lambda: NOW, knowledge=lookup
    )


def heard(text: str) -> BrainTurn:
    """A turn as the call session hands it over: the live NLU's reading of the words."""
    understanding = understand(text, language="es", now=NOW)
    return turn(understanding.intent, text).model_copy(update={"understanding": understanding})


async def verified(flow: FlowBrain) -> FlowBrain:
    """`flow` past identity: the person said it is them (the contact has no RUT to ask)."""
    await run(flow, turn(I.AFFIRM, "sí, con ella"))
    assert flow.identity_verified
    return flow


@pytest.fixture
def places() -> Answers:
    found = KnowledgeAnswer(found=True, text=PLACES, sources=(SOURCE,))
    return Answers({"pagar": found})


async def test_a_question_mid_flow_is_answered_and_the_flow_asks_again(places: Answers) -> None:
    flow = await verified(brain(places))
    node = flow.node
    reply = await flow.respond(heard("¿Y dónde puedo pagar?"))
    assert places.asked == ["¿Y dónde puedo pagar?"]
    assert "ServiEstado" in " ".join(reply.say)
    assert reply.node == node  # the flow is where it was...
    assert reply.say[-1].endswith("?")  # ...and asks its question again
    [call] = reply.tool_calls
    assert call.name == "search_knowledge"
    assert call.success
    assert call.result["sources"] == [
        {
            "document_id": "doc-1",
            "title": "Preguntas frecuentes",
            "heading": "¿Dónde puedo pagar?",
            "chunk": 7,
        }
    ]


async def test_nothing_found_offers_a_callback_or_a_person_and_invents_nothing(
    places: Answers,
) -> None:
    flow = await verified(brain(places))
    reply = await flow.respond(heard("¿Aceptan bitcoin?"))
    said = " ".join(reply.say)
    assert "ejecutivo" in said
    assert "persona" in said
    assert reply.tool_calls[0].result["found"] is False


async def test_nothing_is_looked_up_before_identity_is_verified(places: Answers) -> None:
    flow = brain(places)
    replies = await run(flow, heard("¿Dónde puedo pagar?"))
    assert places.asked == []
    assert "ServiEstado" not in spoken(replies)


async def test_an_answer_with_values_goes_to_the_flow_not_the_documents(places: Answers) -> None:
    flow = await verified(brain(places))
    friday = date(2025, 3, 14)
    reply = await flow.respond(turn(I.PROMISE_TO_PAY, "¿puedo pagar el viernes?", pay_date=friday))
    assert places.asked == []
    assert not reply.tool_calls or reply.tool_calls[0].name != "search_knowledge"


async def test_a_broken_knowledge_base_is_said_as_not_known() -> None:
    broken = Answers({}, fail=True)
    flow = await verified(brain(broken))
    reply = await flow.respond(heard("¿Dónde puedo pagar?"))
    [call] = reply.tool_calls
    assert not call.success
    assert call.result["error"] == "knowledge_unavailable"
    assert "ejecutivo" in " ".join(reply.say)


async def test_without_a_knowledge_base_a_question_is_an_unexpected_turn() -> None:
    flow = await verified(brain(None))
    reply = await flow.respond(heard("¿Dónde puedo pagar?"))
    assert not reply.tool_calls


def test_the_question_special_must_be_a_knowledge_node() -> None:
    data = load_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    data["special"]["question"] = "despedida_neutra"
    with pytest.raises(ValueError, match="not a knowledge node"):
        AgentDefinition.model_validate(data)
    data = load_agent("cobranza-temprana").model_dump(mode="json", exclude_defaults=True)
    for node in data["nodes"]:
        if node["id"] == "responder_pregunta":
            node["transitions"] = [{"to": "saludo"}]
    with pytest.raises(ValueError, match="knowledge node has no transitions"):
        AgentDefinition.model_validate(data)
