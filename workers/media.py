"""The media worker process: the simulated carrier's HTTP service and real conversations.

The carrier lives here, not in the orchestrator, so calls and their dial log survive an
orchestrator crash. A persona that answers with a conversation script is a bot
softphone: the call then is a real WebRTC conversation with the agent (STT, flow, TTS),
stored in `calls`, `call_turns` and `call_events` when it ends.
"""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from centralita.db import Pool, database_url, open_pool
from centralita.settings import Settings
from realtime.agent_setup import flow_agent_for
from realtime.call_record import CallRecord
from realtime.call_store import save_call
from realtime.carrier.simulated import PersonaBook, SimulatedCarrier, packaged_personas
from realtime.conversation_line import ConversationLine
from realtime.pricing import Rates
from realtime.providers.base import ProviderError
from realtime.providers.correction import OnlineCorrector
from realtime.providers.espeak import EspeakTTS
from realtime.providers.whisper import WhisperSTT
from realtime.server import create_media_app
from realtime.webrtc import IceServer, restrict_ice_to_loopback
from workflows.models import DialRequest, DialResult

log = logging.getLogger(__name__)


def conversation_line(
    settings: Settings, pool: Pool | None = None, *, stt: WhisperSTT | None = None
) -> ConversationLine:
    """The embedded voice stack: faster-whisper, the shipped flows, espeak-ng voices."""
    restrict_ice_to_loopback(settings.webrtc_loopback_only)

    async def store(request: DialRequest, record: CallRecord, result: DialResult) -> None:
        if pool is not None:
            await save_call(pool, request, record, result)

    return ConversationLine(
        agent_for=flow_agent_for,
        stt=stt or WhisperSTT(cpu_threads=settings.stt_cpu_threads),
        tts=EspeakTTS(),
        bot_tts=EspeakTTS(speed_wpm=140),  # see tests/e2e/test_conversations.py
        corrector=OnlineCorrector(),
        ice_servers=[IceServer.model_validate(s) for s in settings.ice_servers],
        rates=Rates.model_validate(settings.rates),
        on_call_ended=store,
    )


def simulated_carrier(
    settings: Settings, pool: Pool | None = None, *, stt: WhisperSTT | None = None
) -> SimulatedCarrier:
    """The simulated carrier playing the configured personas (the packaged demo set if unset)."""
    book = PersonaBook.load(settings.carrier_personas or packaged_personas())
    return SimulatedCarrier(book.personas, line=conversation_line(settings, pool, stt=stt))


async def _warm_up(stt: WhisperSTT) -> None:
    try:
        await stt.warm_up()
    except ProviderError as exc:  # calls will report it; the carrier keeps serving
        log.error("speech models could not be loaded: %s", exc)


async def run_media(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve the media worker until SIGINT/SIGTERM (uvicorn handles both)."""
    pool = await open_pool(database_url(settings), min_size=0, max_size=4)
    line_stt = WhisperSTT(cpu_threads=settings.stt_cpu_threads)
    config = uvicorn.Config(
        create_media_app(simulated_carrier(settings, pool, stt=line_stt)),
        host=host or settings.media_host,
        port=port or settings.media_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # Long-polling dialers would hold a graceful shutdown for their whole poll.
        timeout_graceful_shutdown=3,
    )
    # Load the speech models while the server starts, so the first call's first turn
    # does not pay for them (joining the base model and loading: about a second).
    warming = asyncio.create_task(_warm_up(line_stt))
    try:
        await uvicorn.Server(config).serve()
    finally:
        warming.cancel()
        await pool.close()
