"""How long a caller waits for an answer from the knowledge base, against other turns.

`python -m bench knowledge_turns [--calls 3]`

Real WebRTC calls on loopback, as `bench latency` places them (faster-whisper, espeak-ng
voices on both sides, the shipped Spanish flow), with the agent bound to a tenant whose
knowledge base holds the example Chilean company's documents (local e5 embeddings in a
fresh embedded Postgres). The caller asks two off-script questions mid-flow, then
promises. A turn counts as a knowledge turn when its words are the question the flow
looked up (its `search_knowledge` tool call); its voice-to-voice time (end of the
caller's speech to the agent's first frame) includes the embedding, the search and the
answer's first sentence. Prints both groups' p50/p95 and their breakdown and writes
them to bench/results/knowledge_turns.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bench.conversations import BREAKDOWN, ES_VARS, RING_S, measured
from bench.fresh_database import fresh_database, machine
from bench.report import report
from bench.stats import p50_p95
from centralita.kernel import runtime
from centralita.kernel.call_events import CallEventType
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.knowledge.answers import KnowledgeAnswer
from centralita.knowledge.embeddings import embedder_for
from centralita.knowledge.indexing import index_examples
from centralita.knowledge.retrieval import KnowledgeBase
from centralita.tenants.store.keys import create_tenant
from realtime.agents.loader import load_agent
from realtime.agents.setup import AgentSetup, setup_for
from realtime.conversation_line import ConversationLine
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.session.record import CallRecord, TurnMetrics
from realtime.softphone.script import BotLine, BotScript

RESULTS: Final = Path(__file__).resolve().parent / "results" / "knowledge_turns.json"
COMPANY: Final = "Cobranzas Andes SpA"
SCRIPT: Final = (
    "Sí, con ella habla.",
    "Oiga, ¿dónde puedo pagar la cuota?",
    "¿Y qué pasa si no pago?",
    "Doscientos mil pesos, el viernes.",
    "Sí, correcto.",
    "No, gracias. Adiós.",
)


def knowledge_turns(record: CallRecord) -> tuple[list[TurnMetrics], list[TurnMetrics]]:
    """The call's measured turns split in two: those the knowledge base answered, and
    the rest."""
    asked = {
        str(event.payload["arguments"].get("question", ""))
        for event in record.events
        if event.type is CallEventType.TOOL_CALL and event.payload["name"] == "search_knowledge"
    }
    turns = measured(record.turns)
    return [t for t in turns if t.user_text in asked], [
        t for t in turns if t.user_text not in asked
    ]


def group(turns: Sequence[TurnMetrics]) -> dict[str, Any]:
    """Voice-to-voice p50/p95 of some turns, and the p50 of each part of it."""
    figures: dict[str, Any] = {
        "turns": len(turns),
        **p50_p95([t.voice_to_voice_ms or 0.0 for t in turns]),
    }
    for part in BREAKDOWN:
        values = [v for t in turns if (v := getattr(t, part)) is not None]
        figures[part] = p50_p95(values)["p50_ms"] if values else None
    return figures


async def _calls(pool: Pool, calls: int) -> tuple[list[CallRecord], list[str]]:
    """`calls` conversations through a line bound to an example company's documents."""
    embedder = embedder_for("local")
    async with pool.connection() as conn:
        tenant = (await create_tenant(conn, COMPANY)).id
        await index_examples(conn, tenant, COMPANY, embedder)
    knowledge = KnowledgeBase(pool, embedder)
    await knowledge.answer(tenant, "¿Hola?", "es-CL")  # the model loads before the calls

    async def lookup(question: str) -> KnowledgeAnswer:
        return await knowledge.answer(tenant, question, "es-CL")

    def agent_for(request: DialRequest) -> AgentSetup:
        return setup_for(load_agent("cobranza-temprana"), request, knowledge=lookup)

    stt = WhisperSTT()
    await stt.warm_up(("es",))
    line = ConversationLine(
        agent_for=agent_for, stt=stt, tts=EspeakTTS(), bot_tts=EspeakTTS(speed_wpm=140)
    )
    script = BotScript(lines=[BotLine(say=s) for s in SCRIPT], ring_s=RING_S)
    records: list[CallRecord] = []
    for n in range(1, calls + 1):
        key = f"bench-knowledge-{n}"
        request = DialRequest(
            idempotency_key=key,
            to_number="+56961234567",
            campaign_id="bench",
            contact_id=key,
            attempt_number=1,
            agent="cobranza-temprana",
            variables=ES_VARS,
        )
        await line.converse(request, script, datetime.now(UTC))
        record = line.records.pop(key)
        asked, _ = knowledge_turns(record)
        print(f"  call {n}: {len(record.turns)} turns, {len(asked)} answered from documents")
        records.append(record)
    return records, [t for r in records for t in r.transcript_text().splitlines()]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Index the example documents, place the calls, and sum up the turns."""
    async with fresh_database(max_size=4) as pool:
        records, transcript = await _calls(pool, args.calls)
    answered = [t for r in records for t in knowledge_turns(r)[0]]
    others = [t for r in records for t in knowledge_turns(r)[1]]
    return {
        "calls": len(records),
        "knowledge_turns": group(answered),
        "other_turns": group(others),
        "last_transcript": transcript[-len(SCRIPT) * 3 :],
        "machine": machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3, help="calls to place")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(f"knowledge turns: {args.calls} calls asking the example documents ...", flush=True)
    result = runtime.run(bench(args))
    report(result, RESULTS, hidden=("machine", "last_transcript"))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
