"""The SIP call leg's keypad: the agent's key presses leave as RFC 4733 events, in their
place after what the agent says, over real RTP sockets on loopback."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from realtime.audio import g711, synth
from realtime.audio.dtmf import dtmf_tones
from realtime.legs.sip_call import SipCallLeg
from realtime.sip.rtp_session import PortRange, RtpSession
from tests.support.lines import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

PORTS = PortRange(33000, 33999)


async def test_keys_go_out_as_events_after_the_speech_before_them() -> None:
    ours = await RtpSession.open("127.0.0.1", PORTS, payload_type=0, telephone_event=101)
    far = await RtpSession.open("127.0.0.1", PORTS, payload_type=0, telephone_event=101)
    ours.set_remote("127.0.0.1", far.port)
    far.set_remote("127.0.0.1", ours.port)
    loop = asyncio.get_running_loop()
    heard: list[tuple[str, float]] = []
    far.on_digit = lambda digit: heard.append((digit, loop.time()))
    leg = SipCallLeg(ours, g711.G711Law.PCMU)
    speech = synth.tone(440.0, 0.4, g711.SAMPLE_RATE)
    spoken = leg.voice.enqueue(speech, g711.SAMPLE_RATE, "utt-1", "Marco el cinco.")
    leg.voice.enqueue(dtmf_tones("5#", g711.SAMPLE_RATE), g711.SAMPLE_RATE, "dtmf-5#", "[DTMF]")
    sent_audio: list[np.ndarray] = []
    try:
        async with asyncio.timeout(5):
            while len(heard) < 2:
                frame = await leg.voice.recv()
                sent_audio.append(frame.to_ndarray().ravel())
        first_frame_at = await spoken
        await until(lambda: leg.figures.keys_sent == "5#", 2)  # its end packets sent
    finally:
        ours.close()
        far.close()

    assert [digit for digit, _ in heard] == ["5", "#"]
    assert leg.figures.keys_sent == "5#"
    # Pressed after the speech (0.4 s), not over it.
    assert first_frame_at is not None
    assert heard[0][1] - first_frame_at >= 0.4
    # The tones themselves never went out as audio: the keypad utterance is silence.
    loud = [chunk for chunk in sent_audio[25:] if np.abs(chunk).max() > 1000]
    assert loud == []
