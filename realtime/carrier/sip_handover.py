"""A warm transfer over SIP: the person is rung on a call of their own and briefed,
before the caller is joined to them (`realtime.carrier.sip_bridge`).

`ring_person` places the person's call through the same trunk (the briefing also in
its ``Subject``, for a PBX that shows it), waits at most the transfer ring time, and
when they answer says the briefing into their ear: who is calling, and why they asked
for someone. Nobody answering (or a busy line) returns None: the caller is told, and
the agent carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from realtime.audio.frames import resample_pcm16
from realtime.carrier.sip_bridge import BridgedCall
from realtime.carrier.twilio_transfer import briefing_for
from realtime.legs.media_codecs import SUPPORTED, MediaCodecError, accept_sdp_answer
from realtime.providers.base import ProviderError, TextToSpeech
from realtime.sip.rtp_session import RtpSession
from realtime.sip.sdp import SdpError, build_sdp
from realtime.sip.user_agent import SipUserAgent

log = logging.getLogger(__name__)

OFFER = SUPPORTED  # G.711 first; Opus when the person's phone prefers it
CANCEL_WAIT_S = 10.0


async def ring_person(
    agent: SipUserAgent,
    rtp: RtpSession,
    *,
    request_uri: str,
    from_: str,
    proxy: tuple[str, int],
    credentials: tuple[str, str] | None,
    ring_s: float,
    key: str,
    variables: Mapping[str, Any],
    reason: str,
    language: str,
    tts: TextToSpeech | None,
) -> BridgedCall | None:
    """Ring the person on `rtp`; their call once answered and briefed, else None."""
    briefing = briefing_for(variables, reason, language)
    outgoing = agent.invite(
        request_uri=request_uri,
        to=f"<{request_uri}>",
        from_=from_,
        proxy=proxy,
        sdp=build_sdp(rtp.advertised_address, rtp.port, OFFER).encode(),
        credentials=credentials,
        extra=(("X-Centralita-Attempt", f"{key}/transfer"), ("Subject", briefing[:200])),
    )
    try:
        outcome = await asyncio.wait_for(asyncio.shield(outgoing.result), ring_s)
    except TimeoutError:
        log.info("transfer of %s: nobody answered in %.0f s", key, ring_s)
        agent.cancel(outgoing)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(outgoing.result, CANCEL_WAIT_S)
        return None
    if outcome.call is None:
        log.info("transfer of %s: the person's line answered %s", key, outcome.status)
        return None
    try:
        codec = accept_sdp_answer(rtp, outcome.call.remote_sdp)
    except (SdpError, MediaCodecError) as exc:
        log.warning("transfer of %s: unusable SDP answer: %s", key, exc)
        await agent.bye(outcome.call)
        return None
    person = BridgedCall(outcome.call, rtp, codec)
    if tts is not None:
        await say(person, tts, briefing, language)
    return person


async def say(person: BridgedCall, tts: TextToSpeech, text: str, language: str) -> None:
    """Say `text` into the person's ear at real-time pace (the briefing); a voice that
    fails leaves the briefing to the call's Subject."""
    try:
        speech = await tts.synthesize(text, language=language)
    except ProviderError as exc:
        log.warning("transfer briefing not said: %s", exc)
        return
    codec = person.audio
    pcm = resample_pcm16(speech.samples, speech.sample_rate, codec.sample_rate)
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = codec.pcm_samples
    for i, offset in enumerate(range(0, pcm.size, n)):
        frame = pcm[offset : offset + n]
        if frame.size < n:
            frame = np.pad(frame, (0, n - frame.size))
        person.rtp.send_audio(codec.encode(frame))
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))
