"""How fast a caller who asks for a person gets one: ringing, answering, two-way audio.

`python -m bench handoff [--calls 5]`

Real parts on loopback, in a fresh embedded Postgres: the API (uvicorn, real HTTP), the
media worker's app binding the Postgres human queue (`TenantAgents`, the shipped
Spanish flow stored as the tenant's agent with a "transfer now on an explicit request"
policy), faster-whisper and espeak-ng voices, WebRTC legs. Each call: a bot caller
(María) confirms who she is and asks for a person; a programmatic operator, signed in
and available, follows `GET /operators/{id}/events`; once the caller has heard the
transferring line and a second of quiet (as a person picks up), the operator answers
with `POST /operators/{id}/answer` and its bot softphone's SDP offer, says its greeting
as soon as the audio flows, and the caller answers it. Then the operator hangs up and
wraps up (available again for the next call).

What is measured, per call:

- `decision_to_ring_ms`: the handoff's `decided_at` (the media worker's clock, when the
  policy fired) to the operator's queue stream delivering the snapshot that shows the
  call (this machine's clock: same host). Queueing, the NOTIFY, the API's snapshot.
- `answer_to_caller_hears_operator_ms`: from just before the answer POST to the
  caller's bot hearing a voice onset (the operator's greeting: the agent is quiet by
  then). The claim, the join through the media worker, ICE and DTLS of the operator's
  leg, the greeting's synthesis (espeak, tens of ms) and the path to the caller.
- `operator_to_caller_ms`: mouth to ear, operator to caller: the first frame of the
  operator's greeting leaving its bot to the caller's bot hearing the onset.
- `caller_to_operator_ms`: mouth to ear, caller to operator: the first frame of the
  caller's reply leaving the caller's bot to the operator's bot hearing its onset (the
  caller's words through the media worker's relay into the operator's leg).
- `answer_to_operator_hears_caller_ms`: from the answer to the operator hearing the
  caller's reply: includes the greeting's length and the caller's turn-taking, so it
  is a conversation time, not a latency (no target).
- `caller_wait_ms`: the handoff's `created_at` (queued) to `connected_at` (the
  operator's audio joined the call), stored by Postgres: mostly the transferring line
  and the bench operator's pause before answering, so it says what the caller lived
  through, not what the system adds; `answer_to_connected_ms` is the system's share
  after the operator answered (claim to the call marking itself connected).

Prints p50/p95/max of each and writes them to bench/results/handoff.json. Target: 1 s
or less for the ringing, the answer to two-way audio and each mouth-to-ear figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from api.app import create_app
from bench.fresh_database import fresh_database, machine
from bench.handoff_parts import (
    AnsweringOperator,
    TimedBot,
    first_snapshot_with_a_call,
    flow_with_handoff,
    media_app,
    served,
)
from bench.report import report
from bench.stats import percentile
from centralita.correction.online import OnlineCorrector
from centralita.kernel import runtime
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from centralita.tenants.store.keys import create_key
from realtime.conversation_line import ConversationLine
from realtime.legs.webrtc import SessionDescription, new_peer_connection, restrict_ice_to_loopback
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.softphone.script import BotLine, BotScript
from realtime.store.agent_lookup import TenantAgents

RESULTS: Final = Path(__file__).resolve().parent / "results" / "handoff.json"
AGENT: Final = "bench-cobranza-humana"
POLICY: Final = {
    "rules": [{"trigger": "explicit_request", "action": "transfer_now"}],
    "max_wait_s": 90,
    "hold_line_every_s": 120,
}
OPERATOR_LINE: Final = "Buenas tardes, le habla Ana, ejecutiva de cobranza."
CALLER_REPLY: Final = "Sí, correcto."
FIGURES: Final = (
    "decision_to_ring_ms",
    "answer_to_caller_hears_operator_ms",
    "operator_to_caller_ms",
    "caller_to_operator_ms",
    "answer_to_operator_hears_caller_ms",
    "caller_wait_ms",
    "answer_to_connected_ms",
)


def _caller() -> BotScript:
    return BotScript(
        lines=[
            BotLine(say="Sí, con ella habla."),
            BotLine(say="Quiero hablar con una persona, por favor."),
            BotLine(silent_s=0.2),  # "Le comunico con una ejecutiva, un momento por favor."
            BotLine(say=CALLER_REPLY),  # to whoever speaks next: the operator
            BotLine(silent_s=30),
        ]
    )


def _maria(key: str) -> DialRequest:
    return DialRequest(
        idempotency_key=key,
        to_number="+56961234567",
        campaign_id="bench-handoff",
        contact_id=key,
        attempt_number=1,
        agent=AGENT,
        variables={"nombre": "María", "monto_total": 200000, "fecha_limite": "2026-11-30"},
    )


async def _until(check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


async def _after_the_transferring_line(line: ConversationLine, key: str) -> None:
    """Until the caller heard "Le comunico…" and a second of quiet: a person picks up."""
    await _until(lambda: line.live_session(key) is not None, 20)
    session = line.live_session(key)
    assert session is not None
    await _until(lambda: any(e.type == "handoff" for e in session.record.events), 60)
    await _until(lambda: session.agent_speaking, 10)
    await _until(lambda: not session.agent_speaking, 20)
    await asyncio.sleep(1.0)


def _first_after(times: Sequence[float], after: float) -> float:
    return min(t for t in times if t >= after)


def _ms(later: float, earlier: float) -> float:
    return round((later - earlier) * 1000, 1)


async def _one_call(
    line: ConversationLine, api: httpx.AsyncClient, operator_id: str
) -> dict[str, float]:
    key = f"bench-handoff-{uuid.uuid4().hex[:8]}"
    caller = TimedBot(_caller(), EspeakTTS(speed_wpm=140))
    caller_pc = new_peer_connection()
    caller.attach(caller_pc)

    async def picks_up(offer: SessionDescription) -> SessionDescription:
        await caller_pc.setRemoteDescription(offer.to_rtc())
        await caller_pc.setLocalDescription(await caller_pc.createAnswer())
        return SessionDescription.of(caller_pc.localDescription)

    following = asyncio.Event()
    ringing = asyncio.create_task(first_snapshot_with_a_call(api, operator_id, 90, following))
    await asyncio.wait_for(following.wait(), 10)  # the page is open before the call
    call = asyncio.create_task(line.connect(_maria(key), datetime.now(UTC), picks_up))
    operator = AnsweringOperator(OPERATOR_LINE, linger_s=8)
    try:
        snapshot, rang_at = await ringing
        handoff_id = snapshot["waiting"][0]["id"]
        await _after_the_transferring_line(line, key)
        await operator.answer(api, operator_id)
        heard_by_operator = await asyncio.wait_for(operator.bot.done(), 60)
        await operator.hang_up()
        await asyncio.wait_for(call, 30)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(caller.done(), 5)
    finally:
        await caller.close()
        await caller_pc.close()
        await operator.hang_up()
        call.cancel()
    wrapped = await api.post(
        f"/handoffs/{handoff_id}/wrap-up",
        json={"operator_id": operator_id, "disposition": "resolved"},
    )
    wrapped.raise_for_status()
    handoff = wrapped.json()
    answered = operator.answered_at
    greeted = operator.bot.timed_voice.started[0]
    caller_hears = _first_after(caller.report.speech_onsets, answered)
    replied = _first_after(caller.timed_voice.started, greeted)
    operator_hears = _first_after(heard_by_operator.speech_onsets, replied)

    def db(field: str) -> float:
        return datetime.fromisoformat(handoff[field]).timestamp()

    return {
        "decision_to_ring_ms": _ms(rang_at, db("decided_at")),
        "answer_to_caller_hears_operator_ms": _ms(caller_hears, answered),
        "operator_to_caller_ms": _ms(caller_hears, greeted),
        "caller_to_operator_ms": _ms(operator_hears, replied),
        "answer_to_operator_hears_caller_ms": _ms(operator_hears, answered),
        "caller_wait_ms": _ms(db("connected_at"), db("created_at")),
        "answer_to_connected_ms": _ms(db("connected_at"), db("answered_at")),
    }


async def _calls(pool: Pool, calls: int) -> list[dict[str, float]]:
    async with pool.connection() as conn:
        key = (await create_key(conn, DEFAULT_TENANT_ID, "bench")).key
    stt = WhisperSTT()
    await stt.warm_up(("es",))
    agents = TenantAgents(pool, refresh_s=0)
    line = ConversationLine(
        agent_for=agents.setup_for_call,
        stt=stt,
        tts=EspeakTTS(),
        bot_tts=EspeakTTS(speed_wpm=140),
        corrector=OnlineCorrector(),
    )
    async with served(media_app(line)) as media:
        settings = Settings(
            database_url=pool.conninfo,
            temporal_address="127.0.0.1:1",  # no workflow is started here
            media_placement=False,
            carrier_url=media,
            _env_file=None,
        )
        async with (
            served(create_app(settings)) as origin,
            httpx.AsyncClient(base_url=origin, headers={"Authorization": f"Bearer {key}"}) as api,
        ):
            stored = await api.put(
                f"/agents/{AGENT}", json=flow_with_handoff("cobranza-temprana", AGENT, POLICY)
            )
            stored.raise_for_status()
            operator = (await api.post("/operators/sign-in", json={"name": "Ana"})).json()
            ready = await api.put(
                f"/operators/{operator['id']}/status", json={"status": "available"}
            )
            ready.raise_for_status()
            results = []
            for n in range(1, calls + 1):
                figures = await _one_call(line, api, operator["id"])
                print(
                    f"  call {n}: " + ", ".join(f"{k} {v:.0f}" for k, v in figures.items()),
                    flush=True,
                )
                results.append(figures)
            return results


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Place the calls and sum up each figure."""
    restrict_ice_to_loopback()
    try:
        async with fresh_database(max_size=6) as pool:
            per_call = await _calls(pool, args.calls)
    finally:
        restrict_ice_to_loopback(False)
    summary: dict[str, Any] = {"calls": len(per_call)}
    for name in FIGURES:
        values = [c[name] for c in per_call]
        summary[name] = {
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "max_ms": max(values, default=None),
        }
    summary["per_call"] = per_call
    summary["target_ms"] = 1000
    summary["machine"] = machine()
    summary["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5, help="handed-off calls to place")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(f"handoff: {args.calls} calls asking for a person ...", flush=True)
    result = runtime.run(bench(args))
    report(result, RESULTS, hidden=("machine", "per_call"))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
