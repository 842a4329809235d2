"""A real WebRTC call between the agent and the bot softphone behind a number.

The simulated carrier rings the persona; when that persona answers with a conversation
script, this line connects two peer connections over loopback (the agent's session and
the bot), lets them talk until one hangs up, and turns the agent's call record into the
attempt's `DialResult`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiortc import MediaStreamTrack

from realtime.agent_setup import AgentSetup
from realtime.audio.playback import AgentVoiceTrack
from realtime.call_record import CallRecord
from realtime.call_session import CallSession
from realtime.flows.loader import AgentNotFoundError
from realtime.flows.schema import FlowDefinitionError
from realtime.flows.templates import VariableError
from realtime.pricing import Rates, price
from realtime.providers.base import SpeechToText, TextToSpeech
from realtime.providers.correction import OnlineCorrector
from realtime.softphone.bot import BotReport, BotSoftphone
from realtime.softphone.script import BotScript
from realtime.webrtc import IceServer, SessionDescription, new_peer_connection, wait_connected
from workflows.models import CallOutcome, DialRequest, DialResult

log = logging.getLogger(__name__)

SetupFactory = Callable[[DialRequest], AgentSetup]
CallEnded = Callable[[DialRequest, CallRecord, DialResult], Awaitable[None]]


class ConversationLine:
    """Places conversations: one agent session and one bot per call, isolated."""

    def __init__(
        self,
        *,
        agent_for: SetupFactory,
        stt: SpeechToText,
        tts: TextToSpeech,
        bot_tts: TextToSpeech | None = None,
        corrector: OnlineCorrector | None = None,
        ice_servers: list[IceServer] | None = None,
        rates: Rates | None = None,
        on_call_ended: CallEnded | None = None,
    ) -> None:
        self._agent_for = agent_for
        self._stt = stt
        self._tts = tts
        self._bot_tts = bot_tts or tts
        self._corrector = corrector
        self._ice = ice_servers or []
        self._rates = rates or Rates()
        self._on_call_ended = on_call_ended
        self.records: dict[str, CallRecord] = {}
        self.bot_reports: dict[str, BotReport] = {}

    async def converse(
        self, request: DialRequest, script: BotScript, started: datetime
    ) -> DialResult:
        """Connect the agent to the bot, hold the conversation, report it."""
        try:
            setup = self._agent_for(request)
        except (AgentNotFoundError, FlowDefinitionError, VariableError) as exc:
            # No agent can hold this call (unknown agent, missing variables): a failed
            # call, recorded at once, instead of a dial retried for hours.
            log.warning("call %s not placed: %s", request.idempotency_key, exc)
            now = datetime.now(UTC)
            return DialResult(
                outcome=CallOutcome.FAILED,
                disconnection_reason=f"agent_error: {exc}"[:200],
                started_at=started,
                ended_at=max(now, started),
                duration_s=0.0,
            )
        agent_pc, bot_pc = new_peer_connection(self._ice), new_peer_connection(self._ice)
        voice = AgentVoiceTrack()
        agent_pc.addTrack(voice)
        inbound: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

        @agent_pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and not inbound.done():
                inbound.set_result(track)

        bot = BotSoftphone(script, self._bot_tts)
        bot.attach(bot_pc)
        try:
            await agent_pc.setLocalDescription(await agent_pc.createOffer())
            offer = SessionDescription.of(agent_pc.localDescription)
            await bot_pc.setRemoteDescription(offer.to_rtc())
            await bot_pc.setLocalDescription(await bot_pc.createAnswer())
            await agent_pc.setRemoteDescription(bot_pc.localDescription)
            await wait_connected(agent_pc)
            answered = datetime.now(UTC)
            session = CallSession(
                call_id=request.idempotency_key,
                brain=setup.brain,
                stt=self._stt,
                tts=self._tts,
                voice=voice,
                config=setup.config,
                corrector=self._corrector,
            )
            record = await session.run(await asyncio.wait_for(inbound, 10))
        finally:
            await agent_pc.close()
            with contextlib.suppress(Exception):
                self.bot_reports[request.idempotency_key] = await asyncio.wait_for(bot.done(), 5)
            await bot_pc.close()
        self.records[request.idempotency_key] = record
        result = _result(record, started, answered, self._rates)
        if self._on_call_ended is not None:
            try:
                await self._on_call_ended(request, record, result)
            except Exception:  # the attempt's result must not be lost to a storage error
                log.exception("storing call %s failed", request.idempotency_key)
        return result


def _result(record: CallRecord, started: datetime, answered: datetime, rates: Rates) -> DialResult:
    ended = answered + timedelta(seconds=record.usage.call_s)
    cost, breakdown = price(record.usage, rates)
    return DialResult(
        outcome=record.outcome or CallOutcome.COMPLETED,
        disconnection_reason=record.ended_by or "ended",
        started_at=started,
        answered_at=answered,
        ended_at=ended,
        duration_s=record.usage.call_s,
        extracted=record.extracted,
        transcript=record.transcript_text(),
        cost=cost,
        cost_breakdown=breakdown,
    )
